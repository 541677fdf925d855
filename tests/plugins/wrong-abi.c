/* SPDX-License-Identifier: MIT */
/* A plugin built for another ABI version: the loader must refuse it. */
#include "staffsync-plugin.h"

static const struct ss_source_ops no_ops;

const struct ss_plugin *staffsync_plugin(void)
{
	static const struct ss_plugin p = {
		.abi_version = SS_PLUGIN_ABI_VERSION + 98,
		.kind = SS_PLUGIN_SOURCE,
		.name = "wrong-abi",
		.source = &no_ops,
	};
	return &p;
}
