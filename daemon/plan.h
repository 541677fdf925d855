/* SPDX-License-Identifier: MIT */
/* The plan: an ordered list of operations, computed as a pure function of
 * (records, config, state, workspace contents, now). The run driver feeds it
 * one person at a time (so memory does not grow with unchanged people),
 * then the leavers, then finishes it (duplicates, ordering, fingerprint). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "mapping.h"
#include "state.h"

struct plan_op {
	struct ss_op op;
	char *source;
	char *person;                /* the source's stable id */
	uint64_t person_hash;
	/* The state row as it is once the operation is applied. */
	unsigned long invites_after; /* invites + resends sent */
	int64_t last_invite_at;
	int64_t created_at;
	unsigned long missing_after;
	bool routing;                /* a deactivation because the person is routed elsewhere */
	bool refusal;                /* a hold: the target refused this very operation before */
	long journal_id;             /* set by apply */
};

/* What an operation writes (kind and facility aside): the same for the same
 * operation planned again from an unchanged record and workspace, and for
 * its journal entry read back. Refusals are matched on it (the key of a
 * recurring operation carries the planning time). */
uint64_t plan_op_content(const struct plan_op *o);

/* A leaver counter to write when the run is applied. */
struct plan_counter {
	char *source, *person, *facility;
	unsigned long missing;
};

/* What the plan may read of the workspaces (the target plugin in a run,
 * a fake in unit tests). The lookups return 1 found / 0 none / negative
 * errno; the optional ones may be NULL. */
struct plan_world {
	int (*lookup)(void *ud, const char *facility, const char *external_id, struct ss_member *out);
	int (*lookup_email)(void *ud, const char *facility, const char *email, struct ss_member *out);
	void *ud;
	/* The account of facility whose user name is the one the target gives
	 * want, and whose external id differs or is NULL (target.adopt: username). */
	int (*lookup_username)(void *ud, const char *facility, const struct ss_member *want,
			       struct ss_member *out);
	/* Did the target refuse this operation (plan_op_content) of the person
	 * before? 1 with *message (malloc'd) and *at, 0 no (state.db in a run). */
	int (*refused)(void *ud, const char *source, const char *person, const char *facility,
		       enum ss_op_kind kind, uint64_t content, char **message, int64_t *at);
};

/* target.adopt: which existing unmanaged account a new membership takes over. */
enum plan_adopt {
	PLAN_ADOPT_NONE,
	PLAN_ADOPT_EMAIL,            /* same email (case-insensitive) */
	PLAN_ADOPT_USERNAME,         /* same user name (then, as with none, an email in use holds) */
};

struct plan {
	const struct config *cfg;
	struct plan_world world;
	int64_t now;
	enum plan_adopt adopt;       /* target.adopt */

	struct plan_op *ops;
	size_t n_ops, cap_ops;
	struct plan_counter *counters;
	size_t n_counters, cap_counters;

	/* Everyone seen in the listings, to find leavers and duplicates. */
	struct seen_person *seen;
	size_t n_seen, cap_seen;
	struct seen_email *emails;
	size_t n_emails, cap_emails;
	char *ids;                   /* arena of the seen ids */
	size_t ids_len, ids_cap;

	unsigned long counts[_SS_OP_MAX];
	uint64_t hash;               /* fingerprint of the finished plan */
	bool deactivations_withheld; /* a listing was incomplete */
};

void plan_init(struct plan *p, const struct config *cfg, const struct plan_world *world,
	       int64_t now, enum plan_adopt adopt);
void plan_free(struct plan *p);

/* One person of a source, with their memberships in the state. */
int plan_person(struct plan *p, const char *source, const struct ss_record *r,
		const struct mapping *m, const struct state_member *st, size_t n_st);

/* A membership in the state whose person did not appear in a complete full
 * listing of its source (or whose record is disabled/deleted). */
int plan_missing(struct plan *p, const struct state_member *s);

/* Was this person of this source seen in the current listing? */
bool plan_seen(const struct plan *p, const char *source, const char *person);
/* Sort the seen set (before plan_seen is used). */
void plan_seen_index(struct plan *p);

/* Turn every deactivation into a hold: a listing was incomplete. */
void plan_withhold_deactivations(struct plan *p, const char *why);

/* Hold duplicate ids and emails, order the operations, count, fingerprint. */
int plan_finish(struct plan *p);

uint64_t person_hash(const char *source, const char *person);
