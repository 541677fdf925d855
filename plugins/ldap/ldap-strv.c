/* SPDX-License-Identifier: MIT */
/*
 * String vectors for the ldap source. A plugin links no daemon code, so it
 * cannot use daemon/util.c's strv_*; these are the few it needs, under
 * names of its own so they never interpose on the daemon's.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ldap-source.h"

size_t lstrv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void lstrv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int lstrv_push(char ***v, const char *s)
{
	size_t n = lstrv_length(*v);
	char *copy = strdup(s);
	char **grown = copy ? realloc(*v, (n + 2) * sizeof(char *)) : NULL;
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[n] = copy;
	grown[n + 1] = NULL;
	*v = grown;
	return 0;
}

bool lstrv_contains_case(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcasecmp(v[i], s) == 0)
			return true;
	return false;
}

char *lstr_lower(const char *s)
{
	char *l = strdup(s);
	for (char *p = l; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}
