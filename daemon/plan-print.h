/* SPDX-License-Identifier: MIT */
/* The plan for people (grouped by facility) and for machines (JSON). */
#pragma once

#include <stdio.h>
#include "plan.h"

/* Every operation, grouped by facility (the dry run). */
void plan_print_text(FILE *f, const struct plan *p);
int plan_print_json(FILE *f, const struct plan *p);
/* A run's account for people: per facility, the counts of each operation,
 * then every hold with its reason (the people an administrator must look at). */
void plan_print_outcome(FILE *f, const struct plan *p);
/* "summary: created=N invited=N ..." */
void plan_print_summary(FILE *f, const unsigned long counts[]);
