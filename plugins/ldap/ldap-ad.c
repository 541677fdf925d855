/* SPDX-License-Identifier: MIT */
/*
 * Active Directory specifics: objectGUID as its canonical string,
 * userAccountControl's ACCOUNTDISABLE bit, and range retrieval of
 * multi-valued attributes beyond the server's per-attribute limit (1,500
 * member values), so that a large group is never silently cut. With
 * range_size set the plugin asks for every range itself (Samba sends all
 * values at once unless asked for a range: it has no MaxValRange).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ldap-source.h"
#include "util.h"

#define UF_ACCOUNTDISABLE 0x2

void uuid_to_string(const unsigned char u[16], char buf[37])
{
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* objectGUID is stored little-endian in its first three fields; the
 * canonical form (what AD tools print) swaps them back. */
int ad_guid_to_string(const struct berval *v, char *buf, size_t size)
{
	if (!v || v->bv_len != 16 || size < 37)
		return -EINVAL;
	const unsigned char *g = (const unsigned char *)v->bv_val;
	unsigned char u[16] = { g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6] };
	memcpy(u + 8, g + 8, 8);
	uuid_to_string(u, buf);
	return 0;
}

bool ad_account_disabled(const struct berval *uac)
{
	if (!uac || uac->bv_len == 0 || uac->bv_len > 20)
		return false;
	char num[24];
	memcpy(num, uac->bv_val, uac->bv_len);
	num[uac->bv_len] = '\0';
	return (strtoll(num, NULL, 10) & UF_ACCOUNTDISABLE) != 0;
}

/* "member;range=1500-2999" -> 1500 in *first, 2999 in *last (-1 for "*",
 * the final range). */
static bool parse_range(const char *name, const char *attr, long *first, long *last)
{
	size_t n = strlen(attr);
	if (strncasecmp(name, attr, n) != 0 || strncasecmp(name + n, ";range=", 7) != 0)
		return false;
	char *dash = NULL;
	*first = strtol(name + n + 7, &dash, 10);
	if (dash == name + n + 7 || *dash != '-')
		return false;
	*last = streq(dash + 1, "*") ? -1 : strtol(dash + 1, NULL, 10);
	return true;
}

/* The values of the range that continues the *n read so far; a range that
 * starts elsewhere or does not move on (a server that changed its mind, a
 * group that changed between two requests) is -EIO: counting on it could
 * drop or double members. */
static int append_values(LDAP *ld, LDAPMessage *entry, const char *attr, struct berval ***all,
			 size_t *n, long *last)
{
	BerElement *ber = NULL;
	bool found = false, continues = false;
	long first = 0;
	for (char *a = ldap_first_attribute(ld, entry, &ber); a; a = ldap_next_attribute(ld, entry, ber)) {
		if (!found && parse_range(a, attr, &first, last)) {
			found = true;
			continues = first == (long)*n && (*last < 0 || *last >= first);
			if (!continues) {
				ldap_memfree(a);
				break;
			}
			struct berval **v = ldap_get_values_len(ld, entry, a);
			size_t k = v ? (size_t)ldap_count_values_len(v) : 0;
			struct berval **grown = realloc(*all, (*n + k + 1) * sizeof(**all));
			if (!grown) {
				ldap_value_free_len(v);
				ldap_memfree(a);
				ber_free(ber, 0);
				return -ENOMEM;
			}
			*all = grown;
			for (size_t i = 0; i < k; i++)
				(*all)[(*n)++] = ber_bvdup(v[i]);
			(*all)[*n] = NULL;
			ldap_value_free_len(v);
		}
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	return found && continues ? 0 : -EIO;
}

int ad_range_complete(LDAP *ld, const struct ldap_source *src, const char *dn,
		      const char *attr, LDAPMessage *entry, struct berval ***ret)
{
	struct berval **all = NULL;
	size_t n = 0;
	long last = 0;
	int r = append_values(ld, entry, attr, &all, &n, &last);
	struct timeval tv = dir_timeval(src->timeout);
	while (r >= 0 && last >= 0) {
		char want[128];
		if (src->range_size > 0)
			snprintf(want, sizeof want, "%s;range=%ld-%ld", attr, last + 1, last + src->range_size);
		else
			snprintf(want, sizeof want, "%s;range=%ld-*", attr, last + 1);
		char *attrs[] = { want, NULL };
		LDAPMessage *res = NULL;
		int rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
					   NULL, NULL, &tv, 0, &res);
		LDAPMessage *e = rc == LDAP_SUCCESS ? ldap_first_entry(ld, res) : NULL;
		r = e ? append_values(ld, e, attr, &all, &n, &last) : -EIO;
		ldap_msgfree(res);
	}
	if (r < 0) {
		ber_bvecfree(all);
		return r;
	}
	*ret = all;
	return 0;
}
