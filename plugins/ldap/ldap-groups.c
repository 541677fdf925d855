/* SPDX-License-Identifier: MIT */
/*
 * The group graph: every group under group_base_dn with its members, read
 * once per run, so that each user's groups can be flattened without a
 * search per user.
 *
 * Direct membership comes from the user's memberOf values when the server
 * keeps them (OpenLDAP's memberof overlay, AD), otherwise from the groups'
 * member values. Nesting is expanded on the client: each group's closure
 * (itself and every group it is a member of, transitively) is computed by
 * a depth-first walk that marks what it has visited, so a cycle (A in B,
 * B in A) ends instead of looping. Large AD groups are read completely with
 * range retrieval; a range that cannot be read makes the listing incomplete.
 * DNs are compared in normalised form (ldap_dn_normalize, then lower case).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "ldap-groups.h"
#include "ldap-source.h"
#include "util.h"

void group_graph_free(struct group_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->groups[i].dn); free(g->groups[i].cn);
		free(g->groups[i].parents); free(g->groups[i].closure);
	}
	free(g->groups);
	json_decref(g->by_dn);
	free(g->keys);
	free(g->refs);
	free(g->out);
	lstrv_free(g->scratch);
	free(g);
}

/* Append bytes to the key buffer; the offset where they start, or -ENOMEM. */
static ssize_t keys_append(struct group_graph *g, const char *text, size_t n)
{
	if (g->keys_len + n + 1 > g->keys_cap) {
		size_t cap = g->keys_cap ? g->keys_cap * 2 : 65536;
		while (cap < g->keys_len + n + 1)
			cap *= 2;
		char *grown = realloc(g->keys, cap);
		if (!grown)
			return -ENOMEM;
		g->keys = grown;
		g->keys_cap = cap;
	}
	size_t at = g->keys_len;
	memcpy(g->keys + at, text, n);
	g->keys[at + n] = '\0';
	g->keys_len += n + 1;
	return (ssize_t)at;
}

