/* SPDX-License-Identifier: MIT */
/*
 * The ldap source's descriptor: open (settings only, no I/O), read, close.
 *
 * A full read takes the position for the next increment, then reads the
 * group graph and lists every base DN with paged searches; an incremental
 * read (a syncrepl cookie, or an AD USN, in the cursor) asks for the changes
 * since and looks up only the groups of the users it sees (README.md has
 * how group changes are followed). Anything untrustworthy ends as
 * INCOMPLETE or FAILED with the reason, and no cursor, so the next run is
 * full: a limit hit, a server gone mid-search, a lost paging cookie, an
 * unfinished range retrieval, a bind that reads nothing.
 *
 * The cursor is JSON: OpenLDAP {"cookies": [one per base DN], "groups":
 * cookie, "memberof": whether users carry it, "nested": {group DN key:
 * [DNs nested in it]}, "entries": N}; Active Directory {"dc": invocationId,
 * "usn": highestCommittedUSN, "entries": N}. A cursor of an older form is
 * not used: the run is full.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#include "ldap-source.h"
#include "util.h"

/* A filter no entry matches: a sync request with it only fetches a cookie. */
#define MATCH_NOTHING "(!(objectClass=*))"

struct read_ctx {
	const struct ldap_source *src;
	struct group_graph *groups;  /* whole (full runs) or lazy (increments) */
	struct entry_builder *b;
	ss_emit_fn emit;
	void *userdata;
	struct ss_read_result *result;
	const char *skip_reason;
	unsigned long skipped;
};

static inline void dir_unbindp(LDAP **ld) { if (*ld) ldap_unbind_ext_s(*ld, NULL, NULL); }

static int source_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		     const char *name, void **instance)
{
	struct ldap_source *src = NULL;
	dir_library_init();
	int r = ldap_settings_open(host, conf, node, name, &src);
	if (r < 0)
		return r;
	*instance = src;
	return 0;
}

static void source_close(void *instance)
{
	ldap_source_free(instance);
}

static void set_listing(struct ss_read_result *res, enum ss_listing l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_listing(struct ss_read_result *res, enum ss_listing l, const char *fmt, ...)
{
	/* A worse outcome replaces a better one, never the other way round. */
	if (l <= res->listing && res->listing != SS_LISTING_INCREMENTAL)
		return;
	res->listing = l;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof res->reason, fmt, ap);
	va_end(ap);
}

static int on_user(void *userdata, LDAP *ld, LDAPMessage *e)
{
	struct read_ctx *c = userdata;
	const char *skip = NULL;
	int r = entry_emit(c->b, ld, e, c->emit, c->userdata, &skip);
	if (r == 1)
		c->result->records++;
	else if (r == 0) {
		c->skipped++;
		c->skip_reason = skip;
	}
	return r < 0 ? r : 0;
}

/* A content synchronisation cookie for base/filter, taken with a filter
 * nothing matches: the server only says where it stands. */
static int take_cookie(LDAP *ld, const struct ldap_source *src, const char *base, int scope, json_t *into)
{
	struct sync_request rq = { .base = base, .scope = scope, .filter = MATCH_NOTHING, .count_only = true };
	struct sync_result s;
	int r = dir_sync_refresh(ld, src, &rq, NULL, NULL, NULL, &s);
	lstrv_free(s.changed);
	if (r < 0 || !s.complete) {
		src->host->log(LOG_DEBUG, "ldap %s: no content synchronisation: %s", src->name,
			       r < 0 ? strerror(-r) : s.reason);
		return r < 0 ? r : -ENOTSUP;
	}
	r = json_is_array(into) ? json_array_append_new(into, json_string(s.cookie)) :
		json_object_set_new(into, "groups", json_string(s.cookie));
	free(s.cookie);
	return r < 0 ? -ENOMEM : 0;
}

/* One cookie per base DN, and one for the groups, taken before the listing
 * so that whatever changes while it runs is replayed by the next
 * incremental run. */
static int take_cookies(LDAP *ld, const struct ldap_source *src, json_t **ret)
{
	*ret = NULL;
	_cleanup_(json_decrefp) json_t *cookies = json_array();
	_cleanup_(json_decrefp) json_t *position = json_object();
	if (!cookies || !position)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r >= 0 && src->base_dns[i]; i++)
		r = take_cookie(ld, src, src->base_dns[i], src->scope, cookies);
	if (r >= 0 && src->group_base_dn)
		r = take_cookie(ld, src, src->group_base_dn, LDAP_SCOPE_SUBTREE, position);
	if (r >= 0 && json_object_set(position, "cookies", cookies) < 0)
		r = -ENOMEM;
	if (r == -ENOTSUP)
		return 0;   /* no increments: full runs only */
	if (r < 0)
		return r;
	*ret = json_incref(position);
	return 0;
}

