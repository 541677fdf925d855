/* SPDX-License-Identifier: MIT */
/* Invite e-mail sent by staffsync itself over SMTP (accounts.invite_delivery:
 * smtp), from the outbox in state.db: at most once per invite operation. */
#pragma once

#include <stdint.h>
#include "config.h"
#include "state.h"

/* Send every queued mail of the outbox that is due. A row left 'sending'
 * by a crash is reported and never sent again. When the server cannot be
 * used (down, TLS, login) the mails stay queued for the next run; a mail
 * the server refuses (or that is cut off) is tried again after
 * accounts.smtp.retry_delay, doubled for each further attempt, and after
 * accounts.smtp.max_attempts it is 'failed' and logged as such (*failed
 * counts those of this delivery). Returns a negative errno only when the
 * state cannot be written. */
int invite_mail_deliver(state *st, const struct config *cfg, int64_t now, unsigned long *failed);

/* The whole message (headers and body, CRLF line ends) for one mail. */
int invite_mail_compose(const struct config *cfg, const struct state_mail *m, int64_t now,
			char **ret);

/* When a mail refused attempts times (>= 1) may be tried again: now plus
 * retry_delay doubled per attempt after the first, at most a day. */
int64_t invite_mail_retry_at(const struct cfg_smtp *s, unsigned long attempts, int64_t now);
