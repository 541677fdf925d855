/* SPDX-License-Identifier: MIT */
/*
 * The core of the configuration (DESIGN.md, "Configuration contract"):
 * everything but the plugins' own keys, parsed with conf_parse() tables plus
 * code for the nested lists. Every problem is recorded, not only the first:
 * parsing goes on after an error so that --check-config lists them all.
 *
 * Defaults (the README repeats them):
 *   state_dir                     /var/lib/staffsync (conf_state_dir()'s default);
 *                                 a relative path is taken relative to the
 *                                 configuration file's folder and stored absolute
 *   plugin_dir                    unset: the built-in plugin folder
 *   schedule.interval             15m
 *   schedule.full_every           24h
 *   schedule.jitter               30s
 *   target                        type sqlite, with its own defaults
 *   facilities_per_person         one
 *   facilities[].name             the facility's id
 *   facilities[].platform         any
 *   roles[].groups                absent: the rule matches everyone
 *   roles[].facilities            absent: the rule applies on every facility
 *   roles[].requires              nothing (Doctor always requires speciality)
 *   permissions.default           Staff
 *   permissions.allow_global_admin false
 *   accounts.invite_on_create     true
 *   accounts.invite_delay         1d ("never" allowed)
 *   accounts.resend_after         7d
 *   accounts.max_resends          2
 *   accounts.invite_delivery      platform
 *   leavers.grace_runs            2 (at least 1)
 *   leavers.max_deactivations     10% and 500, whichever is lower; giving one
 *                                 form alone leaves the other unset
 *   leavers.max_shrink            10%
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "conf.h"
#include "config.h"
#include "util.h"

#define PATH_MAX_TEXT 64   /* "roles[12].facilities" and the like */

/* --------------------------------------------------------- node helpers --- */

/* conf_is_null() counts a missing node as null; here only present ones. */
static bool is_null(const yaml_node_t *n)
{
	return n && conf_is_null(n);
}

