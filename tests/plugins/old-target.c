/* SPDX-License-Identifier: MIT */
/* A target built against ABI 1 before revision 1: its descriptor says
 * SS_PLUGIN_ABI_VERSION (revision 0) and its ops struct ends at close. What
 * follows it in memory here is not NULL, as nothing guarantees for a real
 * one: the loader must not take it for lookup_username. A workspace that
 * holds nothing and accepts every operation. */
#include "staffsync-plugin.h"

/* struct ss_target_ops as ABI 1 revision 0 defined it. */
struct ops_revision_0 {
	int (*open)(const struct ss_host *, ss_conf *, const yaml_node_t *, void **);
	int (*connect)(void *, bool);
	int (*facility)(void *, const char *, const char *);
	int (*lookup)(void *, const char *, const char *, struct ss_member *);
	int (*lookup_email)(void *, const char *, const char *, struct ss_member *);
	int (*apply)(void *, const struct ss_op *, ss_applied_fn, void *);
	int (*flush)(void *);
	void (*close)(void *);
};

static int instance;

static int old_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node, void **ret)
{
	static const struct ss_conf_key keys[] = {
		{ "type", SS_CONF_SKIP, 0, false, NULL },
		{ "adopt", SS_CONF_SKIP, 0, false, NULL },
		{ NULL, 0, 0, false, NULL },
	};
	if (node && host->conf_parse(conf, node, keys, NULL) > 0)
		return -22;
	*ret = &instance;
	return 0;
}

static int old_connect(void *i, bool read_only) { (void)i; (void)read_only; return 0; }
static int old_facility(void *i, const char *id, const char *name) { (void)i; (void)id; (void)name; return 0; }

static int old_lookup(void *i, const char *f, const char *id, struct ss_member *out)
{
	(void)i; (void)f; (void)id; (void)out;
	return 0;
}

static int old_apply(void *i, const struct ss_op *op, ss_applied_fn done, void *ud)
{
	struct ss_op_result res = {0};
	(void)i;
	done(ud, op, &res);
	return 0;
}

static int old_flush(void *i) { (void)i; return 0; }
static void old_close(void *i) { (void)i; }

/* Would crash if called: it stands for whatever follows an old struct. */
static int not_a_function(void *i, const char *f, const struct ss_member *want, struct ss_member *out)
{
	(void)i; (void)f; (void)want; (void)out;
	__builtin_trap();
}

static const struct {
	struct ops_revision_0 ops;
	int (*after)(void *, const char *, const struct ss_member *, struct ss_member *);
} memory = {
	{ old_open, old_connect, old_facility, old_lookup, old_lookup, old_apply, old_flush, old_close },
	not_a_function,
};

const struct ss_plugin *staffsync_plugin(void)
{
	static const struct ss_plugin p = {
		.abi_version = SS_PLUGIN_ABI_VERSION,
		.kind = SS_PLUGIN_TARGET,
		.name = "old-target",
		.target = (const struct ss_target_ops *)&memory.ops,
	};
	return &p;
}