static int note_member(struct group_graph *g, const struct berval *v, size_t group)
{
	_cleanup_free_ char *raw = strndup(v->bv_val, v->bv_len);
	_cleanup_free_ char *key = raw ? dir_dn_key(raw) : NULL;
	if (!key)
		return -ENOMEM;
	if (g->n_refs == g->refs_cap) {
		size_t cap = g->refs_cap ? g->refs_cap * 2 : 1024;
		struct member_ref *grown = realloc(g->refs, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		g->refs = grown;
		g->refs_cap = cap;
	}
	ssize_t at = keys_append(g, key, strlen(key));
	if (at < 0)
		return (int)at;
	g->refs[g->n_refs++] = (struct member_ref){ .key = (size_t)at, .group = group };
	g->refs_sorted = false;
	return 0;
}

/* member values, completed with range retrieval when the server cut them. */
static int group_members(struct group_graph *g, LDAP *ld, LDAPMessage *e, const char *dn,
			 struct berval ***ret)
{
	*ret = ldap_get_values_len(ld, e, "member");
	if (*ret)
		return 0;
	BerElement *ber = NULL;
	bool ranged = false;
	for (char *a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
		ranged = ranged || strncasecmp(a, "member;range=", 13) == 0;
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	if (!ranged)
		*ret = ldap_get_values_len(ld, e, "uniqueMember");
	else if (ad_range_complete(ld, g->src, dn, "member", e, ret) < 0)
		g->range_failed = true;
	return 0;
}

/* The group's name: its cn, or the value of its DN's first RDN. */
char *group_entry_cn(LDAP *ld, LDAPMessage *e, const char *dn)
{
	struct berval **cn = ldap_get_values_len(ld, e, "cn");
	char *name = cn && cn[0] ? strndup(cn[0]->bv_val, cn[0]->bv_len) : dir_dn_first_value(dn);
	ldap_value_free_len(cn);
	return name;
}

static int add_group(void *userdata, LDAP *ld, LDAPMessage *e)
{
	struct group_graph *g = userdata;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct group *grown = realloc(g->groups, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		g->groups = grown;
		g->cap = cap;
	}
	char *dn = ldap_get_dn(ld, e);
	if (!dn)
		return -ENOMEM;
	struct group *gr = &g->groups[g->n];
	*gr = (struct group){ .dn = strdup(dn) };
	gr->cn = group_entry_cn(ld, e, dn);
	_cleanup_free_ char *key = dir_dn_key(dn);
	struct berval **members = NULL;
	int r = group_members(g, ld, e, dn, &members);
	ldap_memfree(dn);
	if (!gr->dn || !gr->cn || !key || r < 0) {
		free(gr->dn); free(gr->cn);
		ldap_value_free_len(members);
		return -ENOMEM;
	}
	size_t index = g->n++;
	r = json_object_set_new(g->by_dn, key, json_integer((json_int_t)index)) < 0 ? -ENOMEM : 0;
	for (size_t i = 0; r >= 0 && members && members[i]; i++)
		r = note_member(g, members[i], index);
	ber_bvecfree(members);
	return r;
}

/* The groups that are members of groups: each member value looked up
 * among the groups' DNs, counted first so that every parent list is one
 * allocation. */
static int link_parents(struct group_graph *g)
{
	_cleanup_free_ size_t *child = calloc(g->n_refs + 1, sizeof(size_t));
	if (!child)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_refs; i++) {
		json_t *idx = json_object_get(g->by_dn, g->keys + g->refs[i].key);
		child[i] = idx ? (size_t)json_integer_value(idx) : SIZE_MAX;
		if (idx)
			g->groups[child[i]].n_parents++;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct group *gr = &g->groups[i];
		if (gr->n_parents > 0 && !(gr->parents = calloc(gr->n_parents, sizeof(size_t))))
			return -ENOMEM;
		gr->n_parents = 0;
	}
	for (size_t i = 0; i < g->n_refs; i++)
		if (child[i] != SIZE_MAX) {
			struct group *gr = &g->groups[child[i]];
			gr->parents[gr->n_parents++] = g->refs[i].group;
		}
	return 0;
}

/* Depth-first over parents from start; visited marks end cycles. */
static int close_group(struct group_graph *g, size_t start, bool *visited, size_t *stack)
{
	struct group *gr = &g->groups[start];
	size_t top = 0;
	memset(visited, 0, g->n * sizeof(*visited));
	if (!(gr->closure = calloc(g->n, sizeof(size_t))))
		return -ENOMEM;
	stack[top++] = start;
	visited[start] = true;
	while (top > 0) {
		size_t cur = stack[--top];
		gr->closure[gr->n_closure++] = cur;
		if (!g->src->nested_groups)
			break;
		for (size_t p = 0; p < g->groups[cur].n_parents; p++) {
			size_t par = g->groups[cur].parents[p];
			if (!visited[par]) {
				visited[par] = true;
				stack[top++] = par;
			}
		}
	}
	/* Room was made for every group; most closures are a handful. */
	size_t *fit = realloc(gr->closure, gr->n_closure * sizeof(size_t));
	if (fit)
		gr->closure = fit;
	return 0;
}

static int compute_closures(struct group_graph *g)
{
	_cleanup_free_ bool *visited = calloc(g->n + 1, sizeof(bool));
	_cleanup_free_ size_t *stack = calloc(g->n + 1, sizeof(size_t));
	if (!visited || !stack)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		int r = close_group(g, i, visited, stack);
		if (r < 0)
			return r;
	}
	return 0;
}

int group_graph_load(LDAP *ld, const struct ldap_source *src, struct group_graph **ret,
		     struct search_outcome *out)
{
	struct group_graph *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->src = src;
	g->by_dn = json_object();
	int r = g->by_dn ? 0 : -ENOMEM;
	*out = (struct search_outcome){ .complete = true };
	if (r >= 0 && src->group_base_dn) {
		char *attrs[] = { "cn", src->member_request, "uniqueMember", NULL };
		r = dir_paged_search(ld, src, src->group_base_dn, LDAP_SCOPE_SUBTREE, src->group_filter,
				      attrs, NULL, add_group, g, out);
	}
	if (r >= 0 && g->range_failed && out->complete) {
		out->complete = false;
		snprintf(out->reason, sizeof out->reason,
			 "a group's member values could not all be read (range retrieval failed)");
	}
	if (r >= 0)
		r = link_parents(g);
	if (r >= 0)
		r = compute_closures(g);
	if (r < 0) {
		group_graph_free(g);
		return r;
	}
	*ret = g;
	return 0;
}

