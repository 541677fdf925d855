/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixtures.h"
#include "domain.h"
#include "util.h"

/* ------------------------------------------------------------ config --- */

#define FX_DEFAULT_SOURCES \
	"sources:\n" \
	"  - { name: " FX_SOURCE ", type: csv, path: staff.csv }\n"

static void write_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

struct config *fx_config(const char *yaml)
{
	char path[] = "/tmp/staffsync-unit-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	if (!strstr(yaml, "sources:"))
		write_all(fd, FX_DEFAULT_SOURCES);
	write_all(fd, yaml);
	close(fd);

	struct config *cfg = NULL;
	struct config_errors errors = {0};
	int r = config_load(path, &cfg, &errors);
	unlink(path);
	if (r < 0 || errors.n > 0) {
		for (size_t i = 0; i < errors.n; i++)
			print_error("config: %s\n", errors.lines[i]);
		config_errors_clear(&errors);
		config_free(cfg);
		fail_msg("the test configuration does not load (%d)", r);
	}
	assert_non_null(cfg);
	return cfg;
}

/* ----------------------------------------------------------- records --- */

struct ss_record fx_record(const char *id, const char *given, const char *family,
			   const char *email)
{
	return (struct ss_record){
		.id = id, .origin = id, .given_name = given, .family_name = family,
		.email = email, .enabled = true,
	};
}

void fx_map(const struct config *cfg, const struct ss_record *r, struct mapping *m)
{
	assert_int_equal(mapping_map(cfg, r, m, NULL), 0);
}

struct ss_member fx_want(const struct config *cfg, const struct ss_record *r,
			 const char *facility)
{
	struct mapping m;
	struct ss_member want = {0};
	bool found = false;
	fx_map(cfg, r, &m);
	for (size_t i = 0; i < m.n && !found; i++) {
		if (!streq(m.d[i].facility->id, facility) || m.d[i].hold)
			continue;
		/* Borrowed from r and cfg: valid after mapping_clear(). */
		want = mapping_member(r, &m.d[i]);
		found = true;
	}
	if (!found)
		print_error("fx_want: %s is not routed to %s (%s)\n", strempty(r->id), facility,
			    m.hold ? m.hold : "held or another facility");
	mapping_clear(&m);
	assert_true(found);
	want.status = SS_STATUS_NO_ACCOUNT;
	return want;
}

/* ------------------------------------------------- members and state --- */

struct ss_member fx_member(const char *facility, const char *external_id,
			   const char *given, const char *family, const char *email,
			   const char *role, const char *level, enum ss_status status)
{
	return (struct ss_member){
		.facility = (char *)facility, .external_id = (char *)external_id,
		.given_name = (char *)given, .family_name = (char *)family,
		.email = (char *)email, .role = (char *)role,
		.permission_level = (char *)level, .status = status, .managed = true,
	};
}

struct state_member fx_state(const struct ss_member *m)
{
	return (struct state_member){
		.source = (char *)FX_SOURCE,
		.person = m->external_id,
		.m = *m,
		.created_at = FX_NOW - 7 * FX_DAY,
	};
}

/* ----------------------------------------------------- the fake world --- */

static char *dup_or_fail(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static void member_copy(struct ss_member *d, const struct ss_member *s)
{
	*d = (struct ss_member){
		.facility = dup_or_fail(s->facility),
		.external_id = dup_or_fail(s->external_id),
		.given_name = dup_or_fail(s->given_name),
		.family_name = dup_or_fail(s->family_name),
		.email = dup_or_fail(s->email),
		.role = dup_or_fail(s->role),
		.label = dup_or_fail(s->label),
		.permission_level = dup_or_fail(s->permission_level),
		.speciality = dup_or_fail(s->speciality),
		.status = s->status,
		.managed = s->managed,
		.ref = dup_or_fail(s->ref),
	};
}

struct ss_member *fx_world_add(struct fx_world *w, const struct ss_member *m)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->rows = reallocarray(w->rows, w->cap, sizeof *w->rows);
		assert_non_null(w->rows);
	}
	w->usernames = reallocarray(w->usernames, w->cap, sizeof *w->usernames);
	assert_non_null(w->usernames);
	w->usernames[w->n] = NULL;
	struct ss_member *row = &w->rows[w->n++];
	member_copy(row, m);
	if (!row->ref) {
		/* Like a target, every row has its own reference. */
		char ref[32];
		snprintf(ref, sizeof ref, "row-%zu", w->n);
		row->ref = dup_or_fail(ref);
	}
	return row;
}

