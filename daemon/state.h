/* SPDX-License-Identifier: MIT */
/* state.db: what staffsync applied last, run history, the operation journal,
 * source cursors and approvals. SQLite in WAL mode, versioned schema. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "staffsync-plugin.h"

typedef struct state state;

/* One membership staffsync manages, as it last applied it. */
struct state_member {
	char *source;
	char *person;
	struct ss_member m;        /* m.facility, fields and status as last applied */
	unsigned long missing_runs;/* complete listings in a row without the person */
	unsigned long invites_sent;/* invites + resends */
	int64_t last_invite_at;
	int64_t created_at;
};
void state_member_clear(struct state_member *s);
void state_members_free(struct state_member *v, size_t n);

/* Open (creating and migrating) state_dir/state.db. With read_only a missing
 * database is an empty state and nothing is created. */
int state_open(const char *state_dir, bool read_only, state **ret);
void state_close(state *st);
static inline void state_closep(state **st) { state_close(*st); }
bool state_is_empty(state *st);

int state_begin(state *st);
int state_commit(state *st);
int state_rollback(state *st);
/* A read transaction: the lookups of planning see one snapshot and take no
 * lock per statement. End it before writing. */
int state_read_begin(state *st);
void state_read_end(state *st);

/* The memberships of one person (any status). */
int state_person_members(state *st, const char *source, const char *person,
			 struct state_member **ret, size_t *n);
/* Call fn for each non-deactivated membership of source (leaver check). */
int state_for_each_active(state *st, const char *source,
			  int (*fn)(void *ud, const struct state_member *s), void *ud);
/* Non-deactivated managed memberships in all (the base of the percent gate). */
int state_count_active(state *st, unsigned long *ret);

/* After an operation was applied: write the membership as it now is. */
int state_put_member(state *st, const struct state_member *s);
/* Move: the (source, person, from) row becomes (source, person, to). */
int state_move_member(state *st, const char *source, const char *person,
		      const char *from, const char *to);
int state_set_missing(state *st, const char *source, const char *person,
		      const char *facility, unsigned long missing);

/* Sources. last_full_count < 0: never listed completely. */
int state_source_get(state *st, const char *name, long *last_full_count, char **cursor);
int state_source_put(state *st, const char *name, long last_full_count, const char *cursor);

/* Runs. */
struct state_run {
	long id;
	int64_t started_at, finished_at;
	char *status;              /* running ok partial failed gated dry-run */
	char *message;
	uint64_t plan_hash;
	unsigned long counts[_SS_OP_MAX];
	unsigned long failed;
};
void state_run_clear(struct state_run *r);
int state_run_begin(state *st, int64_t now, long *id);
int state_run_finish(state *st, const struct state_run *r);
int state_run_get(state *st, long id, struct state_run *ret);
int state_runs_list(state *st, unsigned limit, struct state_run **ret, size_t *n);

/* Approvals: an operator approved the plan of a gated run. */
int state_approve(state *st, long run_id, int64_t now);
/* 1 if an unused approval matches hash (and marks it used), 0 if none. */
int state_take_approval(state *st, uint64_t hash);

/* Operation journal: each op is written 'pending' before it is sent and
 * 'done' or 'failed' after. Payload is JSON (see apply.c). */
int state_journal_add(state *st, long run_id, long seq, const char *key,
		      const char *payload, long *op_id);
int state_journal_finish(state *st, long op_id, bool ok, const char *error);
int state_journal_pending(state *st,
			  int (*fn)(void *ud, long op_id, const char *payload), void *ud);

/* Invite e-mail outbox (accounts.invite_delivery: smtp). Strings are
 * borrowed (for the callback's duration only). */
struct state_mail {
	long id;
	const char *op_key;      /* the invite op's idempotency key: one mail per key */
	const char *kind;        /* invite | resend */
	const char *facility, *person, *email, *given_name, *family_name;
	unsigned long attempts;  /* SMTP transactions that did not deliver it */
	int64_t next_at;         /* queued: not tried again before (0: at once) */
	const char *error;       /* why the last attempt did not deliver it; NULL: none */
};
/* Queue a mail (nothing if its op key was queued before). */
int state_outbox_add(state *st, const struct state_mail *m, int64_t now);
/* Rows in state which (queued, sending, sent, unknown), oldest first. */
int state_outbox_for_each(state *st, const char *which,
			  int (*fn)(void *ud, const struct state_mail *m), void *ud);
/* Move a row to state to (queued with an error, sending, sent, unknown, failed). */
int state_outbox_set(state *st, long id, const char *to, const char *error, int64_t now);
/* Back to queued after a failed attempt: the error, the attempts counted
 * against accounts.smtp.max_attempts, and when it may be tried again. */
int state_outbox_retry(state *st, long id, const char *error, unsigned long attempts, int64_t next_at);

/* Operations the target refused for one person (SS_OP_REFUSED), by kind
 * and content (plan_op_content()): one row per membership and kind, the
 * last refusal. _get: 1 with *message (malloc'd) and *at when a refusal of
 * exactly this content is recorded, 0 if none, negative errno. _drop: when
 * an operation of that kind succeeded. */
int state_refusal_put(state *st, const char *source, const char *person, const char *facility,
		      enum ss_op_kind kind, uint64_t content, const char *message, int64_t now);
int state_refusal_drop(state *st, const char *source, const char *person, const char *facility,
		       enum ss_op_kind kind);
int state_refusal_get(state *st, const char *source, const char *person, const char *facility,
		      enum ss_op_kind kind, uint64_t content, char **message, int64_t *at);
/* staffsyncctl retry: forget every refusal of the person (any source,
 * facility, kind), so that the next run tries them again; how many. */
int state_refusals_forget(state *st, const char *person, unsigned long *forgotten);
/* Each refusal recorded for the person (staffsyncctl explain). */
int state_person_refusals(state *st, const char *source, const char *person,
			  int (*fn)(void *ud, const char *facility, const char *kind,
				    const char *message, int64_t at), void *ud);

/* Held persons of the last run, for staffsyncctl status/explain. */
int state_holds_clear(state *st);
int state_hold_add(state *st, long run_id, const char *source, const char *person,
		   const char *facility, const char *reason);
/* The held persons recorded by the last applied run, by person (at most
 * limit of them; *total: how many there are). Free with state_holds_free. */
struct state_hold {
	long run_id;
	char *source, *person, *facility, *reason;
};
int state_holds_list(state *st, unsigned limit, struct state_hold **ret, size_t *n, size_t *total);
void state_holds_free(struct state_hold *v, size_t n);
/* 1 if an operator approved the gated run's plan and no run applied it yet,
 * 0 if not, negative errno. */
int state_approval_pending(state *st, long run_id);
