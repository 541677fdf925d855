/* SPDX-License-Identifier: MIT */
/*
 * The group graph's insides, shared by ldap-groups.c (the whole graph of a
 * full listing) and ldap-groups-lazy.c (the groups an increment needs).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ldap-source.h"

struct group {
	char *dn;
	char *cn;
	size_t *parents;
	size_t n_parents;
	size_t *closure;             /* itself first, then its ancestors */
	size_t n_closure;
	unsigned mark;               /* generation it was last added to an answer */
	bool parents_known;          /* lazy graph: its parents have been searched */
};

struct member_ref {
	size_t key;                  /* offset in keys */
	size_t group;
};

struct group_graph {
	const struct ldap_source *src;
	struct group *groups;
	size_t n, cap;
	json_t *by_dn;               /* normalised DN -> index */
	/* Every member value as (normalised DN, group): one buffer of keys and
	 * an array, not an object per value, since there are as many as there
	 * are memberships. Sorted by key only when a user without memberOf
	 * values asks for its groups. */
	char *keys;
	size_t keys_len, keys_cap;
	struct member_ref *refs;
	size_t n_refs, refs_cap;
	bool refs_sorted;
	LDAP *ld;                    /* lazy graph: where groups are looked up */
	unsigned generation;
	const char **out;            /* the last answer */
	size_t out_cap;
	char **scratch;              /* strings of the last answer not owned by the graph */
	bool range_failed;
};

/* ldap-groups.c */
/* Add the group's closure (its cn and DN, its ancestors') to the answer. */
int group_add_closure(struct group_graph *g, size_t group, size_t *n);
/* The group's name: its cn, or the value of its DN's first RDN. */
char *group_entry_cn(LDAP *ld, LDAPMessage *e, const char *dn);

/* ldap-groups-lazy.c */
int lazy_closure(struct group_graph *g, size_t group);
/* The group's index, or -1 in *idx when the DN is not a group of the graph. */
int group_index(struct group_graph *g, const char *dn, const char *key, ssize_t *idx);
int lazy_member_values(struct group_graph *g, const char *user_dn, size_t *n);
