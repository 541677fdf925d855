/* SPDX-License-Identifier: MIT */
/*
 * The lazy group graph of incremental runs.
 *
 * An incremental run sees a handful of changed users; reading every group
 * for them would cost more than the rest of the run. The lazy graph looks
 * up only the groups those users are in, and their ancestors, with small
 * searches on the same connection, remembering what it found. Any search
 * that fails fails the user's record (-EIO): the run then ends without
 * deactivating anyone, as for any source error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ldap-groups.h"
#include "ldap-source.h"
#include "util.h"

int group_graph_lazy(LDAP *ld, const struct ldap_source *src, struct group_graph **ret)
{
	struct group_graph *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->src = src;
	g->ld = ld;
	g->by_dn = json_object();
	if (!g->by_dn) {
		group_graph_free(g);
		return -ENOMEM;
	}
	*ret = g;
	return 0;
}

/* A new group node (dn and cn copied); its index. */
static ssize_t push_group(struct group_graph *g, const char *dn, const char *key, char *cn)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct group *grown = realloc(g->groups, cap * sizeof(*grown));
		if (!grown) {
			free(cn);
			return -ENOMEM;
		}
		g->groups = grown;
		g->cap = cap;
	}
	struct group *gr = &g->groups[g->n];
	*gr = (struct group){ .dn = strdup(dn), .cn = cn };
	if (!gr->dn || !gr->cn || json_object_set_new(g->by_dn, key, json_integer((json_int_t)g->n)) < 0) {
		free(gr->dn);
		free(gr->cn);
		return -ENOMEM;
	}
	return (ssize_t)g->n++;
}

/* Whether the normalised DN lies under group_base_dn. */
static bool under_group_base(const struct group_graph *g, const char *key)
{
	_cleanup_free_ char *base = g->src->group_base_dn ? dir_dn_key(g->src->group_base_dn) : NULL;
	return base && dir_dn_key_under(key, base);
}

int dir_read_group(LDAP *ld, const struct ldap_source *src, const char *dn, char **attrs, LDAPMessage **res)
{
	struct timeval tv = dir_timeval(src->timeout);
	*res = NULL;
	int rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, src->group_filter, attrs, 0, NULL, NULL, &tv, 1, res);
	if (rc == LDAP_SUCCESS && ldap_first_entry(ld, *res))
		return 1;
	ldap_msgfree(*res);
	*res = NULL;
	return rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT ? 0 : -EIO;
}

/* One base-scope read of a possible group: is it one (group_filter)? */
static int lazy_read_group(struct group_graph *g, const char *dn, const char *key, ssize_t *idx)
{
	char *attrs[] = { (char *)"cn", NULL };
	LDAPMessage *res = NULL;
	int r = dir_read_group(g->ld, g->src, dn, attrs, &res);
	*idx = -1;
	if (r > 0)
		*idx = push_group(g, dn, key, group_entry_cn(g->ld, ldap_first_entry(g->ld, res), dn));
	else if (r == 0)
		r = json_object_set_new(g->by_dn, key, json_integer(-1)) < 0 ? -ENOMEM : 0;
	ldap_msgfree(res);
	return r < 0 ? r : *idx < -1 ? (int)*idx : 0;
}

/* The group's index, or -1 in *idx when the DN is not a group of the
 * graph (outside group_base_dn, or not matching group_filter). */
int group_index(struct group_graph *g, const char *dn, const char *key, ssize_t *idx)
{
	json_t *known = json_object_get(g->by_dn, key);
	*idx = known ? (ssize_t)json_integer_value(known) : -1;
	if (known || !g->ld)
		return 0;
	if (!under_group_base(g, key))
		return json_object_set_new(g->by_dn, key, json_integer(-1)) < 0 ? -ENOMEM : 0;
	return lazy_read_group(g, dn, key, idx);
}

struct found_groups {
	struct group_graph *g;
	size_t *list;
	size_t n;
};

