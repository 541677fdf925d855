/* SPDX-License-Identifier: MIT */
/* Apply's verdicts on a target's answers (state.db in a temporary folder, a
 * fake target): a refusal (SS_OP_REFUSED) is journaled as failed and kept
 * as a refusal of that content, which the next plan holds; a transient
 * failure stays pending and any other failure is journaled as failed: both
 * are planned (or resent) again, never held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "apply.h"
#include "fixtures.h"
#include "plan.h"
#include "state.h"
#include "util.h"

#define BASE \
	"facilities:\n" \
	"  - { id: north, platform: surgical, match: { facility: North } }\n" \
	"roles:\n" \
	"  - { role: Nurse }\n"

static const char *const AT_NORTH[] = { "North", NULL };

/* The fake target: p1's create is refused, p2's fails transiently, p3's
 * fails for a reason that is not the person's (credentials); the rest
 * succeed. */
static bool accept_all;

static int fake_apply(void *instance, const struct ss_op *op, ss_applied_fn done, void *ud)
{
	struct ss_op_result res = {0};
	const char *who = op->member.external_id;
	(void)instance;
	if (accept_all) {
		done(ud, op, &res);
		return 0;
	}
	if (op->kind == SS_OP_CREATE && streq(who, "p1")) {
		res.error = SS_OP_REFUSED;
		snprintf(res.message, sizeof res.message, "HTTP 409: userName taken");
	} else if (op->kind == SS_OP_CREATE && streq(who, "p2")) {
		res.error = -5;
		res.transient = true;
		snprintf(res.message, sizeof res.message, "HTTP 503");
	} else if (op->kind == SS_OP_CREATE && streq(who, "p3")) {
		res.error = -71;
		snprintf(res.message, sizeof res.message, "HTTP 401: bad token");
	}
	done(ud, op, &res);
	return 0;
}

static int fake_flush(void *instance) { (void)instance; return 0; }

static const struct ss_target_ops fake_ops = { .apply = fake_apply, .flush = fake_flush };
static const struct ss_plugin fake_plugin = {
	.abi_version = SS_PLUGIN_ABI, .kind = SS_PLUGIN_TARGET, .name = "fake", .target = &fake_ops,
};

struct t {
	struct config *cfg;
	char dir[64];
	state *st;
	struct plan p;
};

static int setup(void **ts)
{
	struct t *t = calloc(1, sizeof *t);
	assert_non_null(t);
	t->cfg = fx_config(BASE);
	t->cfg->target.plugin = &fake_plugin;
	accept_all = false;
	snprintf(t->dir, sizeof t->dir, "/tmp/staffsync-apply-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	assert_int_equal(state_open(t->dir, false, &t->st), 0);
	*ts = t;
	return 0;
}

static int teardown(void **ts)
{
	struct t *t = *ts;
	char cmd[128];
	plan_free(&t->p);
	state_close(t->st);
	t->cfg->target.plugin = NULL;
	config_free(t->cfg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static int state_refused(void *ud, const char *source, const char *person, const char *facility,
			 enum ss_op_kind kind, uint64_t content, char **message, int64_t *at)
{
	return state_refusal_get(ud, source, person, facility, kind, content, message, at);
}

/* Plan p1..p4 (a nurse each, no email: one create each; p1 with this
 * given name) with the state's refusals, as run.c does. */
static void plan_four(struct t *t, int64_t now, const char *p1_given)
{
	static struct ss_record r[4];
	static const char *const ids[] = { "p1", "p2", "p3", "p4" };
	struct plan_world world = { .refused = state_refused, .ud = t->st };
	plan_free(&t->p);
	plan_init(&t->p, t->cfg, &world, now, PLAN_ADOPT_NONE);
	for (size_t i = 0; i < 4; i++) {
		struct mapping m;
		r[i] = fx_record(ids[i], i == 0 ? p1_given : "Ann", "Lee", NULL);
		r[i].facilities = AT_NORTH;
		fx_map(t->cfg, &r[i], &m);
		assert_int_equal(plan_person(&t->p, FX_SOURCE, &r[i], &m, NULL, 0), 0);
		mapping_clear(&m);
	}
	assert_int_equal(plan_finish(&t->p), 0);
}

static void apply_run(struct t *t, struct apply_stats *stats)
{
	long run_id;
	assert_int_equal(state_run_begin(t->st, FX_NOW, &run_id), 0);
	*stats = (struct apply_stats){0};
	assert_int_equal(apply_plan(t->st, t->cfg, &t->p, run_id, FX_NOW, NULL, stats), 0);
}

static void only_refusals_are_held_next_time(void **ts)
{
	struct t *t = *ts;
	struct apply_stats stats;
	plan_four(t, FX_NOW, "Ann");
	assert_int_equal(t->p.counts[SS_OP_CREATE], 4);
	apply_run(t, &stats);
	assert_int_equal(stats.done, 1);
	assert_int_equal(stats.failed, 2);
	assert_int_equal(stats.deferred, 1);

	/* The next run: p1 held with the target's words; p3 planned again;
	 * p2's create is still journaled (resent by apply_resume, not planned
	 * here: the fake world knows no workspace). */
	plan_four(t, FX_NOW + FX_DAY, "Ann");
	assert_int_equal(t->p.counts[SS_OP_HOLD], 1);
	const struct plan_op *h = fx_find_op(&t->p, SS_OP_HOLD, "north", "p1");
	assert_non_null(h);
	assert_non_null(strstr(h->op.reason, "HTTP 409: userName taken"));
	assert_null(fx_find_op(&t->p, SS_OP_CREATE, "north", "p1"));
	assert_non_null(fx_find_op(&t->p, SS_OP_CREATE, "north", "p2"));
	assert_non_null(fx_find_op(&t->p, SS_OP_CREATE, "north", "p3"));
	assert_non_null(fx_find_op(&t->p, SS_OP_CREATE, "north", "p4"));
}

/* The refusal is kept with the target's words and the time; once p1's
 * record changed and the create succeeded, it is over. */
static void success_ends_the_refusal(void **ts)
{
	struct t *t = *ts;
	struct apply_stats stats;
	plan_four(t, FX_NOW, "Ann");
	apply_run(t, &stats);
	uint64_t refused = plan_op_content(fx_find_op(&t->p, SS_OP_CREATE, "north", "p1"));
	char *message = NULL;
	int64_t at = 0;
	assert_int_equal(state_refusal_get(t->st, FX_SOURCE, "p1", "north", SS_OP_CREATE,
					   refused, &message, &at), 1);
	assert_string_equal(message, "HTTP 409: userName taken");
	assert_int_equal(at, FX_NOW);
	free(message);
	message = NULL;

	accept_all = true;
	plan_four(t, FX_NOW + FX_DAY, "Anna");
	assert_non_null(fx_find_op(&t->p, SS_OP_CREATE, "north", "p1"));
	apply_run(t, &stats);
	assert_int_equal(stats.failed, 0);
	assert_int_equal(state_refusal_get(t->st, FX_SOURCE, "p1", "north", SS_OP_CREATE,
					   refused, &message, &at), 0);
	assert_null(message);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(only_refusals_are_held_next_time),
		T(success_ends_the_refusal),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
