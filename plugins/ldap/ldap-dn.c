/* SPDX-License-Identifier: MIT */
/*
 * Distinguished names compared: one normalised, lower-case form (a "key"),
 * and what lies under what.
 */
#include <ctype.h>
#include <string.h>

#include "ldap-source.h"
#include "util.h"

/* Whether libldap's normalisation would give back the DN as it is, but
 * for case: only letters, digits and "=,.-_", and spaces between two
 * letters or digits (where normalisation keeps them). Most DNs are like
 * this, and the check costs a fraction of a parse. */
static bool dn_plain(const char *dn)
{
	const unsigned char *p = (const unsigned char *)dn;
	unsigned equals = 0;   /* in the current RDN: exactly one */
	if (!*p || *p == ' ')
		return false;
	for (size_t i = 0; p[i]; i++) {
		unsigned char c = p[i];
		if (c == '=')
			equals++;
		else if (c == ',' && equals != 1)
			return false;
		else if (c == ',')
			equals = 0;
		else if (c == ' ' && !(i > 0 && isalnum(p[i - 1]) && isalnum(p[i + 1])))
			return false;
		else if (c != ' ' && !isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
	}
	return equals == 1;
}

/* A DN in the one form comparisons use. malloc'd; NULL on ENOMEM. */
char *dir_dn_key(const char *dn)
{
	if (dn_plain(dn))
		return lstr_lower(dn);
	char *norm = NULL;
	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !norm)
		norm = NULL;
	char *key = lstr_lower(norm ? norm : dn);
	ldap_memfree(norm);
	return key;
}

/* The value of a DN's first RDN: "cn=Surgeons,ou=groups,..." -> "Surgeons". */
char *dir_dn_first_value(const char *dn)
{
	LDAPDN parsed = NULL;
	char *v = NULL;
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAP) == LDAP_SUCCESS && parsed && parsed[0] && parsed[0][0])
		v = strndup(parsed[0][0]->la_value.bv_val, parsed[0][0]->la_value.bv_len);
	ldap_dnfree(parsed);
	return v;
}

bool dir_dn_key_under(const char *key, const char *base)
{
	size_t kl = strlen(key), bl = strlen(base);
	return kl > bl && key[kl - bl - 1] == ',' && streq(key + kl - bl, base);
}