/* The DC and its highest USN before the listing: changes from then on are
 * the next increment. */
static int take_usn(LDAP *ld, const struct ldap_source *src, json_t **ret)
{
	struct ad_dc dc;
	*ret = NULL;
	if (ad_dc_state(ld, src, &dc) < 0) {
		src->host->log(LOG_DEBUG, "ldap %s: no highestCommittedUSN / invocationId: full runs only", src->name);
		return 0;
	}
	*ret = json_pack("{sssI}", "dc", dc.invocation_id, "usn", (json_int_t)dc.usn);
	return *ret ? 0 : -ENOMEM;
}

/* Where the directory stands now, for the next incremental run (NULL: none). */
static int take_position(LDAP *ld, const struct ldap_source *src, json_t **ret)
{
	*ret = NULL;
	if (src->incremental == INCREMENTAL_OFF)
		return 0;
	return dialect_is_ad(src) ? take_usn(ld, src, ret) : take_cookies(ld, src, ret);
}

static int make_cursor(json_t *position, unsigned long entries, char **ret)
{
	if (!position)
		return 0;
	if (json_object_set_new(position, "entries", json_integer((json_int_t)entries)) < 0)
		return -ENOMEM;
	*ret = json_dumps(position, JSON_COMPACT);
	return *ret ? 0 : -ENOMEM;
}

/* The whole group graph, and a builder on it; false (the listing failed)
 * when the groups could not all be read. */
static int prepare_full(LDAP *ld, struct read_ctx *c, bool *ok)
{
	struct search_outcome o;
	group_graph_free(c->groups);
	entry_builder_free(c->b);
	c->b = NULL;
	int r = group_graph_load(ld, c->src, &c->groups, &o);
	if (r < 0)
		return r;
	*ok = o.complete;
	if (!o.complete) {
		set_listing(c->result, SS_LISTING_FAILED, "groups: %s", o.reason);
		return 0;
	}
	return entry_builder_new(c->src, c->groups, &c->b);
}

static int read_full(LDAP *ld, struct read_ctx *c)
{
	const struct ldap_source *src = c->src;
	struct ss_read_result *res = c->result;
	_cleanup_(json_decrefp) json_t *position = NULL;
	bool ok = false;
	res->listing = SS_LISTING_FULL;
	int r = take_position(ld, src, &position);
	/* From here on only paged searches on this connection: read ahead. */
	if (r >= 0)
		dir_readahead(ld);
	if (r >= 0 && ((r = prepare_full(ld, c, &ok)) < 0 || !ok))
		return r;
	for (size_t i = 0; r >= 0 && src->base_dns[i]; i++) {
		struct search_outcome o;
		r = dir_paged_search(ld, src, src->base_dns[i], src->scope, src->filter,
				      src->request_attrs, NULL, on_user, c, &o);
		if (r >= 0 && !o.complete)
			set_listing(res, SS_LISTING_INCOMPLETE, "%s", o.reason);
	}
	if (r < 0)
		return r;
	if (c->skipped > 0)
		set_listing(res, SS_LISTING_INCOMPLETE, "%s (they cannot be identified)", c->skip_reason);
	if (res->records == 0 && res->listing == SS_LISTING_FULL)
		set_listing(res, SS_LISTING_FAILED, "%s",
			    "the search returned no entries: a directory with no staff is taken for a bind "
			    "that cannot read them (check the bind's access rights, base_dn and filter)");
	if (res->listing != SS_LISTING_FULL)
		return 0;
	/* Whether the server keeps memberOf on users: then increments can
	 * follow group changes by reading the groups' users again. */
	if (position && !dialect_is_ad(src)) {
		json_t *nesting = NULL;
		if ((r = group_graph_nesting(c->groups, &nesting)) < 0)
			return r;
		if (json_object_set_new(position, "nested", nesting) < 0 ||
		    json_object_set_new(position, "memberof", json_boolean(entry_builder_memberof_count(c->b) > 0)) < 0)
			return -ENOMEM;
	}
	return make_cursor(position, res->records, &res->cursor);
}

/* The cursor when it can drive an incremental run of this dialect, or NULL. */
static json_t *usable_cursor(const struct ldap_source *src, const char *cursor)
{
	if (!cursor || src->incremental == INCREMENTAL_OFF)
		return NULL;
	json_t *j = json_loads(cursor, 0, NULL);
	bool usable = dialect_is_ad(src) ?
		json_is_string(json_object_get(j, "dc")) && json_is_integer(json_object_get(j, "usn")) :
		json_array_size(json_object_get(j, "cookies")) == lstrv_length(src->base_dns) &&
		(!src->group_base_dn || json_is_string(json_object_get(j, "groups")));
	if (!usable) {
		json_decref(j);
		return NULL;
	}
	return j;
}

