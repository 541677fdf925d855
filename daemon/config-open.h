/* SPDX-License-Identifier: MIT */
/* The configuration as the programs take it: loaded, checked, its plugins
 * opened, every error printed to stderr in file order. */
#pragma once

#include <stdbool.h>
#include "config.h"

/* Returns 0, or a negative errno after printing every problem. */
int config_open(const char *path, bool with_plugins, struct config **ret);
void config_close(struct config *cfg);
