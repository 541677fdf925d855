/* SPDX-License-Identifier: MIT */
/* One sync run: read the sources, plan, check the gates, apply. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include "config.h"

enum run_exit {
	RUN_EXIT_OK = 0,
	RUN_EXIT_FAILED = 1,         /* a source or the target failed, or operations failed */
	RUN_EXIT_USAGE = 2,          /* usage or configuration error */
	RUN_EXIT_GATE = 3,           /* a safety gate stopped the run: nothing written */
	RUN_EXIT_INCOMPLETE = 4,     /* applied, but a listing was incomplete: nobody deactivated */
	RUN_EXIT_STOPPED = 5,        /* the service stopped it before applying: nothing written */
};

struct plan;

/* What the service watches a run through (all optional). */
struct run_hooks {
	/* Called every RUN_PROGRESS_STEP records read and once before applying;
	 * a negative return stops the run there: it is recorded as stopped and
	 * nothing of its plan is written. */
	int (*progress)(void *ud, const char *phase, unsigned long done);
	/* The decided plan, once per run that got that far (counts, metrics). */
	void (*planned)(void *ud, long run_id, const struct plan *p);
	/* The run's end: its number (0 for a dry run) and status word
	 * (ok partial failed gated stopped). */
	void (*finished)(void *ud, long run_id, const char *status);
	void *userdata;
};
#define RUN_PROGRESS_STEP 1000

struct run_options {
	bool dry_run;                /* print the plan, write nothing anywhere */
	bool json;                   /* dry run: the plan as JSON */
	bool full;                   /* force complete listings */
	FILE *out;                   /* the plan and the summary go here */
	const struct run_hooks *hooks;
};

/* The clock, or $STAFFSYNC_FAKE_NOW (tests). */
int64_t run_now(void);

/* Plugins must be open (plugins_open). Returns an enum run_exit. */
int run_once(struct config *cfg, const struct run_options *opt);

/* staffsyncctl explain: the person's record as read, each rule, the result. */
int run_explain(struct config *cfg, const char *person, FILE *out);
