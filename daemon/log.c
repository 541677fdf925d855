/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include "log.h"
#include "util.h"

static int max_level = LOG_INFO;
static bool to_journal;

/* Under systemd, stderr is a journal stream whose device:inode is in
 * JOURNAL_STREAM: then log natively so fields survive. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(void)
{
	const char *lvl = getenv("STAFFSYNC_LOG_LEVEL");
	const char *target = getenv("STAFFSYNC_LOG");
	to_journal = target ? streq(target, "journal") : stderr_is_journal();
	if (lvl && streq(lvl, "debug"))
		max_level = LOG_DEBUG;
}

void log_set_max_level(int priority) { max_level = priority; }
int log_get_max_level(void) { return max_level; }

static void emit(int priority, const char *const *fields, const char *fmt, va_list ap)
{
	if (priority > max_level)
		return;
	char buf[2048];
	vsnprintf(buf, sizeof buf, fmt, ap);
	if (!to_journal) {
		static const char *const prefix[] = {
			"emergency: ", "alert: ", "critical: ", "error: ",
			"warning: ", "", "", "debug: ",
		};
		fprintf(stderr, "%s%s\n", prefix[priority & 7], buf);
		return;
	}
	struct iovec iov[32];
	char msg[2100], prio[16], ident[64];
	size_t n = 0;
	snprintf(msg, sizeof msg, "MESSAGE=%s", buf);
	snprintf(prio, sizeof prio, "PRIORITY=%d", priority);
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	snprintf(ident, sizeof ident, "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
	iov[n++] = (struct iovec){ ident, strlen(ident) };
	for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
		iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
	if (sd_journal_sendv(iov, (int)n) < 0)
		fprintf(stderr, "%s\n", buf);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(priority, NULL, fmt, ap);
	va_end(ap);
}

void log_fields(int priority, const char *const *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(priority, fields, fmt, ap);
	va_end(ap);
}
