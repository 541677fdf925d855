/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <strings.h>
#include "conf.h"
#include "plugin-loader.h"
#include "util.h"

#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/staffsync/plugins"
#endif

/* Handles stay loaded for the life of the process: instances point into them. */
static void *find_and_load(const char *path_list, const char *type, char **tried)
{
	_cleanup_free_ char *copy = strdup(path_list);
	char *save = NULL;
	if (!copy)
		return NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *file = NULL;
		if (asprintf(&file, "%s/%s.so", dir, type) < 0)
			return NULL;
		if (access(file, F_OK) < 0)
			continue;
		void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			free(*tried);
			*tried = strdup(dlerror());
		}
		return h;
	}
	return NULL;
}

static const char *search_path(const struct config *cfg)
{
	const char *env = getenv("STAFFSYNC_PLUGIN_PATH");
	return !isempty(env) ? env : cfg->plugin_dir ? cfg->plugin_dir : PLUGINDIR;
}

void *plugin_dlopen(const struct config *cfg, const char *name, char **path, char **why)
{
	*path = strdup(search_path(cfg));
	return find_and_load(search_path(cfg), name, why);
}

static const struct ss_plugin *load(const struct config *cfg, const struct cfg_plugin_ref *ref,
				    enum ss_plugin_kind kind, const yaml_node_t *at)
{
	const char *path = search_path(cfg);
	_cleanup_free_ char *why = NULL;
	void *h = find_and_load(path, ref->type, &why);
	if (!h) {
		conf_error(cfg->conf, at, "no plugin for type '%s' (%s.so not found in %s%s%s)",
			   ref->type, ref->type, path, why ? ": " : "", strempty(why));
		return NULL;
	}
	ss_plugin_entry_fn entry = (ss_plugin_entry_fn)dlsym(h, SS_PLUGIN_ENTRY_SYMBOL);
	const struct ss_plugin *pl = entry ? entry() : NULL;
	if (!pl) {
		conf_error(cfg->conf, at, "%s.so is not a staffsync plugin (no %s symbol)",
			   ref->type, SS_PLUGIN_ENTRY_SYMBOL);
		return NULL;
	}
	/* The revision (upper bits) only says which later additions it has. */
	if (ss_plugin_abi_major(pl) != SS_PLUGIN_ABI_VERSION) {
		conf_error(cfg->conf, at, "plugin %s was built for plugin ABI %u, this staffsyncd "
			   "speaks ABI %u: rebuild the plugin against this version",
			   ref->type, ss_plugin_abi_major(pl), SS_PLUGIN_ABI_VERSION);
		return NULL;
	}
	if (pl->kind != kind || (kind == SS_PLUGIN_SOURCE ? !pl->source : !pl->target)) {
		conf_error(cfg->conf, at, "plugin %s is a %s plugin, not a %s", ref->type,
			   pl->kind == SS_PLUGIN_SOURCE ? "source" : "target",
			   kind == SS_PLUGIN_SOURCE ? "source" : "target");
		return NULL;
	}
	return pl;
}

static const yaml_node_t *type_node(struct config *cfg, const struct cfg_plugin_ref *ref)
{
	const yaml_node_t *n = ref->node ? conf_get(cfg->conf, ref->node, "type") : NULL;
	return n ? n : ref->node ? ref->node : conf_root(cfg->conf);
}

static bool strcaseeq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

/* target.adopt is the engine's: none | email | username, the last only
 * with a target that can look accounts up by user name. */
static void check_adopt(struct config *cfg, const struct cfg_plugin_ref *t)
{
	const yaml_node_t *n = t->node ? conf_get(cfg->conf, t->node, "adopt") : NULL;
	if (!n)
		return;
	const char *v = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
	if (!v || !(strcaseeq(v, "none") || strcaseeq(v, "email") || strcaseeq(v, "username")))
		conf_error(cfg->conf, n, "target.adopt must be none, email or username");
	else if (strcaseeq(v, "username") && t->plugin && !ss_target_lookup_username(t->plugin))
		conf_error(cfg->conf, n, "target.adopt: username needs a target that knows user "
			   "names; the %s target has none (use email or none)", t->type);
}

/* SMTP delivery needs the transport module: said when the configuration
 * is checked, not first when a mail is due. */
static void check_smtp_transport(struct config *cfg)
{
	if (cfg->accounts.invite_delivery != CFG_INVITE_SMTP || !cfg->accounts.smtp)
		return;
	_cleanup_free_ char *copy = strdup(search_path(cfg));
	char *save = NULL;
	for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *file = NULL;
		if (asprintf(&file, "%s/smtp.so", dir) >= 0 && access(file, F_OK) == 0)
			return;
	}
	conf_error(cfg->conf, cfg->accounts.smtp, "invite_delivery: smtp needs the SMTP transport, "
		   "smtp.so, which is not in %s", search_path(cfg));
}

int plugins_open(struct config *cfg, struct config_errors *errors)
{
	size_t before = errors->n;
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct cfg_plugin_ref *s = &cfg->sources[i];
		s->plugin = load(cfg, s, SS_PLUGIN_SOURCE, type_node(cfg, s));
		if (s->plugin && s->plugin->source->open(&ss_host_services, cfg->conf, s->node,
							 s->name, &s->instance) < 0)
			s->instance = NULL;
	}
	struct cfg_plugin_ref *t = &cfg->target;
	t->plugin = load(cfg, t, SS_PLUGIN_TARGET, type_node(cfg, t));
	check_adopt(cfg, t);
	check_smtp_transport(cfg);
	if (t->plugin && t->plugin->target->open(&ss_host_services, cfg->conf, t->node,
						 &t->instance) < 0)
		t->instance = NULL;
	return errors->n > before ? -EINVAL : 0;
}

void plugins_close(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].instance)
			cfg->sources[i].plugin->source->close(cfg->sources[i].instance);
	if (cfg->target.instance)
		cfg->target.plugin->target->close(cfg->target.instance);
	for (size_t i = 0; i < cfg->n_sources; i++)
		cfg->sources[i].instance = NULL;
	cfg->target.instance = NULL;
}
