/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "config-open.h"
#include "plugin-loader.h"
#include "util.h"

/* "FILE:LINE:COLUMN: message": order by line, then column, within a file. */
static int cmp_position(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	unsigned long lx = 0, cx = 0, ly = 0, cy = 0;
	const char *px = strstr(x, ":"), *py = strstr(y, ":");
	int c = px && py ? strncmp(x, y, (size_t)(px - x)) : 0;
	if (c || !px || !py)
		return c ? c : strcmp(x, y);
	sscanf(px, ":%lu:%lu", &lx, &cx);
	sscanf(py, ":%lu:%lu", &ly, &cy);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return cx < cy ? -1 : cx > cy;
}

int config_open(const char *path, bool with_plugins, struct config **ret)
{
	struct config_errors errors = {0};
	struct config *cfg = NULL;
	int r = config_load(path, &cfg, &errors);
	/* Plugins check their own keys even when the core found errors:
	 * one pass reports everything. */
	if (cfg && with_plugins && plugins_open(cfg, &errors) < 0 && r >= 0)
		r = -EINVAL;
	if (errors.n && r >= 0)
		r = -EINVAL;
	if (errors.n)
		qsort(errors.lines, errors.n, sizeof *errors.lines, cmp_position);
	for (size_t i = 0; i < errors.n; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	config_errors_clear(&errors);
	if (r < 0) {
		config_close(cfg);
		return r;
	}
	*ret = cfg;
	return 0;
}

void config_close(struct config *cfg)
{
	if (!cfg)
		return;
	plugins_close(cfg);
	config_free(cfg);
}
