/* SPDX-License-Identifier: MIT */
/*
 * RFC 4533 content synchronisation, refreshOnly: what changed since the
 * cookie, and what was deleted.
 *
 * Deletions are trusted only when the server lists them itself (a delete
 * state or a syncIdSet with refreshDeletes): those are authoritative and
 * become records marked deleted. If instead the server answers with a
 * present phase (its session log no longer covers the cookie), deletions
 * could only be inferred from what is absent, which this source does not
 * do: the caller makes the run incomplete and the next one full.
 *
 * The protocol is spoken here with libldap's BER functions rather than
 * through its ldap_sync_* API: that API hands every callback the head of
 * the chain ldap_result returned instead of the message itself, so when
 * several messages arrive together (read-ahead, a TLS record holding two)
 * one is seen several times and the others never.
 */
#include <errno.h>
#include <string.h>

#include "ldap-source.h"
#include "util.h"

struct sync_ctx {
	const struct ldap_source *src;
	struct entry_builder *b;
	ss_emit_fn emit;             /* NULL: only count the changes */
	void *userdata;
	struct sync_result *out;
	struct berval cookie;        /* the newest one seen (malloc'd) */
};

static int set_cookie(struct sync_ctx *c, const struct berval *v)
{
	if (!v->bv_val)
		return 0;
	char *copy = malloc(v->bv_len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, v->bv_val, v->bv_len);
	copy[v->bv_len] = '\0';
	free(c->cookie.bv_val);
	c->cookie = (struct berval){ v->bv_len, copy };
	return 0;
}

static int emit_deleted(struct sync_ctx *c, const struct berval *uuid)
{
	if (uuid->bv_len != 16)
		return 0;
	c->out->emitted++;
	if (!c->emit)
		return 0;
	char id[37], origin[64];
	uuid_to_string((const unsigned char *)uuid->bv_val, id);
	snprintf(origin, sizeof origin, "deleted entry %s", id);
	struct ss_record rec = { .id = id, .origin = origin, .deleted = true, .enabled = false };
	return c->emit(c->userdata, &rec);
}

static int emit_entry(struct sync_ctx *c, LDAP *ld, LDAPMessage *msg)
{
	if (!c->emit) {
		c->out->emitted++;
		_cleanup_(dir_memfreep) char *dn = ldap_get_dn(ld, msg);
		return dn ? lstrv_push(&c->out->changed, dn) : -ENOMEM;
	}
	const char *skip = NULL;
	int r = entry_emit(c->b, ld, msg, c->emit, c->userdata, &skip);
	if (r == 1)
		c->out->emitted++;
	if (r == 0 && skip && c->out->complete) {
		c->out->complete = false;
		snprintf(c->out->reason, sizeof c->out->reason, "%s", skip);
	}
	return r < 0 ? r : 0;
}

static int on_state(struct sync_ctx *c, LDAP *ld, LDAPMessage *msg, ber_int_t state,
		    const struct berval *uuid)
{
	switch (state) {
	case LDAP_SYNC_ADD:
	case LDAP_SYNC_MODIFY:
		return emit_entry(c, ld, msg);
	case LDAP_SYNC_DELETE:
		return emit_deleted(c, uuid);
	case LDAP_SYNC_PRESENT:
		c->out->present_phase = true;
		return 0;
	default:
		return -EBADMSG;
	}
}

/* An entry with its Sync State Control: { state, entryUUID, cookie? }. */
static int on_entry(struct sync_ctx *c, LDAP *ld, LDAPMessage *msg)
{
	_cleanup_(controls_freep) LDAPControl **ctrls = NULL;
	ldap_get_entry_controls(ld, msg, &ctrls);
	LDAPControl *ctl = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL);
	BerElement *ber = ctl ? ber_init(&ctl->ldctl_value) : NULL;
	ber_int_t state = -1;
	struct berval uuid = {0}, cookie = {0};   /* "m": they point into ber */
	ber_len_t len;
	int r = -EBADMSG;
	if (ber && ber_scanf(ber, "{em", &state, &uuid) != LBER_ERROR &&
	    (ber_peek_tag(ber, &len) != LDAP_TAG_SYNC_COOKIE || ber_scanf(ber, "m", &cookie) != LBER_ERROR))
		r = set_cookie(c, &cookie);
	if (r >= 0)
		r = on_state(c, ld, msg, state, &uuid);
	ber_free(ber, 1);
	return r;
}

