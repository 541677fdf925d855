/* SPDX-License-Identifier: MIT */
/*
 * RFC 4533 content synchronisation, refreshOnly, with libldap's ldap_sync
 * API: what changed since the cookie, and what was deleted.
 *
 * Deletions are trusted only when the server lists them itself (a delete
 * state or a syncIdSet with refreshDeletes): those are authoritative and
 * become records marked deleted. If instead the server answers with a
 * present phase (its session log no longer covers the cookie), deletions
 * could only be inferred from what is absent, which this source does not
 * do: the caller makes the run incomplete and the next one full.
 */
#include <errno.h>
#include <string.h>

#include "ldap-source.h"
#include "util.h"

struct sync_ctx {
	const struct ldap_source *src;
	struct entry_builder *b;
	ss_emit_fn emit;
	void *userdata;
	struct sync_result *out;
	int error;
	bool deletes_listed;
};

static int emit_deleted(struct sync_ctx *c, const struct berval *uuid)
{
	if (uuid->bv_len != 16)
		return 0;
	char id[37], origin[64];
	uuid_to_string((const unsigned char *)uuid->bv_val, id);
	snprintf(origin, sizeof origin, "deleted entry %s", id);
	struct ss_record rec = { .id = id, .origin = origin, .deleted = true, .enabled = false };
	c->out->emitted++;
	return c->emit(c->userdata, &rec);
}

static int on_entry(ldap_sync_t *ls, LDAPMessage *msg, struct berval *uuid, ldap_sync_refresh_t phase)
{
	struct sync_ctx *c = ls->ls_private;
	const char *skip = NULL;
	int r = 0;
	switch (phase) {
	case LDAP_SYNC_CAPI_ADD:
	case LDAP_SYNC_CAPI_MODIFY:
		r = entry_emit(c->b, ls->ls_ld, msg, c->emit, c->userdata, &skip);
		if (r > 0)
			c->out->emitted++;
		if (r == 0 && skip && c->out->complete) {
			c->out->complete = false;
			snprintf(c->out->reason, sizeof c->out->reason, "%s", skip);
		}
		break;
	case LDAP_SYNC_CAPI_DELETE:
		r = emit_deleted(c, uuid);
		break;
	default:
		c->out->present_phase = true;
		break;
	}
	if (r < 0) {
		c->error = r;
		return 1;
	}
	return 0;
}

static int on_intermediate(ldap_sync_t *ls, LDAPMessage *msg, BerVarray uuids, ldap_sync_refresh_t phase)
{
	struct sync_ctx *c = ls->ls_private;
	(void)msg;
	if (phase == LDAP_SYNC_CAPI_DELETES_IDSET) {
		c->deletes_listed = true;
		for (size_t i = 0; uuids && uuids[i].bv_val; i++) {
			int r = emit_deleted(c, &uuids[i]);
			if (r < 0) {
				c->error = r;
				return 1;
			}
		}
	} else if (phase == LDAP_SYNC_CAPI_PRESENTS_IDSET || phase == LDAP_SYNC_CAPI_PRESENTS) {
		c->out->present_phase = true;
	}
	return 0;
}

/* Whether the server used a present phase is already known from the
 * present messages themselves (on_entry, on_intermediate). */
static int on_result(ldap_sync_t *ls, LDAPMessage *msg, int refresh_deletes)
{
	(void)ls; (void)msg; (void)refresh_deletes;
	return 0;
}

static int on_reference(ldap_sync_t *ls, LDAPMessage *msg)
{
	(void)ls; (void)msg;
	return 0;   /* referrals are not chased */
}

int dir_sync_refresh(LDAP *ld, const struct ldap_source *src, const char *base,
		      const char *filter, const char *cookie, struct entry_builder *b,
		      ss_emit_fn emit, void *userdata, struct sync_result *out)
{
	*out = (struct sync_result){ .complete = true };
	struct sync_ctx c = { src, b, emit, userdata, out, 0, false };
	ldap_sync_t ls;
	ldap_sync_initialize(&ls);
	ls.ls_base = (char *)base;
	ls.ls_scope = src->scope;
	ls.ls_filter = (char *)filter;
	ls.ls_attrs = src->request_attrs;
	ls.ls_timeout = (int)(src->timeout / SS_USEC_PER_SEC) ?: 1;
	ls.ls_timelimit = ls.ls_timeout;
	ls.ls_search_entry = on_entry;
	ls.ls_search_reference = on_reference;
	ls.ls_intermediate = on_intermediate;
	ls.ls_search_result = on_result;
	ls.ls_private = &c;
	ls.ls_ld = ld;
	if (cookie && *cookie)
		ber_str2bv(cookie, 0, 1, &ls.ls_cookie);

	int rc = ldap_sync_init_refresh_only(&ls);
	int r = c.error;
	if (r >= 0 && rc == LDAP_SYNC_REFRESH_REQUIRED) {
		out->refresh_required = true;
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "the server asks for a full refresh");
	} else if (r >= 0 && rc != LDAP_SUCCESS) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "content synchronisation of %s stopped: %s",
			 base, ldap_err2string(rc));
	} else if (r >= 0 && !ls.ls_cookie.bv_val) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "content synchronisation of %s returned no cookie", base);
	} else if (r >= 0 && !(out->cookie = strndup(ls.ls_cookie.bv_val, ls.ls_cookie.bv_len))) {
		r = -ENOMEM;
	}
	ber_memfree(ls.ls_cookie.bv_val);
	return r;
}
