/* SPDX-License-Identifier: MIT */
/*
 * Memberships to and from SCIM User resources (RFC 7643), and the minimal
 * PatchOp bodies (RFC 7644 3.5.2) of updates.
 *
 * schema: extension carries the platform's concepts in the project's own
 * extension schema (SCIM_EXT_URN, see plugins/scim/SCHEMA.md); schema:
 * standard maps them onto attributes every provider knows: roles, entitlements (type "permissionLevel" and
 * "accountStatus"), and the enterprise extension (department = speciality,
 * organization = facility). The role is the primary element of roles and
 * the label the other one (no "type": RFC 7643 gives roles no canonical
 * types, and strict providers refuse any).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scim.h"
#include "util.h"

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int dup_into(char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* ------------------------------------------------------------- reading --- */

const char *scim_user_id(json_t *user) { return str_of(user, "id"); }
const char *scim_user_external_id(json_t *user) { return str_of(user, "externalId"); }

const char *scim_user_email(json_t *user)
{
	json_t *emails = json_object_get(user, "emails"), *e;
	size_t i;
	const char *first = NULL;
	json_array_foreach(emails, i, e) {
		const char *v = str_of(e, "value");
		if (v && json_is_true(json_object_get(e, "primary")))
			return v;
		if (!first)
			first = v;
	}
	return first;
}

bool scim_user_active(json_t *user)
{
	json_t *a = json_object_get(user, "active");
	return !json_is_false(a);   /* absent: active (RFC 7643 leaves it to the provider) */
}

/* The value of the first element of a multi-valued attribute with this type. */
static const char *typed_value(json_t *user, const char *attr, const char *type)
{
	json_t *v = json_object_get(user, attr), *e;
	size_t i;
	json_array_foreach(v, i, e) {
		const char *t = str_of(e, "type");
		if (t && strcasecmp(t, type) == 0)
			return str_of(e, "value");
	}
	return NULL;
}

/* A standard-schema role (primary: true) or label (primary: false). */
static const char *standard_role(json_t *user, bool primary)
{
	json_t *v = json_object_get(user, "roles"), *e;
	size_t i;
	json_array_foreach(v, i, e)
		if (json_is_true(json_object_get(e, "primary")) == primary)
			return str_of(e, "value");
	return NULL;
}

const char *scim_user_facility(const struct scim_conf *c, json_t *user)
{
	if (c->schema == SCIM_SCHEMA_EXTENSION)
		return str_of(json_object_get(user, SCIM_EXT_URN), "facility");
	return str_of(json_object_get(user, SCIM_ENTERPRISE_URN), "organization");
}

enum ss_status scim_user_status(const struct scim_conf *c, json_t *user)
{
	if (!scim_user_active(user))
		return SS_STATUS_DEACTIVATED;
	const char *s = c->schema == SCIM_SCHEMA_EXTENSION
		? str_of(json_object_get(user, SCIM_EXT_URN), "accountStatus")
		: typed_value(user, "entitlements", "accountStatus");
	enum ss_status st;
	/* A provider's own account without our status has signed in: active.
	 * An active flag beats a stale "deactivated". */
	if (!s || ss_status_from_string(s, &st) < 0 || st == SS_STATUS_DEACTIVATED)
		return SS_STATUS_ACTIVE;
	return st;
}