/* syncIdSet: { cookie?, refreshDeletes DEFAULT FALSE, syncUUIDs }. */
static int on_id_set(struct sync_ctx *c, BerElement *ber)
{
	struct berval cookie = {0};
	ber_int_t deletes = 0;
	ber_len_t len;
	BerVarray uuids = NULL;
	if (ber_scanf(ber, "{") == LBER_ERROR)
		return -EBADMSG;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE && ber_scanf(ber, "m", &cookie) == LBER_ERROR)
		return -EBADMSG;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES && ber_scanf(ber, "b", &deletes) == LBER_ERROR)
		return -EBADMSG;
	if (ber_scanf(ber, "[W]}", &uuids) == LBER_ERROR)
		return -EBADMSG;
	int r = set_cookie(c, &cookie);
	if (!deletes)
		c->out->present_phase = true;   /* the entries that are still there */
	for (size_t i = 0; r >= 0 && deletes && uuids && uuids[i].bv_val; i++)
		r = emit_deleted(c, &uuids[i]);
	ber_bvarray_free(uuids);
	return r;
}

/* refreshDelete / refreshPresent: { cookie?, refreshDone DEFAULT TRUE }. */
static int on_phase_end(struct sync_ctx *c, BerElement *ber, bool present)
{
	struct berval cookie = {0};
	ber_len_t len;
	if (present)
		c->out->present_phase = true;
	if (ber_scanf(ber, "{") == LBER_ERROR)
		return -EBADMSG;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE && ber_scanf(ber, "m", &cookie) == LBER_ERROR)
		return -EBADMSG;
	return set_cookie(c, &cookie);
}

/* The Sync Info Message, an intermediate response. */
static int on_intermediate(struct sync_ctx *c, LDAP *ld, LDAPMessage *msg)
{
	char *oid = NULL;
	struct berval *data = NULL;
	if (ldap_parse_intermediate(ld, msg, &oid, &data, NULL, 0) != LDAP_SUCCESS)
		return -EBADMSG;
	int r = 0;
	BerElement *ber = oid && streq(oid, LDAP_SYNC_INFO) && data ? ber_init(data) : NULL;
	ber_len_t len;
	struct berval cookie = {0};
	if (ber) {
		switch (ber_peek_tag(ber, &len)) {
		case LDAP_TAG_SYNC_NEW_COOKIE:
			r = ber_scanf(ber, "m", &cookie) == LBER_ERROR ? -EBADMSG : set_cookie(c, &cookie);
			break;
		case LDAP_TAG_SYNC_REFRESH_DELETE:
			r = on_phase_end(c, ber, false);
			break;
		case LDAP_TAG_SYNC_REFRESH_PRESENT:
			r = on_phase_end(c, ber, true);
			break;
		case LDAP_TAG_SYNC_ID_SET:
			r = on_id_set(c, ber);
			break;
		default:
			r = -EBADMSG;
		}
	}
	ber_free(ber, 1);
	ldap_memfree(oid);
	ber_bvfree(data);
	return r;
}

/* The end: the result code, and the Sync Done Control's cookie. */
static void on_result(struct sync_ctx *c, LDAP *ld, LDAPMessage *msg, const char *base)
{
	struct sync_result *out = c->out;
	int err = LDAP_OTHER;
	_cleanup_(controls_freep) LDAPControl **ctrls = NULL;
	if (ldap_parse_result(ld, msg, &err, NULL, NULL, NULL, &ctrls, 0) != LDAP_SUCCESS)
		err = LDAP_OTHER;
	LDAPControl *done = ldap_control_find(LDAP_CONTROL_SYNC_DONE, ctrls, NULL);
	BerElement *ber = done ? ber_init(&done->ldctl_value) : NULL;
	struct berval cookie = {0};
	ber_len_t len;
	if (ber && ber_scanf(ber, "{") != LBER_ERROR && ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    ber_scanf(ber, "m", &cookie) != LBER_ERROR && set_cookie(c, &cookie) < 0)
		err = LDAP_NO_MEMORY;
	ber_free(ber, 1);
	if (err == LDAP_SYNC_REFRESH_REQUIRED) {
		out->refresh_required = true;
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "the server asks for a full refresh");
	} else if (err != LDAP_SUCCESS) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "content synchronisation of %s stopped: %s",
			 base, ldap_err2string(err));
	}
}