static size_t seq_len(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* The i-th item of a sequence; for a scalar (a list of one), the scalar. */
static const yaml_node_t *seq_item(ss_conf *conf, const yaml_node_t *n, size_t i)
{
	if (n && n->type == YAML_SEQUENCE_NODE && i < seq_len(n))
		return conf_node(conf, n->data.sequence.items.start[i]);
	return n;
}

static unsigned long line_of(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* A section given as a mapping, or NULL when it is absent or left empty
 * (every default). Anything else is an error. */
static const yaml_node_t *section(ss_conf *conf, const yaml_node_t *n, const char *path)
{
	if (!n || is_null(n))
		return NULL;
	if (n->type != YAML_MAPPING_NODE) {
		conf_error(conf, n, "%s: expected a mapping, got %s", path, conf_node_kind(n));
		return NULL;
	}
	return n;
}

static void out_of_memory(ss_conf *conf, const yaml_node_t *at)
{
	conf_error(conf, at, "out of memory");
}

/* A required list with at least one item (one what): an array of n zeroed
 * elements of size bytes for its items, or NULL after recording an error. */
static void *required_list(ss_conf *conf, const yaml_node_t *node, const char *path,
			   const char *what, size_t size, size_t *n)
{
	*n = 0;
	if (!node)
		return NULL;   /* conf_parse reported the missing key */
	if (node->type != YAML_SEQUENCE_NODE && !is_null(node)) {
		conf_error(conf, node, "%s: expected a list, got %s", path, conf_node_kind(node));
		return NULL;
	}
	if (seq_len(node) == 0) {
		conf_error(conf, node, "%s: at least one %s is required", path, what);
		return NULL;
	}
	void *array = calloc(seq_len(node), size);
	if (!array) {
		out_of_memory(conf, node);
		return NULL;
	}
	*n = seq_len(node);
	return array;
}

/* Item i of a list, which must be a mapping; path gets its name "list[i]". */
static const yaml_node_t *item_mapping(ss_conf *conf, const yaml_node_t *list, size_t i,
				       const char *list_name, char path[static PATH_MAX_TEXT])
{
	const yaml_node_t *item = seq_item(conf, list, i);
	snprintf(path, PATH_MAX_TEXT, "%s[%zu]", list_name, i);
	if (item->type == YAML_MAPPING_NODE)
		return item;
	conf_error(conf, item, "%s: expected a mapping, got %s", path, conf_node_kind(item));
	return NULL;
}

static void check_not_empty_list(ss_conf *conf, const yaml_node_t *mapping, const char *key,
				 char **list, const char *path, const char *hint)
{
	if (list && !list[0])
		conf_error(conf, conf_get(conf, mapping, key), "%s.%s: the list is empty%s",
			   path, key, hint);
}

/* ------------------------------------------------------------ schedule --- */

static const struct ss_conf_key schedule_keys[] = {
	{ "interval", SS_CONF_DURATION, offsetof(struct cfg_schedule, interval), false, NULL },
	{ "full_every", SS_CONF_DURATION, offsetof(struct cfg_schedule, full_every), false, NULL },
	{ "jitter", SS_CONF_DURATION, offsetof(struct cfg_schedule, jitter), false, NULL },
	{ NULL, 0, 0, false, NULL }
};

static void parse_schedule(struct config *c, const yaml_node_t *node)
{
	ss_conf *conf = c->conf;
	node = section(conf, node, "schedule");
	if (!node || conf_parse(conf, node, schedule_keys, &c->schedule) > 0)
		return;
	/* full_every may be 0 (every run full) or never; a run needs a period. */
	if (c->schedule.interval == 0 || c->schedule.interval == DURATION_NEVER)
		conf_error(conf, conf_get(conf, node, "interval"),
			   "schedule.interval: must be a duration above 0, such as 15m");
	if (c->schedule.jitter == DURATION_NEVER)
		conf_error(conf, conf_get(conf, node, "jitter"),
			   "schedule.jitter: must be a duration such as 30s, not never");
}

/* -------------------------------------------------------------- plugins --- */

/* name and type of a source (or the target's type): a string or NULL after
 * an error; absent is an error only when required. */
static const char *ref_string(ss_conf *conf, const yaml_node_t *mapping, const char *key,
			      const char *path, bool required)
{
	char what[PATH_MAX_TEXT + 16];
	const yaml_node_t *n = conf_get(conf, mapping, key);
	snprintf(what, sizeof what, "%s.%s", path, key);
	if (!n) {
		if (required)
			conf_error(conf, mapping, "%s: missing required key '%s'", path, key);
		return NULL;
	}
	return conf_scalar(conf, n, what);
}

static void parse_sources(struct config *c, const yaml_node_t *node)
{
	ss_conf *conf = c->conf;
	size_t n;
	c->sources = required_list(conf, node, "sources", "source", sizeof *c->sources, &n);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX_TEXT];
		const yaml_node_t *m = item_mapping(conf, node, i, "sources", path);
		if (!m)
			continue;
		/* Only name and type are the core's; the plugin checks the rest. */
		const char *name = ref_string(conf, m, "name", path, true);
		const char *type = ref_string(conf, m, "type", path, true);
		if (name) {
			for (size_t j = 0; j < c->n_sources; j++)
				if (streq(c->sources[j].name, name)) {
					conf_error(conf, conf_get(conf, m, "name"),
						   "%s.name: duplicate source name '%s' (first at line %lu)",
						   path, name,
						   line_of(conf_get(conf, c->sources[j].node, "name")));
					break;
				}
		}
		if (!name || !type)
			continue;
		struct cfg_plugin_ref *ref = &c->sources[c->n_sources];
		ref->name = strdup(name);
		ref->type = strdup(type);
		ref->node = m;
		if (!ref->name || !ref->type) {
			free(ref->name);
			free(ref->type);
			*ref = (struct cfg_plugin_ref){0};
			out_of_memory(conf, m);
			continue;
		}
		c->n_sources++;
	}
}

static void parse_target(struct config *c, const yaml_node_t *node)
{
	ss_conf *conf = c->conf;
	const char *type = NULL;
	node = section(conf, node, "target");
	if (node)
		type = ref_string(conf, node, "type", "target", false);
	/* The plugin parses the rest (type is listed there as SS_CONF_SKIP). */
	c->target.node = node;
	c->target.name = strdup("target");
	c->target.type = strdup(type ? type : "sqlite");
	if (!c->target.name || !c->target.type)
		out_of_memory(conf, node);
}

/* ----------------------------------------------------------- facilities --- */

/* [a-z0-9][a-z0-9-]*, at most 63: it is a subdomain. */
static bool facility_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 63 || id[0] == '-')
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

struct facility_in {
	char *id;
	char *name;
	int platform;
	const yaml_node_t *match;
};

static const struct ss_conf_key match_keys[] = {
	{ "facility", SS_CONF_STRING_LIST, offsetof(struct cfg_facility, match_facility), false, NULL },
	{ "group", SS_CONF_STRING_LIST, offsetof(struct cfg_facility, match_group), false, NULL },
	{ "dn_suffix", SS_CONF_STRING_LIST, offsetof(struct cfg_facility, match_dn_suffix), false, NULL },
	{ NULL, 0, 0, false, NULL }
};

