/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>
#include "apply.h"
#include "conf.h"
#include "domain.h"
#include "gates.h"
#include "log.h"
#include "mapping.h"
#include "plan-print.h"
#include "plan.h"
#include "run.h"
#include "run-log.h"
#include "state.h"
#include "util.h"

#define PROGRESS_EVERY 100000

int64_t run_now(void)
{
	const char *fake = getenv("STAFFSYNC_FAKE_NOW");
	if (!isempty(fake))
		return strtoll(fake, NULL, 10);
	return (int64_t)time(NULL);
}

/* The target answers the plan's questions about the workspaces, the state
 * about what the target refused before. */
struct world_ctx {
	const struct cfg_plugin_ref *target;
	state *st;
};

static int world_lookup(void *ud, const char *f, const char *id, struct ss_member *out)
{
	const struct cfg_plugin_ref *t = ((struct world_ctx *)ud)->target;
	return t->plugin->target->lookup(t->instance, f, id, out);
}

static int world_lookup_email(void *ud, const char *f, const char *email, struct ss_member *out)
{
	const struct cfg_plugin_ref *t = ((struct world_ctx *)ud)->target;
	return t->plugin->target->lookup_email(t->instance, f, email, out);
}

static int world_lookup_username(void *ud, const char *f, const struct ss_member *want,
				 struct ss_member *out)
{
	const struct cfg_plugin_ref *t = ((struct world_ctx *)ud)->target;
	return ss_target_lookup_username(t->plugin)(t->instance, f, want, out);
}

static int world_refused(void *ud, const char *source, const char *person, const char *facility,
			 enum ss_op_kind kind, uint64_t content, char **message, int64_t *at)
{
	return state_refusal_get(((struct world_ctx *)ud)->st, source, person, facility, kind,
				 content, message, at);
}

/* target.adopt (checked when the plugins were opened). */
static enum plan_adopt target_adopt(struct config *cfg)
{
	const yaml_node_t *n = cfg->target.node ? conf_get(cfg->conf, cfg->target.node, "adopt") : NULL;
	const char *v = n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
	if (strcasecmp(v, "email") == 0)
		return PLAN_ADOPT_EMAIL;
	if (strcasecmp(v, "username") == 0 && ss_target_lookup_username(cfg->target.plugin))
		return PLAN_ADOPT_USERNAME;
	return PLAN_ADOPT_NONE;
}

struct read_ctx {
	struct config *cfg;
	struct plan *plan;
	state *st;
	const char *source;
	unsigned long n;
	const struct run_hooks *hooks;
};

/* The service's hook: a negative return stops the run (-ECANCELED). */
static int run_progress(const struct run_hooks *h, const char *phase, unsigned long done)
{
	return h && h->progress ? h->progress(h->userdata, phase, done) : 0;
}

static int on_record(void *ud, const struct ss_record *r)
{
	struct read_ctx *c = ud;
	struct mapping m;
	struct state_member *rows = NULL;
	size_t n_rows = 0;
	int e;
	if (r->error)
		log_warning("source %s: %s%s%s", c->source, strempty(r->origin),
			    r->origin ? ": " : "", r->error);
	if ((e = mapping_map(c->cfg, r, &m, NULL)) < 0)
		return e;
	if (r->id)
		e = state_person_members(c->st, c->source, r->id, &rows, &n_rows);
	if (e >= 0)
		e = plan_person(c->plan, c->source, r, &m, rows, n_rows);
	state_members_free(rows, n_rows);
	mapping_clear(&m);
	if (++c->n % PROGRESS_EVERY == 0)
		log_info("source %s: %lu records read", c->source, c->n);
	if (e >= 0 && c->n % RUN_PROGRESS_STEP == 0)
		e = run_progress(c->hooks, c->source, c->n);
	return e;
}

static int on_state_row(void *ud, const struct state_member *s)
{
	struct read_ctx *c = ud;
	if (plan_seen(c->plan, s->source, s->person))
		return 0;
	return plan_missing(c->plan, s);
}