void fx_world_free(struct fx_world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		ss_member_clear(&w->rows[i]);
		free(w->usernames[i]);
	}
	free(w->rows);
	free(w->usernames);
	free(w->asked);
	for (size_t i = 0; i < w->n_refusals; i++) {
		struct fx_refusal *f = &w->refusals[i];
		free(f->source); free(f->person); free(f->facility); free(f->message);
	}
	free(w->refusals);
	*w = (struct fx_world){0};
}

void fx_world_username(struct fx_world *w, const struct ss_member *row, const char *username)
{
	size_t i = (size_t)(row - w->rows);
	assert_true(i < w->n);
	free(w->usernames[i]);
	w->usernames[i] = dup_or_fail(username);
}

void fx_world_refuse(struct fx_world *w, const struct plan_op *o, const char *message)
{
	w->refusals = reallocarray(w->refusals, w->n_refusals + 1, sizeof *w->refusals);
	assert_non_null(w->refusals);
	w->refusals[w->n_refusals++] = (struct fx_refusal){
		dup_or_fail(o->source), dup_or_fail(o->person), dup_or_fail(o->op.facility),
		dup_or_fail(message), o->op.kind, plan_op_content(o) };
}

static int world_lookup_username(void *ud, const char *facility, const struct ss_member *want,
				 struct ss_member *out)
{
	struct fx_world *w = ud;
	const char *name = want->email ? want->email : want->external_id;
	w->username_lookups++;
	for (size_t i = 0; i < w->n; i++) {
		const struct ss_member *m = &w->rows[i];
		const char *mine = w->usernames[i] ? w->usernames[i] : m->email;
		if (streq(m->facility, facility) && mine && name && strcasecmp(mine, name) == 0 &&
		    !(m->external_id && streq_ptr(m->external_id, want->external_id))) {
			member_copy(out, m);
			return 1;
		}
	}
	return 0;
}

static int world_refused(void *ud, const char *source, const char *person, const char *facility,
			 enum ss_op_kind kind, uint64_t content, char **message, int64_t *at)
{
	struct fx_world *w = ud;
	w->refusal_lookups++;
	for (size_t i = 0; i < w->n_refusals; i++) {
		const struct fx_refusal *f = &w->refusals[i];
		if (streq(f->source, source) && streq(f->person, person) &&
		    streq(f->facility, facility) && f->kind == kind && f->content == content) {
			*message = dup_or_fail(f->message);
			*at = FX_NOW - FX_DAY;
			return 1;
		}
	}
	return 0;
}

static int world_lookup(void *ud, const char *facility, const char *external_id,
			struct ss_member *out)
{
	struct fx_world *w = ud;
	w->lookups++;
	free(w->asked);
	w->asked = dup_or_fail(external_id);
	for (size_t i = 0; i < w->n; i++) {
		const struct ss_member *m = &w->rows[i];
		if (streq(m->facility, facility) && external_id && streq_ptr(m->external_id, external_id)) {
			member_copy(out, m);
			return 1;
		}
	}
	return 0;
}

static int world_lookup_email(void *ud, const char *facility, const char *email,
			      struct ss_member *out)
{
	struct fx_world *w = ud;
	w->email_lookups++;
	for (size_t i = 0; i < w->n; i++) {
		const struct ss_member *m = &w->rows[i];
		if (streq(m->facility, facility) && m->email && email &&
		    strcasecmp(m->email, email) == 0 &&
		    !(m->external_id && streq_ptr(m->external_id, w->asked))) {
			member_copy(out, m);
			return 1;
		}
	}
	return 0;
}

struct plan_world fx_world_plan(struct fx_world *w)
{
	return (struct plan_world){ world_lookup, world_lookup_email, w,
				    world_lookup_username, world_refused };
}

/* ------------------------------------------------------ the run driver --- */

/* The state rows of one person of one source (shallow copies into rows). */
static size_t person_rows(const struct fx_run *run, const char *source, const char *person,
			  struct state_member *rows)
{
	size_t n = 0;
	for (size_t i = 0; person && i < run->n_state; i++)
		if (streq(run->state[i].source, source) && streq(run->state[i].person, person))
			rows[n++] = run->state[i];
	return n;
}

static void feed_input(struct plan *p, const struct fx_run *run, const struct fx_input *in)
{
	const char *source = in->source ? in->source : FX_SOURCE;
	_cleanup_free_ struct state_member *rows = calloc(run->n_state + 1, sizeof *rows);
	assert_non_null(rows);
	for (size_t i = 0; i < in->n_records; i++) {
		const struct ss_record *r = &in->records[i];
		struct mapping m;
		fx_map(run->cfg, r, &m);
		size_t n = person_rows(run, source, r->id, rows);
		int e = plan_person(p, source, r, &m, rows, n);
		mapping_clear(&m);
		assert_int_equal(e, 0);
	}
}

