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
	return f && f->name ? f->name : id ? id : "(no facility)";
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

void plan_print_text(FILE *f, const struct plan *p, size_t max_ops)
{
	const char *current = NULL;
	size_t shown = 0;
	if (p->n_ops == 0)
		fputs("nothing to do: the workspaces match the sources\n", f);
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *o = &p->ops[i];
		if (max_ops && shown == max_ops) {
			fprintf(f, "  ... and %zu more operations\n", p->n_ops - i);
			break;
		}
		if (i == 0 || !streq_ptr(current, o->op.facility)) {
			current = o->op.facility;
			fprintf(f, "%s (%s):\n", facility_name(p, current), strempty(current));
		}
		fprintf(f, "  %-13s %s", ss_op_kind_name(o->op.kind), o->person);
		print_member(f, o);
		fputc('\n', f);
		shown++;
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