static const char *listing_name(enum ss_listing l)
{
	static const char *const n[] = { "full", "incremental", "incomplete", "failed" };
	return (unsigned)l < ELEMENTSOF(n) ? n[l] : "unknown";
}

struct source_run {
	struct gate_source gate;
	struct ss_read_result res;
};

static int read_source(struct config *cfg, size_t i, struct plan *plan, state *st,
		       const struct run_options *opt, int64_t now, struct source_run *sr)
{
	struct cfg_plugin_ref *src = &cfg->sources[i];
	_cleanup_free_ char *cursor = NULL;
	int r = state_source_get(st, src->name, &sr->gate.last_full_count, &cursor);
	if (r < 0)
		return r;
	struct ss_read_request req = { .full = opt->full || !cursor, .cursor = cursor, .now = now };
	struct read_ctx c = { cfg, plan, st, src->name, 0, opt->hooks };
	r = src->plugin->source->read(src->instance, &req, on_record, &c, &sr->res);
	if (r < 0)
		return r;
	sr->gate.name = src->name;
	sr->gate.listing = sr->res.listing;
	sr->gate.records = sr->res.records;
	log_info("source %s: %lu records, listing %s%s%s", src->name, sr->res.records,
		 listing_name(sr->res.listing), sr->res.reason[0] ? ": " : "", sr->res.reason);
	if (sr->res.listing != SS_LISTING_FULL)
		return 0;
	/* Only a complete listing tells who has left. */
	plan_seen_index(plan);
	return state_for_each_active(st, src->name, on_state_row, &c);
}

static int finish_run(state *st, long run_id, const struct plan *p, const char *status,
		      const char *message, unsigned long failed)
{
	if (run_id <= 0)
		return 0;
	struct state_run run = { .id = run_id, .finished_at = run_now(), .status = (char *)status,
				 .message = (char *)message, .plan_hash = p->hash, .failed = failed };
	memcpy(run.counts, p->counts, sizeof run.counts);
	return state_run_finish(st, &run);
}

static int save_sources(state *st, struct config *cfg, struct source_run *sr)
{
	int r = 0;
	for (size_t i = 0; i < cfg->n_sources && r >= 0; i++) {
		long count = sr[i].res.listing == SS_LISTING_FULL ? (long)sr[i].res.records
								   : sr[i].gate.last_full_count;
		if (sr[i].res.listing != SS_LISTING_FAILED)
			r = state_source_put(st, cfg->sources[i].name, count, sr[i].res.cursor);
	}
	return r;
}

struct run {
	struct config *cfg;
	const struct run_options *opt;
	state *st;
	struct plan plan;
	struct source_run *sr;
	struct world_ctx world;
	long run_id;
	int64_t now;
	bool failed_source, incomplete;
};

static void run_free(struct run *R)
{
	for (size_t i = 0; R->sr && i < R->cfg->n_sources; i++)
		free(R->sr[i].res.cursor);
	free(R->sr);
	plan_free(&R->plan);
	state_close(R->st);
}

