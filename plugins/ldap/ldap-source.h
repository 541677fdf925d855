/* SPDX-License-Identifier: MIT */
/*
 * LDAP / Active Directory source: what its parts share.
 *
 *   ldap-conf.c    the YAML settings (keys of DESIGN.md) and their checks
 *   ldap-conn.c    connection: URI failover, TLS / StartTLS, bind, secrets
 *   ldap-paged.c   paged searches (RFC 2696) and how a search can fall short
 *   ldap-entry.c   one entry made into a record: mapping, identity, disabled
 *   ldap-dn.c      DNs in one comparable form (keys), what lies below what
 *   ldap-groups.c  the group graph: direct membership, nesting, cycles
 *   ldap-groups-lazy.c  the groups an increment needs, looked up one by one
 *   ldap-ad.c      Active Directory specifics: objectGUID, userAccountControl
 *   ldap-usn.c     Active Directory increments: uSNChanged, tombstones
 *   ldap-sync.c    RFC 4533 content synchronisation (refreshOnly) for OpenLDAP
 *   ldap-members.c the users below changed groups, read again in increments
 *   ldap-plugin.c  the descriptor: open, read (full or incremental), close
 *
 * Library code here returns negative errno or an outcome with a reason; the
 * engine logs once. The bind password is read only in ldap-conn.c, at read
 * time, and never appears in a reason.
 */
#pragma once

#include <jansson.h>
#include <ldap.h>
#include <stdbool.h>
#include <stdint.h>

#include "staffsync-plugin.h"

enum ldap_dialect { DIALECT_OPENLDAP, DIALECT_AD };
enum ldap_incremental { INCREMENTAL_AUTO, INCREMENTAL_OFF };

enum ldap_field {
	LF_ID,
	LF_GIVEN_NAME,
	LF_FAMILY_NAME,
	LF_EMAIL,
	LF_EMPLOYEE_ID,
	LF_SPECIALITY,
	LF_FACILITY,
	LF_GROUPS,           /* direct membership attribute (memberOf) */
	_LF_MAX,
};

extern const char *const ldap_field_names[_LF_MAX];

struct ldap_source {
	const struct ss_host *host;
	char *name;
	char **uris;                 /* failover order */
	enum ldap_dialect dialect;
	bool starttls;
	char *ca_file;               /* absolute, or NULL: system trust store */
	char *bind_dn;
	char *password_file;         /* absolute: bind_password_file or the credential's path */
	char *bind_credential;       /* name in $CREDENTIALS_DIRECTORY, resolved at read time */
	char *sasl_mech;
	char **base_dns;
	int scope;                   /* LDAP_SCOPE_* */
	char *filter;
	char *group_base_dn;
	char *group_filter;
	bool nested_groups;
	int page_size;
	int range_size;              /* AD: member values asked per range; 0: as many as the server sends */
	char *member_request;        /* "member", or "member;range=0-<range_size - 1>" */
	uint64_t timeout;            /* microseconds, every operation and the connect */
	enum ldap_incremental incremental;
	char *disabled_attr;         /* disabled_when.attribute */
	char **disabled_values;      /* disabled_when.values; NULL/empty: presence */
	char *attrs[_LF_MAX];        /* LDAP attribute per record field */
	char **request_attrs;        /* what searches ask for */
};

/* ldap-conf.c */
int ldap_settings_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		       const char *name, struct ldap_source **ret);
void ldap_source_free(struct ldap_source *src);

/* ldap-conn.c: connect to the first URI that answers, secured and bound.
 * On failure *ret is NULL and why says what happened (no secret). */
int dir_connect(const struct ldap_source *src, LDAP **ret, char *why, size_t why_size);
struct timeval dir_timeval(uint64_t usec);
/* libldap initialised without loading SASL modules (before any other call). */
void dir_library_init(void);
/* Read the established connection's socket in large chunks (listings). */
void dir_readahead(LDAP *ld);

/* ldap-paged.c */
struct search_outcome {
	bool complete;               /* the server said success for every page */
	unsigned long entries;
	char reason[256];            /* why not complete */
};
typedef int (*ldap_entry_fn)(void *userdata, LDAP *ld, LDAPMessage *entry);
/* extra: one more server control for every page (show-deleted), or NULL. */
int dir_paged_search(LDAP *ld, const struct ldap_source *src, const char *base, int scope,
		      const char *filter, char **attrs, LDAPControl *extra, ldap_entry_fn fn, void *userdata,
		      struct search_outcome *out);

/* ldap-groups.c */
struct group_graph;
/* ldap-dn.c: a DN in the one form comparisons use (normalised, lower
 * case; malloc'd), whether one such key lies below another, and the value
 * of a DN's first RDN ("cn=Surgeons,ou=groups,..." -> "Surgeons"). */
char *dir_dn_key(const char *dn);
bool dir_dn_key_under(const char *key, const char *base);
char *dir_dn_first_value(const char *dn);
/* ldap-groups-lazy.c: read dn as a group (base scope, group_filter):
 * 1 it is one (its entry in *res, ldap_msgfree), 0 not, -EIO. */
