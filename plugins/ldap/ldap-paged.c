/* SPDX-License-Identifier: MIT */
/*
 * Paged searches (RFC 2696) and every way one can fall short.
 *
 * A listing is complete only when every page ended in success and the
 * last page's control carried an empty cookie. A size or time limit
 * (slapd's default sizelimit 500 applies to paged searches too), a server
 * that went away, a page without the paging control, a lost cookie: all of
 * them leave out->complete false with the reason, and the caller makes the
 * listing incomplete. Search references (AD's referrals to other
 * partitions) are skipped: they are not chased and never fail the run.
 */
#include <errno.h>
#include <string.h>

#include "ldap-source.h"
#include "util.h"

static void outcome_fail(struct search_outcome *out, const char *base, const char *what, int rc,
			 LDAP *ld)
{
	char *diag = NULL;
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	out->complete = false;
	snprintf(out->reason, sizeof out->reason, "search of %s %s after %lu entries: %s%s%s%s",
		 base, what, out->entries, rc ? ldap_err2string(rc) : "",
		 diag && *diag ? " (" : "", diag && *diag ? diag : "", diag && *diag ? ")" : "");
	ldap_memfree(diag);
}

/* The page's result: its code, and the next cookie (empty = last page). */
static int page_result(LDAP *ld, LDAPMessage *res, struct berval *cookie, bool *have_control,
		       char **matched_diag)
{
	int err = LDAP_SUCCESS;
	LDAPControl **ctrls = NULL;
	int rc = ldap_parse_result(ld, res, &err, NULL, matched_diag, NULL, &ctrls, 0);
	if (rc != LDAP_SUCCESS)
		return rc;
	LDAPControl *c = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
	*have_control = c != NULL;
	if (c) {
		ber_int_t estimate = 0;
		ber_memfree(cookie->bv_val);
		*cookie = (struct berval){0};
		if (ldap_parse_pageresponse_control(ld, c, &estimate, cookie) != LDAP_SUCCESS)
			*have_control = false;
	}
	ldap_controls_free(ctrls);
	return err;
}

/* The page's result message in the chain. */
static LDAPMessage *chain_result(LDAP *ld, LDAPMessage *chain)
{
	LDAPMessage *result = NULL;
	for (LDAPMessage *m = ldap_first_message(ld, chain); m; m = ldap_next_message(ld, m))
		if (ldap_msgtype(m) == LDAP_RES_SEARCH_RESULT)
			result = m;
	return result;
}

/* Receive one whole page (one wait instead of one per entry), or NULL
 * with out filled. */
static LDAPMessage *receive_page(LDAP *ld, const struct ldap_source *src, int msgid, const char *base,
				 struct search_outcome *out)
{
	struct timeval tv = dir_timeval(src->timeout);
	LDAPMessage *chain = NULL;
	int type = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &chain);
	/* The chain's end tells, not the type returned: with other searches
	 * on the connection (lookups made while a page is processed), libldap
	 * can return a whole page under the type of its first entry. */
	if (type <= 0 || !chain_result(ld, chain)) {
		int err = LDAP_SERVER_DOWN;
		ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
		outcome_fail(out, base, type == 0 ? "timed out" : "was cut off",
			     type == 0 ? LDAP_TIMEOUT : err, NULL);
		ldap_msgfree(chain);
		return NULL;
	}
	return chain;
}

/* Hand a page's entries to fn. References (LDAP_RES_SEARCH_REFERENCE) are
 * not chased and not fatal. */
static int process_page(LDAP *ld, LDAPMessage *chain, ldap_entry_fn fn, void *userdata,
			struct search_outcome *out)
{
	for (LDAPMessage *m = ldap_first_message(ld, chain); m; m = ldap_next_message(ld, m)) {
		if (ldap_msgtype(m) != LDAP_RES_SEARCH_ENTRY)
			continue;
		out->entries++;
		int r = fn(userdata, ld, m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Ask for the page after cookie (NULL: the first): its msgid, or -1 with
 * out filled. */
static int request_page(LDAP *ld, const struct ldap_source *src, const char *base, int scope,
			const char *filter, char **attrs, LDAPControl *extra, const struct berval *cookie,
			struct search_outcome *out)
{
	struct timeval tv = dir_timeval(src->timeout);
	LDAPControl *pc = NULL, *ctrls[3] = { NULL, extra, NULL };
	int rc = ldap_create_page_control(ld, src->page_size, (struct berval *)cookie, 1, &pc);
	if (rc != LDAP_SUCCESS) {
		outcome_fail(out, base, "could not be sent", rc, NULL);
		return -1;
	}
	ctrls[0] = pc;
	int msgid = -1;
	rc = ldap_search_ext(ld, base, scope, filter, attrs, 0, ctrls, NULL, &tv, 0, &msgid);
	ldap_control_free(pc);
	if (rc != LDAP_SUCCESS) {
		outcome_fail(out, base, "could not be sent", rc, ld);
		return -1;
	}
	return msgid;
}

/* The page's outcome: true to go on with *cookie (empty: it was the last). */
static bool page_ok(LDAP *ld, LDAPMessage *chain, const char *base, struct berval *cookie,
		    struct search_outcome *out)
{
	bool have_control = false;
	char *diag = NULL;
	int rc = page_result(ld, chain_result(ld, chain), cookie, &have_control, &diag);
	if (rc != LDAP_SUCCESS) {
		outcome_fail(out, base, "stopped", rc, NULL);
		if (diag && *diag)
			snprintf(out->reason + strlen(out->reason), sizeof out->reason - strlen(out->reason),
				 " (%s)", diag);
		ldap_memfree(diag);
		return false;
	}
	ldap_memfree(diag);
	if (!have_control) {
		outcome_fail(out, base, "lost its paging cookie (no paged results control in the answer)", 0, NULL);
		return false;
	}
	return true;
}

/* Pipelined: as soon as a page has arrived whole, the next one is asked for,
 * and the server prepares it while this page's entries are processed (with
 * slapd on another core this hides most of its time). The entries of a page
 * that ended in an error are still handed on: out->complete false tells the
 * caller that the listing is not the whole directory. */
int dir_paged_search(LDAP *ld, const struct ldap_source *src, const char *base, int scope,
		      const char *filter, char **attrs, LDAPControl *extra, ldap_entry_fn fn, void *userdata,
		      struct search_outcome *out)
{
	struct berval cookie = {0};
	int cb_error = 0;
	*out = (struct search_outcome){ .complete = false };
	int msgid = request_page(ld, src, base, scope, filter, attrs, extra, NULL, out);
	while (msgid >= 0) {
		LDAPMessage *page = receive_page(ld, src, msgid, base, out);
		if (!page)
			break;
		msgid = -1;
		if (page_ok(ld, page, base, &cookie, out)) {
			if (cookie.bv_len == 0)
				out->complete = true;
			else
				msgid = request_page(ld, src, base, scope, filter, attrs, extra, &cookie, out);
		}
		cb_error = process_page(ld, page, fn, userdata, out);
		ldap_msgfree(page);
		if (cb_error < 0) {
			out->complete = false;
			break;
		}
	}
	if (msgid >= 0)   /* a callback failed with a page still asked for */
		ldap_abandon_ext(ld, msgid, NULL, NULL);
	ber_memfree(cookie.bv_val);
	return cb_error;
}
