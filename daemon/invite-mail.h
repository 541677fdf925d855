/* SPDX-License-Identifier: MIT */
/* Invite e-mail sent by staffsync itself over SMTP (accounts.invite_delivery:
 * smtp), from the outbox in state.db: at most once per invite operation. */
#pragma once

#include <stdint.h>
#include "config.h"
#include "state.h"

/* Send every queued mail of the outbox. A row left 'sending' by a crash is
 * reported and never sent again. Failures are logged and the mail stays
 * queued for the next run; returns a negative errno only when the state
 * cannot be written. */
int invite_mail_deliver(state *st, const struct config *cfg, int64_t now);

/* The whole message (headers and body, CRLF line ends) for one mail. */
int invite_mail_compose(const struct config *cfg, const struct state_mail *m, int64_t now,
			char **ret);