static void parse_match(ss_conf *conf, const yaml_node_t *item, struct cfg_facility *f,
			const char *path)
{
	char mpath[PATH_MAX_TEXT + 8];
	snprintf(mpath, sizeof mpath, "%s.match", path);
	const yaml_node_t *raw = conf_get(conf, item, "match");
	const yaml_node_t *m = section(conf, raw, mpath);
	if (!m) {
		if (is_null(raw))
			conf_error(conf, raw, "%s: give at least one of facility, group or dn_suffix",
				   mpath);
		return;
	}
	if (conf_parse(conf, m, match_keys, f) > 0)
		return;
	if (!f->match_facility && !f->match_group && !f->match_dn_suffix)
		conf_error(conf, m, "%s: give at least one of facility, group or dn_suffix", mpath);
	const char *hint = " (a facility with nothing to match gets no one)";
	check_not_empty_list(conf, m, "facility", f->match_facility, mpath, hint);
	check_not_empty_list(conf, m, "group", f->match_group, mpath, hint);
	check_not_empty_list(conf, m, "dn_suffix", f->match_dn_suffix, mpath, hint);
}

static void parse_facilities(struct config *c, const yaml_node_t *node)
{
	ss_conf *conf = c->conf;
	const char *platforms[_SS_PLATFORM_MAX + 1] = {0};
	for (int p = 0; p < _SS_PLATFORM_MAX; p++)
		platforms[p] = ss_platform_name((enum ss_platform)p);
	const struct ss_conf_key keys[] = {
		{ "id", SS_CONF_STRING, offsetof(struct facility_in, id), true, NULL },
		{ "name", SS_CONF_STRING, offsetof(struct facility_in, name), false, NULL },
		{ "platform", SS_CONF_ENUM, offsetof(struct facility_in, platform), false, platforms },
		{ "match", SS_CONF_NODE, offsetof(struct facility_in, match), true, NULL },
		{ NULL, 0, 0, false, NULL }
	};

	size_t n;
	c->facilities = required_list(conf, node, "facilities", "facility",
				      sizeof *c->facilities, &n);
	/* The id node of each facility kept, for "first at line". */
	_cleanup_free_ const yaml_node_t **id_nodes = n ? calloc(n, sizeof *id_nodes) : NULL;
	if (n && !id_nodes) {
		out_of_memory(conf, node);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX_TEXT];
		const yaml_node_t *m = item_mapping(conf, node, i, "facilities", path);
		if (!m)
			continue;
		struct facility_in in = { .platform = SS_PLATFORM_ANY };
		conf_parse(conf, m, keys, &in);
		if (!in.id) {
			conf_free_values(keys, &in);
			continue;
		}

		const yaml_node_t *idn = conf_get(conf, m, "id");
		if (!facility_id_valid(in.id))
			conf_error(conf, idn, "%s.id: '%s' is not a valid facility id (lower-case "
				   "letters, digits and '-', not starting with '-', at most 63 characters)",
				   path, in.id);
		const struct cfg_facility *first = config_facility(c, in.id);
		if (first) {
			conf_error(conf, idn, "%s.id: duplicate facility id '%s' (first at line %lu)",
				   path, in.id, line_of(id_nodes[first - c->facilities]));
			conf_free_values(keys, &in);
			continue;
		}

		id_nodes[c->n_facilities] = idn;
		struct cfg_facility *f = &c->facilities[c->n_facilities++];
		f->id = TAKE_PTR(in.id);
		f->name = in.name ? TAKE_PTR(in.name) : strdup(f->id);
		if (!f->name)
			out_of_memory(conf, m);
		f->platform = (enum ss_platform)in.platform;
		parse_match(conf, m, f, path);
	}
}

const struct cfg_facility *config_facility(const struct config *c, const char *id)
{
	for (size_t i = 0; id && i < c->n_facilities; i++)
		if (streq(c->facilities[i].id, id))
			return &c->facilities[i];
	return NULL;
}

/* ---------------------------------------------------------------- roles --- */

/* roles[].requires: the name of each SS_REQ_* bit, by bit number. */
static const char *const requirements[] = {
	"email",         /* SS_REQ_EMAIL */
	"speciality",    /* SS_REQ_SPECIALITY */
	"employee_id",   /* SS_REQ_EMPLOYEE_ID */
	"given_name",    /* SS_REQ_GIVEN_NAME */
	"family_name",   /* SS_REQ_FAMILY_NAME */
};

struct role_in {
	char *role;
	char *label;
	char **groups;
	char **facilities;
	char **requires;
};

static const struct ss_conf_key role_keys[] = {
	{ "role", SS_CONF_STRING, offsetof(struct role_in, role), true, NULL },
	{ "label", SS_CONF_STRING, offsetof(struct role_in, label), false, NULL },
	{ "groups", SS_CONF_STRING_LIST, offsetof(struct role_in, groups), false, NULL },
	{ "facilities", SS_CONF_STRING_LIST, offsetof(struct role_in, facilities), false, NULL },
	{ "requires", SS_CONF_STRING_LIST, offsetof(struct role_in, requires), false, NULL },
	{ NULL, 0, 0, false, NULL }
};

