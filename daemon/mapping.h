/* SPDX-License-Identifier: MIT */
/* Mapping: one source record -> the memberships it should have
 * (facility routing, role rules, permission level), or a hold reason. */
#pragma once

#include "config.h"
#include "staffsync-plugin.h"

struct desired {
	const struct cfg_facility *facility;
	enum ss_role role;
	const char *label;           /* from the rule (config-owned) */
	enum ss_level level;
	char *hold;                  /* non-NULL: held in this facility, why */
};

struct mapping {
	char *hold;                  /* non-NULL: the whole person is held, why */
	struct desired *d;
	size_t n;
};

/* Receives one line per decision, for `staffsyncctl explain`. */
struct mapping_trace {
	void (*note)(void *ud, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *ud;
};

/* Returns 0 (the result may be a hold) or -ENOMEM. */
int mapping_map(const struct config *cfg, const struct ss_record *r,
		struct mapping *out, const struct mapping_trace *trace);
void mapping_clear(struct mapping *m);

/* The membership a desired entry means for record r (strings borrowed from
 * r and the config: do not free). */
struct ss_member mapping_member(const struct ss_record *r, const struct desired *d);
