/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <strings.h>
#include <time.h>
#include "plan.h"
#include "util.h"

/* source pointers below are the configuration's (stable for the run). */
struct seen_person {
	uint64_t hash;               /* person_hash(source, id) */
	uint32_t id_off;             /* the id in p->ids */
	const char *source;
};

struct seen_email {
	uint64_t hash;               /* facility + lower-case email */
	uint64_t person;             /* person_hash */
	uint32_t id_off;
	const char *facility;        /* config-owned */
	const char *source;
};

uint64_t person_hash(const char *source, const char *person)
{
	return fnv1a64_str(person, fnv1a64_str(source, FNV1A64_INIT));
}

static uint64_t email_hash(const char *facility, const char *email)
{
	uint64_t h = fnv1a64_str(facility, FNV1A64_INIT);
	for (const char *c = email; *c; c++) {
		unsigned char ch = (unsigned char)*c;
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		h = fnv1a64(&ch, 1, h);
	}
	return h;
}

void plan_init(struct plan *p, const struct config *cfg, const struct plan_world *world,
	       int64_t now, enum plan_adopt adopt)
{
	*p = (struct plan){ .cfg = cfg, .world = *world, .now = now, .adopt = adopt };
}

static void plan_op_clear(struct plan_op *o)
{
	free(o->op.key);
	free(o->op.facility);
	free(o->op.from_facility);
	free(o->op.reason);
	ss_member_clear(&o->op.member);
	free(o->source);
	free(o->person);
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_ops; i++)
		plan_op_clear(&p->ops[i]);
	free(p->ops);
	for (size_t i = 0; i < p->n_counters; i++) {
		free(p->counters[i].source);
		free(p->counters[i].person);
		free(p->counters[i].facility);
	}
	free(p->counters);
	free(p->seen);
	free(p->emails);
	free(p->ids);
	*p = (struct plan){0};
}

static int member_dup(struct ss_member *d, const struct ss_member *s)
{
	*d = (struct ss_member){
		.facility = strdup_or_null(s->facility),
		.external_id = strdup_or_null(s->external_id),
		.given_name = strdup_or_null(s->given_name),
		.family_name = strdup_or_null(s->family_name),
		.email = strdup_or_null(s->email),
		.role = strdup_or_null(s->role),
		.label = strdup_or_null(s->label),
		.permission_level = strdup_or_null(s->permission_level),
		.speciality = strdup_or_null(s->speciality),
		.status = s->status,
		.managed = s->managed,
		.ref = strdup_or_null(s->ref),
	};
	/* strdup_or_null maps ENOMEM to NULL: check the non-NULL inputs. */
	if ((s->facility && !d->facility) || (s->external_id && !d->external_id) ||
	    (s->given_name && !d->given_name) || (s->family_name && !d->family_name) ||
	    (s->email && !d->email) || (s->role && !d->role) || (s->label && !d->label) ||
	    (s->permission_level && !d->permission_level) ||
	    (s->speciality && !d->speciality) || (s->ref && !d->ref)) {
		ss_member_clear(d);
		return -ENOMEM;
	}
	return 0;
}

struct op_spec {
	enum ss_op_kind kind;
	const char *source, *person, *facility, *from;
	const struct ss_member *member;
	enum ss_status status;
	unsigned changed;
	const char *reason;
	unsigned long invites_after, missing_after;
	int64_t last_invite_at, created_at;
	bool routing;
};

/* What an operation writes, for its key and to match refusals. */
static uint64_t content_hash(unsigned changed, enum ss_status status, const char *from,
			     const struct ss_member *m)
{
	uint64_t h = fnv1a64(&changed, sizeof changed, FNV1A64_INIT);
	h = fnv1a64(&status, sizeof status, h);
	h = fnv1a64_str(from, h);
	if (m) {
		const char *parts[] = { m->given_name, m->family_name, m->email, m->role,
					m->label, m->permission_level, m->speciality, m->ref };
		for (size_t i = 0; i < ELEMENTSOF(parts); i++)
			h = fnv1a64_str(parts[i], h);
	}
	return h;
}

static uint64_t op_content_hash(const struct op_spec *s)
{
	return content_hash(s->changed, s->status, s->from, s->member);
}

/* add_op() sets op.member.status from the spec's status and copies the
 * member: the same hash as op_content_hash() of the spec. */
uint64_t plan_op_content(const struct plan_op *o)
{
	return content_hash(o->op.changed, o->op.member.status, o->op.from_facility, &o->op.member);
}