/* "a, b, c" from n names, or NULL on ENOMEM. */
static char *join_names(const char *const *names, size_t n)
{
	char *r = strdup("");
	for (size_t i = 0; r && i < n; i++) {
		char *t;
		if (asprintf(&t, "%s%s%s", r, i ? ", " : "", names[i]) < 0)
			t = NULL;
		free(r);
		r = t;
	}
	return r;
}

static enum ss_role parse_role_name(ss_conf *conf, const yaml_node_t *at, const char *name,
				    const char *path)
{
	enum ss_role r = ss_role_from_name(name);
	if (r == SS_ROLE_PATIENT) {
		conf_error(conf, at, "%s.role: Patient is never assigned by staffsync", path);
		return SS_ROLE_INVALID;
	}
	if (r == SS_ROLE_INVALID) {
		const char *names[_SS_ROLE_MAX];
		size_t n = 0;
		for (int i = 0; i < _SS_ROLE_MAX; i++)
			if (i != SS_ROLE_PATIENT)
				names[n++] = ss_role_name((enum ss_role)i);
		_cleanup_free_ char *known = join_names(names, n);
		conf_error(conf, at, "%s.role: unknown role '%s' (known: %s)", path, name,
			   strempty(known));
	}
	return r;
}

static void check_role_facilities(struct config *c, const yaml_node_t *m, const struct role_in *in,
				  enum ss_role role, const char *path)
{
	ss_conf *conf = c->conf;
	const yaml_node_t *list = conf_get(conf, m, "facilities");
	for (size_t j = 0; in->facilities && in->facilities[j]; j++) {
		const yaml_node_t *at = seq_item(conf, list, j);
		const struct cfg_facility *f = config_facility(c, in->facilities[j]);
		if (!f) {
			_cleanup_free_ const char **ids = calloc(c->n_facilities + 1, sizeof *ids);
			for (size_t k = 0; ids && k < c->n_facilities; k++)
				ids[k] = c->facilities[k].id;
			_cleanup_free_ char *known = ids ? join_names(ids, c->n_facilities) : NULL;
			conf_error(conf, at, "%s.facilities: unknown facility '%s' (known: %s)", path,
				   in->facilities[j], c->n_facilities ? strempty(known) : "none");
		} else if (role != SS_ROLE_INVALID && !ss_platform_has_role(f->platform, role)) {
			conf_error(conf, at, "%s.facilities: there is no role %s on facility '%s' "
				   "(platform %s)", path, ss_role_name(role), f->id,
				   ss_platform_name(f->platform));
		}
	}
	check_not_empty_list(conf, m, "facilities", in->facilities, path,
			     " (leave facilities out for every facility)");
}

static unsigned parse_requires(ss_conf *conf, const yaml_node_t *m, char **list, const char *path)
{
	const yaml_node_t *node = conf_get(conf, m, "requires");
	unsigned bits = 0;
	for (size_t j = 0; list && list[j]; j++) {
		size_t k;
		for (k = 0; k < ELEMENTSOF(requirements) && !streq(requirements[k], list[j]); k++)
			;
		if (k < ELEMENTSOF(requirements)) {
			bits |= 1u << k;
			continue;
		}
		_cleanup_free_ char *known = join_names(requirements, ELEMENTSOF(requirements));
		conf_error(conf, seq_item(conf, node, j), "%s.requires: unknown field '%s' (known: %s)",
			   path, list[j], strempty(known));
	}
	return bits;
}

static void parse_roles(struct config *c, const yaml_node_t *node)
{
	ss_conf *conf = c->conf;
	size_t n;
	c->roles = required_list(conf, node, "roles", "role rule", sizeof *c->roles, &n);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX_TEXT];
		const yaml_node_t *m = item_mapping(conf, node, i, "roles", path);
		if (!m)
			continue;
		struct role_in in = {0};
		conf_parse(conf, m, role_keys, &in);

		enum ss_role role = SS_ROLE_INVALID;
		if (in.role)
			role = parse_role_name(conf, conf_get(conf, m, "role"), in.role, path);
		if (in.label && role != SS_ROLE_INVALID && role != SS_ROLE_PERSONNEL)
			conf_error(conf, conf_get(conf, m, "label"),
				   "%s.label: only Personnel takes a label, not %s", path,
				   ss_role_name(role));
		else if (in.label && !*in.label)
			conf_error(conf, conf_get(conf, m, "label"), "%s.label: must not be empty", path);
		check_not_empty_list(conf, m, "groups", in.groups, path,
				     " (leave groups out to match everyone)");
		check_role_facilities(c, m, &in, role, path);
		unsigned requires = parse_requires(conf, m, in.requires, path);

		if (role == SS_ROLE_INVALID) {
			conf_free_values(role_keys, &in);
			continue;
		}
		if (role == SS_ROLE_DOCTOR)
			requires |= SS_REQ_SPECIALITY;   /* the platform requires a speciality */
		c->roles[c->n_roles++] = (struct cfg_role_rule){
			.role = role,
			.label = TAKE_PTR(in.label),
			.groups = TAKE_PTR(in.groups),
			.facilities = TAKE_PTR(in.facilities),
			.requires = requires,
			.line = (int)line_of(m),
		};
		conf_free_values(role_keys, &in);
	}
}

