/* SPDX-License-Identifier: MIT */
/* Fixtures for the engine's unit tests: a configuration from a YAML snippet,
 * concise records, memberships and state rows, a fake workspace world for
 * the planner, a driver that feeds the planner the way run.c does, and
 * helpers to look into a finished plan.
 *
 * Strings in the records, members and state rows built here are borrowed
 * (string literals or the caller's): nothing of them is freed. Only the fake
 * world owns copies (fx_world_free). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "mapping.h"
#include "plan.h"
#include "state.h"
#include "staffsync-plugin.h"

/* A NULL-terminated list literal for ss_record.groups and .facilities. */
#define FX_LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The source the fixtures use when none is named. */
#define FX_SOURCE "hr"

/* 1 day in seconds, and a fixed "now" far from the epoch. */
#define FX_DAY  86400
#define FX_NOW  ((int64_t)1700000000)

/* ------------------------------------------------------------ config --- */

/* Load yaml as a configuration file. A snippet without "sources:" gets a
 * CSV source named FX_SOURCE. Fails the test (printing every error) unless
 * the configuration loads cleanly. Free with config_free(). */
struct config *fx_config(const char *yaml);

/* ----------------------------------------------------------- records --- */

/* An enabled record with these fields; set groups, facilities, speciality,
 * dn, error or enabled on the result. */
struct ss_record fx_record(const char *id, const char *given, const char *family,
			   const char *email);

/* mapping_map() that must succeed (a hold is a success). */
void fx_map(const struct config *cfg, const struct ss_record *r, struct mapping *m);

/* The membership the mapping gives r in facility (strings borrowed from r
 * and cfg), status no_account, managed. Fails the test if r is not routed
 * there or is held. */
struct ss_member fx_want(const struct config *cfg, const struct ss_record *r,
			 const char *facility);

/* ------------------------------------------------- members and state --- */

/* A managed membership (label and speciality NULL: set them on the result). */
struct ss_member fx_member(const char *facility, const char *external_id,
			   const char *given, const char *family, const char *email,
			   const char *role, const char *level, enum ss_status status);

/* A state row of source FX_SOURCE for m's person (m.external_id) as last
 * applied: no missing runs, no invites, created a week before FX_NOW. */
struct state_member fx_state(const struct ss_member *m);

/* ----------------------------------------------------- the fake world --- */

/* The workspaces as the planner sees them: every membership of every
 * facility, deep copies. */
struct fx_refusal {
	char *source, *person, *facility, *message;
	enum ss_op_kind kind;
	uint64_t content;
};

struct fx_world {
	struct ss_member *rows;
	char **usernames;            /* per row: its user name (NULL: the row's email) */
	size_t n, cap;
	unsigned long lookups, email_lookups, username_lookups, refusal_lookups;
	char *asked;                 /* the external id of the last lookup */
	struct fx_refusal *refusals; /* what the target refused, as state.db keeps it */
	size_t n_refusals;
};

/* Add a copy of m (managed rows, unmanaged rows with external_id NULL,
 * Patient rows ...). Returns the stored row, to change it further. */
struct ss_member *fx_world_add(struct fx_world *w, const struct ss_member *m);
void fx_world_free(struct fx_world *w);
/* Give the row (returned by fx_world_add) a user name other than its email. */
void fx_world_username(struct fx_world *w, const struct ss_member *row, const char *username);
/* Record that the target refused o (SS_OP_REFUSED) with message, as apply.c
 * does after a run: the planner's refused() answers from these. The fake's
 * user name of a wanted membership is its email, or its external id. */
void fx_world_refuse(struct fx_world *w, const struct plan_op *o, const char *message);
/* lookup: the row of facility with this external id; lookup_email: a row
 * of facility whose email matches case-insensitively and whose external id
 * is NULL or differs from the person's. The ABI's lookup_email has no
 * external id argument: the planner asks about the person it last looked
 * up, so the fake takes the id of the last lookup() as the person's. */
struct plan_world fx_world_plan(struct fx_world *w);

/* ------------------------------------------------------ the run driver --- */

struct fx_input {
	const char *source;                 /* NULL: FX_SOURCE */
	const struct ss_record *records;
	size_t n_records;
};

/* Everything one planning run sees, fed to the planner as run.c does:
 * every record of every input through mapping_map() and plan_person() with
 * that person's state rows; after each input whose listing is full,
 * plan_seen_index() and plan_missing() for each non-deactivated state row of
 * that source not seen; plan_withhold_deactivations() when a listing was
 * not full; plan_finish(). */
struct fx_run {
	const struct config *cfg;
	struct fx_world *world;             /* NULL: an empty world */
	int64_t now;                        /* 0: FX_NOW */
	bool adopt_email;
	bool adopt_username;                /* target.adopt: username (over adopt_email) */
	const struct fx_input *inputs;      /* NULL: one input of the records below */
	size_t n_inputs;
	const struct ss_record *records;    /* the FX_SOURCE listing */
	size_t n_records;
	const enum ss_listing *listings;    /* per input; NULL: all full */
	const struct state_member *state;   /* the whole state, every source */
	size_t n_state;
};

/* Plan it (p is initialised here; plan_free() it). Fails the test if a
 * planner call returns an error. */
void fx_plan(struct plan *p, const struct fx_run *run);

/* ------------------------------------------------------ plan inspection --- */

/* The first operation of kind for person in facility (NULL facility: any),
 * or NULL. */
const struct plan_op *fx_find_op(const struct plan *p, enum ss_op_kind kind,
				 const char *facility, const char *person);
/* How many operations of kind there are (all kinds: _SS_OP_MAX). */
size_t fx_count_ops(const struct plan *p, enum ss_op_kind kind);
/* The leaver counter written for person in facility, or NULL. */
const struct plan_counter *fx_find_counter(const struct plan *p, const char *person,
					   const char *facility);
/* Print the plan (cmocka's print_message), to see why a test failed. */
void fx_dump_plan(const struct plan *p);

/* ------------------------------------------------------ explain traces --- */

struct fx_trace {
	char **lines;
	size_t n;
};
/* A mapping_trace that appends each line to t. */
struct mapping_trace fx_trace(struct fx_trace *t);
/* Does a line contain this text? */
bool fx_trace_has(const struct fx_trace *t, const char *text);
void fx_trace_free(struct fx_trace *t);
