/* SPDX-License-Identifier: MIT */
/* Safety gates (semantics: "Safety gates"): the deactivation limit and the
 * per-source checks (empty source, shrink), on a finished plan's numbers. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf.h"
#include "fixtures.h"
#include "gates.h"
#include "util.h"

#define MINIMAL \
	"facilities:\n  - { id: north, match: { facility: North } }\n" \
	"roles:\n  - role: Nurse\n"

/* The configuration of the running test, freed by teardown() even when an
 * assertion fails half-way. */
static struct config *current;

static struct config *load(const char *yaml)
{
	config_free(current);
	current = NULL;
	current = fx_config(yaml);
	return current;
}

static int teardown(void **ts)
{
	config_free(current);
	current = NULL;
	return 0;
}

static struct cfg_limit limit_of(const char *text)
{
	struct cfg_limit l = { .percent = -1, .count = -1 };
	assert_int_equal(parse_limit_scalar(text, &l), 0);
	return l;
}

/* One source and a number of deactivations against the configuration. */
static struct gate_verdict check(const struct config *cfg, unsigned long deactivations,
				 unsigned long active, enum ss_listing listing,
				 unsigned long records, long last_full_count)
{
	struct gate_source src = { "hr", listing, records, last_full_count };
	struct gate_input in = { deactivations, active, &src, 1 };
	struct gate_verdict v;
	memset(&v, 0xa5, sizeof v);   /* gates_check must set every field */
	gates_check(cfg, &in, &v);
	if (!v.tripped)
		assert_string_equal(v.reason, "");
	return v;
}

/* A source check that neither trips nor depends on the deactivations. */
#define STEADY SS_LISTING_FULL, 1000, 1000

/* ------------------------------------------------ deactivation limit --- */

static void limit_percent_only(void **ts)
{
	struct cfg_limit l = limit_of("5%");
	assert_int_equal(gates_deactivation_limit(&l, 1000), 50);
	assert_int_equal(gates_deactivation_limit(&l, 1000000), 50000);
	assert_int_equal(gates_deactivation_limit(&l, 0), 0);
	l = limit_of("100%");
	assert_int_equal(gates_deactivation_limit(&l, 321), 321);
}

static void limit_count_only(void **ts)
{
	struct cfg_limit l = limit_of("20");
	assert_int_equal(gates_deactivation_limit(&l, 0), 20);
	assert_int_equal(gates_deactivation_limit(&l, 10), 20);
	assert_int_equal(gates_deactivation_limit(&l, 1000000), 20);
	l = limit_of("0");
	assert_int_equal(gates_deactivation_limit(&l, 1000), 0);
}

static void limit_both_the_lower_wins(void **ts)
{
	struct cfg_limit l = { .percent = 10, .count = 500 };
	assert_int_equal(gates_deactivation_limit(&l, 1000), 100);      /* 10% lower */
	assert_int_equal(gates_deactivation_limit(&l, 5000), 500);      /* equal */
	assert_int_equal(gates_deactivation_limit(&l, 100000), 500);    /* count lower */
}

static void limit_default_is_ten_percent_and_500(void **ts)
{
	struct config *cfg = load(MINIMAL);
	const struct cfg_limit *l = &cfg->leavers.max_deactivations;
	assert_int_equal(gates_deactivation_limit(l, 200), 20);
	assert_int_equal(gates_deactivation_limit(l, 1000000), 500);
}

static void limit_rounds_down(void **ts)
{
	/* "More than 10% of 15" is more than 1.5: 2 trips, so the limit is 1. */
	struct cfg_limit l = limit_of("10%");
	assert_int_equal(gates_deactivation_limit(&l, 15), 1);
	assert_int_equal(gates_deactivation_limit(&l, 9), 0);
	assert_int_equal(gates_deactivation_limit(&l, 19), 1);
	assert_int_equal(gates_deactivation_limit(&l, 20), 2);
	/* Whole percentages: exactly floor(active * pct / 100). */
	for (unsigned long pct = 1; pct <= 100; pct++) {
		char text[16];
		snprintf(text, sizeof text, "%lu%%", pct);
		l = limit_of(text);
		for (unsigned long active = 0; active <= 3000; active++)
			if (gates_deactivation_limit(&l, active) != active * pct / 100)
				fail_msg("%s of %lu: limit %lu, expected %lu", text, active,
					 gates_deactivation_limit(&l, active), active * pct / 100);
	}
}

/* Regression test (was a bug): floor(active * percent / 100.0) in floating point lands just
 * below the exact value for some decimal percentages: "2.3%" of 3000
 * memberships is exactly 69, but the limit comes out 68, so 69 planned
 * deactivations (exactly 2.3%, not more) trip the gate. */
