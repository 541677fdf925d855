/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include "gates.h"

unsigned long gates_deactivation_limit(const struct cfg_limit *l, unsigned long active)
{
	unsigned long limit = ULONG_MAX;
	if (l->percent >= 0)
		/* The epsilon keeps an exact percentage exact: 2.3% of 3000 is 69,
		 * not 68.99999. */
		limit = (unsigned long)floor((double)active * l->percent / 100.0 + 1e-9);
	if (l->count >= 0 && (unsigned long)l->count < limit)
		limit = (unsigned long)l->count;
	return limit;
}

static bool source_tripped(const struct config *cfg, const struct gate_source *s,
			   struct gate_verdict *v)
{
	/* Only a listing that claims to be complete can look empty or shrunken:
	 * an incremental one is small by nature, an incomplete one deactivates
	 * no one anyway. */
	if (s->last_full_count <= 0 || s->listing != SS_LISTING_FULL)
		return false;
	if (s->records == 0) {
		snprintf(v->reason, sizeof v->reason,
			 "source %s returned no records, but its last complete listing had %ld",
			 s->name, s->last_full_count);
		return true;
	}
	double floor_count = (double)s->last_full_count * (1.0 - cfg->leavers.max_shrink);
	if ((double)s->records + 1e-9 < floor_count) {   /* exactly max_shrink is allowed */
		snprintf(v->reason, sizeof v->reason,
			 "source %s shrank from %ld to %lu records, more than leavers.max_shrink (%.0f%%)",
			 s->name, s->last_full_count, s->records, cfg->leavers.max_shrink * 100);
		return true;
	}
	return false;
}

void gates_check(const struct config *cfg, const struct gate_input *in, struct gate_verdict *v)
{
	*v = (struct gate_verdict){0};
	for (size_t i = 0; i < in->n_sources; i++)
		if (source_tripped(cfg, &in->sources[i], v)) {
			v->tripped = true;
			return;
		}
	unsigned long limit = gates_deactivation_limit(&cfg->leavers.max_deactivations,
						       in->active_memberships);
	if (in->deactivations > limit) {
		v->tripped = true;
		snprintf(v->reason, sizeof v->reason,
			 "%lu deactivations planned, more than leavers.max_deactivations allows "
			 "(%lu of %lu managed memberships)",
			 in->deactivations, limit, in->active_memberships);
	}
}
