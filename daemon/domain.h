/* SPDX-License-Identifier: MIT */
/* The workspace vocabulary: clinical roles, permission levels, statuses,
 * and which platform (surgical or clinic) knows which role. */
#pragma once

#include <stdbool.h>
#include "staffsync-plugin.h"

enum ss_role {
	SS_ROLE_SURGEON,
	SS_ROLE_ANESTHESIOLOGIST,
	SS_ROLE_NURSE,
	SS_ROLE_TECH,
	SS_ROLE_ADMIN,
	SS_ROLE_DOCTOR,
	SS_ROLE_PERSONNEL,
	SS_ROLE_PATIENT,         /* never assigned, never touched */
	_SS_ROLE_MAX,
	SS_ROLE_INVALID = -1,
};

enum ss_level {
	SS_LEVEL_STAFF,
	SS_LEVEL_COORDINATOR,
	SS_LEVEL_FACILITY_ADMIN,
	SS_LEVEL_GLOBAL_ADMIN,
	_SS_LEVEL_MAX,
	SS_LEVEL_INVALID = -1,
};

/* Which platform a facility is on decides which roles exist there. */
enum ss_platform {
	SS_PLATFORM_ANY,         /* both vocabularies */
	SS_PLATFORM_SURGICAL,    /* Surgeon, Anesthesiologist, Nurse, Tech, Admin */
	SS_PLATFORM_CLINIC,      /* Doctor, Admin, Personnel (Patient: never managed) */
	_SS_PLATFORM_MAX,
};

const char *ss_role_name(enum ss_role r);
enum ss_role ss_role_from_name(const char *s);          /* case-insensitive */
const char *ss_level_name(enum ss_level l);
enum ss_level ss_level_from_name(const char *s);        /* case-insensitive */
const char *ss_status_name(enum ss_status s);           /* no_account pending active deactivated */
int ss_status_from_name(const char *s);                 /* -EINVAL if unknown */
const char *ss_op_kind_name(enum ss_op_kind k);         /* create invite resend_invite ... */
const char *ss_platform_name(enum ss_platform p);
bool ss_platform_has_role(enum ss_platform p, enum ss_role r);

/* A syntactically plausible email address: one @, a dot in the domain,
 * no spaces or control characters, at most 254 bytes. */
bool ss_email_valid(const char *email);
