/* SPDX-License-Identifier: MIT */
/* The plan for people (grouped by facility) and for machines (JSON). */
#pragma once

#include <stdio.h>
#include "plan.h"

/* At most max_ops operation lines (0: all). */
void plan_print_text(FILE *f, const struct plan *p, size_t max_ops);
int plan_print_json(FILE *f, const struct plan *p);
/* "summary: created=N invited=N ..." */
void plan_print_summary(FILE *f, const unsigned long counts[]);
