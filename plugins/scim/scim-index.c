/* SPDX-License-Identifier: MIT */
/*
 * What the workspaces hold, listed once at connect time: the engine's
 * lookups are answered from here (one request per person would be 10k
 * requests), and comparing it with what the engine wants is how hand edits
 * (drift) are seen. Operations keep it current as their answers arrive.
 *
 * Jansson objects serve as the hash tables: "facility\x1fexternalId" ->
 * User, "facility\x1femail in lower case" -> array of Users, and the same
 * for userName (target.adopt: username; userName is unique per provider,
 * but a User of the single endpoint moves between index facilities).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scim.h"
#include "util.h"

#define SEP "\x1f"

struct scim_index {
	json_t *by_external_id;
	json_t *by_email;
	json_t *by_username;
	json_t *by_id;           /* "facility\x1fid" -> User: replacing drops stale keys */
};

int scim_index_new(struct scim_index **ret)
{
	struct scim_index *x = calloc(1, sizeof *x);
	if (!x)
		return -ENOMEM;
	x->by_external_id = json_object();
	x->by_email = json_object();
	x->by_username = json_object();
	x->by_id = json_object();
	if (!x->by_external_id || !x->by_email || !x->by_username || !x->by_id) {
		scim_index_free(x);
		return -ENOMEM;
	}
	*ret = x;
	return 0;
}

void scim_index_free(struct scim_index *x)
{
	if (!x)
		return;
	json_decref(x->by_external_id);
	json_decref(x->by_email);
	json_decref(x->by_username);
	json_decref(x->by_id);
	free(x);
}

static char *make_key(const char *facility, const char *value, bool lower)
{
	char *k = NULL;
	if (asprintf(&k, "%s" SEP "%s", strempty(facility), value) < 0)
		return NULL;
	if (lower)
		for (char *p = k; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return k;
}

/* Drop old from the array of table under the (lower-case) value. */
static void drop_listed(json_t *table, const char *facility, const char *value, json_t *old)
{
	if (!value)
		return;
	_cleanup_free_ char *k = make_key(facility, value, true);
	json_t *a = k ? json_object_get(table, k) : NULL;
	size_t i;
	json_t *u;
	json_array_foreach(a, i, u)
		if (u == old) {
			json_array_remove(a, i);
			break;
		}
}

static int add_listed(json_t *table, const char *facility, const char *value, json_t *user)
{
	if (!value)
		return 0;
	_cleanup_free_ char *k = make_key(facility, value, true);
	if (!k)
		return -ENOMEM;
	json_t *a = json_object_get(table, k);
	if (!a) {
		a = json_array();
		if (!a || json_object_set_new(table, k, a) < 0)
			return -ENOMEM;
	}
	return json_array_append(a, user) < 0 ? -ENOMEM : 0;
}

static const char *user_name_of(json_t *user)
{
	return json_string_value(json_object_get(user, "userName"));
}

static void drop_old(struct scim_index *x, const char *facility, json_t *old)
{
	const char *ext = scim_user_external_id(old);
	if (ext) {
		_cleanup_free_ char *k = make_key(facility, ext, false);
		if (k && json_object_get(x->by_external_id, k) == old)
			json_object_del(x->by_external_id, k);
	}
	drop_listed(x->by_email, facility, scim_user_email(old), old);
	drop_listed(x->by_username, facility, user_name_of(old), old);
}

int scim_index_put(struct scim_index *x, const char *facility, json_t *user)
{
	const char *id = scim_user_id(user);
	if (!id) {
		json_decref(user);
		return -EBADMSG;
	}
	_cleanup_free_ char *kid = make_key(facility, id, false);
	if (!kid) {
		json_decref(user);
		return -ENOMEM;
	}
	json_t *old = json_object_get(x->by_id, kid);
	if (old)
		drop_old(x, facility, old);
	if (json_object_set_new(x->by_id, kid, user) < 0)
		return -ENOMEM;
	const char *ext = scim_user_external_id(user), *email = scim_user_email(user);
	if (ext) {
		_cleanup_free_ char *k = make_key(facility, ext, false);
		if (!k || json_object_set(x->by_external_id, k, user) < 0)
			return -ENOMEM;
	}
	int r = add_listed(x->by_email, facility, email, user);
	return r < 0 ? r : add_listed(x->by_username, facility, user_name_of(user), user);
}

void scim_index_remove(struct scim_index *x, const char *facility, json_t *user)
{
	const char *id = scim_user_id(user);
	_cleanup_free_ char *kid = id ? make_key(facility, id, false) : NULL;
	json_t *old = kid ? json_object_get(x->by_id, kid) : NULL;
	if (!old)
		return;
	json_incref(old);
	drop_old(x, facility, old);
	json_object_del(x->by_id, kid);
	json_decref(old);
}

json_t *scim_index_by_external_id(struct scim_index *x, const char *facility, const char *external_id)
{
	_cleanup_free_ char *k = make_key(facility, external_id, false);
	return k ? json_object_get(x->by_external_id, k) : NULL;
}

/* A User of the array under value whose externalId differs or is absent. */
static json_t *find_listed(json_t *table, const char *facility, const char *value,
			   const char *external_id)
{
	_cleanup_free_ char *k = value ? make_key(facility, value, true) : NULL;
	json_t *a = k ? json_object_get(table, k) : NULL, *u;
	size_t i;
	json_array_foreach(a, i, u) {
		const char *ext = scim_user_external_id(u);
		if (!ext || !external_id || !streq(ext, external_id))
			return u;
	}
	return NULL;
}

json_t *scim_index_by_email(struct scim_index *x, const char *facility, const char *email,
			    const char *external_id)
{
	return find_listed(x->by_email, facility, email, external_id);
}

json_t *scim_index_by_username(struct scim_index *x, const char *facility, const char *username,
			       const char *external_id)
{
	return find_listed(x->by_username, facility, username, external_id);
}

json_t *scim_index_by_id(struct scim_index *x, const char *facility, const char *id)
{
	_cleanup_free_ char *k = id ? make_key(facility, id, false) : NULL;
	return k ? json_object_get(x->by_id, k) : NULL;
}

size_t scim_index_size(const struct scim_index *x)
{
	return json_object_size(x->by_id);
}