static void limit_exact_for_decimal_percentages(void **ts)
{
	struct cfg_limit l = limit_of("2.3%");
	assert_int_equal(gates_deactivation_limit(&l, 3000), 69);
	l = limit_of("4.6%");
	assert_int_equal(gates_deactivation_limit(&l, 1500), 69);
	for (unsigned long tenths = 1; tenths <= 1000; tenths++) {
		char text[16];
		snprintf(text, sizeof text, "%lu.%lu%%", tenths / 10, tenths % 10);
		l = limit_of(text);
		for (unsigned long active = 0; active <= 3000; active++) {
			unsigned long want = active * tenths / 1000;
			if (gates_deactivation_limit(&l, active) != want)
				fail_msg("%s of %lu: limit %lu, expected %lu", text, active,
					 gates_deactivation_limit(&l, active), want);
		}
	}
}

/* ------------------------------------------------- deactivation gate --- */

static void deactivations_under_at_and_over_the_limit(void **ts)
{
	struct config *cfg = load(MINIMAL);   /* 10% and 500 */
	assert_false(check(cfg, 0, 200, STEADY).tripped);
	assert_false(check(cfg, 19, 200, STEADY).tripped);
	assert_false(check(cfg, 20, 200, STEADY).tripped);   /* at the limit */
	struct gate_verdict v = check(cfg, 21, 200, STEADY);
	assert_true(v.tripped);
	assert_non_null(strstr(v.reason, "21 deactivations"));
	assert_non_null(strstr(v.reason, "max_deactivations"));
	/* The count cap of a big installation. */
	assert_false(check(cfg, 500, 100000, STEADY).tripped);
	assert_true(check(cfg, 501, 100000, STEADY).tripped);
}

static void deactivation_limit_from_the_configuration(void **ts)
{
	struct config *cfg = load(MINIMAL "leavers:\n  max_deactivations: 3\n");
	assert_false(check(cfg, 3, 1000000, STEADY).tripped);
	assert_true(check(cfg, 4, 1000000, STEADY).tripped);

	cfg = load(MINIMAL "leavers:\n  max_deactivations: [50%, 40]\n");
	assert_false(check(cfg, 10, 20, STEADY).tripped);
	assert_true(check(cfg, 11, 20, STEADY).tripped);
	assert_false(check(cfg, 40, 1000, STEADY).tripped);
	assert_true(check(cfg, 41, 1000, STEADY).tripped);
}

static void no_memberships_no_deactivation(void **ts)
{
	struct config *cfg = load(MINIMAL);
	assert_false(check(cfg, 0, 0, STEADY).tripped);
	assert_true(check(cfg, 1, 0, STEADY).tripped);
}

/* ------------------------------------------------------ source gates --- */

static void empty_source_with_a_previous_count_trips(void **ts)
{
	struct config *cfg = load(MINIMAL);
	struct gate_verdict v = check(cfg, 0, 0, SS_LISTING_FULL, 0, 50);
	assert_true(v.tripped);
	assert_non_null(strstr(v.reason, "hr"));
	assert_non_null(strstr(v.reason, "no records"));
	assert_non_null(strstr(v.reason, "50"));
	/* Even one previous record is "some". */
	assert_true(check(cfg, 0, 0, SS_LISTING_FULL, 0, 1).tripped);
}

static void first_run_never_trips(void **ts)
{
	struct config *cfg = load(MINIMAL);
	/* Never listed completely: nothing to compare with. */
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 0, -1).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 3, -1).tripped);
	/* The last complete listing was empty: an empty one is no change. */
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 0, 0).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 7, 0).tripped);
}

static void shrink_beyond_max_shrink_trips(void **ts)
{
	struct config *cfg = load(MINIMAL);   /* max_shrink 10% */
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 100, 100).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 250, 100).tripped);   /* growth */
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 91, 100).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 90, 100).tripped);    /* exactly 10% */
	struct gate_verdict v = check(cfg, 0, 0, SS_LISTING_FULL, 89, 100);
	assert_true(v.tripped);
	assert_non_null(strstr(v.reason, "hr"));
	assert_non_null(strstr(v.reason, "max_shrink"));
	assert_true(check(cfg, 0, 0, SS_LISTING_FULL, 899, 1000).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 900, 1000).tripped);
}

static void shrink_limit_from_the_configuration(void **ts)
{
	struct config *cfg = load(MINIMAL "leavers:\n  max_shrink: 30%\n");
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 70, 100).tripped);
	assert_true(check(cfg, 0, 0, SS_LISTING_FULL, 69, 100).tripped);
}

/* Regression test (was a bug): the shrink gate compares records < last * (1.0 - max_shrink)
 * in floating point; for some percentages the product lands just above the
 * exact integer, so a source that shrank by exactly max_shrink (not more)
 * trips: max_shrink 18%, last complete listing 150, now 123 records
 * (150 * 0.82 = 123 exactly) is stopped. */