/* The idempotency key: the target applies a key once, and a replay of the
 * journal after a crash resends the same keys. A create is once per
 * membership; an invite once per sequence number (so a resend is never
 * taken for the first invite, even when the journal was lost); the other
 * operations may recur (edited again, deactivated again after a return),
 * so their key carries the planning time and what they write. */
static int op_key(const struct plan *p, const struct op_spec *s, struct ss_op *op)
{
	static const char *const key_kind[_SS_OP_MAX] = {
		[SS_OP_CREATE] = "create", [SS_OP_INVITE] = "invite",
		[SS_OP_RESEND_INVITE] = "resend", [SS_OP_UPDATE] = "update",
		[SS_OP_MOVE] = "move", [SS_OP_DEACTIVATE] = "deactivate",
		[SS_OP_REACTIVATE] = "reactivate", [SS_OP_HOLD] = "hold",
		[SS_OP_ADOPT] = "adopt",
	};
	const char *k = key_kind[s->kind], *f = strempty(s->facility);
	switch (s->kind) {
	case SS_OP_CREATE:
		return asprintf(&op->key, "%s:%s:%s:%s", k, f, s->source, s->person);
	case SS_OP_INVITE:
	case SS_OP_RESEND_INVITE:
		return asprintf(&op->key, "%s:%s:%s:%s:%lu", k, f, s->source, s->person,
				s->invites_after);
	default:
		return asprintf(&op->key, "%s:%s:%s:%s:%lld:%016llx", k, f, s->source, s->person,
				(long long)p->now, (unsigned long long)op_content_hash(s));
	}
}

static int hold_if_refused(struct plan *p, const struct op_spec *s);

