/* SPDX-License-Identifier: MIT */
/*
 * The ldap source's settings: parsed with the host's table-driven parser
 * (errors carry line and column), then checked for what a directory
 * administrator would otherwise only find out at 3 a.m.: clear text to a
 * remote server, no way to bind, no identity attribute.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ldap-source.h"
#include "util.h"

const char *const ldap_field_names[_LF_MAX] = {
	[LF_ID] = "id",
	[LF_GIVEN_NAME] = "given_name",
	[LF_FAMILY_NAME] = "family_name",
	[LF_EMAIL] = "email",
	[LF_EMPLOYEE_ID] = "employee_id",
	[LF_SPECIALITY] = "speciality",
	[LF_FACILITY] = "facility",
	[LF_GROUPS] = "groups",
};

static const char *const dialects[] = { "openldap", "ad", NULL };
static const char *const scopes[] = { "sub", "one", "base", NULL };
static const char *const incrementals[] = { "auto", "off", NULL };

struct ldap_settings {
	char **uri;
	int dialect;
	bool starttls;
	char *ca_file;
	char *bind_dn;
	char *bind_password_file;
	char *bind_credential;
	char *sasl_mech;
	char **base_dn;
	int scope;
	char *filter;
	char *group_base_dn;
	char *group_filter;
	bool nested_groups;
	unsigned long page_size;
	unsigned long range_size;
	uint64_t timeout;
	int incremental;
	const yaml_node_t *disabled_when;
	char **attributes;
};

#define K(n, t, f, req, ch) { n, t, offsetof(struct ldap_settings, f), req, ch }
static const struct ss_conf_key ldap_keys[] = {
	{ "name", SS_CONF_SKIP, 0, false, NULL },
	{ "type", SS_CONF_SKIP, 0, false, NULL },
	K("uri", SS_CONF_STRING_LIST, uri, true, NULL),
	K("dialect", SS_CONF_ENUM, dialect, false, dialects),
	K("starttls", SS_CONF_BOOL, starttls, false, NULL),
	K("ca_file", SS_CONF_STRING, ca_file, false, NULL),
	K("bind_dn", SS_CONF_STRING, bind_dn, false, NULL),
	K("bind_password_file", SS_CONF_STRING, bind_password_file, false, NULL),
	K("bind_credential", SS_CONF_STRING, bind_credential, false, NULL),
	K("sasl_mech", SS_CONF_STRING, sasl_mech, false, NULL),
	K("base_dn", SS_CONF_STRING_LIST, base_dn, true, NULL),
	K("scope", SS_CONF_ENUM, scope, false, scopes),
	K("filter", SS_CONF_STRING, filter, false, NULL),
	K("group_base_dn", SS_CONF_STRING, group_base_dn, false, NULL),
	K("group_filter", SS_CONF_STRING, group_filter, false, NULL),
	K("nested_groups", SS_CONF_BOOL, nested_groups, false, NULL),
	K("page_size", SS_CONF_UINT, page_size, false, NULL),
	K("range_size", SS_CONF_UINT, range_size, false, NULL),
	K("timeout", SS_CONF_DURATION, timeout, false, NULL),
	K("incremental", SS_CONF_ENUM, incremental, false, incrementals),
	K("disabled_when", SS_CONF_NODE, disabled_when, false, NULL),
	K("attributes", SS_CONF_STRING_MAP, attributes, false, NULL),
	{ NULL, 0, 0, false, NULL },
};

struct disabled_settings {
	char *attribute;
	char **values;
};

static const struct ss_conf_key disabled_keys[] = {
	{ "attribute", SS_CONF_STRING, offsetof(struct disabled_settings, attribute), true, NULL },
	{ "values", SS_CONF_STRING_LIST, offsetof(struct disabled_settings, values), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

void ldap_source_free(struct ldap_source *src)
{
	if (!src)
		return;
	lstrv_free(src->uris);
	lstrv_free(src->base_dns);
	lstrv_free(src->disabled_values);
	lstrv_free(src->request_attrs);
	for (int f = 0; f < _LF_MAX; f++)
		free(src->attrs[f]);
	free(src->name); free(src->ca_file); free(src->bind_dn); free(src->password_file);
	free(src->bind_credential); free(src->sasl_mech); free(src->filter);
	free(src->group_base_dn); free(src->group_filter); free(src->disabled_attr);
	free(src->member_request);
	free(src);
}

static inline void ldap_source_freep(struct ldap_source **s) { ldap_source_free(*s); }

static int field_from_name(const char *name)
{
	for (int f = 0; f < _LF_MAX; f++)
		if (streq(ldap_field_names[f], name))
			return f;
	return -1;
}

/* "uri: a b" and "uri: [a, b]" both list URIs in failover order. */
static int split_uris(char **in, char ***out)
{
	for (size_t i = 0; in && in[i]; i++) {
		_cleanup_free_ char *copy = strdup(in[i]);
		if (!copy)
			return -ENOMEM;
		char *save = NULL;
		for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save))
			if (lstrv_push(out, t) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* Clear text is only acceptable where nobody can listen: a local socket or
 * the loopback interface. */
static bool uri_is_local(const char *uri)
{
	if (strncasecmp(uri, "ldapi://", 8) == 0)
		return true;
	LDAPURLDesc *lud = NULL;
	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS)
		return false;
	bool local = lud->lud_host &&
		(streq(lud->lud_host, "127.0.0.1") || streq(lud->lud_host, "::1") ||
		 strcasecmp(lud->lud_host, "localhost") == 0 || strncmp(lud->lud_host, "127.", 4) == 0);
	ldap_free_urldesc(lud);
	return local;
}