/* After a full listing: the non-deactivated state rows of the source whose
 * person was not seen are missing (state_for_each_active + on_state_row). */
static void feed_missing(struct plan *p, const struct fx_run *run, const char *source)
{
	plan_seen_index(p);
	for (size_t i = 0; i < run->n_state; i++) {
		const struct state_member *s = &run->state[i];
		if (!streq(s->source, source) || s->m.status == SS_STATUS_DEACTIVATED)
			continue;
		if (!plan_seen(p, s->source, s->person))
			assert_int_equal(plan_missing(p, s), 0);
	}
}

void fx_plan(struct plan *p, const struct fx_run *run)
{
	struct fx_world empty = {0};
	struct fx_world *w = run->world ? run->world : &empty;
	struct plan_world world = fx_world_plan(w);
	struct fx_input single = { FX_SOURCE, run->records, run->n_records };
	const struct fx_input *inputs = run->inputs ? run->inputs : &single;
	size_t n_inputs = run->inputs ? run->n_inputs : 1;
	char why[256] = "";

	plan_init(p, run->cfg, &world, run->now ? run->now : FX_NOW,
		  run->adopt_username ? PLAN_ADOPT_USERNAME
		  : run->adopt_email ? PLAN_ADOPT_EMAIL : PLAN_ADOPT_NONE);
	for (size_t i = 0; i < n_inputs; i++) {
		const char *source = inputs[i].source ? inputs[i].source : FX_SOURCE;
		enum ss_listing l = run->listings ? run->listings[i] : SS_LISTING_FULL;
		feed_input(p, run, &inputs[i]);
		if (l == SS_LISTING_FULL)
			feed_missing(p, run, source);
		else if ((l == SS_LISTING_INCOMPLETE || l == SS_LISTING_FAILED) && !why[0])
			snprintf(why, sizeof why, "the listing of source %s is %s", source,
				 l == SS_LISTING_FAILED ? "failed" : "incomplete");
	}
	if (why[0])
		plan_withhold_deactivations(p, why);
	assert_int_equal(plan_finish(p), 0);
	/* The world is only read while planning. */
	p->world = (struct plan_world){0};
	fx_world_free(&empty);
}

/* ------------------------------------------------------ plan inspection --- */

const struct plan_op *fx_find_op(const struct plan *p, enum ss_op_kind kind,
				 const char *facility, const char *person)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *o = &p->ops[i];
		if (o->op.kind == kind && streq(o->person, person) &&
		    (!facility || streq_ptr(o->op.facility, facility)))
			return o;
	}
	return NULL;
}

size_t fx_count_ops(const struct plan *p, enum ss_op_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_ops; i++)
		if (kind == _SS_OP_MAX || p->ops[i].op.kind == kind)
			n++;
	return n;
}

const struct plan_counter *fx_find_counter(const struct plan *p, const char *person,
					   const char *facility)
{
	for (size_t i = 0; i < p->n_counters; i++)
		if (streq(p->counters[i].person, person) && streq(p->counters[i].facility, facility))
			return &p->counters[i];
	return NULL;
}

void fx_dump_plan(const struct plan *p)
{
	print_message("plan: %zu ops, %zu counters, hash %016llx\n", p->n_ops, p->n_counters,
		      (unsigned long long)p->hash);
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *o = &p->ops[i];
		print_message("  %-13s %-8s %-6s %-8s status=%s changed=0x%x key=%s (%s)\n",
			      ss_op_kind_name(o->op.kind), strempty(o->op.facility),
			      strempty(o->source), o->person, ss_status_name(o->op.member.status),
			      o->op.changed, strempty(o->op.key), strempty(o->op.reason));
	}
	for (size_t i = 0; i < p->n_counters; i++)
		print_message("  counter %s/%s in %s: %lu\n", p->counters[i].source,
			      p->counters[i].person, p->counters[i].facility, p->counters[i].missing);
}

/* ------------------------------------------------------ explain traces --- */

static void trace_note(void *ud, const char *fmt, ...)
{
	struct fx_trace *t = ud;
	char *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&line, fmt, ap);
	va_end(ap);
	assert_true(r >= 0);
	t->lines = reallocarray(t->lines, t->n + 1, sizeof *t->lines);
	assert_non_null(t->lines);
	t->lines[t->n++] = line;
}

struct mapping_trace fx_trace(struct fx_trace *t)
{
	return (struct mapping_trace){ trace_note, t };
}

bool fx_trace_has(const struct fx_trace *t, const char *text)
{
	for (size_t i = 0; i < t->n; i++)
		if (strstr(t->lines[i], text))
			return true;
	return false;
}

void fx_trace_free(struct fx_trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	*t = (struct fx_trace){0};
}
