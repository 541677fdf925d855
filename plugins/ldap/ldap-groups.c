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
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ldap-source.h"
#include "util.h"

struct group {
	char *dn;
	char *cn;
	size_t *parents;
	size_t n_parents;
	size_t *closure;             /* itself first, then its ancestors */
	size_t n_closure;
};

struct group_graph {
	const struct ldap_source *src;
	struct group *groups;
	size_t n, cap;
	json_t *by_dn;               /* normalised DN -> index */
	json_t *member_of;           /* normalised member DN -> [group index, ...] */
	unsigned *mark;              /* per group: generation last added */
	unsigned generation;
	const char **out;            /* the last answer */
	size_t out_cap;
	char **scratch;              /* strings of the last answer not owned by the graph */
	bool range_failed;
};

/* A DN in the one form comparisons use. malloc'd; NULL on ENOMEM. */
static char *dn_key(const char *dn)
{
	char *norm = NULL;
	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !norm)
		norm = NULL;
	char *key = lstr_lower(norm ? norm : dn);
	ldap_memfree(norm);
	return key;
}

/* The value of a DN's first RDN: "cn=Surgeons,ou=groups,..." -> "Surgeons". */
static char *dn_first_value(const char *dn)
{
	LDAPDN parsed = NULL;
	char *v = NULL;
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAP) == LDAP_SUCCESS && parsed && parsed[0] && parsed[0][0])
		v = strndup(parsed[0][0]->la_value.bv_val, parsed[0][0]->la_value.bv_len);
	ldap_dnfree(parsed);
	return v;
}

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
	json_decref(g->member_of);
	free(g->mark);
	free(g->out);
	lstrv_free(g->scratch);
	free(g);
}

static int note_member(struct group_graph *g, const struct berval *v, size_t group)
{
	_cleanup_free_ char *raw = strndup(v->bv_val, v->bv_len);
	_cleanup_free_ char *key = raw ? dn_key(raw) : NULL;
	if (!key)
		return -ENOMEM;
	json_t *list = json_object_get(g->member_of, key);
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(g->member_of, key, list) < 0)
			return -ENOMEM;
	}
	return json_array_append_new(list, json_integer((json_int_t)group)) < 0 ? -ENOMEM : 0;
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
	struct berval **cn = ldap_get_values_len(ld, e, "cn");
	gr->cn = cn && cn[0] ? strndup(cn[0]->bv_val, cn[0]->bv_len) : dn_first_value(dn);
	ldap_value_free_len(cn);
	_cleanup_free_ char *key = dn_key(dn);
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

static int link_parents(struct group_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		_cleanup_free_ char *key = dn_key(g->groups[i].dn);
		if (!key)
			return -ENOMEM;
		json_t *list = json_object_get(g->member_of, key);
		size_t k = json_array_size(list);
		if (k == 0)
			continue;
		if (!(g->groups[i].parents = calloc(k, sizeof(size_t))))
			return -ENOMEM;
		for (size_t j = 0; j < k; j++)
			g->groups[i].parents[g->groups[i].n_parents++] =
				(size_t)json_integer_value(json_array_get(list, j));
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
	g->member_of = json_object();
	int r = g->by_dn && g->member_of ? 0 : -ENOMEM;
	*out = (struct search_outcome){ .complete = true };
	if (r >= 0 && src->group_base_dn) {
		char *attrs[] = { "cn", "member", "uniqueMember", NULL };
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
	if (r >= 0 && !(g->mark = calloc(g->n + 1, sizeof(unsigned))))
		r = -ENOMEM;
	if (r < 0) {
		group_graph_free(g);
		return r;
	}
	*ret = g;
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

static int add_closure(struct group_graph *g, size_t group, size_t *n)
{
	const struct group *gr = &g->groups[group];
	for (size_t i = 0; i < gr->n_closure; i++) {
		size_t c = gr->closure[i];
		if (g->mark[c] == g->generation)
			continue;
		g->mark[c] = g->generation;
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
	char *cn = dn_first_value(dn);
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
		_cleanup_free_ char *key = dn_key(dn);
		if (!key)
			return -ENOMEM;
		json_t *idx = json_object_get(g->by_dn, key);
		int r = idx ? add_closure(g, (size_t)json_integer_value(idx), n) : add_unknown(g, dn, n);
		if (r < 0)
			return r;
	}
	return 0;
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
		memset(g->mark, 0, (g->n + 1) * sizeof(unsigned));
		g->generation = 1;
	}
	if (r >= 0 && memberof && memberof[0]) {
		r = add_memberof(g, memberof, &n);
	} else if (r >= 0) {
		_cleanup_free_ char *key = dn_key(user_dn);
		json_t *list = key ? json_object_get(g->member_of, key) : NULL;
		r = key ? 0 : -ENOMEM;
		for (size_t i = 0; r >= 0 && i < json_array_size(list); i++)
			r = add_closure(g, (size_t)json_integer_value(json_array_get(list, i)), &n);
	}
	if (r < 0)
		return r;
	*ret = g->out;
	return 0;
}
