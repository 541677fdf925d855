/* SPDX-License-Identifier: MIT */
/* Metrics for Prometheus's node_exporter textfile collector: the daemon
 * rewrites the file atomically after every run. */
#pragma once

#include <stdint.h>
#include "plan.h"

struct metrics {
	unsigned long runs[5];          /* by status: ok partial failed gated stopped */
	unsigned long gate_trips;
	double last_duration;           /* seconds */
	int64_t last_run_at, last_success_at;
	long last_run_id;
	char *facilities;               /* the last plan's per-facility lines */
	unsigned long ops[_SS_OP_MAX];  /* the last plan's counts */
};

void metrics_clear(struct metrics *m);
/* The decided plan of the current run. */
int metrics_plan(struct metrics *m, const struct plan *p);
void metrics_run(struct metrics *m, long run_id, const char *status, double seconds, int64_t now);
int metrics_write(const struct metrics *m, const char *path);