static int run_prepare(struct run *R)
{
	struct config *cfg = R->cfg;
	const struct cfg_plugin_ref *t = &cfg->target;
	int r = state_open(cfg->state_dir, R->opt->dry_run, &R->st);
	if (r < 0) {
		log_error("cannot open the state in %s: %s", cfg->state_dir, strerror(-r));
		return r;
	}
	if ((r = t->plugin->target->connect(t->instance, R->opt->dry_run)) < 0) {
		log_error("cannot connect to the target (%s): %s", t->type, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < cfg->n_facilities && r >= 0; i++)
		r = t->plugin->target->facility(t->instance, cfg->facilities[i].id, cfg->facilities[i].name);
	if (r < 0) {
		log_error("cannot prepare the workspaces: %s", strerror(-r));
		return r;
	}
	if (!R->opt->dry_run) {
		struct apply_stats stats = {0};
		if ((r = apply_resume(R->st, cfg, R->now, &stats)) < 0) {
			log_error("cannot resume the interrupted run: %s", strerror(-r));
			return r;
		}
		if ((r = state_run_begin(R->st, R->now, &R->run_id)) < 0)
			return r;
	}
	return 0;
}

static int run_plan(struct run *R)
{
	struct config *cfg = R->cfg;
	R->world = (struct world_ctx){ &cfg->target, R->st };
	struct plan_world world = {
		.lookup = world_lookup, .lookup_email = world_lookup_email, .ud = &R->world,
		.lookup_username = ss_target_lookup_username(cfg->target.plugin) ? world_lookup_username : NULL,
		.refused = world_refused,
	};
	plan_init(&R->plan, cfg, &world, R->now, target_adopt(cfg));
	R->sr = calloc(cfg->n_sources + 1, sizeof *R->sr);
	if (!R->sr)
		return -ENOMEM;
	_cleanup_free_ char *why = NULL;
	for (size_t i = 0; i < cfg->n_sources; i++) {
		int r = read_source(cfg, i, &R->plan, R->st, R->opt, R->now, &R->sr[i]);
		if (r == -ECANCELED)
			return r;
		if (r < 0) {
			log_error("source %s: %s", cfg->sources[i].name, strerror(-r));
			return r;
		}
		enum ss_listing l = R->sr[i].res.listing;
		if (l == SS_LISTING_FAILED)
			log_error("source %s failed: %s", cfg->sources[i].name, R->sr[i].res.reason);
		R->failed_source |= l == SS_LISTING_FAILED;
		R->incomplete |= l == SS_LISTING_INCOMPLETE;
		/* One untrustworthy listing and nobody is deactivated, from any source. */
		if ((l == SS_LISTING_FAILED || l == SS_LISTING_INCOMPLETE) && !why &&
		    asprintf(&why, "the listing of source %s is %s (%s)", cfg->sources[i].name,
			     listing_name(l), R->sr[i].res.reason) < 0)
			return -ENOMEM;
	}
	if (why)
		plan_withhold_deactivations(&R->plan, why);
	return plan_finish(&R->plan);
}

/* 1 when the gate stops the run. */
static int run_gates(struct run *R)
{
	_cleanup_free_ struct gate_source *gs = calloc(R->cfg->n_sources + 1, sizeof *gs);
	unsigned long active = 0;
	if (!gs)
		return -ENOMEM;
	/* The count is only a limit on deactivations: without any planned,
	 * a run does not pay for counting every membership. */
	int r = R->plan.counts[SS_OP_DEACTIVATE] > 0 ? state_count_active(R->st, &active) : 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < R->cfg->n_sources; i++)
		gs[i] = R->sr[i].gate;
	struct gate_input in = { R->plan.counts[SS_OP_DEACTIVATE], active, gs, R->cfg->n_sources };
	struct gate_verdict v;
	gates_check(R->cfg, &in, &v);
	if (!v.tripped)
		return 0;
	if (!R->opt->dry_run && (r = state_take_approval(R->st, R->plan.hash)) != 0) {
		if (r > 0)
			log_notice("safety gate tripped (%s), but an operator approved this exact plan: applying it",
				   v.reason);
		return r < 0 ? r : 0;
	}
	if (R->opt->dry_run) {
		fprintf(R->opt->out, "safety gate would stop this run: %s\n", v.reason);
		return 1;
	}
	run_log_gate(R->run_id, v.reason);
	fprintf(R->opt->out, "safety gate stopped run %ld: %s\n", R->run_id, v.reason);
	finish_run(R->st, R->run_id, &R->plan, "gated", v.reason, 0);
	return 1;
}

static int apply_progress(void *ud, unsigned long done, unsigned long total)
{
	const struct run *R = ud;
	(void)total;
	return run_progress(R->opt->hooks, "applying", done);
}

