/* SPDX-License-Identifier: MIT */
/* Apply: write a plan through the target, journaling each operation in
 * state.db before it is sent and after it took effect, so that a crash at
 * any point resumes (apply_resume) without duplicates or losses. */
#pragma once

#include "config.h"
#include "plan.h"
#include "state.h"

struct apply_stats {
	unsigned long done;
	unsigned long already;       /* applied before a crash: nothing to do again */
	unsigned long failed;        /* refused by the target: journaled as failed */
	unsigned long deferred;      /* transient failures: left pending for the next run */
	unsigned long mail_failed;   /* invite e-mails given up (accounts.smtp.max_attempts) */
};

/* Called after each batch is durable (target and journal); a negative
 * return stops there, the rest staying journaled for the next run. */
struct apply_progress {
	int (*fn)(void *ud, unsigned long done, unsigned long total);
	void *ud;
};

/* Returns 0, -ECANCELED when progress stopped it, or another negative errno. */
int apply_plan(state *st, const struct config *cfg, struct plan *p,
	       long run_id, int64_t now, const struct apply_progress *progress,
	       struct apply_stats *stats);

/* Re-send what an interrupted run journaled but did not finish. */
int apply_resume(state *st, const struct config *cfg, int64_t now,
		 struct apply_stats *stats);

/* The journal payload of an operation (JSON), and back. */
char *apply_op_to_json(const struct plan_op *o);
int apply_op_from_json(const char *json, struct plan_op *o);