struct group_changes {
	char *cookie;                /* the groups' new cookie */
	char **changed;              /* DNs of the groups changed since the cursor */
	bool deletions;              /* and entries deleted (the server does not say which are groups) */
	bool need_full;              /* the increment cannot follow them */
};

static void group_changes_clear(struct group_changes *g)
{
	free(g->cookie);
	lstrv_free(g->changed);
}

/* What changed among the groups since the cursor's group cookie. With a
 * server that keeps memberOf on users, the users below a changed group are
 * read again; without (memberships only in the groups' member values), or
 * when the server cannot list the changes, only a full listing is right. */
static int group_changes(LDAP *ld, const struct ldap_source *src, json_t *cursor, struct group_changes *g)
{
	*g = (struct group_changes){0};
	if (!src->group_base_dn)
		return 0;
	struct sync_request rq = { .base = src->group_base_dn, .scope = LDAP_SCOPE_SUBTREE,
				   .filter = src->group_filter, .count_only = true,
				   .cookie = json_string_value(json_object_get(cursor, "groups")) };
	struct sync_result s;
	int r = dir_sync_refresh(ld, src, &rq, NULL, NULL, NULL, &s);
	if (r < 0) {
		lstrv_free(s.changed);
		return r;
	}
	g->cookie = s.cookie;
	g->changed = s.changed;
	g->deletions = s.emitted > lstrv_length(s.changed);
	const char *why = !s.complete ? s.reason :
		s.present_phase ? "the groups' changes cannot be listed" :
		s.emitted > 0 && !json_is_true(json_object_get(cursor, "memberof")) ?
		"groups changed, and users carry no memberOf to follow them" : NULL;
	if (why) {
		src->host->log(LOG_INFO, "ldap %s: %s: a full listing instead of an increment", src->name, why);
		g->need_full = true;
	}
	return 0;
}

/* The users of changed groups, once each (the increment may have had them). */
static int reread_members(LDAP *ld, struct read_ctx *c, const struct group_changes *g, json_t *nesting)
{
	struct search_outcome o;
	if (!g->deletions && (!g->changed || !g->changed[0]))
		return 0;
	int r = dir_reread_group_members(ld, c->src, g->changed, g->deletions, nesting, on_user, c, &o);
	if (r >= 0 && (!o.complete || c->skipped > 0))
		set_listing(c->result, SS_LISTING_INCOMPLETE, "%s; the next run will be a full listing",
			    o.complete ? c->skip_reason : o.reason);
	return r;
}

/* The position after an increment: the new cookies, memberOf and the
 * nesting carried on. */
static int increment_cursor(struct read_ctx *c, json_t *old, json_t *cookies, const char *groups_cookie,
			    json_t *nesting)
{
	_cleanup_(json_decrefp) json_t *position = json_object();
	if (!position || json_object_set(position, "cookies", cookies) < 0 ||
	    json_object_set(position, "nested", nesting) < 0 ||
	    (groups_cookie && json_object_set_new(position, "groups", json_string(groups_cookie)) < 0) ||
	    json_object_set_new(position, "memberof", json_boolean(json_is_true(json_object_get(old, "memberof")))) < 0)
		return -ENOMEM;
	return make_cursor(position, c->result->records, &c->result->cursor);
}

static int read_syncrepl(LDAP *ld, struct read_ctx *c, json_t *cursor)
{
	json_t *old = json_object_get(cursor, "cookies");
	const struct ldap_source *src = c->src;
	struct ss_read_result *res = c->result;
	_cleanup_(group_changes_clear) struct group_changes g = {0};
	int r = group_changes(ld, src, cursor, &g);
	if (r < 0)
		return r;
	if (g.need_full)
		return read_full(ld, c);
	if ((r = group_graph_lazy(ld, src, &c->groups)) < 0 || (r = entry_builder_new(src, c->groups, &c->b)) < 0 ||
	    ((g.changed || g.deletions) && (r = entry_builder_once(c->b)) < 0))
		return r;
	_cleanup_(json_decrefp) json_t *cookies = json_array();
	_cleanup_(json_decrefp) json_t *nesting = json_deep_copy(json_object_get(cursor, "nested"));
	if (!nesting)
		nesting = json_object();
	if (!cookies || !nesting)
		return -ENOMEM;
	res->listing = SS_LISTING_INCREMENTAL;
	for (size_t i = 0; src->base_dns[i]; i++) {
		struct sync_request rq = { .base = src->base_dns[i], .scope = src->scope, .filter = src->filter,
					   .cookie = json_string_value(json_array_get(old, i)) };
		struct sync_result s;
		r = dir_sync_refresh(ld, src, &rq, c->b, c->emit, c->userdata, &s);
		res->records += s.emitted;
		if (r < 0) {
			free(s.cookie);
			return r;
		}
		if (!s.complete || s.present_phase) {
			free(s.cookie);
			set_listing(res, SS_LISTING_INCOMPLETE, "%s; the next run will be a full listing",
				    s.present_phase ? "the server could not list what was deleted since the last run"
						    : s.reason);
			return 0;
		}
		json_array_append_new(cookies, json_string(s.cookie));
		free(s.cookie);
	}
	if ((r = reread_members(ld, c, &g, nesting)) < 0 || res->listing != SS_LISTING_INCREMENTAL)
		return r;
	return increment_cursor(c, cursor, cookies, g.cookie, nesting);
}