static int check_uris(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		      struct ldap_source *src)
{
	const yaml_node_t *at = host->conf_get(conf, node, "uri");
	int errors = 0;
	if (!src->uris || !src->uris[0]) {
		host->conf_error(conf, at ? at : node, "uri: needs at least one ldap://, ldaps:// or ldapi:// URI");
		return 1;
	}
	for (size_t i = 0; src->uris[i]; i++) {
		const char *u = src->uris[i];
		if (!ldap_is_ldap_url(u) && strncasecmp(u, "ldapi://", 8) != 0) {
			host->conf_error(conf, at, "uri: '%s' is not an ldap://, ldaps:// or ldapi:// URI", u);
			errors++;
		} else if (!src->starttls && strncasecmp(u, "ldaps://", 8) != 0 && !uri_is_local(u)) {
			host->conf_error(conf, host->conf_get(conf, node, "starttls"),
					 "starttls: false is only accepted for ldapi:// or loopback URIs "
					 "('%s' would send the password in clear text)", u);
			errors++;
		}
	}
	return errors;
}

static int take_attributes(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
			   char **map, struct ldap_source *src)
{
	const yaml_node_t *at = host->conf_get(conf, node, "attributes");
	int errors = 0;
	for (size_t i = 0; map && map[i] && map[i + 1]; i += 2) {
		int f = field_from_name(map[i]);
		if (f < 0 || isempty(map[i + 1])) {
			host->conf_error(conf, at, f < 0 ?
					 "attributes: unknown record field '%s' (known: id, given_name, family_name, "
					 "email, employee_id, speciality, facility, groups)" :
					 "attributes: '%s' needs an LDAP attribute name", map[i]);
			errors++;
			continue;
		}
		free(src->attrs[f]);
		if (!(src->attrs[f] = strdup(map[i + 1])))
			return -ENOMEM;
	}
	return errors;
}

/* The dialect's own names for what the config leaves out. */
static int default_attributes(struct ldap_source *src)
{
	bool ad = dialect_is_ad(src);
	static const char *const openldap[_LF_MAX] = {
		"entryUUID", "givenName", "sn", "mail", "employeeNumber", NULL, NULL, "memberOf" };
	static const char *const activedirectory[_LF_MAX] = {
		"objectGUID", "givenName", "sn", "mail", "employeeID", NULL, NULL, "memberOf" };
	for (int f = 0; f < _LF_MAX; f++) {
		const char *d = (ad ? activedirectory : openldap)[f];
		if (!src->attrs[f] && d && !(src->attrs[f] = strdup(d)))
			return -ENOMEM;
	}
	return 0;
}

/* Everything a search must ask for: the mapped fields, the dialect's
 * disabled markers, the configured one, and every user attribute for the
 * raw attributes that mapping rules may name. */
