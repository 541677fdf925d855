/* SPDX-License-Identifier: MIT */
/* Logging: to the journal with structured fields when stderr is connected
 * to it (JOURNAL_STREAM) or STAFFSYNC_LOG=journal, otherwise plain lines on
 * stderr (STAFFSYNC_LOG=stderr forces those). */
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

/* MESSAGE_IDs of the events an administrator filters on; each is explained
 * in contrib/systemd/staffsync.catalog (journalctl -x). */
#define SS_MID_RUN_FINISHED      "MESSAGE_ID=2f4a14a7f1974b7290612920d695f8e7"
#define SS_MID_GATE_TRIPPED      "MESSAGE_ID=7e6f94c9e76b44abb063e8966cfe438f"
#define SS_MID_PERSON_HELD       "MESSAGE_ID=759e7c9a9b334054932d3c9c927630ff"
#define SS_MID_PERSON_DEACTIVATED "MESSAGE_ID=201fdc63f3ca490493de4de638810d22"
#define SS_MID_INVITE_SENT       "MESSAGE_ID=c1fcac1136574c5499300d12adf6a4b4"
#define SS_MID_OP_FAILED         "MESSAGE_ID=fa6300e84fa04970ac43418d97ece5e9"
#define SS_MID_RELOAD_FAILED     "MESSAGE_ID=e3c4ad9a918943e7b9b78680afae1463"
#define SS_MID_RUN_OVERRAN       "MESSAGE_ID=391e540e51f549d1838eba1305fda7e6"
#define SS_MID_RUN_PROGRESS      "MESSAGE_ID=62202638ba6640a28dca4722b96541a8"

#define log_error(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)