/* Users changed on the same DC since the cursor's USN, and tombstones. A
 * different DC or a changed group: a full listing instead. */
static int read_usn(LDAP *ld, struct read_ctx *c, json_t *cursor)
{
	const struct ldap_source *src = c->src;
	struct ss_read_result *res = c->result;
	uint64_t usn = (uint64_t)json_integer_value(json_object_get(cursor, "usn"));
	struct ad_dc dc;
	if (ad_dc_state(ld, src, &dc) < 0 || !streq(dc.invocation_id, json_string_value(json_object_get(cursor, "dc"))) ||
	    ad_groups_changed(ld, src, usn) != 0)
		return read_full(ld, c);
	int r = group_graph_lazy(ld, src, &c->groups);
	if (r < 0 || (r = entry_builder_new(src, c->groups, &c->b)) < 0)
		return r;
	res->listing = SS_LISTING_INCREMENTAL;
	char filter[2048];
	snprintf(filter, sizeof filter, "(&%s(uSNChanged>=%" PRIu64 "))", src->filter, usn + 1);
	struct search_outcome o = { .complete = true };
	for (size_t i = 0; r >= 0 && o.complete && src->base_dns[i]; i++)
		r = dir_paged_search(ld, src, src->base_dns[i], src->scope, filter, src->request_attrs, NULL, on_user, c, &o);
	unsigned long deleted = 0;
	if (r >= 0 && o.complete)
		r = ad_read_tombstones(ld, src, &dc, usn, c->emit, c->userdata, &deleted, &o);
	res->records += deleted;
	if (r < 0)
		return r;
	if (!o.complete || c->skipped > 0) {
		set_listing(res, SS_LISTING_INCOMPLETE, "%s; the next run will be a full listing",
			    o.complete ? c->skip_reason : o.reason);
		return 0;
	}
	json_t *position = json_pack("{sssI}", "dc", dc.invocation_id, "usn", (json_int_t)dc.usn);
	r = position ? make_cursor(position, res->records, &res->cursor) : -ENOMEM;
	json_decref(position);
	return r;
}

static int source_read(void *instance, const struct ss_read_request *request,
		     ss_emit_fn emit, void *userdata, struct ss_read_result *result)
{
	const struct ldap_source *src = instance;
	_cleanup_(dir_unbindp) LDAP *ld = NULL;
	_cleanup_(json_decrefp) json_t *cursor = request->full ? NULL : usable_cursor(src, request->cursor);

	result->listing = SS_LISTING_FULL;
	result->reason[0] = '\0';
	char why[512];
	if (dir_connect(src, &ld, why, sizeof why) < 0) {
		set_listing(result, SS_LISTING_FAILED, "%s", why);
		return 0;
	}
	struct read_ctx c = { .src = src, .emit = emit, .userdata = userdata, .result = result };
	int r = !cursor ? read_full(ld, &c) :
		dialect_is_ad(src) ? read_usn(ld, &c, cursor) : read_syncrepl(ld, &c, cursor);
	entry_builder_free(c.b);
	group_graph_free(c.groups);
	return r;
}

static const struct ss_source_ops ldap_source_ops = {
	.open = source_open,
	.read = source_read,
	.close = source_close,
};

static const struct ss_plugin ldap_plugin = {
	.abi_version = SS_PLUGIN_ABI_VERSION,
	.kind = SS_PLUGIN_SOURCE,
	.name = "ldap",
	.description = "LDAP and Active Directory: paged listings, nested groups, syncrepl changes",
	.source = &ldap_source_ops,
};

const struct ss_plugin *staffsync_plugin(void)
{
	return &ldap_plugin;
}
