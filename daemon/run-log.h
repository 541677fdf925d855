/* SPDX-License-Identifier: MIT */
/* The journal messages of a run: structured fields (STAFFSYNC_RUN,
 * STAFFSYNC_FACILITY, STAFFSYNC_PERSON, STAFFSYNC_OP) and the MESSAGE_IDs
 * of log.h, so that administrators can filter on each kind of event. */
#pragma once

#include "plan.h"
#include "state.h"

const char *run_status_word(int run_exit);

void run_log_gate(long run_id, const char *reason);
/* One message per facility with its counts, then the run's total. */
void run_log_finished(long run_id, const char *status, const struct plan *p,
		      unsigned long done, unsigned long already, unsigned long failed,
		      unsigned long deferred, unsigned long mail_failed);
/* After apply: each hold, and each deactivation and invite as the state
 * now records it (applied, or failed/deferred). */
void run_log_events(state *st, const struct plan *p, long run_id);