static int add_op(struct plan *p, const struct op_spec *s)
{
	if (s->kind != SS_OP_HOLD) {
		int r = hold_if_refused(p, s);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (array_grow((void **)&p->ops, &p->cap_ops, p->n_ops, sizeof *p->ops) < 0)
		return -ENOMEM;
	struct plan_op *o = &p->ops[p->n_ops];
	*o = (struct plan_op){
		.op.kind = s->kind,
		.op.changed = s->changed,
		.person_hash = person_hash(s->source, s->person),
		.invites_after = s->invites_after,
		.last_invite_at = s->last_invite_at,
		.created_at = s->created_at,
		.missing_after = s->missing_after,
		.routing = s->routing,
	};
	int r = 0;
	if (s->member)
		r = member_dup(&o->op.member, s->member);
	o->op.member.status = s->status;
	o->op.member.managed = true;
	o->op.facility = strdup_or_null(s->facility);
	o->op.from_facility = strdup_or_null(s->from);
	o->op.reason = strdup_or_null(s->reason);
	o->source = strdup(s->source);
	o->person = strdup(s->person);
	if (op_key(p, s, &o->op) < 0)
		o->op.key = NULL;
	if (r < 0 || !o->op.key || !o->source || !o->person ||
	    (s->facility && !o->op.facility) || (s->from && !o->op.from_facility) ||
	    (s->reason && !o->op.reason)) {
		plan_op_clear(o);
		return -ENOMEM;
	}
	if (o->op.member.facility == NULL && s->facility)
		o->op.member.facility = strdup(s->facility);
	p->n_ops++;
	return 0;
}

static int add_hold(struct plan *p, const char *source, const char *person,
		    const char *facility, const char *reason)
{
	return add_op(p, &(struct op_spec){ .kind = SS_OP_HOLD, .source = source, .person = person,
					    .facility = facility, .reason = reason });
}

/* Is a refusal hold of this membership among the person's operations so far? */
static bool membership_refused(const struct plan *p, const struct op_spec *s)
{
	uint64_t h = person_hash(s->source, s->person);
	for (size_t i = p->n_ops; i > 0 && p->ops[i - 1].person_hash == h; i--)
		if (p->ops[i - 1].refusal && streq_ptr(p->ops[i - 1].op.facility, s->facility))
			return true;
	return false;
}

/* An operation the target refused for this person (SS_OP_REFUSED: a
 * uniqueness conflict, a value it does not accept) with this very content
 * is not sent again: sending it could only fail the same way, run after
 * run. The person is held with the target's words until what the
 * operation would write changes (their record, or the account). Later
 * operations of the membership in this plan (the invite after a refused
 * create) go with it. Returns 1 when s became a hold or was dropped. */
static int hold_if_refused(struct plan *p, const struct op_spec *s)
{
	if (membership_refused(p, s))
		return 1;
	if (!p->world.refused)
		return 0;
	_cleanup_free_ char *message = NULL, *why = NULL;
	int64_t at = 0;
	int r = p->world.refused(p->world.ud, s->source, s->person, strempty(s->facility), s->kind,
				 op_content_hash(s), &message, &at);
	if (r <= 0)
		return r;
	char when[32] = "an earlier run";
	struct tm tm;
	time_t t = (time_t)at;
	if (at > 0 && gmtime_r(&t, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
	if (asprintf(&why, "the target refused the %s (%s): %s; held until the person's record "
		     "changes", ss_op_kind_to_string(s->kind), when, message) < 0)
		return -ENOMEM;
	if ((r = add_hold(p, s->source, s->person, s->facility, why)) < 0)
		return r;
	p->ops[p->n_ops - 1].refusal = true;
	return 1;
}

static int add_counter(struct plan *p, const struct state_member *s, unsigned long missing)
{
	if (array_grow((void **)&p->counters, &p->cap_counters, p->n_counters, sizeof *p->counters) < 0)
		return -ENOMEM;
	struct plan_counter *c = &p->counters[p->n_counters];
	*c = (struct plan_counter){ strdup(s->source), strdup(s->person),
				    strdup(s->m.facility), missing };
	if (!c->source || !c->person || !c->facility) {
		free(c->source); free(c->person); free(c->facility);
		return -ENOMEM;
	}
	p->n_counters++;
	return 0;
}

static int remember_id(struct plan *p, const char *id, uint32_t *off)
{
	size_t len = strlen(id) + 1;
	while (p->ids_len + len > p->ids_cap) {
		size_t ncap = p->ids_cap ? p->ids_cap * 2 : 1 << 16;
		char *n = realloc(p->ids, ncap);
		if (!n)
			return -ENOMEM;
		p->ids = n;
		p->ids_cap = ncap;
	}
	if (p->ids_len > UINT32_MAX)
		return -E2BIG;
	memcpy(p->ids + p->ids_len, id, len);
	*off = (uint32_t)p->ids_len;
	p->ids_len += len;
	return 0;
}

static int remember_person(struct plan *p, const char *source, const char *id, uint32_t *off)
{
	if (array_grow((void **)&p->seen, &p->cap_seen, p->n_seen, sizeof *p->seen) < 0)
		return -ENOMEM;
	int r = remember_id(p, id, off);
	if (r < 0)
		return r;
	p->seen[p->n_seen++] = (struct seen_person){ person_hash(source, id), *off, source };
	return 0;
}

static int remember_email(struct plan *p, const char *source, const char *id, uint32_t off,
			  const char *facility, const char *email)
{
	if (array_grow((void **)&p->emails, &p->cap_emails, p->n_emails, sizeof *p->emails) < 0)
		return -ENOMEM;
	p->emails[p->n_emails++] = (struct seen_email){
		email_hash(facility, email), person_hash(source, id), off, facility, source };
	return 0;
}

/* ------------------------------------------------------------ invites */

struct invite_ctx {
	const char *source, *person, *facility;
	const struct ss_member *want;
	enum ss_status status;       /* the membership's status once this run's ops apply */
	unsigned long invites_sent;
	int64_t last_invite_at, created_at;
};

static int plan_invites(struct plan *p, const struct invite_ctx *c)
{
	const struct cfg_accounts *a = &p->cfg->accounts;
	if (isempty(c->want->email))
		return 0;
	struct op_spec s = {
		.source = c->source, .person = c->person, .facility = c->facility,
		.member = c->want, .status = SS_STATUS_PENDING, .created_at = c->created_at,
		.invites_after = c->invites_sent + 1, .last_invite_at = p->now,
	};
	if (c->status == SS_STATUS_NO_ACCOUNT && c->invites_sent == 0) {
		bool due = a->invite_on_create ||
			(a->invite_delay != DURATION_NEVER &&
			 p->now >= c->created_at + (int64_t)(a->invite_delay / USEC_PER_SEC));
		if (!due)
			return 0;
		s.kind = SS_OP_INVITE;
		s.reason = a->invite_on_create ? "welcome invite" : "invite after invite_delay";
		return add_op(p, &s);
	}
	if (c->status == SS_STATUS_PENDING && c->invites_sent > 0 &&
	    c->invites_sent - 1 < a->max_resends &&
	    p->now >= c->last_invite_at + (int64_t)(a->resend_after / USEC_PER_SEC)) {
		s.kind = SS_OP_RESEND_INVITE;
		s.reason = "still pending after resend_after";
		return add_op(p, &s);
	}
	return 0;
}

/* ---------------------------------------------------------- memberships */

static unsigned member_diff(const struct ss_member *want, const struct ss_member *cur)
{
	unsigned c = 0;
	if (!streq_ptr(want->given_name, cur->given_name)) c |= SS_FIELD_GIVEN_NAME;
	if (!streq_ptr(want->family_name, cur->family_name)) c |= SS_FIELD_FAMILY_NAME;
	if (!(want->email && cur->email ? strcasecmp(want->email, cur->email) == 0
					: want->email == cur->email))
		c |= SS_FIELD_EMAIL;
	if (!streq_ptr(want->role, cur->role)) c |= SS_FIELD_ROLE;
	if (!streq_ptr(want->label, cur->label)) c |= SS_FIELD_LABEL;
	if (!streq_ptr(want->permission_level, cur->permission_level)) c |= SS_FIELD_PERMISSION_LEVEL;
	if (!streq_ptr(want->speciality, cur->speciality)) c |= SS_FIELD_SPECIALITY;
	return c;
}

struct person_ctx {
	const char *source;
	const struct ss_record *r;
	const struct state_member *st;
	size_t n_st;
	bool *consumed;
};

static const struct state_member *state_in(const struct person_ctx *c, const char *facility)
{
	for (size_t i = 0; i < c->n_st; i++)
		if (streq(c->st[i].m.facility, facility))
			return &c->st[i];
	return NULL;
}

static void consume(const struct person_ctx *c, const struct state_member *s)
{
	if (s)
		c->consumed[s - c->st] = true;
}

/* One primary facility: a person whose membership is elsewhere moves. */
static const struct state_member *move_candidate(struct plan *p, const struct person_ctx *c)
{
	const struct state_member *best = NULL;
	if (p->cfg->facilities_per_person != CFG_FACILITIES_ONE)
		return NULL;
	for (size_t i = 0; i < c->n_st; i++) {
		if (c->consumed[i])
			continue;
		if (!best || (best->m.status == SS_STATUS_DEACTIVATED &&
			      c->st[i].m.status != SS_STATUS_DEACTIVATED))
			best = &c->st[i];
	}
	return best;
}

/* Does another account of facility use this email? 1 yes (other filled). */
static int email_taken(struct plan *p, const char *facility, const char *email,
		       const char *person, struct ss_member *other)
{
	if (isempty(email) || !p->world.lookup_email)
		return 0;
	int r = p->world.lookup_email(p->world.ud, facility, email, other);
	if (r > 0 && streq_ptr(other->external_id, person)) {
		ss_member_clear(other);   /* the person's own account */
		return 0;
	}
	return r;
}

/* With target.adopt: username, an account of facility with the user name
 * the target would give the person. 1 yes (other filled). */
static int username_taken(struct plan *p, const char *facility, const struct ss_member *want,
			  const char *person, struct ss_member *other)
{
	if (p->adopt != PLAN_ADOPT_USERNAME || !p->world.lookup_username)
		return 0;
	int r = p->world.lookup_username(p->world.ud, facility, want, other);
	if (r > 0 && streq_ptr(other->external_id, person)) {
		ss_member_clear(other);   /* the person's own account */
		return 0;
	}
	return r;
}

static int plan_new(struct plan *p, const struct person_ctx *c, const char *F,
		    const struct ss_member *want)
{
	_cleanup_(ss_member_clear) struct ss_member e = {0};
	int r = username_taken(p, F, want, c->r->id, &e);
	bool by_username = r > 0;
	if (r == 0)
		r = email_taken(p, F, want->email, c->r->id, &e);
	if (r < 0)
		return r;
	if (r > 0) {
		_cleanup_free_ char *why = NULL;
		if (e.role && strcasecmp(e.role, "Patient") == 0)
			r = asprintf(&why, "the %s belongs to a Patient account in %s; "
				     "staffsync never changes patient memberships",
				     by_username ? "user name" : "email", F);
		else if (!e.managed && (by_username || p->adopt == PLAN_ADOPT_EMAIL))
			return add_op(p, &(struct op_spec){
				.kind = SS_OP_ADOPT, .source = c->source, .person = c->r->id,
				.facility = F, .member = &(struct ss_member){ .ref = e.ref,
					.facility = want->facility, .external_id = want->external_id,
					.given_name = want->given_name, .family_name = want->family_name,
					.email = want->email, .role = want->role, .label = want->label,
					.permission_level = want->permission_level,
					.speciality = want->speciality },
				.status = e.status, .changed = member_diff(want, &e), .created_at = p->now,
				.reason = by_username ? "existing account adopted by user name"
						      : "existing account adopted by email" });
		else if (!e.managed)
			r = asprintf(&why, "an account with this email exists in %s and is not managed "
				     "by staffsync (set target.adopt: email to adopt it)", F);
		else
			r = asprintf(&why, "the %s is already used in %s by person %s",
				     by_username ? "user name" : "email", F, strempty(e.external_id));
		return r < 0 ? -ENOMEM : add_hold(p, c->source, c->r->id, F, why);
	}
	r = add_op(p, &(struct op_spec){ .kind = SS_OP_CREATE, .source = c->source, .person = c->r->id,
					 .facility = F, .member = want, .status = SS_STATUS_NO_ACCOUNT,
					 .created_at = p->now,
					 .reason = want->email ? "new staff member" : "new staff record without login" });
	if (r < 0)
		return r;
	return plan_invites(p, &(struct invite_ctx){ c->source, c->r->id, F, want,
						     SS_STATUS_NO_ACCOUNT, 0, 0, p->now });
}

/* What the state records for a reactivated membership; the workspace
 * restores its own status and the next run reads that. */
static enum ss_status status_after_reactivation(unsigned long invites_sent)
{
	return invites_sent ? SS_STATUS_PENDING : SS_STATUS_NO_ACCOUNT;
}

static int plan_move(struct plan *p, const struct person_ctx *c, const char *F,
		     const struct ss_member *want, const struct state_member *s)
{
	enum ss_status status = s->m.status == SS_STATUS_DEACTIVATED
		? status_after_reactivation(s->invites_sent) : s->m.status;
	_cleanup_(ss_member_clear) struct ss_member other = {0};
	int r = email_taken(p, F, want->email, c->r->id, &other);
	if (r < 0)
		return r;
	if (r > 0)
		return add_hold(p, c->source, c->r->id, F,
				"cannot move here: another account in this workspace uses the email");
	r = add_op(p, &(struct op_spec){
		.kind = SS_OP_MOVE, .source = c->source, .person = c->r->id, .facility = F,
		.from = s->m.facility, .member = want, .status = s->m.status,
		.changed = member_diff(want, &s->m), .invites_after = s->invites_sent,
		.last_invite_at = s->last_invite_at, .created_at = s->created_at,
		.reason = "primary facility changed" });
	if (r < 0)
		return r;
	/* A reactivation restores the account as it was; whether an invite is
	 * still due is decided next run, on the status the workspace reports. */
	if (s->m.status == SS_STATUS_DEACTIVATED)
		return add_op(p, &(struct op_spec){
			.kind = SS_OP_REACTIVATE, .source = c->source, .person = c->r->id,
			.facility = F, .member = want, .status = status,
			.invites_after = s->invites_sent, .last_invite_at = s->last_invite_at,
			.created_at = s->created_at, .reason = "back in the source" });
	return plan_invites(p, &(struct invite_ctx){ c->source, c->r->id, F, want, status,
						     s->invites_sent, s->last_invite_at, s->created_at });
}

static int plan_existing(struct plan *p, const struct person_ctx *c, const char *F,
			 const struct ss_member *want, const struct state_member *s,
			 const struct ss_member *cur)
{
	unsigned long invites = s ? s->invites_sent : 0;
	int64_t last = s ? s->last_invite_at : 0, created = s ? s->created_at : p->now;
	enum ss_status status = cur->status;
	bool reactivated = cur->status == SS_STATUS_DEACTIVATED;
	int r;

	if (reactivated) {
		if (s && s->m.status != SS_STATUS_DEACTIVATED)
			/* Someone deactivated it in the workspace: respect that and say so. */
			return add_hold(p, c->source, c->r->id, F,
					"deactivated in the workspace outside staffsync; not reactivated");
		status = status_after_reactivation(invites);
		r = add_op(p, &(struct op_spec){
			.kind = SS_OP_REACTIVATE, .source = c->source, .person = c->r->id,
			.facility = F, .member = want, .status = status, .invites_after = invites,
			.last_invite_at = last, .created_at = created, .reason = "back in the source" });
		if (r < 0)
			return r;
	}
	unsigned changed = member_diff(want, cur);
	if (changed & SS_FIELD_EMAIL) {
		_cleanup_(ss_member_clear) struct ss_member other = {0};
		r = email_taken(p, F, want->email, c->r->id, &other);
		if (r < 0)
			return r;
		if (r > 0)
			return add_hold(p, c->source, c->r->id, F,
					"the new email is already used by another account in this workspace");
	}
	if (changed) {
		r = add_op(p, &(struct op_spec){
			.kind = SS_OP_UPDATE, .source = c->source, .person = c->r->id, .facility = F,
			.member = want, .status = status, .changed = changed, .invites_after = invites,
			.last_invite_at = last, .created_at = created, .reason = "changed in the source" });
		if (r < 0)
			return r;
	}
	if (reactivated)
		return 0;   /* invites wait for the restored status (see plan_move) */
	return plan_invites(p, &(struct invite_ctx){ c->source, c->r->id, F, want, status,
						     invites, last, created });
}

static int plan_membership(struct plan *p, const struct person_ctx *c, const struct desired *d)
{
	const char *F = d->facility->id;
	struct ss_member want = mapping_member(c->r, d);
	const struct state_member *s = state_in(c, F);
	if (!s) {
		const struct state_member *from = move_candidate(p, c);
		if (from) {
			consume(c, from);
			return plan_move(p, c, F, &want, from);
		}
	}
	consume(c, s);
	_cleanup_(ss_member_clear) struct ss_member t = {0};
	int r = p->world.lookup ? p->world.lookup(p->world.ud, F, c->r->id, &t) : 0;
	if (r < 0)
		return r;
	if (r > 0)
		return plan_existing(p, c, F, &want, s, &t);
	/* New, or (with s) the workspace lost the row: put it back. */
	return plan_new(p, c, F, &want);
}

int plan_person(struct plan *p, const char *source, const struct ss_record *r,
		const struct mapping *m, const struct state_member *st, size_t n_st)
{
	uint32_t off = 0;
	int rr;
	if (!r->id)
		return 0;   /* unidentifiable: the source made its listing incomplete */
	if ((rr = remember_person(p, source, r->id, &off)) < 0)
		return rr;
	if (!r->enabled || r->deleted) {
		for (size_t i = 0; i < n_st; i++)
			if (st[i].m.status != SS_STATUS_DEACTIVATED &&
			    (rr = plan_missing(p, &st[i])) < 0)
				return rr;
		return 0;
	}
	if (m->hold) {
		/* Held, but present: they are not missing. */
		for (size_t i = 0; i < n_st; i++)
			if (st[i].missing_runs > 0 && (rr = add_counter(p, &st[i], 0)) < 0)
				return rr;
		return add_hold(p, source, r->id, n_st ? st[0].m.facility : NULL, m->hold);
	}

	_cleanup_free_ bool *consumed = calloc(n_st + 1, sizeof(bool));
	if (!consumed)
		return -ENOMEM;
	struct person_ctx c = { source, r, st, n_st, consumed };
	size_t first_op = p->n_ops;
	bool any_hold = false;
	for (size_t i = 0; i < m->n; i++) {
		const struct desired *d = &m->d[i];
		if (r->email && (rr = remember_email(p, source, r->id, off, d->facility->id, r->email)) < 0)
			return rr;
		if (d->hold) {
			any_hold = true;
			consume(&c, state_in(&c, d->facility->id));
			rr = add_hold(p, source, r->id, d->facility->id, d->hold);
		} else
			rr = plan_membership(p, &c, d);
		if (rr < 0)
			return rr;
	}
	/* A hold from the workspace (an email in use, a hand deactivation)
	 * counts like one from the mapping. */
	for (size_t i = first_op; i < p->n_ops && !any_hold; i++)
		any_hold = p->ops[i].op.kind == SS_OP_HOLD;
	for (size_t i = 0; i < n_st; i++) {
		if (consumed[i]) {
			if (st[i].missing_runs > 0 && (rr = add_counter(p, &st[i], 0)) < 0)
				return rr;
			continue;
		}
		/* Present but no longer routed here. A held person keeps everything. */
		if (any_hold || st[i].m.status == SS_STATUS_DEACTIVATED)
			continue;
		rr = add_op(p, &(struct op_spec){
			.kind = SS_OP_DEACTIVATE, .source = source, .person = r->id,
			.facility = st[i].m.facility, .member = &st[i].m,
			.status = SS_STATUS_DEACTIVATED, .invites_after = st[i].invites_sent,
			.last_invite_at = st[i].last_invite_at, .created_at = st[i].created_at,
			.routing = true, .reason = "no longer routed to this facility" });
		if (rr < 0)
			return rr;
	}
	return 0;
}

int plan_missing(struct plan *p, const struct state_member *s)
{
	unsigned long missing = s->missing_runs + 1;
	if (missing < p->cfg->leavers.grace_runs)
		return add_counter(p, s, missing);
	char why[128];
	snprintf(why, sizeof why, "missing from %lu complete listing%s (leavers.grace_runs: %lu)",
		 missing, missing == 1 ? "" : "s", p->cfg->leavers.grace_runs);
	return add_op(p, &(struct op_spec){
		.kind = SS_OP_DEACTIVATE, .source = s->source, .person = s->person,
		.facility = s->m.facility, .member = &s->m, .status = SS_STATUS_DEACTIVATED,
		.invites_after = s->invites_sent, .last_invite_at = s->last_invite_at,
		.created_at = s->created_at, .missing_after = missing, .reason = why });
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int cmp_seen(const void *a, const void *b)
{
	return cmp_u64(((const struct seen_person *)a)->hash, ((const struct seen_person *)b)->hash);
}

void plan_seen_index(struct plan *p)
{
	if (p->n_seen)
		qsort(p->seen, p->n_seen, sizeof *p->seen, cmp_seen);
}

bool plan_seen(const struct plan *p, const char *source, const char *person)
{
	struct seen_person key = { .hash = person_hash(source, person) };
	return p->n_seen && bsearch(&key, p->seen, p->n_seen, sizeof *p->seen, cmp_seen) != NULL;
}

void plan_withhold_deactivations(struct plan *p, const char *why)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		struct plan_op *o = &p->ops[i];
		if (o->op.kind != SS_OP_DEACTIVATE)
			continue;
		char *reason = NULL;
		if (asprintf(&reason, "deactivation withheld: %s", why) < 0)
			continue;
		o->op.kind = SS_OP_HOLD;
		free(o->op.reason);
		o->op.reason = reason;
	}
	/* Nobody counts as missing from a listing that was not complete: keep
	 * only the resets of people who are back. */
	size_t kept = 0;
	for (size_t i = 0; i < p->n_counters; i++) {
		struct plan_counter *c = &p->counters[i];
		if (c->missing == 0) {
			p->counters[kept++] = *c;
			continue;
		}
		free(c->source);
		free(c->person);
		free(c->facility);
	}
	p->n_counters = kept;
	p->deactivations_withheld = true;
}

/* ------------------------------------------------------------ finishing */

static int cmp_email(const void *a, const void *b)
{
	const struct seen_email *x = a, *y = b;
	return cmp_u64(x->hash, y->hash);
}

struct held { uint64_t person; const char *facility; };   /* facility NULL: everywhere */

static int cmp_held(const void *a, const void *b)
{
	return cmp_u64(((const struct held *)a)->person, ((const struct held *)b)->person);
}

/* Drop every operation of the held persons (in the held facility) and hold them. */
static void retract(struct plan *p, struct held *h, size_t n)
{
	qsort(h, n, sizeof *h, cmp_held);
	for (size_t i = 0; i < p->n_ops; i++) {
		struct plan_op *o = &p->ops[i];
		struct held key = { o->person_hash, NULL };
		struct held *f = bsearch(&key, h, n, sizeof *h, cmp_held);
		if (!f)
			continue;
		/* bsearch finds one of several entries for the person: scan the run. */
		while (f > h && f[-1].person == o->person_hash)
			f--;
		/* A person held in one facility keeps their other memberships too. */
		for (; f < h + n && f->person == o->person_hash; f++)
			if (!f->facility || streq_ptr(f->facility, o->op.facility) ||
			    (o->op.kind == SS_OP_DEACTIVATE && o->routing)) {
				o->op.kind = _SS_OP_MAX;   /* tombstone */
				break;
			}
	}
}

static int hold_duplicates(struct plan *p)
{
	_cleanup_free_ struct held *h = NULL;
	size_t n = 0, cap = 0;
	struct { const char *source, *id, *facility, *reason; } *notes = NULL;
	size_t n_notes = 0, cap_notes = 0;
	int r = 0;

	/* The same id more than once in a source: nobody knows which is right. */
	plan_seen_index(p);
	for (size_t i = 1; i < p->n_seen; i++) {
		if (p->seen[i].hash != p->seen[i - 1].hash)
			continue;
		if (i >= 2 && p->seen[i - 1].hash == p->seen[i - 2].hash)
			continue;   /* one hold per id */
		if (array_grow((void **)&h, &cap, n, sizeof *h) < 0 ||
		    array_grow((void **)&notes, &cap_notes, n_notes, sizeof *notes) < 0) {
			r = -ENOMEM;
			goto out;
		}
		h[n++] = (struct held){ p->seen[i].hash, NULL };
		notes[n_notes++] = (typeof(*notes)){ p->seen[i].source, p->ids + p->seen[i].id_off, NULL,
						     "the same id appears more than once in the source" };
	}
	/* The same email for different people in one facility: the first id keeps it. */
	if (p->n_emails)
		qsort(p->emails, p->n_emails, sizeof *p->emails, cmp_email);
	for (size_t i = 0; i < p->n_emails;) {
		size_t j = i, keep = i;
		while (j < p->n_emails && p->emails[j].hash == p->emails[i].hash) {
			if (strcmp(p->ids + p->emails[j].id_off, p->ids + p->emails[keep].id_off) < 0)
				keep = j;
			j++;
		}
		for (size_t k = i; k < j; k++) {
			if (p->emails[k].person == p->emails[keep].person)
				continue;
			if (array_grow((void **)&h, &cap, n, sizeof *h) < 0 ||
			    array_grow((void **)&notes, &cap_notes, n_notes, sizeof *notes) < 0) {
				r = -ENOMEM;
				goto out;
			}
			h[n++] = (struct held){ p->emails[k].person, p->emails[k].facility };
			notes[n_notes++] = (typeof(*notes)){ p->emails[k].source, p->ids + p->emails[k].id_off,
				p->emails[k].facility, "the same email is used by another person in this facility" };
		}
		i = j;
	}
	if (n == 0)
		goto out;
	retract(p, h, n);
	for (size_t i = 0; i < n_notes && r >= 0; i++)
		r = add_hold(p, notes[i].source, notes[i].id, notes[i].facility, notes[i].reason);
out:
	free(notes);
	return r;
}

static int kind_order(enum ss_op_kind k)
{
	static const int order[_SS_OP_MAX + 1] = {
		[SS_OP_MOVE] = 0, [SS_OP_ADOPT] = 1, [SS_OP_CREATE] = 2, [SS_OP_REACTIVATE] = 3,
		[SS_OP_UPDATE] = 4, [SS_OP_INVITE] = 5, [SS_OP_RESEND_INVITE] = 6,
		[SS_OP_DEACTIVATE] = 7, [SS_OP_HOLD] = 8, [_SS_OP_MAX] = 9,
	};
	return order[k];
}

static int cmp_op(const void *a, const void *b)
{
	const struct plan_op *x = a, *y = b;
	bool dead_x = x->op.kind == _SS_OP_MAX, dead_y = y->op.kind == _SS_OP_MAX;
	if (dead_x != dead_y)
		return dead_x - dead_y;   /* tombstones last */
	int c = strcmp(strempty(x->op.facility), strempty(y->op.facility));
	if (c == 0)
		c = strcmp(x->person, y->person);
	if (c == 0)
		c = strcmp(x->source, y->source);
	if (c == 0)
		c = kind_order(x->op.kind) - kind_order(y->op.kind);
	return c;
}

static uint64_t fingerprint(const struct plan *p)
{
	uint64_t h = FNV1A64_INIT;
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *o = &p->ops[i];
		if (o->op.kind == SS_OP_HOLD)
			continue;   /* holds change nothing */
		const struct ss_member *m = &o->op.member;
		h = fnv1a64(&o->op.kind, sizeof o->op.kind, h);
		h = fnv1a64(&o->op.changed, sizeof o->op.changed, h);
		/* Not the key: it carries the planning time, and an approved plan
		 * is applied by a later run. */
		h = fnv1a64(&o->invites_after, sizeof o->invites_after, h);
		h = fnv1a64(&m->status, sizeof m->status, h);
		const char *parts[] = { o->source, o->person, o->op.facility, o->op.from_facility,
					m->given_name, m->family_name, m->email, m->role, m->label,
					m->permission_level, m->speciality, m->ref };
		for (size_t k = 0; k < ELEMENTSOF(parts); k++)
			h = fnv1a64_str(parts[k], h);
	}
	return h;
}

int plan_finish(struct plan *p)
{
	int r = hold_duplicates(p);
	if (r < 0)
		return r;
	if (p->n_ops)
		qsort(p->ops, p->n_ops, sizeof *p->ops, cmp_op);
	/* Tombstones sort last: drop them. */
	while (p->n_ops > 0 && p->ops[p->n_ops - 1].op.kind == _SS_OP_MAX)
		plan_op_clear(&p->ops[--p->n_ops]);
	memset(p->counts, 0, sizeof p->counts);
	for (size_t i = 0; i < p->n_ops; i++)
		p->counts[p->ops[i].op.kind]++;
	p->hash = fingerprint(p);
	return 0;
}