/* ---------------------------------------------------------- permissions --- */

struct permissions_in {
	char *default_level;
	const yaml_node_t *levels;
	bool allow_global_admin;
};

static const struct ss_conf_key permissions_keys[] = {
	{ "default", SS_CONF_STRING, offsetof(struct permissions_in, default_level), false, NULL },
	{ "levels", SS_CONF_NODE, offsetof(struct permissions_in, levels), false, NULL },
	{ "allow_global_admin", SS_CONF_BOOL, offsetof(struct permissions_in, allow_global_admin), false, NULL },
	{ NULL, 0, 0, false, NULL }
};

static void parse_permissions(struct config *c, const yaml_node_t *node)
{
	ss_conf *conf = c->conf;
	struct permissions_in in = { .allow_global_admin = c->permissions.allow_global_admin };
	node = section(conf, node, "permissions");
	if (!node)
		return;
	conf_parse(conf, node, permissions_keys, &in);
	c->permissions.allow_global_admin = in.allow_global_admin;

	if (in.default_level) {
		const yaml_node_t *at = conf_get(conf, node, "default");
		enum ss_level l = ss_level_from_name(in.default_level);
		if (l == SS_LEVEL_INVALID) {
			const char *names[_SS_LEVEL_MAX];
			for (int i = 0; i < _SS_LEVEL_MAX; i++)
				names[i] = ss_level_name((enum ss_level)i);
			_cleanup_free_ char *known = join_names(names, _SS_LEVEL_MAX);
			conf_error(conf, at, "permissions.default: unknown level '%s' (known: %s)",
				   in.default_level, strempty(known));
		} else if (l == SS_LEVEL_GLOBAL_ADMIN && !in.allow_global_admin) {
			conf_error(conf, at, "permissions.default: Global Admin as the default would "
				   "make everyone a Global Admin; refused unless allow_global_admin: true");
		} else {
			c->permissions.default_level = l;
		}
	}

	/* One key per level name, each a list of groups. */
	const yaml_node_t *levels = section(conf, in.levels, "permissions.levels");
	if (levels) {
		struct ss_conf_key keys[_SS_LEVEL_MAX + 1] = {0};
		for (int i = 0; i < _SS_LEVEL_MAX; i++)
			keys[i] = (struct ss_conf_key){
				.name = ss_level_name((enum ss_level)i),
				.type = SS_CONF_STRING_LIST,
				.offset = offsetof(struct cfg_permissions, levels) + (size_t)i * sizeof(char **),
			};
		/* A Global Admin group without allow_global_admin is valid: its
		 * members are held by the mapping (the guard shows in the plan). */
		conf_parse(conf, levels, keys, &c->permissions);
	}
	free(in.default_level);
}

/* ------------------------------------------------------------- accounts --- */

static const struct ss_conf_key smtp_keys[] = {
	{ "url", SS_CONF_STRING, offsetof(struct cfg_smtp, url), true, NULL },
	/* from is checked when mail is sent (the e-mail stays queued until it
	 * is set): a config written before SMTP delivery existed still loads. */
	{ "from", SS_CONF_STRING, offsetof(struct cfg_smtp, from), false, NULL },
	{ "username", SS_CONF_STRING, offsetof(struct cfg_smtp, username), false, NULL },
	{ "password_file", SS_CONF_STRING, offsetof(struct cfg_smtp, password_file), false, NULL },
	{ "password_credential", SS_CONF_STRING, offsetof(struct cfg_smtp, password_credential), false, NULL },
	{ "sign_in_url", SS_CONF_STRING, offsetof(struct cfg_smtp, sign_in_url), false, NULL },
	{ "ca_file", SS_CONF_STRING, offsetof(struct cfg_smtp, ca_file), false, NULL },
	{ "template_file", SS_CONF_STRING, offsetof(struct cfg_smtp, template_file), false, NULL },
	{ "starttls", SS_CONF_BOOL, offsetof(struct cfg_smtp, starttls), false, NULL },
	{ "timeout", SS_CONF_DURATION, offsetof(struct cfg_smtp, timeout), false, NULL },
	{ "max_attempts", SS_CONF_UINT, offsetof(struct cfg_smtp, max_attempts), false, NULL },
	{ "retry_delay", SS_CONF_DURATION, offsetof(struct cfg_smtp, retry_delay), false, NULL },
	{ NULL, 0, 0, false, NULL }
};

