/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include "apply.h"
#include "domain.h"
#include "invite-mail.h"
#include "log.h"
#include "util.h"

/* Ops are sent in batches; a batch is durable in the target (flush) before
 * its journal rows are marked done in one state transaction. */
#define BATCH 1000
#define PROGRESS_EVERY 10000

struct apply_ctx {
	state *st;
	struct apply_stats *stats;
	int error;                   /* first state write error */
	bool outbox;                 /* invite e-mail is staffsync's to send (SMTP) */
	int64_t now;
};

static bool smtp_delivery(const struct config *cfg)
{
	return cfg->accounts.invite_delivery == CFG_INVITE_SMTP;
}

/* Queue the e-mail of an applied invite in the same transaction that marks
 * the operation done: a replay (same key) queues nothing more. */
static int queue_invite_mail(struct apply_ctx *c, const struct plan_op *o)
{
	if (!c->outbox || (o->op.kind != SS_OP_INVITE && o->op.kind != SS_OP_RESEND_INVITE) ||
	    isempty(o->op.member.email))
		return 0;
	struct state_mail m = {
		.op_key = o->op.key, .kind = o->op.kind == SS_OP_INVITE ? "invite" : "resend",
		.facility = o->op.facility, .person = o->person, .email = o->op.member.email,
		.given_name = o->op.member.given_name, .family_name = o->op.member.family_name,
	};
	return state_outbox_add(c->st, &m, c->now);
}

static struct plan_op *op_container(const struct ss_op *op)
{
	return (struct plan_op *)((char *)op - offsetof(struct plan_op, op));
}

/* The state row as the operation left it. */
static int record_in_state(state *st, const struct plan_op *o)
{
	struct state_member s = {
		.source = o->source, .person = o->person, .m = o->op.member,
		.missing_runs = o->missing_after, .invites_sent = o->invites_after,
		.last_invite_at = o->last_invite_at, .created_at = o->created_at,
	};
	s.m.facility = o->op.facility;
	s.m.external_id = o->person;
	if (o->op.kind == SS_OP_MOVE) {
		int r = state_move_member(st, o->source, o->person, o->op.from_facility, o->op.facility);
		if (r < 0)
			return r;
	}
	return state_put_member(st, &s);
}

/* A refusal (SS_OP_REFUSED) is about this person and this content: the
 * next plans hold them instead of sending it again (plan.c). Any other
 * failure that is not transient (authentication, TLS) is not the person's
 * doing: it is journaled as failed and planned again. */
static int record_refusal(struct apply_ctx *c, const struct plan_op *o, const char *message)
{
	return state_refusal_put(c->st, o->source, o->person, o->op.facility, o->op.kind,
				 plan_op_content(o), message, c->now);
}

static void on_applied(void *ud, const struct ss_op *op, const struct ss_op_result *res)
{
	struct apply_ctx *c = ud;
	struct plan_op *o = op_container(op);
	int r;
	if (res->error == 0) {
		res->already ? c->stats->already++ : c->stats->done++;
		r = record_in_state(c->st, o);
		if (r >= 0)
			r = queue_invite_mail(c, o);
		if (r >= 0)
			r = state_journal_finish(c->st, o->journal_id, true, NULL);
		if (r >= 0)   /* a refusal of an earlier content is over */
			r = state_refusal_drop(c->st, o->source, o->person, op->facility, op->kind);
	} else if (res->transient) {
		c->stats->deferred++;   /* stays pending: the next run sends it again */
		log_warning("%s %s in %s deferred: %s", ss_op_kind_name(op->kind), o->person,
			    strempty(op->facility), res->message);
		r = 0;
	} else {
		bool refused = res->error == SS_OP_REFUSED;
		c->stats->failed++;
		log_warning("%s %s in %s %s: %s%s", ss_op_kind_name(op->kind), o->person,
			    strempty(op->facility), refused ? "refused by the target" : "failed",
			    res->message, refused ? " (held until the person's record changes)" : "");
		r = state_journal_finish(c->st, o->journal_id, false, res->message);
		if (r >= 0 && refused)
			r = record_refusal(c, o, res->message);
	}
	if (r < 0 && c->error == 0)
		c->error = r;
}