static int run_apply(struct run *R)
{
	struct apply_stats stats = {0};
	struct apply_progress progress = { apply_progress, R };
	int r = apply_plan(R->st, R->cfg, &R->plan, R->run_id, R->now, &progress, &stats);
	if (r == -ECANCELED) {
		log_notice("run %ld stopped between batches: %lu operations applied, the rest stays "
			   "journaled for the next run", R->run_id, stats.done + stats.already);
		finish_run(R->st, R->run_id, &R->plan, "stopped", "stopped while applying", stats.failed);
		return RUN_EXIT_STOPPED;
	}
	if (r < 0) {
		log_error("applying the plan failed: %s; what was not applied stays journaled", strerror(-r));
		finish_run(R->st, R->run_id, &R->plan, "failed", strerror(-r), stats.failed);
		return RUN_EXIT_FAILED;
	}
	if ((r = save_sources(R->st, R->cfg, R->sr)) < 0)
		return RUN_EXIT_FAILED;
	bool bad = R->failed_source || stats.failed || stats.deferred;
	const char *status = bad ? "failed" : R->incomplete ? "partial" : "ok";
	finish_run(R->st, R->run_id, &R->plan, status, NULL, stats.failed + stats.deferred);
	run_log_events(R->st, &R->plan, R->run_id);
	run_log_finished(R->run_id, status, &R->plan, stats.done, stats.already, stats.failed, stats.deferred,
			 stats.mail_failed);
	return bad ? RUN_EXIT_FAILED : R->incomplete ? RUN_EXIT_INCOMPLETE : RUN_EXIT_OK;
}

int run_once(struct config *cfg, const struct run_options *opt)
{
	struct run R = { .cfg = cfg, .opt = opt, .now = run_now() };
	const struct run_hooks *h = opt->hooks;
	int r, ret;
	if ((r = run_prepare(&R)) < 0) {
		ret = RUN_EXIT_FAILED;
		goto out;
	}
	/* Planning only reads the state: one snapshot, one lock. */
	r = state_read_begin(R.st);
	if (r >= 0)
		r = run_plan(&R);
	state_read_end(R.st);
	if (r == -ECANCELED || (r >= 0 && run_progress(h, "applying", 0) < 0)) {
		/* Stopped before the gates (an approval stays unused) and before
		 * anything of the plan was journaled. */
		log_notice("run %ld stopped before applying: nothing of it was written", R.run_id);
		finish_run(R.st, R.run_id, &R.plan, "stopped", "the service was stopped", 0);
		ret = RUN_EXIT_STOPPED;
		goto out;
	}
	if (r < 0) {
		finish_run(R.st, R.run_id, &R.plan, "failed", strerror(-r), 0);
		ret = RUN_EXIT_FAILED;
		goto out;
	}
	if (h && h->planned)
		h->planned(h->userdata, R.run_id, &R.plan);
	if (opt->json)
		plan_print_json(opt->out, &R.plan);
	else if (opt->dry_run)
		plan_print_text(opt->out, &R.plan);
	else
		plan_print_outcome(opt->out, &R.plan);
	if ((r = run_gates(&R)) != 0) {
		plan_print_summary(opt->out, R.plan.counts);
		ret = r < 0 ? RUN_EXIT_FAILED : RUN_EXIT_GATE;
		goto out;
	}
	plan_print_summary(opt->out, R.plan.counts);
	if (opt->dry_run)
		ret = R.failed_source ? RUN_EXIT_FAILED : R.incomplete ? RUN_EXIT_INCOMPLETE : RUN_EXIT_OK;
	else
		ret = run_apply(&R);
out:
	if (h && h->finished)
		h->finished(h->userdata, R.run_id, run_status_word(ret));
	run_free(&R);
	return ret;
}

/* -------------------------------------------------------------- explain */

struct explain_ctx {
	struct config *cfg;
	const char *person;
	const char *source;
	FILE *out;
	bool found;
};

