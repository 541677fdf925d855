/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include "config.h"
#include "domain.h"
#include "plan-print.h"
#include "util.h"

static const char *facility_name(const struct plan *p, const char *id)
{
	const struct cfg_facility *f = id ? config_facility(p->cfg, id) : NULL;
	return f && f->name ? f->name : id;
}

static void print_member(FILE *f, const struct plan_op *o)
{
	const struct ss_member *m = &o->op.member;
	if (o->op.kind == SS_OP_HOLD) {
		fprintf(f, ": %s", strempty(o->op.reason));
		return;
	}
	fprintf(f, " %s %s", strempty(m->given_name), strempty(m->family_name));
	if (m->email)
		fprintf(f, " <%s>", m->email);
	if (o->op.kind == SS_OP_DEACTIVATE || o->op.kind == SS_OP_INVITE ||
	    o->op.kind == SS_OP_RESEND_INVITE) {
		fprintf(f, " (%s)", strempty(o->op.reason));
		return;
	}
	fprintf(f, ": %s", strempty(m->role));
	if (m->label)
		fprintf(f, " (%s)", m->label);
	fprintf(f, ", %s", strempty(m->permission_level));
	if (m->speciality)
		fprintf(f, ", %s", m->speciality);
	if (o->op.kind == SS_OP_MOVE)
		fprintf(f, " [from %s]", strempty(o->op.from_facility));
}

static void print_heading(FILE *f, const struct plan *p, const char *id)
{
	if (id)
		fprintf(f, "%s (%s):", facility_name(p, id), id);
	else
		fputs("not placed in any facility:", f);
}

void plan_print_text(FILE *f, const struct plan *p)
{
	if (p->n_ops == 0)
		fputs("nothing to do: the workspaces match the sources\n", f);
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *o = &p->ops[i];
		if (i == 0 || !streq_ptr(p->ops[i - 1].op.facility, o->op.facility)) {
			print_heading(f, p, o->op.facility);
			fputc('\n', f);
		}
		fprintf(f, "  %-13s %s", ss_op_kind_name(o->op.kind), o->person);
		print_member(f, o);
		fputc('\n', f);
	}
}

/* The operations of one facility: [i, end). */
static size_t facility_end(const struct plan *p, size_t i)
{
	size_t end = i;
	while (end < p->n_ops && streq_ptr(p->ops[end].op.facility, p->ops[i].op.facility))
		end++;
	return end;
}

void plan_print_outcome(FILE *f, const struct plan *p)
{
	static const char *const verb[_SS_OP_MAX] = {
		[SS_OP_CREATE] = "created", [SS_OP_INVITE] = "invited",
		[SS_OP_RESEND_INVITE] = "invites resent", [SS_OP_UPDATE] = "updated",
		[SS_OP_MOVE] = "moved in", [SS_OP_DEACTIVATE] = "deactivated",
		[SS_OP_REACTIVATE] = "reactivated", [SS_OP_HOLD] = "held",
		[SS_OP_ADOPT] = "adopted",
	};
	if (p->n_ops == 0)
		fputs("nothing to do: the workspaces match the sources\n", f);
	for (size_t i = 0, end; i < p->n_ops; i = end) {
		unsigned long n[_SS_OP_MAX] = {0};
		end = facility_end(p, i);
		for (size_t k = i; k < end; k++)
			n[p->ops[k].op.kind]++;
		print_heading(f, p, p->ops[i].op.facility);
		for (int k = 0, first = 1; k < _SS_OP_MAX; k++)
			if (n[k]) {
				fprintf(f, "%s %lu %s", first ? "" : ",", n[k], verb[k]);
				first = 0;
			}
		fputc('\n', f);
		for (size_t k = i; k < end; k++)
			if (p->ops[k].op.kind == SS_OP_HOLD)
				fprintf(f, "  held %s: %s\n", p->ops[k].person, strempty(p->ops[k].op.reason));
	}
}

void plan_print_summary(FILE *f, const unsigned long c[])
{
	fprintf(f, "summary: created=%lu invited=%lu resent=%lu updated=%lu moved=%lu "
		"deactivated=%lu reactivated=%lu adopted=%lu held=%lu\n",
		c[SS_OP_CREATE], c[SS_OP_INVITE], c[SS_OP_RESEND_INVITE], c[SS_OP_UPDATE],
		c[SS_OP_MOVE], c[SS_OP_DEACTIVATE], c[SS_OP_REACTIVATE], c[SS_OP_ADOPT],
		c[SS_OP_HOLD]);
}

static json_t *op_json(const struct plan_op *o)
{
	const struct ss_member *m = &o->op.member;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}",
			      "op", ss_op_kind_name(o->op.kind), "source", o->source,
			      "person", o->person, "facility", o->op.facility,
			      "from_facility", o->op.from_facility, "reason", o->op.reason);
	if (!j || o->op.kind == SS_OP_HOLD)
		return j;
	json_t *jm = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s}",
			       "given_name", m->given_name, "family_name", m->family_name,
			       "email", m->email, "role", m->role, "label", m->label,
			       "permission_level", m->permission_level, "speciality", m->speciality,
			       "status", ss_status_name(m->status));
	if (jm)
		json_object_set_new(j, "member", jm);
	return j;
}

int plan_print_json(FILE *f, const struct plan *p)
{
	json_t *ops = json_array();
	json_t *counts = json_object();
	for (size_t i = 0; ops && i < p->n_ops; i++)
		json_array_append_new(ops, op_json(&p->ops[i]));
	for (int k = 0; counts && k < _SS_OP_MAX; k++)
		json_object_set_new(counts, ss_op_kind_name((enum ss_op_kind)k),
				    json_integer((json_int_t)p->counts[k]));
	char hash[17];
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)p->hash);
	json_t *root = json_pack("{s:o, s:o, s:s, s:b}", "operations", ops, "counts", counts,
				 "plan_hash", hash, "deactivations_withheld", p->deactivations_withheld);
	if (!root)
		return -ENOMEM;
	int r = json_dumpf(root, f, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', f);
	json_decref(root);
	return r < 0 ? -EIO : 0;
}
