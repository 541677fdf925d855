/* SPDX-License-Identifier: MIT */
/*
 * Active Directory incremental reads by uSNChanged.
 *
 * USNs are per domain controller: a cursor holds the DC's invocationId
 * with the highestCommittedUSN read before the last listing, and is only
 * used against the same DC (another invocationId, after a failover or a
 * restore, means a full run). Changed users are those with a higher
 * uSNChanged; deletions are the tombstones (isDeleted, read with the
 * show-deleted control) changed since. A changed group would change the
 * groups of users whose own uSNChanged did not move (memberOf is a back
 * link), so any group change makes the caller run a full listing instead.
 *
 * A user moved out of base_dn, or changed so that the filter no longer
 * matches, is neither a changed user in scope nor a tombstone: such
 * departures are the objects of the whole naming context changed in the
 * window that are not among the in-scope changes of the same window, and
 * they are reported as deleted. The window ends at the DC's USN read when
 * the run began: an object changed later has a higher uSNChanged, so it is
 * in neither search, and its scope cannot change between the two searches
 * (it is the next run's). Ids nobody holds are no-ops for the engine.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ldap-source.h"
#include "util.h"

#define LDAP_SERVER_SHOW_DELETED_OID "1.2.840.113556.1.4.417"

static int first_string(LDAP *ld, LDAPMessage *e, const char *attr, char *buf, size_t size)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	int r = v && v[0] && v[0]->bv_len < size ? 0 : -ENODATA;
	if (r == 0) {
		memcpy(buf, v[0]->bv_val, v[0]->bv_len);
		buf[v[0]->bv_len] = '\0';
	}
	ldap_value_free_len(v);
	return r;
}

static int base_search(LDAP *ld, const struct ldap_source *src, const char *dn, char **attrs,
		       LDAPMessage **res)
{
	struct timeval tv = dir_timeval(src->timeout);
	int rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
				   &tv, 1, res);
	return rc == LDAP_SUCCESS && ldap_first_entry(ld, *res) ? 0 : -EIO;
}

int ad_dc_state(LDAP *ld, const struct ldap_source *src, struct ad_dc *out)
{
	char *root_attrs[] = { "highestCommittedUSN", "dsServiceName", "defaultNamingContext", NULL };
	char *ntds_attrs[] = { "invocationId", NULL };
	char service[1024], usn[32];
	LDAPMessage *res = NULL;
	int r = base_search(ld, src, "", root_attrs, &res);
	if (r >= 0) {
		LDAPMessage *e = ldap_first_entry(ld, res);
		r = first_string(ld, e, "highestCommittedUSN", usn, sizeof usn);
		if (r >= 0)
			r = first_string(ld, e, "dsServiceName", service, sizeof service);
		if (r >= 0)
			r = first_string(ld, e, "defaultNamingContext", out->naming_context,
					 sizeof out->naming_context);
	}
	ldap_msgfree(res);
	res = NULL;
	if (r >= 0)
		r = base_search(ld, src, service, ntds_attrs, &res);
	if (r >= 0) {
		struct berval **v = ldap_get_values_len(ld, ldap_first_entry(ld, res), "invocationId");
		r = v && v[0] ? ad_guid_to_string(v[0], out->invocation_id, sizeof out->invocation_id) : -ENODATA;
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	if (r >= 0)
		out->usn = strtoull(usn, NULL, 10);
	return r;
}

/* Did any group under group_base_dn change since usn? 1 yes, 0 no, -EIO unknown. */
int ad_groups_changed(LDAP *ld, const struct ldap_source *src, uint64_t usn)
{
	if (!src->group_base_dn)
		return 0;
	char filter[1024];
	snprintf(filter, sizeof filter, "(&%s(uSNChanged>=%" PRIu64 "))", src->group_filter, usn + 1);
	char *attrs[] = { "1.1", NULL };
	struct timeval tv = dir_timeval(src->timeout);
	LDAPMessage *res = NULL;
	int rc = ldap_search_ext_s(ld, src->group_base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
				   NULL, NULL, &tv, 1, &res);
	int r = rc == LDAP_SUCCESS ? (ldap_count_entries(ld, res) > 0) :
		rc == LDAP_SIZELIMIT_EXCEEDED ? 1 : -EIO;
	ldap_msgfree(res);
	return r;
}

struct tombstone_ctx {
	ss_emit_fn emit;
	void *userdata;
	unsigned long emitted;
};

static int on_tombstone(void *userdata, LDAP *ld, LDAPMessage *e)
{
	struct tombstone_ctx *c = userdata;
	struct berval **v = ldap_get_values_len(ld, e, "objectGUID");
	char id[40];
	int r = v && v[0] ? ad_guid_to_string(v[0], id, sizeof id) : -ENODATA;
	ldap_value_free_len(v);
	if (r < 0)
		return 0;   /* a tombstone without a GUID names nobody */
	char origin[80];
	snprintf(origin, sizeof origin, "deleted object %s", id);
	struct ss_record rec = { .id = id, .origin = origin, .deleted = true };
	c->emitted++;
	return c->emit(c->userdata, &rec);
}