static int send_batches(state *st, const struct config *cfg, struct plan_op **ops,
			size_t n, int64_t now, const struct apply_progress *progress,
			struct apply_stats *stats)
{
	const struct cfg_plugin_ref *target = &cfg->target;
	const struct ss_target_ops *t = target->plugin->target;
	struct apply_ctx c = { st, stats, 0, smtp_delivery(cfg), now };
	for (size_t i = 0; i < n; i += BATCH) {
		size_t end = i + BATCH < n ? i + BATCH : n;
		int r = state_begin(st);
		if (r < 0)
			return r;
		for (size_t k = i; k < end && r >= 0; k++)
			r = t->apply(target->instance, &ops[k]->op, on_applied, &c);
		if (r >= 0)
			r = t->flush(target->instance);
		if (r >= 0)
			r = c.error;
		if (r < 0) {
			state_rollback(st);
			return r;
		}
		if ((r = state_commit(st)) < 0)
			return r;
		if (end / PROGRESS_EVERY != i / PROGRESS_EVERY)
			log_info("applied %zu of %zu operations", end, n);
		/* Between batches everything sent is durable and journaled: the
		 * one safe place to stop early (SIGTERM) or feed the watchdog. */
		if (progress && progress->fn && end < n && progress->fn(progress->ud, end, n) < 0)
			return -ECANCELED;
	}
	return 0;
}

static int journal_all(state *st, struct plan *p, long run_id, struct plan_op ***ret, size_t *n)
{
	_cleanup_free_ struct plan_op **v = calloc(p->n_ops + 1, sizeof *v);
	size_t count = 0;
	int r = state_begin(st);
	if (!v || r < 0)
		return v ? r : -ENOMEM;
	for (size_t i = 0; i < p->n_ops && r >= 0; i++) {
		struct plan_op *o = &p->ops[i];
		if (o->op.kind == SS_OP_HOLD) {
			r = state_hold_add(st, run_id, o->source, o->person, o->op.facility, o->op.reason);
			continue;
		}
		_cleanup_free_ char *json = apply_op_to_json(o);
		if (!json) {
			r = -ENOMEM;
			break;
		}
		r = state_journal_add(st, run_id, (long)i, o->op.key, json, &o->journal_id);
		v[count++] = o;
	}
	for (size_t i = 0; i < p->n_counters && r >= 0; i++) {
		const struct plan_counter *k = &p->counters[i];
		r = state_set_missing(st, k->source, k->person, k->facility, k->missing);
	}
	if (r < 0) {
		state_rollback(st);
		return r;
	}
	if ((r = state_commit(st)) < 0)
		return r;
	*ret = TAKE_PTR(v);
	*n = count;
	return 0;
}

int apply_plan(state *st, const struct config *cfg, struct plan *p,
	       long run_id, int64_t now, const struct apply_progress *progress,
	       struct apply_stats *stats)
{
	_cleanup_free_ struct plan_op **ops = NULL;
	size_t n = 0;
	int r = state_holds_clear(st);
	if (r < 0)
		return r;
	if ((r = journal_all(st, p, run_id, &ops, &n)) < 0)
		return r;
	if ((r = send_batches(st, cfg, ops, n, now, progress, stats)) < 0)
		return r;
	/* Also what an interrupted run queued (apply_resume comes first). */
	if (smtp_delivery(cfg))
		return invite_mail_deliver(st, cfg, now, &stats->mail_failed);
	return 0;
}

/* ------------------------------------------------------------- resume */

struct pending {
	struct plan_op *ops;
	size_t n, cap;
	int error;
};

static int collect_pending(void *ud, long op_id, const char *payload)
{
	struct pending *p = ud;
	if (array_grow((void **)&p->ops, &p->cap, p->n, sizeof *p->ops) < 0)
		return -ENOMEM;
	struct plan_op *o = &p->ops[p->n];
	if (apply_op_from_json(payload, o) < 0) {
		log_warning("journal entry %ld is unreadable; skipped", op_id);
		return 0;
	}
	o->journal_id = op_id;
	p->n++;
	return 0;
}

