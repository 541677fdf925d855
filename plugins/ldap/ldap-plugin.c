/* SPDX-License-Identifier: MIT */
/*
 * The ldap source's descriptor: open (settings only, no I/O), read, close.
 *
 * A full read lists every base DN with paged searches after reading the
 * group graph; an incremental read (OpenLDAP with a syncrepl cookie in the
 * cursor) asks for the changes since. Anything untrustworthy ends as
 * INCOMPLETE or FAILED with the reason, and no cursor, so the next run is
 * full: a limit hit, a server gone mid-search, a lost paging cookie, an
 * unfinished range retrieval, a bind that reads nothing.
 *
 * The cursor is JSON: OpenLDAP {"cookies": [one per base DN], "entries": N};
 * Active Directory {"dc": invocationId, "usn": highestCommittedUSN, "entries": N}.
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
	struct entry_builder *b;
	ss_emit_fn emit;
	void *userdata;
	struct ss_read_result *result;
	const char *skip_reason;
	unsigned long skipped;
};

static inline void dir_unbindp(LDAP **ld) { if (*ld) ldap_unbind_ext_s(*ld, NULL, NULL); }
static inline void group_graph_freep(struct group_graph **g) { group_graph_free(*g); }
static inline void entry_builder_freep(struct entry_builder **b) { entry_builder_free(*b); }

static int source_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		     const char *name, void **instance)
{
	struct ldap_source *src = NULL;
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
	if (r > 0)
		c->result->records++;
	else if (r == 0) {
		c->skipped++;
		c->skip_reason = skip;
	}
	return r < 0 ? r : 0;
}

/* One cookie per base DN, taken before the listing so that whatever
 * changes while it runs is replayed by the next incremental run. */
static int take_cookies(LDAP *ld, const struct ldap_source *src, struct entry_builder *b, json_t **ret)
{
	*ret = NULL;
	json_t *cookies = json_array();
	if (!cookies)
		return -ENOMEM;
	for (size_t i = 0; src->base_dns[i]; i++) {
		struct sync_result s;
		int r = dir_sync_refresh(ld, src, src->base_dns[i], MATCH_NOTHING, NULL, b, NULL, NULL, &s);
		if (r < 0 || !s.complete || !s.cookie) {
			src->host->log(LOG_DEBUG, "ldap %s: no content synchronisation: %s", src->name,
				       r < 0 ? strerror(-r) : s.reason);
			free(s.cookie);
			json_decref(cookies);
			return r < 0 ? r : 0;
		}
		json_array_append_new(cookies, json_string(s.cookie));
		free(s.cookie);
	}
	*ret = json_pack("{so}", "cookies", cookies);
	return *ret ? 0 : -ENOMEM;
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
static int take_position(LDAP *ld, const struct ldap_source *src, struct entry_builder *b, json_t **ret)
{
	*ret = NULL;
	if (src->incremental == INCREMENTAL_OFF)
		return 0;
	return dialect_is_ad(src) ? take_usn(ld, src, ret) : take_cookies(ld, src, b, ret);
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

static int read_full(LDAP *ld, struct read_ctx *c)
{
	const struct ldap_source *src = c->src;
	struct ss_read_result *res = c->result;
	_cleanup_(json_decrefp) json_t *position = NULL;
	int r = take_position(ld, src, c->b, &position);
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
	return res->listing == SS_LISTING_FULL ? make_cursor(position, res->records, &res->cursor) : 0;
}

/* The cursor when it can drive an incremental run of this dialect, or NULL. */
static json_t *usable_cursor(const struct ldap_source *src, const char *cursor)
{
	if (!cursor || src->incremental == INCREMENTAL_OFF)
		return NULL;
	json_t *j = json_loads(cursor, 0, NULL);
	bool usable = dialect_is_ad(src) ?
		json_is_string(json_object_get(j, "dc")) && json_is_integer(json_object_get(j, "usn")) :
		json_array_size(json_object_get(j, "cookies")) == lstrv_length(src->base_dns);
	if (!usable) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int read_syncrepl(LDAP *ld, struct read_ctx *c, json_t *cursor)
{
	json_t *old = json_object_get(cursor, "cookies");
	const struct ldap_source *src = c->src;
	struct ss_read_result *res = c->result;
	_cleanup_(json_decrefp) json_t *cookies = json_array();
	if (!cookies)
		return -ENOMEM;
	res->listing = SS_LISTING_INCREMENTAL;
	for (size_t i = 0; src->base_dns[i]; i++) {
		struct sync_result s;
		int r = dir_sync_refresh(ld, src, src->base_dns[i], src->filter,
					  json_string_value(json_array_get(old, i)), c->b, c->emit, c->userdata, &s);
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
	json_t *position = json_pack("{sO}", "cookies", cookies);
	int r = position ? make_cursor(position, res->records, &res->cursor) : -ENOMEM;
	json_decref(position);
	return r;
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
	res->listing = SS_LISTING_INCREMENTAL;
	char filter[2048];
	snprintf(filter, sizeof filter, "(&%s(uSNChanged>=%" PRIu64 "))", src->filter, usn + 1);
	int r = 0;
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
	_cleanup_(group_graph_freep) struct group_graph *groups = NULL;
	_cleanup_(entry_builder_freep) struct entry_builder *b = NULL;
	_cleanup_(json_decrefp) json_t *cursor = request->full ? NULL : usable_cursor(src, request->cursor);

	result->listing = SS_LISTING_FULL;
	result->reason[0] = '\0';
	char why[512];
	if (dir_connect(src, &ld, why, sizeof why) < 0) {
		set_listing(result, SS_LISTING_FAILED, "%s", why);
		return 0;
	}
	struct search_outcome o;
	int r = group_graph_load(ld, src, &groups, &o);
	if (r < 0)
		return r;
	if (!o.complete) {
		set_listing(result, SS_LISTING_FAILED, "groups: %s", o.reason);
		return 0;
	}
	if ((r = entry_builder_new(src, groups, &b)) < 0)
		return r;
	struct read_ctx c = { src, b, emit, userdata, result, NULL, 0 };
	if (!cursor)
		return read_full(ld, &c);
	return dialect_is_ad(src) ? read_usn(ld, &c, cursor) : read_syncrepl(ld, &c, cursor);
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
