/* SPDX-License-Identifier: MIT */
/*
 * The users of changed groups, read again during an increment.
 *
 * When a group changes, the users whose flattened groups it affects are
 * not necessarily changed themselves: a group nested into another changes
 * the groups of every user below it. With a server that keeps memberOf on
 * users (and so changes a user's entry when the user joins or leaves a
 * group), the users to read again are those below a changed group: the
 * changed group's members, and the members of every group nested in it,
 * transitively, both as it is now (its member values) and as it was (the
 * nesting kept in the cursor, so that a group taken out of another still
 * has its users read again). The kept nesting of each changed group is
 * then brought up to date.
 */
#include <errno.h>
#include <string.h>

#include "ldap-source.h"
#include "util.h"

struct walk {
	LDAP *ld;
	const struct ldap_source *src;
	json_t *seen;                /* normalised DN -> whether it is a group */
	char **queue;                /* groups still to read */
	char *group_base;            /* normalised group_base_dn */
	json_t *nesting;             /* normalised group DN -> [nested group DN, ...] */
};

/* Queue the DN if it is a group not seen yet (one base read to know);
 * 1 when it is a group, seen before or not. */
static int consider(struct walk *w, const char *dn)
{
	_cleanup_free_ char *key = dir_dn_key(dn);
	if (!key)
		return -ENOMEM;
	json_t *known = json_object_get(w->seen, key);
	if (known || !dir_dn_key_under(key, w->group_base))
		return json_is_true(known);
	if (json_object_set_new(w->seen, key, json_false()) < 0)
		return -ENOMEM;
	char *attrs[] = { (char *)LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL;
	int group = dir_read_group(w->ld, w->src, dn, attrs, &res);
	ldap_msgfree(res);
	if (group < 0)
		return group;
	if (!group)
		return 0;
	int r = json_object_set_new(w->seen, key, json_true()) < 0 ? -ENOMEM : lstrv_push(&w->queue, dn);
	return r < 0 ? r : 1;
}

/* The member values of one group: nested groups are queued, and listed
 * in *now when asked. Plain member values: this serves OpenLDAP increments
 * (AD increments follow group changes with a full listing, ldap-usn.c). */
static int read_nested(struct walk *w, const char *group, json_t *now)
{
	char *attrs[] = { (char *)"member", (char *)"uniqueMember", NULL };
	struct timeval tv = dir_timeval(w->src->timeout);
	LDAPMessage *res = NULL;
	int rc = ldap_search_ext_s(w->ld, group, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
				   &tv, 1, &res);
	LDAPMessage *e = rc == LDAP_SUCCESS ? ldap_first_entry(w->ld, res) : NULL;
	int r = rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT ? 0 : -EIO;
	for (size_t a = 0; e && r >= 0 && attrs[a]; a++) {
		struct berval **v = ldap_get_values_len(w->ld, e, attrs[a]);
		for (size_t i = 0; r >= 0 && v && v[i]; i++) {
			_cleanup_free_ char *dn = strndup(v[i]->bv_val, v[i]->bv_len);
			r = dn ? consider(w, dn) : -ENOMEM;
			if (r > 0 && now && json_array_append_new(now, json_string(dn)) < 0)
				r = -ENOMEM;
		}
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	return r < 0 ? r : 0;
}

/* The users with memberOf naming the group, in every base DN. */
static int read_users_of(struct walk *w, const char *group, ldap_entry_fn fn, void *userdata,
			 struct search_outcome *out)
{
	struct berval raw = { strlen(group), (char *)group }, esc = {0};
	if (ldap_bv2escaped_filter_value(&raw, &esc) != 0)
		return -ENOMEM;
	_cleanup_free_ char *filter = NULL;
	int len = asprintf(&filter, "(&%s(%s=%s))", w->src->filter, w->src->attrs[LF_GROUPS], esc.bv_val);
	ber_memfree(esc.bv_val);
	if (len < 0)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r >= 0 && out->complete && w->src->base_dns[i]; i++) {
		unsigned long before = out->entries;
		r = dir_paged_search(w->ld, w->src, w->src->base_dns[i], w->src->scope, filter,
				      w->src->request_attrs, NULL, fn, userdata, out);
		out->entries += before;
	}
	return r;
}

/* The groups nested in a changed group as the cursor knew them are
 * queued too, and the group's entry is replaced by what it is now. */
static int renest(struct walk *w, const char *group)
{
	_cleanup_free_ char *key = dir_dn_key(group);
	json_t *now = json_array();
	int r = key && now ? 0 : -ENOMEM;
	json_t *was = key ? json_object_get(w->nesting, key) : NULL;
	for (size_t i = 0; r >= 0 && i < json_array_size(was); i++)
		r = consider(w, json_string_value(json_array_get(was, i)));
	if (r >= 0)
		r = read_nested(w, group, now);
	if (r >= 0 && json_array_size(now))
		r = json_object_set(w->nesting, key, now) < 0 ? -ENOMEM : 0;
	else if (r >= 0)
		json_object_del(w->nesting, key);   /* -1 when it had none: fine */
	json_decref(now);
	return r < 0 ? r : 0;
}

/* After deletions among the groups: a group that had groups nested in it
 * and is gone leaves them, so they are queued, and it leaves the nesting. */
static int prune_gone(struct walk *w)
{
	const char *key;
	json_t *children, *tmp;
	json_object_foreach_safe(w->nesting, tmp, key, children) {
		char *attrs[] = { (char *)LDAP_NO_ATTRS, NULL };
		LDAPMessage *res = NULL;
		int exists = dir_read_group(w->ld, w->src, key, attrs, &res);
		ldap_msgfree(res);
		if (exists < 0)
			return exists;
		if (exists)
			continue;
		for (size_t i = 0; i < json_array_size(children); i++) {
			int r = consider(w, json_string_value(json_array_get(children, i)));
			if (r < 0)
				return r;
		}
		json_object_del(w->nesting, key);
	}
	return 0;
}

int dir_reread_group_members(LDAP *ld, const struct ldap_source *src, char *const *groups, bool deletions,
			     json_t *nesting, ldap_entry_fn fn, void *userdata, struct search_outcome *out)
{
	struct walk w = { ld, src, json_object(), NULL, src->group_base_dn ? dir_dn_key(src->group_base_dn) : NULL,
			  nesting };
	*out = (struct search_outcome){ .complete = true };
	int r = w.seen && w.group_base ? 0 : -ENOMEM;
	size_t changed = 0;
	for (size_t i = 0; r >= 0 && groups && groups[i]; i++)
		r = consider(&w, groups[i]);
	changed = lstrv_length(w.queue);
	if (r >= 0 && deletions && src->nested_groups)
		r = prune_gone(&w);
	/* The queue grows while it is walked: nested groups join it. */
	for (size_t i = 0; r >= 0 && out->complete && w.queue && w.queue[i]; i++) {
		if (src->nested_groups)
			r = i < changed ? renest(&w, w.queue[i]) : read_nested(&w, w.queue[i], NULL);
		if (r >= 0)
			r = read_users_of(&w, w.queue[i], fn, userdata, out);
	}
	if (r == -EIO) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "the members of a changed group could not be read");
		r = 0;
	}
	json_decref(w.seen);
	lstrv_free(w.queue);
	free(w.group_base);
	return r;
}