int group_graph_nesting(const struct group_graph *g, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *nesting = json_object();
	if (!nesting)
		return -ENOMEM;
	for (size_t child = 0; child < g->n; child++)
		for (size_t p = 0; p < g->groups[child].n_parents; p++) {
			_cleanup_free_ char *key = dir_dn_key(g->groups[g->groups[child].parents[p]].dn);
			json_t *list = key ? json_object_get(nesting, key) : NULL;
			if (key && !list && (!(list = json_array()) || json_object_set_new(nesting, key, list) < 0))
				return -ENOMEM;
			if (!key || json_array_append_new(list, json_string(g->groups[child].dn)) < 0)
				return -ENOMEM;
		}
	*ret = json_incref(nesting);
	return 0;
}

static int out_push(struct group_graph *g, size_t *n, const char *s)
{
	if (*n + 2 > g->out_cap) {
		size_t cap = g->out_cap ? g->out_cap * 2 : 32;
		const char **grown = realloc(g->out, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		g->out = grown;
		g->out_cap = cap;
	}
	g->out[(*n)++] = s;
	g->out[*n] = NULL;
	return 0;
}

int group_add_closure(struct group_graph *g, size_t group, size_t *n)
{
	int lr = g->ld ? lazy_closure(g, group) : 0;
	if (lr < 0)
		return lr;
	const struct group *gr = &g->groups[group];
	for (size_t i = 0; i < gr->n_closure; i++) {
		size_t c = gr->closure[i];
		if (g->groups[c].mark == g->generation)
			continue;
		g->groups[c].mark = g->generation;
		int r = out_push(g, n, g->groups[c].cn);
		if (r >= 0)
			r = out_push(g, n, g->groups[c].dn);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A memberOf value naming a group outside group_base_dn: its cn and DN as they are. */
static int add_unknown(struct group_graph *g, const char *dn, size_t *n)
{
	char *cn = dir_dn_first_value(dn);
	int r = cn ? lstrv_push(&g->scratch, cn) : 0;
	free(cn);
	if (r >= 0 && cn)
		r = out_push(g, n, g->scratch[lstrv_length(g->scratch) - 1]);
	if (r >= 0)
		r = lstrv_push(&g->scratch, dn);
	if (r >= 0)
		r = out_push(g, n, g->scratch[lstrv_length(g->scratch) - 1]);
	return r;
}

static int add_memberof(struct group_graph *g, const char *const *memberof, size_t *n)
{
	for (size_t i = 0; memberof[i]; i++) {
		const char *dn = memberof[i];
		_cleanup_free_ char *key = dir_dn_key(dn);
		if (!key)
			return -ENOMEM;
		ssize_t idx = -1;
		int r = group_index(g, dn, key, &idx);
		if (r >= 0)
			r = idx >= 0 ? group_add_closure(g, (size_t)idx, n) : add_unknown(g, dn, n);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_ref(const void *a, const void *b, void *keys)
{
	const struct member_ref *x = a, *y = b;
	int c = strcmp((const char *)keys + x->key, (const char *)keys + y->key);
	return c ? c : (x->group > y->group) - (x->group < y->group);
}

/* The first ref whose key is not below key (refs sorted). */
static size_t refs_lower_bound(const struct group_graph *g, const char *key)
{
	size_t lo = 0, hi = g->n_refs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(g->keys + g->refs[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The groups whose member values name the user. */
static int add_member_values(struct group_graph *g, const char *user_dn, size_t *n)
{
	_cleanup_free_ char *key = dir_dn_key(user_dn);
	if (!key)
		return -ENOMEM;
	if (!g->refs_sorted) {
		qsort_r(g->refs, g->n_refs, sizeof(*g->refs), cmp_ref, g->keys);
		g->refs_sorted = true;
	}
	int r = 0;
	for (size_t i = refs_lower_bound(g, key); r >= 0 && i < g->n_refs && streq(g->keys + g->refs[i].key, key); i++)
		r = group_add_closure(g, g->refs[i].group, n);
	return r;
}

int group_graph_user_groups(struct group_graph *g, const char *user_dn,
			    const char *const *memberof, const char *const **ret)
{
	size_t n = 0;
	int r = out_push(g, &n, NULL);   /* an empty, terminated list */
	n = 0;
	lstrv_free(g->scratch);
	g->scratch = NULL;
	if (++g->generation == 0) {
		for (size_t i = 0; i < g->n; i++)
			g->groups[i].mark = 0;
		g->generation = 1;
	}
	if (r >= 0 && memberof && memberof[0]) {
		r = add_memberof(g, memberof, &n);
	} else if (r >= 0) {
		r = g->ld ? lazy_member_values(g, user_dn, &n) : add_member_values(g, user_dn, &n);
	}
	if (r < 0)
		return r;
	*ret = g->out;
	return 0;
}