/* smtp://127.x, smtp://localhost, smtp://[::1]: where a server without
 * STARTTLS may be accepted (a local relay, tests), like LDAP's rule. */
static bool smtp_url_is_loopback(const char *url)
{
	static const char *const prefixes[] = { "smtp://127.", "smtp://localhost:", "smtp://localhost/",
						"smtp://[::1]" };
	for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
		if (strncasecmp(url, prefixes[i], strlen(prefixes[i])) == 0 ||
		    streq(url, "smtp://localhost"))
			return true;
	return false;
}

static void absolute_path(ss_conf *conf, const yaml_node_t *at, char **path)
{
	if (!*path)
		return;
	char *abs = conf_path(conf, *path);
	if (!abs) {
		out_of_memory(conf, at);
		return;
	}
	free(*path);
	*path = abs;
}

static void parse_smtp(ss_conf *conf, const yaml_node_t *node, struct cfg_smtp *s)
{
	*s = (struct cfg_smtp){ .starttls = true, .timeout = 30 * USEC_PER_SEC,
				.max_attempts = 5, .retry_delay = 15 * 60 * USEC_PER_SEC };
	if (conf_parse(conf, node, smtp_keys, s) > 0)
		return;
	const yaml_node_t *at = conf_get(conf, node, "url");
	bool smtps = strncasecmp(s->url, "smtps://", 8) == 0;
	if (!smtps && strncasecmp(s->url, "smtp://", 7) != 0)
		conf_error(conf, at, "accounts.smtp.url must be smtp://HOST[:PORT] (STARTTLS) or "
			   "smtps://HOST[:PORT] (implicit TLS)");
	else if (!smtps && !s->starttls && !smtp_url_is_loopback(s->url))
		conf_error(conf, conf_get(conf, node, "starttls"),
			   "accounts.smtp.starttls: false is only accepted for a loopback server "
			   "(e-mail and passwords would cross the network in clear)");
	if (s->password_file && s->password_credential)
		conf_error(conf, conf_get(conf, node, "password_credential"),
			   "accounts.smtp: set password_file or password_credential, not both");
	if ((s->password_file || s->password_credential) && !s->username)
		conf_error(conf, node, "accounts.smtp: a password needs a username");
	if (s->max_attempts == 0)
		conf_error(conf, conf_get(conf, node, "max_attempts"),
			   "accounts.smtp.max_attempts must be at least 1");
	if (s->retry_delay == DURATION_NEVER)
		conf_error(conf, conf_get(conf, node, "retry_delay"),
			   "accounts.smtp.retry_delay must be a duration (a refused mail is retried or failed, "
			   "never left waiting)");
	absolute_path(conf, node, &s->password_file);
	absolute_path(conf, node, &s->ca_file);
	absolute_path(conf, node, &s->template_file);
}

struct accounts_in {
	struct cfg_accounts a;
	int invite_delivery;
};

static void parse_accounts(struct config *c, const yaml_node_t *node)
{
	static const char *const deliveries[] = { "platform", "smtp", "none", NULL };
	static const struct ss_conf_key keys[] = {
		{ "invite_on_create", SS_CONF_BOOL, offsetof(struct accounts_in, a.invite_on_create), false, NULL },
		{ "invite_delay", SS_CONF_DURATION, offsetof(struct accounts_in, a.invite_delay), false, NULL },
		{ "resend_after", SS_CONF_DURATION, offsetof(struct accounts_in, a.resend_after), false, NULL },
		{ "max_resends", SS_CONF_UINT, offsetof(struct accounts_in, a.max_resends), false, NULL },
		{ "invite_delivery", SS_CONF_ENUM, offsetof(struct accounts_in, invite_delivery), false, deliveries },
		{ "smtp", SS_CONF_NODE, offsetof(struct accounts_in, a.smtp), false, NULL },
		{ NULL, 0, 0, false, NULL }
	};
	ss_conf *conf = c->conf;
	node = section(conf, node, "accounts");
	if (!node)
		return;
	struct accounts_in in = { .a = c->accounts, .invite_delivery = (int)c->accounts.invite_delivery };
	conf_parse(conf, node, keys, &in);
	in.a.invite_delivery = (enum cfg_invite_delivery)in.invite_delivery;
	in.a.smtp = section(conf, in.a.smtp, "accounts.smtp");
	if (in.a.invite_delivery == CFG_INVITE_SMTP && !in.a.smtp)
		conf_error(conf, conf_get(conf, node, "invite_delivery"),
			   "accounts.invite_delivery: smtp needs an accounts.smtp section "
			   "(url, from, ...)");
	if (in.a.smtp)
		parse_smtp(conf, in.a.smtp, &in.a.smtp_conf);
	c->accounts = in.a;
}