static int send_request(LDAP *ld, const struct ldap_source *src, const struct sync_request *rq,
			int *msgid)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval value = {0};
	int rc = ber ? LDAP_SUCCESS : LDAP_NO_MEMORY;
	struct berval cookie = { rq->cookie ? strlen(rq->cookie) : 0, (char *)rq->cookie };
	if (rc == LDAP_SUCCESS &&
	    (ber_printf(ber, "{e", (ber_int_t)LDAP_SYNC_REFRESH_ONLY) < 0 ||
	     (cookie.bv_len && ber_printf(ber, "O", &cookie) < 0) || ber_printf(ber, "N}") < 0 ||
	     ber_flatten2(ber, &value, 0) < 0))
		rc = LDAP_ENCODING_ERROR;
	LDAPControl ctl = { .ldctl_oid = (char *)LDAP_CONTROL_SYNC, .ldctl_value = value, .ldctl_iscritical = 1 };
	LDAPControl *ctrls[] = { &ctl, NULL };
	static char *count_only[] = { (char *)LDAP_NO_ATTRS, NULL };
	struct timeval tv = dir_timeval(src->timeout);
	if (rc == LDAP_SUCCESS)
		rc = ldap_search_ext(ld, rq->base, rq->scope, rq->filter, rq->count_only ? count_only : src->request_attrs,
				     0, ctrls, NULL, &tv, 0, msgid);
	ber_free(ber, 1);
	return rc;
}

/* Every message of a chain, until the search's result (1) or an error. */
static int on_chain(struct sync_ctx *c, LDAP *ld, LDAPMessage *chain, const char *base)
{
	for (LDAPMessage *m = ldap_first_message(ld, chain); m; m = ldap_next_message(ld, m)) {
		int r = 0;
		switch (ldap_msgtype(m)) {
		case LDAP_RES_SEARCH_ENTRY:
			r = on_entry(c, ld, m);
			break;
		case LDAP_RES_INTERMEDIATE:
			r = on_intermediate(c, ld, m);
			break;
		case LDAP_RES_SEARCH_RESULT:
			on_result(c, ld, m, base);
			return 1;
		default:   /* references: not chased */
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int receive_all(struct sync_ctx *c, LDAP *ld, int msgid, const char *base)
{
	for (;;) {
		struct timeval tv = dir_timeval(c->src->timeout);
		LDAPMessage *chain = NULL;
		int type = ldap_result(ld, msgid, LDAP_MSG_RECEIVED, &tv, &chain);
		if (type <= 0) {
			ldap_msgfree(chain);
			c->out->complete = false;
			snprintf(c->out->reason, sizeof c->out->reason, "content synchronisation of %s %s", base,
				 type == 0 ? "timed out" : "was cut off");
			return 0;
		}
		int r = on_chain(c, ld, chain, base);
		ldap_msgfree(chain);
		if (r < 0)
			ldap_abandon_ext(ld, msgid, NULL, NULL);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

int dir_sync_refresh(LDAP *ld, const struct ldap_source *src, const struct sync_request *rq,
		      struct entry_builder *b, ss_emit_fn emit, void *userdata, struct sync_result *out)
{
	*out = (struct sync_result){ .complete = true };
	struct sync_ctx c = { src, b, emit, userdata, out, {0} };
	int msgid = -1;
	int r = 0;
	if (rq->cookie && set_cookie(&c, &(struct berval){ strlen(rq->cookie), (char *)rq->cookie }) < 0)
		return -ENOMEM;
	int rc = send_request(ld, src, rq, &msgid);
	if (rc != LDAP_SUCCESS) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "content synchronisation of %s could not be sent: %s",
			 rq->base, ldap_err2string(rc));
	} else {
		r = receive_all(&c, ld, msgid, rq->base);
	}
	if (r == -EBADMSG) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "content synchronisation of %s: a malformed message",
			 rq->base);
		r = 0;
	}
	if (r >= 0 && out->complete && !c.cookie.bv_val) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason, "content synchronisation of %s returned no cookie", rq->base);
	}
	if (r >= 0 && out->complete) {
		out->cookie = c.cookie.bv_val;
		c.cookie.bv_val = NULL;
	}
	free(c.cookie.bv_val);
	return r;
}
