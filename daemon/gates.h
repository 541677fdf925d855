/* SPDX-License-Identifier: MIT */
/* Safety gates: checks on a finished plan before anything is written. */
#pragma once

#include <stdbool.h>
#include "config.h"

struct gate_source {
	const char *name;
	enum ss_listing listing;
	unsigned long records;
	long last_full_count;        /* < 0: never listed completely */
};

struct gate_input {
	unsigned long deactivations;
	unsigned long active_memberships;
	const struct gate_source *sources;
	size_t n_sources;
};

struct gate_verdict {
	bool tripped;
	char reason[512];
};

/* Pure: decide whether the plan may go ahead. */
void gates_check(const struct config *cfg, const struct gate_input *in, struct gate_verdict *v);

/* The deactivation limit for this many active memberships. */
unsigned long gates_deactivation_limit(const struct cfg_limit *l, unsigned long active);