/* -------------------------------------------------------------- leavers --- */

/* max_deactivations: "10%", "500" or both as a list; a form left out is
 * unset (-1). */
static void parse_max_deactivations(ss_conf *conf, const yaml_node_t *node, char **list,
				    struct cfg_limit *out)
{
	struct cfg_limit l = { .percent = -1, .count = -1 };
	int bad = 0;

	if (!list[0]) {
		conf_error(conf, node, "leavers.max_deactivations: the list is empty "
			   "(give a percentage such as 10%%, a count such as 500, or both)");
		return;
	}
	for (size_t i = 0; list[i]; i++) {
		const yaml_node_t *item = seq_item(conf, node, i);
		struct cfg_limit one = { .percent = -1, .count = -1 };
		if (parse_limit_scalar(list[i], &one) < 0) {
			conf_error(conf, item, "leavers.max_deactivations: expected a percentage "
				   "such as 10%% or a count such as 500, got '%s'", list[i]);
			bad++;
		} else if ((one.percent >= 0 && l.percent >= 0) || (one.count >= 0 && l.count >= 0)) {
			conf_error(conf, item, "leavers.max_deactivations: give at most one percentage "
				   "and one count");
			bad++;
		} else if (one.percent >= 0) {
			l.percent = one.percent;
		} else {
			l.count = one.count;
		}
	}
	if (!bad)
		*out = l;
}

struct leavers_in {
	unsigned long grace_runs;
	char **max_deactivations;
	char *max_shrink;
};

static void parse_leavers(struct config *c, const yaml_node_t *node)
{
	static const struct ss_conf_key keys[] = {
		{ "grace_runs", SS_CONF_UINT, offsetof(struct leavers_in, grace_runs), false, NULL },
		{ "max_deactivations", SS_CONF_STRING_LIST, offsetof(struct leavers_in, max_deactivations), false, NULL },
		{ "max_shrink", SS_CONF_STRING, offsetof(struct leavers_in, max_shrink), false, NULL },
		{ NULL, 0, 0, false, NULL }
	};
	ss_conf *conf = c->conf;
	node = section(conf, node, "leavers");
	if (!node)
		return;
	struct leavers_in in = { .grace_runs = c->leavers.grace_runs };
	conf_parse(conf, node, keys, &in);
	if (in.grace_runs < 1)
		conf_error(conf, conf_get(conf, node, "grace_runs"),
			   "leavers.grace_runs: must be at least 1 (a person missing from one "
			   "listing is not a leaver yet)");
	else
		c->leavers.grace_runs = in.grace_runs;

	if (in.max_deactivations)
		parse_max_deactivations(conf, conf_get(conf, node, "max_deactivations"),
					in.max_deactivations, &c->leavers.max_deactivations);

	if (in.max_shrink) {
		struct cfg_limit l = { .percent = -1, .count = -1 };
		if (parse_limit_scalar(in.max_shrink, &l) == 0 && l.percent >= 0)
			c->leavers.max_shrink = l.percent / 100.0;
		else
			conf_error(conf, conf_get(conf, node, "max_shrink"),
				   "leavers.max_shrink: expected a percentage such as 10%%, got '%s'",
				   in.max_shrink);
	}
	conf_free_values(keys, &in);
}

/* ----------------------------------------------------------------- load --- */

struct top_in {
	char *state_dir;
	char *plugin_dir;
	int facilities_per_person;
	const yaml_node_t *schedule, *sources, *target, *facilities, *roles,
			  *permissions, *accounts, *leavers;
};

static const char *const per_person[] = { "one", "many", NULL };

static const struct ss_conf_key top_keys[] = {
	{ "state_dir", SS_CONF_STRING, offsetof(struct top_in, state_dir), false, NULL },
	{ "plugin_dir", SS_CONF_STRING, offsetof(struct top_in, plugin_dir), false, NULL },
	{ "schedule", SS_CONF_NODE, offsetof(struct top_in, schedule), false, NULL },
	{ "sources", SS_CONF_NODE, offsetof(struct top_in, sources), true, NULL },
	{ "target", SS_CONF_NODE, offsetof(struct top_in, target), false, NULL },
	{ "facilities_per_person", SS_CONF_ENUM, offsetof(struct top_in, facilities_per_person), false, per_person },
	{ "facilities", SS_CONF_NODE, offsetof(struct top_in, facilities), true, NULL },
	{ "roles", SS_CONF_NODE, offsetof(struct top_in, roles), true, NULL },
	{ "permissions", SS_CONF_NODE, offsetof(struct top_in, permissions), false, NULL },
	{ "accounts", SS_CONF_NODE, offsetof(struct top_in, accounts), false, NULL },
	{ "leavers", SS_CONF_NODE, offsetof(struct top_in, leavers), false, NULL },
	{ NULL, 0, 0, false, NULL }
};