int scim_member_from_user(const struct scim_conf *c, json_t *user, const char *facility,
			  struct ss_member *out)
{
	json_t *name = json_object_get(user, "name");
	const char *role, *label, *level, *speciality;
	if (c->schema == SCIM_SCHEMA_EXTENSION) {
		json_t *x = json_object_get(user, SCIM_EXT_URN);
		role = str_of(x, "role");
		label = str_of(x, "label");
		level = str_of(x, "permissionLevel");
		speciality = str_of(x, "speciality");
	} else {
		role = standard_role(user, true);
		label = standard_role(user, false);
		level = typed_value(user, "entitlements", "permissionLevel");
		speciality = str_of(json_object_get(user, SCIM_ENTERPRISE_URN), "department");
	}
	*out = (struct ss_member){ .status = scim_user_status(c, user) };
	out->managed = scim_user_external_id(user) != NULL;
	int r = 0;
	r |= dup_into(&out->facility, facility);
	r |= dup_into(&out->external_id, scim_user_external_id(user));
	r |= dup_into(&out->given_name, str_of(name, "givenName"));
	r |= dup_into(&out->family_name, str_of(name, "familyName"));
	r |= dup_into(&out->email, scim_user_email(user));
	r |= dup_into(&out->role, role);
	r |= dup_into(&out->label, label);
	r |= dup_into(&out->permission_level, level);
	r |= dup_into(&out->speciality, speciality);
	r |= dup_into(&out->ref, scim_user_id(user));
	if (r < 0) {
		ss_member_clear(out);
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------- writing --- */

char *scim_user_name(const struct scim_conf *c, const struct ss_member *m)
{
	const char *t = c->user_name ? c->user_name : "{email}";
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	while (*t) {
		const char *v = NULL;
		size_t skip = 0;
		if (strncmp(t, "{email}", 7) == 0)
			v = m->email ? m->email : m->external_id, skip = 7;
		else if (strncmp(t, "{id}", 4) == 0)
			v = m->external_id, skip = 4;
		else if (strncmp(t, "{facility}", 10) == 0)
			v = m->facility, skip = 10;
		if (skip) {
			fputs(v ? v : "", f);
			t += skip;
		} else
			fputc(*t++, f);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static json_t *emails_json(const char *email)
{
	return json_pack("[{s:s, s:s, s:b}]", "value", email, "type", "work", "primary", 1);
}

static json_t *roles_json(const struct ss_member *m)
{
	json_t *a = json_array();
	if (a && m->role)
		json_array_append_new(a, json_pack("{s:s, s:b}", "value", m->role, "primary", 1));
	if (a && m->label)
		json_array_append_new(a, json_pack("{s:s, s:b}", "value", m->label, "primary", 0));
	return a;
}

static json_t *entitlements_json(const struct ss_member *m, enum ss_status status)
{
	json_t *a = json_array();
	if (a && m->permission_level)
		json_array_append_new(a, json_pack("{s:s, s:s}", "value", m->permission_level,
						   "type", "permissionLevel"));
	if (a)
		json_array_append_new(a, json_pack("{s:s, s:s}", "value", ss_status_to_string(status),
						   "type", "accountStatus"));
	return a;
}

static void set_if(json_t *o, const char *key, const char *value)
{
	if (value)
		json_object_set_new(o, key, json_string(value));
}

json_t *scim_user_json(const struct scim_conf *c, const struct ss_member *m, const char *facility)
{
	json_t *u = json_object(), *name = json_object(), *schemas = json_array();
	if (!u || !name || !schemas) {
		json_decref(u); json_decref(name); json_decref(schemas);
		return NULL;
	}
	json_array_append_new(schemas, json_string(SCIM_CORE_USER_URN));
	json_object_set_new(u, "schemas", schemas);
	_cleanup_free_ char *user_name = scim_user_name(c, m);
	set_if(u, "userName", user_name);
	set_if(u, "externalId", m->external_id);
	set_if(name, "givenName", m->given_name);
	set_if(name, "familyName", m->family_name);
	json_object_set_new(u, "name", name);
	if (m->given_name && m->family_name) {
		json_t *dn = json_sprintf("%s %s", m->given_name, m->family_name);
		json_object_set_new(u, "displayName", dn);
	}
	if (m->email)
		json_object_set_new(u, "emails", emails_json(m->email));
	json_object_set_new(u, "active", json_boolean(m->status != SS_STATUS_DEACTIVATED));

	json_t *x = json_object();
	if (c->schema == SCIM_SCHEMA_EXTENSION) {
		json_array_append_new(schemas, json_string(SCIM_EXT_URN));
		set_if(x, "role", m->role);
		set_if(x, "label", m->label);
		set_if(x, "permissionLevel", m->permission_level);
		set_if(x, "speciality", m->speciality);
		set_if(x, "facility", facility);
		set_if(x, "accountStatus", ss_status_to_string(m->status));
		json_object_set_new(u, SCIM_EXT_URN, x);
	} else {
		json_object_set_new(u, "roles", roles_json(m));
		json_object_set_new(u, "entitlements", entitlements_json(m, m->status));
		set_if(x, "department", m->speciality);
		set_if(x, "organization", facility);
		if (json_object_size(x) > 0) {
			json_array_append_new(schemas, json_string(SCIM_ENTERPRISE_URN));
			json_object_set_new(u, SCIM_ENTERPRISE_URN, x);
		} else
			json_decref(x);
	}
	return u;
}

/* One operation: replace path with value, or remove it when value is NULL. */
static void add_op(json_t *ops, const char *path, json_t *value)
{
	if (!value || json_is_null(value)) {
		json_decref(value);
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", path));
		return;
	}
	json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "replace", "path", path,
					     "value", value));
}

static void add_ext_op(json_t *ops, const char *urn, const char *attr, const char *value)
{
	char path[256];
	snprintf(path, sizeof path, "%s:%s", urn, attr);
	add_op(ops, path, string_or_null(value));
}

static json_t *patch_request(json_t *ops)
{
	if (!ops)
		return NULL;
	return json_pack("{s:[s], s:o}", "schemas", SCIM_PATCH_URN, "Operations", ops);
}

json_t *scim_patch_fields(const struct scim_conf *c, const struct ss_member *m, unsigned fields,
			  const char *facility, bool set_external_id)
{
	json_t *ops = json_array();
	if (!ops)
		return NULL;
	bool ext = c->schema == SCIM_SCHEMA_EXTENSION;
	if (set_external_id)
		add_op(ops, "externalId", string_or_null(m->external_id));
	if (fields & SS_FIELD_GIVEN_NAME)
		add_op(ops, "name.givenName", string_or_null(m->given_name));
	if (fields & SS_FIELD_FAMILY_NAME)
		add_op(ops, "name.familyName", string_or_null(m->family_name));
	if (fields & (SS_FIELD_GIVEN_NAME | SS_FIELD_FAMILY_NAME) && m->given_name && m->family_name)
		add_op(ops, "displayName", json_sprintf("%s %s", m->given_name, m->family_name));
	if (fields & SS_FIELD_EMAIL) {
		add_op(ops, "emails", m->email ? emails_json(m->email) : NULL);
		_cleanup_free_ char *user_name = scim_user_name(c, m);
		if (user_name)   /* never removed for want of memory */
			add_op(ops, "userName", json_string(user_name));
	}
	if (ext) {
		if (fields & SS_FIELD_ROLE)
			add_ext_op(ops, SCIM_EXT_URN, "role", m->role);
		if (fields & SS_FIELD_LABEL)
			add_ext_op(ops, SCIM_EXT_URN, "label", m->label);
		if (fields & SS_FIELD_PERMISSION_LEVEL)
			add_ext_op(ops, SCIM_EXT_URN, "permissionLevel", m->permission_level);
		if (fields & SS_FIELD_SPECIALITY)
			add_ext_op(ops, SCIM_EXT_URN, "speciality", m->speciality);
		if (facility)
			add_ext_op(ops, SCIM_EXT_URN, "facility", facility);
	} else {
		if (fields & (SS_FIELD_ROLE | SS_FIELD_LABEL))
			add_op(ops, "roles", roles_json(m));
		if (fields & SS_FIELD_PERMISSION_LEVEL)
			add_op(ops, "entitlements", entitlements_json(m, m->status));
		if (fields & SS_FIELD_SPECIALITY)
			add_ext_op(ops, SCIM_ENTERPRISE_URN, "department", m->speciality);
		if (facility)
			add_ext_op(ops, SCIM_ENTERPRISE_URN, "organization", facility);
	}
	return patch_request(ops);
}

json_t *scim_patch_status(const struct scim_conf *c, const struct ss_member *m, enum ss_status status)
{
	json_t *ops = json_array();
	if (!ops)
		return NULL;
	add_op(ops, "active", json_boolean(status != SS_STATUS_DEACTIVATED));
	if (c->schema == SCIM_SCHEMA_EXTENSION)
		add_ext_op(ops, SCIM_EXT_URN, "accountStatus", ss_status_to_string(status));
	else
		add_op(ops, "entitlements", entitlements_json(m, status));
	return patch_request(ops);
}