static int on_found_group(void *userdata, LDAP *ld, LDAPMessage *e)
{
	struct found_groups *f = userdata;
	_cleanup_(dir_memfreep) char *dn = ldap_get_dn(ld, e);
	_cleanup_free_ char *key = dn ? dir_dn_key(dn) : NULL;
	if (!key)
		return -ENOMEM;
	json_t *known = json_object_get(f->g->by_dn, key);
	ssize_t idx = known ? (ssize_t)json_integer_value(known) : push_group(f->g, dn, key, group_entry_cn(ld, e, dn));
	if (idx < 0)
		return known ? 0 : (int)idx;
	size_t *grown = realloc(f->list, (f->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	f->list = grown;
	f->list[f->n++] = (size_t)idx;
	return 0;
}

/* The groups of the graph that have dn among their member values. */
static int lazy_groups_with_member(struct group_graph *g, const char *dn, struct found_groups *f)
{
	struct berval raw = { strlen(dn), (char *)dn }, esc = {0};
	if (ldap_bv2escaped_filter_value(&raw, &esc) != 0)
		return -ENOMEM;
	_cleanup_free_ char *filter = NULL;
	int len = asprintf(&filter, "(&%s(|(member=%s)(uniqueMember=%s)))", g->src->group_filter,
			   esc.bv_val, esc.bv_val);
	ber_memfree(esc.bv_val);
	if (len < 0)
		return -ENOMEM;
	char *attrs[] = { (char *)"cn", NULL };
	struct search_outcome o;
	*f = (struct found_groups){ .g = g };
	int r = dir_paged_search(g->ld, g->src, g->src->group_base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL,
				 on_found_group, f, &o);
	if (r >= 0 && !o.complete)
		r = -EIO;
	return r;
}

static int lazy_parents(struct group_graph *g, size_t group)
{
	if (g->groups[group].parents_known)
		return 0;
	struct found_groups f;
	_cleanup_free_ char *dn = strdup(g->groups[group].dn);   /* groups may move in memory */
	int r = dn ? lazy_groups_with_member(g, dn, &f) : -ENOMEM;
	if (r < 0) {
		free(f.list);
		return r;
	}
	free(g->groups[group].parents);
	g->groups[group].parents = f.list;
	g->groups[group].n_parents = f.n;
	g->groups[group].parents_known = true;
	return 0;
}

/* The closure of one group, searched for as deep as it goes; a set of
 * seen indexes ends cycles. */
int lazy_closure(struct group_graph *g, size_t group)
{
	if (g->groups[group].closure)
		return 0;
	_cleanup_free_ size_t *stack = NULL;
	size_t *closure = NULL, n_closure = 0, top = 0;
	int r = 0;
	if (!(stack = malloc(sizeof(size_t))) || !(closure = malloc(sizeof(size_t))))
		r = -ENOMEM;
	if (r >= 0)
		stack[top++] = group;
	while (r >= 0 && top > 0) {
		size_t cur = stack[--top];
		bool seen = false;
		for (size_t i = 0; i < n_closure && !seen; i++)
			seen = closure[i] == cur;
		if (seen)
			continue;
		size_t *c = realloc(closure, (n_closure + 1) * sizeof(size_t));
		if (!c) {
			r = -ENOMEM;
			break;
		}
		closure = c;
		closure[n_closure++] = cur;
		if (!g->src->nested_groups)
			break;
		if ((r = lazy_parents(g, cur)) < 0)
			break;
		size_t *s = realloc(stack, (top + g->groups[cur].n_parents + 1) * sizeof(size_t));
		if (!s) {
			r = -ENOMEM;
			break;
		}
		stack = s;
		for (size_t p = 0; p < g->groups[cur].n_parents; p++)
			stack[top++] = g->groups[cur].parents[p];
	}
	if (r < 0) {
		free(closure);
		return r;
	}
	g->groups[group].closure = closure;
	g->groups[group].n_closure = n_closure;
	return 0;
}

/* A user without memberOf values: the groups naming it as a member. */
int lazy_member_values(struct group_graph *g, const char *user_dn, size_t *n)
{
	struct found_groups f;
	int r = lazy_groups_with_member(g, user_dn, &f);
	for (size_t i = 0; r >= 0 && i < f.n; i++)
		r = group_add_closure(g, f.list[i], n);
	free(f.list);
	return r;
}