static int read_tombstones(LDAP *ld, const struct ldap_source *src, const struct ad_dc *dc, uint64_t usn,
			   ss_emit_fn emit, void *userdata, unsigned long *emitted, struct search_outcome *out)
{
	char filter[256];
	snprintf(filter, sizeof filter, "(&(isDeleted=TRUE)(objectClass=user)(uSNChanged>=%" PRIu64 "))", usn + 1);
	char *attrs[] = { "objectGUID", NULL };
	struct tombstone_ctx c = { emit, userdata, 0 };
	LDAPControl show = { .ldctl_oid = (char *)LDAP_SERVER_SHOW_DELETED_OID, .ldctl_iscritical = 1 };
	int r = dir_paged_search(ld, src, dc->naming_context, LDAP_SCOPE_SUBTREE, filter, attrs, &show,
				 on_tombstone, &c, out);
	*emitted = c.emitted;
	return r;
}

struct departures {
	const struct ldap_source *src;
	json_t *in_scope;            /* ids of the in-scope changes: a set */
	ss_emit_fn emit;
	void *userdata;
	unsigned long emitted;
};

/* The entry's id as ldap-entry.c makes it: objectGUID as its canonical
 * string, another attribute as its text. -ENODATA: no usable id (such an
 * entry names nobody the engine could hold). */
static int entry_id(LDAP *ld, LDAPMessage *e, const char *attr, char *buf, size_t size)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	int r = -ENODATA;
	if (v && v[0] && strcasecmp(attr, "objectGUID") == 0)
		r = ad_guid_to_string(v[0], buf, size);
	else if (v && v[0] && v[0]->bv_len < size && !memchr(v[0]->bv_val, '\0', v[0]->bv_len)) {
		memcpy(buf, v[0]->bv_val, v[0]->bv_len);
		buf[v[0]->bv_len] = '\0';
		r = 0;
	}
	ldap_value_free_len(v);
	return r;
}

static int on_in_scope(void *userdata, LDAP *ld, LDAPMessage *e)
{
	struct departures *d = userdata;
	char id[256];
	if (entry_id(ld, e, d->src->attrs[LF_ID], id, sizeof id) < 0)
		return 0;
	/* nocheck: an id that is not UTF-8 is still an id, not an error. */
	return json_object_set_new_nocheck(d->in_scope, id, json_true()) < 0 ? -ENOMEM : 0;
}

static int on_changed(void *userdata, LDAP *ld, LDAPMessage *e)
{
	struct departures *d = userdata;
	char id[256];
	if (entry_id(ld, e, d->src->attrs[LF_ID], id, sizeof id) < 0 || json_object_get(d->in_scope, id))
		return 0;
	char *dn = ldap_get_dn(ld, e);
	char origin[600];
	snprintf(origin, sizeof origin, "%s, out of the source's scope (base_dn, scope, filter)",
		 dn ? dn : id);
	ldap_memfree(dn);
	struct ss_record rec = { .id = id, .origin = origin, .deleted = true };
	d->emitted++;
	return d->emit(d->userdata, &rec);
}

/* The ids of the users in scope changed in the window (usn, dc->usn]. */
static int read_in_scope(LDAP *ld, const struct ldap_source *src, const char *window, struct departures *d,
			 struct search_outcome *out)
{
	char filter[2048];
	snprintf(filter, sizeof filter, "(&%s%s)", src->filter, window);
	char *attrs[] = { src->attrs[LF_ID], NULL };
	int r = 0;
	*out = (struct search_outcome){ .complete = true };
	for (size_t i = 0; r >= 0 && out->complete && src->base_dns[i]; i++)
		r = dir_paged_search(ld, src, src->base_dns[i], src->scope, filter, attrs, NULL, on_in_scope, d, out);
	return r;
}

/* Users and contacts (not computers, whose passwords change by themselves)
 * of the naming context changed in the window and not in scope: reported
 * as deleted. Any search that falls short leaves
 * out->complete false, and the caller's listing is then incomplete. */
static int read_departures(LDAP *ld, const struct ldap_source *src, const struct ad_dc *dc, uint64_t usn,
			   ss_emit_fn emit, void *userdata, unsigned long *emitted, struct search_outcome *out)
{
	char window[128], filter[256];
	snprintf(window, sizeof window, "(uSNChanged>=%" PRIu64 ")(uSNChanged<=%" PRIu64 ")", usn + 1, dc->usn);
	snprintf(filter, sizeof filter, "(&(|(objectClass=user)(objectClass=contact))(!(objectClass=computer))%s)",
		 window);
	_cleanup_(json_decrefp) json_t *in_scope = json_object();
	if (!in_scope)
		return -ENOMEM;
	struct departures d = { src, in_scope, emit, userdata, 0 };
	char *attrs[] = { src->attrs[LF_ID], NULL };
	int r = read_in_scope(ld, src, window, &d, out);
	if (r >= 0 && out->complete)
		r = dir_paged_search(ld, src, dc->naming_context, LDAP_SCOPE_SUBTREE, filter, attrs, NULL,
				     on_changed, &d, out);
	*emitted = d.emitted;
	return r;
}

/* Every way a user left since usn: deleted (tombstones), or out of scope. */
int ad_read_tombstones(LDAP *ld, const struct ldap_source *src, const struct ad_dc *dc, uint64_t usn,
		       ss_emit_fn emit, void *userdata, unsigned long *emitted, struct search_outcome *out)
{
	unsigned long tombstones = 0, departures = 0;
	int r = read_tombstones(ld, src, dc, usn, emit, userdata, &tombstones, out);
	/* Nothing committed since the cursor: nobody can have left. */
	if (r >= 0 && out->complete && dc->usn > usn)
		r = read_departures(ld, src, dc, usn, emit, userdata, &departures, out);
	*emitted = tombstones + departures;
	return r;
}
