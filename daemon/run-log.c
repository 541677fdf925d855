/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "log.h"
#include "run.h"
#include "run-log.h"
#include "util.h"

const char *run_status_word(int run_exit)
{
	switch (run_exit) {
	case RUN_EXIT_OK: return "ok";
	case RUN_EXIT_INCOMPLETE: return "partial";
	case RUN_EXIT_GATE: return "gated";
	case RUN_EXIT_STOPPED: return "stopped";
	default: return "failed";
	}
}

void run_log_gate(long run_id, const char *reason)
{
	char f_run[40];
	snprintf(f_run, sizeof f_run, "STAFFSYNC_RUN=%ld", run_id);
	log_fields(LOG_ERR, (const char *const[]){ SS_MID_GATE_TRIPPED, f_run, NULL },
		   "safety gate stopped run %ld, nothing was written: %s. "
		   "Review the plan (staffsyncctl plan) and approve it with: staffsyncctl approve %ld",
		   run_id, reason, run_id);
}

static void counts_text(const unsigned long *n, char *buf, size_t size)
{
	snprintf(buf, size, "created=%lu invited=%lu resent=%lu updated=%lu moved=%lu "
		 "deactivated=%lu reactivated=%lu adopted=%lu held=%lu",
		 n[SS_OP_CREATE], n[SS_OP_INVITE], n[SS_OP_RESEND_INVITE], n[SS_OP_UPDATE],
		 n[SS_OP_MOVE], n[SS_OP_DEACTIVATE], n[SS_OP_REACTIVATE], n[SS_OP_ADOPT],
		 n[SS_OP_HOLD]);
}

/* Ops are grouped by facility in the plan. */
static void log_facilities(long run_id, const struct plan *p)
{
	char f_run[40], f_fac[300], text[300];
	snprintf(f_run, sizeof f_run, "STAFFSYNC_RUN=%ld", run_id);
	for (size_t i = 0, end; i < p->n_ops; i = end) {
		unsigned long n[_SS_OP_MAX] = {0};
		const char *fac = p->ops[i].op.facility;
		for (end = i; end < p->n_ops && streq_ptr(p->ops[end].op.facility, fac); end++)
			n[p->ops[end].op.kind]++;
		counts_text(n, text, sizeof text);
		snprintf(f_fac, sizeof f_fac, "STAFFSYNC_FACILITY=%s", strempty(fac));
		log_fields(LOG_INFO, (const char *const[]){ f_run, f_fac, NULL },
			   "run %ld, facility %s: %s", run_id, strempty(fac), text);
	}
}

void run_log_finished(long run_id, const char *status, const struct plan *p,
		      unsigned long done, unsigned long already, unsigned long failed,
		      unsigned long deferred, unsigned long mail_failed)
{
	char f_run[40], f_status[40], f_ops[40], f_failed[40], f_mail[48], text[300], mail[80] = "";
	log_facilities(run_id, p);
	snprintf(f_run, sizeof f_run, "STAFFSYNC_RUN=%ld", run_id);
	snprintf(f_status, sizeof f_status, "STAFFSYNC_RUN_STATUS=%s", status);
	snprintf(f_ops, sizeof f_ops, "STAFFSYNC_OPS=%zu", p->n_ops);
	snprintf(f_failed, sizeof f_failed, "STAFFSYNC_FAILED=%lu", failed + deferred);
	snprintf(f_mail, sizeof f_mail, "STAFFSYNC_MAIL_FAILED=%lu", mail_failed);
	counts_text(p->counts, text, sizeof text);
	/* Invite e-mail has its own outcome: it does not fail the run, but a
	 * mail given up for good is the operator's to follow up. */
	if (mail_failed)
		snprintf(mail, sizeof mail, "; %lu invite e-mails failed for good", mail_failed);
	log_fields(streq(status, "ok") && !mail_failed ? LOG_INFO : LOG_WARNING,
		   (const char *const[]){ SS_MID_RUN_FINISHED, f_run, f_status, f_ops, f_failed, f_mail, NULL },
		   "run %ld finished (%s): %zu operations, %lu applied, %lu already applied, "
		   "%lu failed, %lu deferred; %s%s",
		   run_id, status, p->n_ops, done, already, failed, deferred, text, mail);
}

static void log_person(int prio, const char *mid, long run_id, const struct plan_op *o,
		       const char *op, const char *what, const char *reason)
{
	char f_run[40], f_fac[300], f_person[300], f_op[40];
	snprintf(f_run, sizeof f_run, "STAFFSYNC_RUN=%ld", run_id);
	snprintf(f_fac, sizeof f_fac, "STAFFSYNC_FACILITY=%s", strempty(o->op.facility));
	snprintf(f_person, sizeof f_person, "STAFFSYNC_PERSON=%s", strempty(o->person));
	snprintf(f_op, sizeof f_op, "STAFFSYNC_OP=%s", op);
	log_fields(prio, (const char *const[]){ mid, f_run, f_fac, f_person, f_op, NULL },
		   "run %ld: %s %s in facility %s%s%s", run_id, what, strempty(o->person),
		   strempty(o->op.facility), reason ? ": " : "", strempty(reason));
}

/* Whether the state now holds the membership as the op leaves it. */
static bool op_took_effect(state *st, const struct plan_op *o)
{
	struct state_member *rows = NULL;
	size_t n = 0;
	bool ok = false;
	if (state_person_members(st, o->source, o->person, &rows, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !ok; i++) {
		if (!streq_ptr(rows[i].m.facility, o->op.facility))
			continue;
		ok = o->op.kind == SS_OP_DEACTIVATE ? rows[i].m.status == SS_STATUS_DEACTIVATED
						     : rows[i].invites_sent >= o->invites_after;
	}
	state_members_free(rows, n);
	return ok;
}

void run_log_events(state *st, const struct plan *p, long run_id)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *o = &p->ops[i];
		switch (o->op.kind) {
		case SS_OP_HOLD:
			log_person(LOG_NOTICE, SS_MID_PERSON_HELD, run_id, o, "hold", "held", o->op.reason);
			break;
		case SS_OP_DEACTIVATE:
			if (op_took_effect(st, o))
				log_person(LOG_NOTICE, SS_MID_PERSON_DEACTIVATED, run_id, o, "deactivate", "deactivated", NULL);
			else
				log_person(LOG_ERR, SS_MID_OP_FAILED, run_id, o, "deactivate", "could not deactivate", NULL);
			break;
		case SS_OP_INVITE:
		case SS_OP_RESEND_INVITE:
			if (op_took_effect(st, o))
				log_person(LOG_INFO, SS_MID_INVITE_SENT, run_id, o,
					   o->op.kind == SS_OP_INVITE ? "invite" : "resend", "invited", NULL);
			else
				log_person(LOG_ERR, SS_MID_OP_FAILED, run_id, o,
					   o->op.kind == SS_OP_INVITE ? "invite" : "resend", "could not invite", NULL);
			break;
		default:
			break;
		}
	}
}