static void set_defaults(struct config *c)
{
	c->schedule = (struct cfg_schedule){
		.interval = 15 * 60 * USEC_PER_SEC,
		.full_every = 24 * 3600 * USEC_PER_SEC,
		.jitter = 30 * USEC_PER_SEC,
	};
	c->facilities_per_person = CFG_FACILITIES_ONE;
	c->permissions.default_level = SS_LEVEL_STAFF;
	c->permissions.allow_global_admin = false;
	c->accounts = (struct cfg_accounts){
		.invite_on_create = true,
		.invite_delay = 24 * 3600 * USEC_PER_SEC,
		.resend_after = 7 * 24 * 3600 * USEC_PER_SEC,
		.max_resends = 2,
		.invite_delivery = CFG_INVITE_PLATFORM,
	};
	c->leavers = (struct cfg_leavers){
		.grace_runs = 2,
		.max_deactivations = { .percent = 10, .count = 500 },
		.max_shrink = 0.10,
	};
}

/* state_dir and plugin_dir: absolute, relative ones taken from the
 * configuration file's folder. */
static char *config_dir(ss_conf *conf, const yaml_node_t *root, const char *key, const char *value)
{
	const yaml_node_t *at = conf_get(conf, root, key);
	if (!*value) {
		conf_error(conf, at, "%s: must not be empty", key);
		return NULL;
	}
	char *p = conf_path(conf, value);
	if (!p)
		out_of_memory(conf, at);
	return p;
}

int config_load(const char *path, struct config **ret, struct config_errors *errors)
{
	ss_conf *conf = NULL;
	*ret = NULL;
	int r = conf_load_file(path, &conf, errors);
	if (r < 0)
		return r;

	struct config *c = calloc(1, sizeof *c);
	if (!c) {
		conf_free(conf);
		return -ENOMEM;
	}
	c->conf = conf;
	c->file = strdup(path);
	if (!c->file) {
		config_free(c);
		return -ENOMEM;
	}
	set_defaults(c);

	const yaml_node_t *root = conf_root(conf);
	struct top_in top = { .facilities_per_person = CFG_FACILITIES_ONE };
	conf_parse(conf, root, top_keys, &top);
	c->facilities_per_person = (enum cfg_facilities_per_person)top.facilities_per_person;

	if (top.state_dir)
		c->state_dir = config_dir(conf, root, "state_dir", top.state_dir);
	else
		c->state_dir = strdup(conf_state_dir(conf));   /* the built-in default */
	if (c->state_dir)
		conf_set_state_dir(conf, c->state_dir);
	if (top.plugin_dir)
		c->plugin_dir = config_dir(conf, root, "plugin_dir", top.plugin_dir);
	conf_free_values(top_keys, &top);

	parse_schedule(c, top.schedule);
	parse_sources(c, top.sources);
	parse_target(c, top.target);
	parse_facilities(c, top.facilities);   /* before roles: they name facilities */
	parse_roles(c, top.roles);
	parse_permissions(c, top.permissions);
	parse_accounts(c, top.accounts);
	parse_leavers(c, top.leavers);

	*ret = c;
	return conf_error_count(conf) > 0 ? -EINVAL : 0;
}

static void plugin_ref_free(struct cfg_plugin_ref *r)
{
	free(r->name);
	free(r->type);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->file);
	free(c->state_dir);
	free(c->plugin_dir);
	for (size_t i = 0; i < c->n_sources; i++)
		plugin_ref_free(&c->sources[i]);
	free(c->sources);
	plugin_ref_free(&c->target);
	for (size_t i = 0; i < c->n_facilities; i++) {
		struct cfg_facility *f = &c->facilities[i];
		free(f->id);
		free(f->name);
		conf_free_values(match_keys, f);
	}
	free(c->facilities);
	for (size_t i = 0; i < c->n_roles; i++) {
		free(c->roles[i].label);
		strv_free(c->roles[i].groups);
		strv_free(c->roles[i].facilities);
	}
	free(c->roles);
	for (int l = 0; l < _SS_LEVEL_MAX; l++)
		strv_free(c->permissions.levels[l]);
	conf_free_values(smtp_keys, &c->accounts.smtp_conf);
	conf_free(c->conf);
	free(c);
}

void config_errors_clear(struct config_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
	e->lines = NULL;
	e->n = 0;
}