int apply_resume(state *st, const struct config *cfg, int64_t now,
		 struct apply_stats *stats)
{
	struct pending p = {0};
	int r = state_journal_pending(st, collect_pending, &p);
	if (r >= 0 && p.n > 0) {
		log_notice("resuming %zu operations an earlier run journaled but did not finish", p.n);
		_cleanup_free_ struct plan_op **v = calloc(p.n, sizeof *v);
		if (!v)
			r = -ENOMEM;
		for (size_t i = 0; v && i < p.n; i++)
			v[i] = &p.ops[i];
		if (v)
			r = send_batches(st, cfg, v, p.n, now, NULL, stats);
	}
	struct plan tmp = { .ops = p.ops, .n_ops = p.n };
	plan_free(&tmp);
	return r;
}

/* --------------------------------------------------------------- json */

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

char *apply_op_to_json(const struct plan_op *o)
{
	const struct ss_member *m = &o->op.member;
	json_t *j = json_object(), *jm = json_object();
	if (!j || !jm) {
		json_decref(j);
		json_decref(jm);
		return NULL;
	}
	json_object_set_new(j, "kind", json_integer(o->op.kind));
	set_str(j, "key", o->op.key);
	set_str(j, "facility", o->op.facility);
	set_str(j, "from", o->op.from_facility);
	set_str(j, "reason", o->op.reason);
	set_str(j, "source", o->source);
	set_str(j, "person", o->person);
	json_object_set_new(j, "changed", json_integer(o->op.changed));
	json_object_set_new(j, "invites", json_integer((json_int_t)o->invites_after));
	json_object_set_new(j, "last_invite_at", json_integer(o->last_invite_at));
	json_object_set_new(j, "created_at", json_integer(o->created_at));
	json_object_set_new(j, "missing", json_integer((json_int_t)o->missing_after));
	set_str(jm, "given_name", m->given_name);
	set_str(jm, "family_name", m->family_name);
	set_str(jm, "email", m->email);
	set_str(jm, "role", m->role);
	set_str(jm, "label", m->label);
	set_str(jm, "permission_level", m->permission_level);
	set_str(jm, "speciality", m->speciality);
	set_str(jm, "ref", m->ref);
	json_object_set_new(jm, "status", json_integer(m->status));
	json_object_set_new(j, "member", jm);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static char *get_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? strdup(s) : NULL;
}

int apply_op_from_json(const char *text, struct plan_op *o)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	json_t *jm = j ? json_object_get(j, "member") : NULL;
	*o = (struct plan_op){0};
	if (!j || !json_is_object(jm)) {
		json_decref(j);
		return -EBADMSG;
	}
	json_int_t kind = json_integer_value(json_object_get(j, "kind"));
	o->op.kind = kind >= 0 && kind < _SS_OP_MAX ? (enum ss_op_kind)kind : SS_OP_HOLD;
	o->op.key = get_str(j, "key");
	o->op.facility = get_str(j, "facility");
	o->op.from_facility = get_str(j, "from");
	o->op.reason = get_str(j, "reason");
	o->source = get_str(j, "source");
	o->person = get_str(j, "person");
	o->op.changed = (unsigned)json_integer_value(json_object_get(j, "changed"));
	o->invites_after = (unsigned long)json_integer_value(json_object_get(j, "invites"));
	o->last_invite_at = json_integer_value(json_object_get(j, "last_invite_at"));
	o->created_at = json_integer_value(json_object_get(j, "created_at"));
	o->missing_after = (unsigned long)json_integer_value(json_object_get(j, "missing"));
	struct ss_member *m = &o->op.member;
	m->facility = strdup_or_null(o->op.facility);
	m->external_id = strdup_or_null(o->person);
	m->given_name = get_str(jm, "given_name");
	m->family_name = get_str(jm, "family_name");
	m->email = get_str(jm, "email");
	m->role = get_str(jm, "role");
	m->label = get_str(jm, "label");
	m->permission_level = get_str(jm, "permission_level");
	m->speciality = get_str(jm, "speciality");
	m->ref = get_str(jm, "ref");
	m->status = (enum ss_status)json_integer_value(json_object_get(jm, "status"));
	m->managed = true;
	json_decref(j);
	if (!o->op.key || !o->source || !o->person || o->op.kind == SS_OP_HOLD) {
		free(o->op.key); free(o->op.facility); free(o->op.from_facility); free(o->op.reason);
		free(o->source); free(o->person); ss_member_clear(m);
		*o = (struct plan_op){0};
		return -EBADMSG;
	}
	return 0;
}
