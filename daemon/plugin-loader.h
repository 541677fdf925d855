/* SPDX-License-Identifier: MIT */
/* Finds plugins (shared objects named TYPE.so), checks their ABI version and
 * opens one instance per configured source and for the target. */
#pragma once

#include "config.h"

/* Search path: $STAFFSYNC_PLUGIN_PATH (colon-separated), else the config's
 * plugin_dir, else the built-in PLUGINDIR. Errors are added to errors with
 * the position of the source's or target's `type`. Returns 0 or -EINVAL. */
int plugins_open(struct config *cfg, struct config_errors *errors);
void plugins_close(struct config *cfg);

/* A module of the same search path that is not a source or target (smtp.so):
 * its handle, loaded for good, or NULL; *path the path searched, *why
 * dlerror's words when the file was there but would not load (both malloc'd). */
void *plugin_dlopen(const struct config *cfg, const char *name, char **path, char **why);