int dir_read_group(LDAP *ld, const struct ldap_source *src, const char *dn, char **attrs, LDAPMessage **res);
int group_graph_load(LDAP *ld, const struct ldap_source *src, struct group_graph **ret,
		     struct search_outcome *out);
void group_graph_free(struct group_graph *g);
/* Which groups are nested in which: normalised group DN -> [nested DNs]. */
int group_graph_nesting(const struct group_graph *g, json_t **ret);
/* A graph that looks groups up as users need them (incremental runs). */
int group_graph_lazy(LDAP *ld, const struct ldap_source *src, struct group_graph **ret);
/* The flattened groups of a user (cn and DN of each), NULL-terminated,
 * pointing into the graph or into memberof (valid until the next call). */
int group_graph_user_groups(struct group_graph *g, const char *user_dn,
			    const char *const *memberof, const char *const **ret);

/* ldap-entry.c */
struct entry_builder;
int entry_builder_new(const struct ldap_source *src, struct group_graph *groups,
		      struct entry_builder **ret);
void entry_builder_free(struct entry_builder *b);
/* Emit each id once from now on (increments that re-read users). */
int entry_builder_once(struct entry_builder *b);
/* How many entries had direct-membership (memberOf) values. */
unsigned long entry_builder_memberof_count(const struct entry_builder *b);
/* Emit the entry as a record: 1 emitted, 2 not emitted again (its id was,
 * with entry_builder_once), 0 skipped (no id: *skip_reason set), negative
 * errno from emit or ENOMEM. */
int entry_emit(struct entry_builder *b, LDAP *ld, LDAPMessage *entry,
	       ss_emit_fn emit, void *userdata, const char **skip_reason);

/* ldap-ad.c */
int ad_guid_to_string(const struct berval *v, char *buf, size_t size);
bool ad_account_disabled(const struct berval *uac);
void uuid_to_string(const unsigned char u[16], char buf[37]);
/* Complete a ranged attribute (member;range=0-1499) by further base
 * searches, range_size values at a time when it is set: the whole value
 * list in *ret (ber_bvecfree), -EIO if a range could not be read or does
 * not continue the last one (the caller's listing is then incomplete). */
int ad_range_complete(LDAP *ld, const struct ldap_source *src, const char *dn,
		      const char *attr, LDAPMessage *entry, struct berval ***ret);

/* ldap-usn.c: Active Directory's uSNChanged increments */
struct ad_dc {
	char invocation_id[40];
	char naming_context[512];
	uint64_t usn;                /* highestCommittedUSN */
};
int ad_dc_state(LDAP *ld, const struct ldap_source *src, struct ad_dc *out);
int ad_groups_changed(LDAP *ld, const struct ldap_source *src, uint64_t usn);
/* Users gone since usn, emitted as deleted: tombstones, and users moved out
 * of base_dn or no longer matching the filter (changed in the naming
 * context up to dc->usn, yet not in scope). out->complete false when any of
 * these searches fell short: the listing must then be incomplete. */
int ad_read_tombstones(LDAP *ld, const struct ldap_source *src, const struct ad_dc *dc, uint64_t usn,
		       ss_emit_fn emit, void *userdata, unsigned long *emitted, struct search_outcome *out);

/* ldap-sync.c */
struct sync_request {
	const char *base;
	int scope;                   /* LDAP_SCOPE_* */
	const char *filter;
	const char *cookie;          /* NULL: from the start */
	bool count_only;             /* no attributes, no records: only emitted counts changes */
};
struct sync_result {
	bool complete;
	bool present_phase;          /* the server could not list what was deleted */
	bool refresh_required;
	char *cookie;                /* malloc'd; set when complete */
	unsigned long emitted;       /* records emitted, or changes counted */
	char **changed;              /* count_only: DNs of the changed entries (lstrv_free) */
	char reason[256];
};
/* emit NULL: count the changes only (count_only should then be set). */
int dir_sync_refresh(LDAP *ld, const struct ldap_source *src, const struct sync_request *rq,
		      struct entry_builder *b, ss_emit_fn emit, void *userdata, struct sync_result *out);

/* ldap-members.c: the users below changed groups, to fn (increments) */
/* nesting: normalised group DN -> [DNs of the groups nested in it], as the
 * cursor knew it; updated for the changed groups (and, after deletions,
 * for the groups that are gone). */
int dir_reread_group_members(LDAP *ld, const struct ldap_source *src, char *const *groups, bool deletions,
			     json_t *nesting, ldap_entry_fn fn, void *userdata, struct search_outcome *out);

static inline void controls_freep(LDAPControl ***c) { ldap_controls_free(*c); }
static inline void dir_memfreep(char **p) { ldap_memfree(*p); }

static inline bool dialect_is_ad(const struct ldap_source *src)
{
	return src->dialect == DIALECT_AD;
}

/* ldap-strv.c */
size_t lstrv_length(char *const *v);
void lstrv_free(char **v);
int lstrv_push(char ***v, const char *s);     /* copies s */
bool lstrv_contains_case(char *const *v, const char *s);
char *lstr_lower(const char *s);