static void shrink_by_exactly_max_shrink_does_not_trip(void **ts)
{
	struct config *cfg = load(MINIMAL "leavers:\n  max_shrink: 18%\n");
	assert_false(check(cfg, 0, 0, SS_LISTING_FULL, 123, 150).tripped);
	assert_true(check(cfg, 0, 0, SS_LISTING_FULL, 122, 150).tripped);
	/* Every whole percentage the way config.c stores it (percent / 100). */
	for (long pct = 1; pct < 100; pct++) {
		cfg->leavers.max_shrink = (double)pct / 100.0;
		for (long last = 1; last <= 1000; last++) {
			/* Trips iff it shrank by more than pct percent: exact integers. */
			long lowest_ok = last - last * pct / 100;
			bool at = check(cfg, 0, 0, SS_LISTING_FULL, (unsigned long)lowest_ok, last).tripped;
			bool below = lowest_ok > 1 &&
				!check(cfg, 0, 0, SS_LISTING_FULL, (unsigned long)lowest_ok - 1, last).tripped;
			if (at || below)
				fail_msg("max_shrink %ld%%, last %ld: %ld records %s", pct, last,
					 at ? lowest_ok : lowest_ok - 1, at ? "tripped" : "did not trip");
		}
	}
}

static void incomplete_listing_does_not_trip_the_shrink_gate(void **ts)
{
	struct config *cfg = load(MINIMAL);
	/* A truncated listing deactivates no one: its small count is no alarm. */
	assert_false(check(cfg, 0, 0, SS_LISTING_INCOMPLETE, 10, 100).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_INCOMPLETE, 1, 100000).tripped);
}

static void failed_source_does_not_trip(void **ts)
{
	struct config *cfg = load(MINIMAL);
	/* A failed source is a failed run (exit 1), not a gated one. */
	assert_false(check(cfg, 0, 0, SS_LISTING_FAILED, 0, 100).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_FAILED, 3, 100).tripped);
}

/* An incremental listing returns only the changes since the cursor: a
 * quiet period returns no records at all, which is no "empty source" (and
 * an incremental listing deactivates no one). */
static void quiet_incremental_listing_does_not_trip(void **ts)
{
	struct config *cfg = load(MINIMAL);
	assert_false(check(cfg, 0, 0, SS_LISTING_INCREMENTAL, 4, 100).tripped);
	assert_false(check(cfg, 0, 0, SS_LISTING_INCREMENTAL, 0, 100).tripped);
}

static void every_source_is_checked(void **ts)
{
	struct config *cfg = load(MINIMAL);
	struct gate_source src[] = {
		{ "hr", SS_LISTING_FULL, 100, 100 },
		{ "corp", SS_LISTING_FULL, 0, 40 },
	};
	struct gate_input in = { 0, 100, src, ELEMENTSOF(src) };
	struct gate_verdict v;
	gates_check(cfg, &in, &v);
	assert_true(v.tripped);
	assert_non_null(strstr(v.reason, "corp"));
	assert_null(strstr(v.reason, "hr "));

	/* No sources and nothing to deactivate: nothing to stop. */
	in = (struct gate_input){ 0, 100, NULL, 0 };
	gates_check(cfg, &in, &v);
	assert_false(v.tripped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(limit_percent_only, teardown),
		cmocka_unit_test_teardown(limit_count_only, teardown),
		cmocka_unit_test_teardown(limit_both_the_lower_wins, teardown),
		cmocka_unit_test_teardown(limit_default_is_ten_percent_and_500, teardown),
		cmocka_unit_test_teardown(limit_rounds_down, teardown),
		cmocka_unit_test_teardown(limit_exact_for_decimal_percentages, teardown),
		cmocka_unit_test_teardown(deactivations_under_at_and_over_the_limit, teardown),
		cmocka_unit_test_teardown(deactivation_limit_from_the_configuration, teardown),
		cmocka_unit_test_teardown(no_memberships_no_deactivation, teardown),
		cmocka_unit_test_teardown(empty_source_with_a_previous_count_trips, teardown),
		cmocka_unit_test_teardown(first_run_never_trips, teardown),
		cmocka_unit_test_teardown(shrink_beyond_max_shrink_trips, teardown),
		cmocka_unit_test_teardown(shrink_limit_from_the_configuration, teardown),
		cmocka_unit_test_teardown(shrink_by_exactly_max_shrink_does_not_trip, teardown),
		cmocka_unit_test_teardown(incomplete_listing_does_not_trip_the_shrink_gate, teardown),
		cmocka_unit_test_teardown(failed_source_does_not_trip, teardown),
		cmocka_unit_test_teardown(quiet_incremental_listing_does_not_trip, teardown),
		cmocka_unit_test_teardown(every_source_is_checked, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
