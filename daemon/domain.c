/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <strings.h>
#include "domain.h"
#include "util.h"

static const char *const role_names[_SS_ROLE_MAX] = {
	[SS_ROLE_SURGEON] = "Surgeon",
	[SS_ROLE_ANESTHESIOLOGIST] = "Anesthesiologist",
	[SS_ROLE_NURSE] = "Nurse",
	[SS_ROLE_TECH] = "Tech",
	[SS_ROLE_ADMIN] = "Admin",
	[SS_ROLE_DOCTOR] = "Doctor",
	[SS_ROLE_PERSONNEL] = "Personnel",
	[SS_ROLE_PATIENT] = "Patient",
};

static const char *const level_names[_SS_LEVEL_MAX] = {
	[SS_LEVEL_STAFF] = "Staff",
	[SS_LEVEL_COORDINATOR] = "Coordinator",
	[SS_LEVEL_FACILITY_ADMIN] = "Facility Admin",
	[SS_LEVEL_GLOBAL_ADMIN] = "Global Admin",
};

static const char *const platform_names[_SS_PLATFORM_MAX] = {
	[SS_PLATFORM_ANY] = "any",
	[SS_PLATFORM_SURGICAL] = "surgical",
	[SS_PLATFORM_CLINIC] = "clinic",
};

const char *ss_role_name(enum ss_role r)
{
	return r >= 0 && r < _SS_ROLE_MAX ? role_names[r] : NULL;
}

enum ss_role ss_role_from_name(const char *s)
{
	for (int i = 0; s && i < _SS_ROLE_MAX; i++)
		if (strcasecmp(s, role_names[i]) == 0)
			return (enum ss_role)i;
	return SS_ROLE_INVALID;
}

const char *ss_level_name(enum ss_level l)
{
	return l >= 0 && l < _SS_LEVEL_MAX ? level_names[l] : NULL;
}

enum ss_level ss_level_from_name(const char *s)
{
	for (int i = 0; s && i < _SS_LEVEL_MAX; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (enum ss_level)i;
	return SS_LEVEL_INVALID;
}

const char *ss_status_name(enum ss_status s)
{
	const char *n = ss_status_to_string(s);
	return n ? n : "unknown";
}

int ss_status_from_name(const char *s)
{
	enum ss_status st;
	return ss_status_from_string(s, &st) < 0 ? -EINVAL : (int)st;
}

const char *ss_op_kind_name(enum ss_op_kind k)
{
	return ss_op_kind_to_string(k);
}

const char *ss_platform_name(enum ss_platform p)
{
	return (unsigned)p < _SS_PLATFORM_MAX ? platform_names[p] : "unknown";
}

bool ss_platform_has_role(enum ss_platform p, enum ss_role r)
{
	if (r == SS_ROLE_PATIENT)
		return false;   /* never assigned by staffsync, on any platform */
	switch (p) {
	case SS_PLATFORM_SURGICAL:
		return r == SS_ROLE_SURGEON || r == SS_ROLE_ANESTHESIOLOGIST ||
		       r == SS_ROLE_NURSE || r == SS_ROLE_TECH || r == SS_ROLE_ADMIN;
	case SS_PLATFORM_CLINIC:
		return r == SS_ROLE_DOCTOR || r == SS_ROLE_ADMIN || r == SS_ROLE_PERSONNEL;
	default:
		return r >= 0 && r < _SS_ROLE_MAX;
	}
}

bool ss_email_valid(const char *email)
{
	if (!email || strlen(email) > 254)
		return false;
	const char *at = strchr(email, '@');
	if (!at || at == email || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *p = (const unsigned char *)email; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' || *p == '<' || *p == '>')
			return false;
	const char *dot = strchr(at + 1, '.');
	return dot && dot > at + 1 && dot[1] != 0 && email[strlen(email) - 1] != '.';
}