static int build_request_attrs(struct ldap_source *src)
{
	for (int f = 0; f < _LF_MAX; f++)
		if (src->attrs[f] && lstrv_push(&src->request_attrs, src->attrs[f]) < 0)
			return -ENOMEM;
	const char *extra[] = { "*", dialect_is_ad(src) ? "userAccountControl" : "pwdAccountLockedTime",
				src->disabled_attr };
	for (size_t i = 0; i < ELEMENTSOF(extra); i++)
		if (extra[i] && lstrv_push(&src->request_attrs, extra[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int take_disabled(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
			 struct ldap_source *src)
{
	if (!node)
		return 0;
	struct disabled_settings d = {0};
	int errors = host->conf_parse(conf, node, disabled_keys, &d);
	src->disabled_attr = TAKE_PTR(d.attribute);
	src->disabled_values = TAKE_PTR(d.values);
	host->conf_free(disabled_keys, &d);
	return errors;
}

static int check_auth(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		      const struct ldap_settings *s)
{
	if (s->sasl_mech && strcasecmp(s->sasl_mech, "EXTERNAL") != 0) {
		host->conf_error(conf, host->conf_get(conf, node, "sasl_mech"),
				 "sasl_mech: only EXTERNAL is supported (over ldapi:// or a client certificate)");
		return 1;
	}
	if (s->bind_password_file && s->bind_credential) {
		host->conf_error(conf, host->conf_get(conf, node, "bind_credential"),
				 "bind_credential: give either bind_password_file or bind_credential, not both");
		return 1;
	}
	if (s->bind_dn && !s->sasl_mech && !s->bind_password_file && !s->bind_credential) {
		host->conf_error(conf, host->conf_get(conf, node, "bind_dn"),
				 "bind_dn: needs bind_password_file or bind_credential");
		return 1;
	}
	return 0;
}

static int take_strings(const struct ss_host *host, ss_conf *conf, struct ldap_settings *s,
			struct ldap_source *src)
{
	src->bind_dn = TAKE_PTR(s->bind_dn);
	src->bind_credential = TAKE_PTR(s->bind_credential);
	src->sasl_mech = TAKE_PTR(s->sasl_mech);
	src->base_dns = TAKE_PTR(s->base_dn);
	src->group_base_dn = TAKE_PTR(s->group_base_dn);
	src->filter = s->filter ? TAKE_PTR(s->filter) :
		strdup(dialect_is_ad(src) ? "(&(objectCategory=person)(objectClass=user))" :
		       "(objectClass=inetOrgPerson)");
	src->group_filter = s->group_filter ? TAKE_PTR(s->group_filter) :
		strdup(dialect_is_ad(src) ? "(objectClass=group)" :
		       "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))");
	if (!src->filter || !src->group_filter)
		return -ENOMEM;
	if (s->ca_file && !(src->ca_file = host->conf_path(conf, s->ca_file)))
		return -ENOMEM;
	if (s->bind_password_file && !(src->password_file = host->conf_path(conf, s->bind_password_file)))
		return -ENOMEM;
	return 0;
}

/* range_size asks for a group's member values in explicit ranges, which
 * only Active Directory understands: slapd would take "member;range=0-499"
 * for an unknown attribute and send no members at all, silently. */
static int take_range_size(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
			   unsigned long range_size, struct ldap_source *src)
{
	const yaml_node_t *at = host->conf_get(conf, node, "range_size");
	if (range_size > 100000 || (range_size > 0 && !dialect_is_ad(src))) {
		host->conf_error(conf, at, range_size > 100000 ?
				 "range_size: between 0 (as the server sends them) and 100000 member values" :
				 "range_size: only for dialect: ad (range retrieval is Active Directory's)");
		return 1;
	}
	src->range_size = (int)range_size;
	char buf[64];
	if (range_size > 0)
		snprintf(buf, sizeof buf, "member;range=0-%lu", range_size - 1);
	if (!(src->member_request = strdup(range_size > 0 ? buf : "member")))
		return -ENOMEM;
	return 0;
}

static const int scope_values[] = { LDAP_SCOPE_SUBTREE, LDAP_SCOPE_ONELEVEL, LDAP_SCOPE_BASE };

int ldap_settings_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		       const char *name, struct ldap_source **ret)
{
	struct ldap_settings s = {
		.starttls = true, .nested_groups = true, .page_size = 1000,
		.timeout = 30 * SS_USEC_PER_SEC,
	};
	_cleanup_(ldap_source_freep) struct ldap_source *src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->host = host;

	int errors = host->conf_parse(conf, node, ldap_keys, &s);
	src->dialect = s.dialect;
	src->starttls = s.starttls;
	src->scope = scope_values[s.scope];
	src->nested_groups = s.nested_groups;
	src->incremental = s.incremental;
	src->timeout = s.timeout;
	int r = split_uris(s.uri, &src->uris);
	if (r >= 0 && errors == 0) {
		errors += check_uris(host, conf, node, src) + check_auth(host, conf, node, &s);
		r = take_attributes(host, conf, node, s.attributes, src);
	}
	if (r >= 0) {
		errors += r;
		r = take_disabled(host, conf, s.disabled_when, src);
	}
	if (r >= 0) {
		errors += r;
		if (s.page_size < 1 || s.page_size > 100000) {
			host->conf_error(conf, host->conf_get(conf, node, "page_size"),
					 "page_size: between 1 and 100000 entries");
			errors++;
		}
		if (s.timeout == 0 || s.timeout == SS_DURATION_NEVER) {
			host->conf_error(conf, host->conf_get(conf, node, "timeout"),
					 "timeout: needs a duration (every operation is bounded)");
			errors++;
		}
		src->page_size = (int)s.page_size;
		r = take_range_size(host, conf, node, s.range_size, src);
	}
	if (r >= 0) {
		errors += r;
		r = take_strings(host, conf, &s, src);
	}
	if (r >= 0)
		r = default_attributes(src);
	if (r >= 0)
		r = build_request_attrs(src);
	if (r >= 0 && !(src->name = strdup(name ? name : "ldap")))
		r = -ENOMEM;
	host->conf_free(ldap_keys, &s);
	if (r < 0)
		return r;
	if (errors > 0)
		return -EINVAL;
	*ret = TAKE_PTR(src);
	return 0;
}
