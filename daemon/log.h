/* SPDX-License-Identifier: MIT */
/* Logging: to the journal with structured fields when stderr is connected
 * to it (JOURNAL_STREAM), otherwise plain lines on stderr. */
#pragma once

#include <syslog.h>

void log_setup(void);
void log_set_max_level(int priority);
int log_get_max_level(void);

/* Plain message. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A message with extra journal fields, e.g.
 * log_fields(LOG_INFO, "STAFFSYNC_RUN=12", NULL, "run %d finished", 12);
 * The NULL-terminated field list is before the format. */
void log_fields(int priority, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)