static void explain_note(void *ud, const char *fmt, ...)
{
	struct explain_ctx *c = ud;
	va_list ap;
	fputs("  ", c->out);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static void print_list(FILE *f, const char *name, const char *const *v)
{
	fprintf(f, "  %s:", name);
	for (size_t i = 0; v && v[i]; i++)
		fprintf(f, "%s %s", i ? "," : "", v[i]);
	fputc('\n', f);
}

static int explain_record(void *ud, const struct ss_record *r)
{
	struct explain_ctx *c = ud;
	if (!r->id || !streq(r->id, c->person))
		return 0;
	c->found = true;
	FILE *f = c->out;
	fprintf(f, "record (source %s, %s):\n", c->source, strempty(r->origin));
	fprintf(f, "  id: %s\n  given_name: %s\n  family_name: %s\n  email: %s\n"
		"  employee_id: %s\n  speciality: %s\n  dn: %s\n  enabled: %s\n",
		r->id, strempty(r->given_name), strempty(r->family_name), strempty(r->email),
		strempty(r->employee_id), strempty(r->speciality), strempty(r->dn),
		r->enabled ? "yes" : "no");
	print_list(f, "groups", r->groups);
	print_list(f, "facilities", r->facilities);
	if (r->error)
		fprintf(f, "  error: %s\n", r->error);
	fputs("rules:\n", f);
	struct mapping m;
	struct mapping_trace t = { explain_note, c };
	int e = mapping_map(c->cfg, r, &m, &t);
	if (e < 0)
		return e;
	fputs("result:\n", f);
	if (m.hold)
		fprintf(f, "  held: %s\n", m.hold);
	for (size_t i = 0; i < m.n; i++) {
		const struct desired *d = &m.d[i];
		if (d->hold)
			fprintf(f, "  %s: held: %s\n", d->facility->id, d->hold);
		else
			fprintf(f, "  %s: %s%s%s%s, %s\n", d->facility->id, ss_role_name(d->role),
				d->label ? " (" : "", strempty(d->label), d->label ? ")" : "",
				ss_level_name(d->level));
	}
	mapping_clear(&m);
	return 0;
}

struct explain_refusals {
	FILE *out;
	bool any;
};

static int explain_refusal(void *ud, const char *facility, const char *kind,
			   const char *message, int64_t at)
{
	struct explain_refusals *c = ud;
	char when[32] = "-";
	time_t t = (time_t)at;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
	if (!c->any)
		fputs("refused by the target (the next runs hold these while the record is unchanged):\n",
		      c->out);
	c->any = true;
	fprintf(c->out, "  held in %s: the target refused the %s (%s): %s; held until the "
		"person's record changes\n", strempty(facility), strempty(kind), when, strempty(message));
	return 0;
}

int run_explain(struct config *cfg, const char *person, FILE *out)
{
	struct explain_ctx c = { cfg, person, NULL, out, false };
	_cleanup_(state_closep) state *st = NULL;
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct ss_read_result res = {0};
		struct ss_read_request req = { .full = true, .now = run_now() };
		c.source = cfg->sources[i].name;
		int r = cfg->sources[i].plugin->source->read(cfg->sources[i].instance, &req,
							     explain_record, &c, &res);
		free(res.cursor);
		if (r < 0)
			return r;
	}
	if (!c.found)
		fprintf(out, "person %s: not in any source listing\n", person);
	if (state_open(cfg->state_dir, true, &st) < 0)
		return c.found ? 0 : -ENOENT;
	fputs("memberships staffsync manages:\n", out);
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct state_member *rows;
		size_t n;
		if (state_person_members(st, cfg->sources[i].name, person, &rows, &n) < 0)
			continue;
		for (size_t k = 0; k < n; k++)
			fprintf(out, "  %s: %s, %s, %s (missing from %lu listings, %lu invites)\n",
				rows[k].m.facility, strempty(rows[k].m.role),
				strempty(rows[k].m.permission_level), ss_status_name(rows[k].m.status),
				rows[k].missing_runs, rows[k].invites_sent);
		state_members_free(rows, n);
	}
	struct explain_refusals rc = { out, false };
	for (size_t i = 0; i < cfg->n_sources; i++)
		state_person_refusals(st, cfg->sources[i].name, person, explain_refusal, &rc);
	return c.found ? 0 : -ENOENT;
}
