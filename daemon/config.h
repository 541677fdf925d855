/* SPDX-License-Identifier: MIT */
/* The configuration (YAML, DESIGN.md) as typed structures. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>
#include "domain.h"
#include "staffsync-plugin.h"

#define USEC_PER_SEC SS_USEC_PER_SEC
#define DURATION_NEVER SS_DURATION_NEVER

/* Record fields a role may require (cfg_role_rule.requires). */
enum {
	SS_REQ_EMAIL       = 1u << 0,
	SS_REQ_SPECIALITY  = 1u << 1,
	SS_REQ_EMPLOYEE_ID = 1u << 2,
	SS_REQ_GIVEN_NAME  = 1u << 3,
	SS_REQ_FAMILY_NAME = 1u << 4,
};

/* A limit given as a percentage, a count, or both (whichever is lower wins). */
struct cfg_limit {
	double percent;          /* < 0: not set */
	long count;              /* < 0: not set */
};

struct cfg_plugin_ref {
	char *name;              /* sources: the source's name; target: "target" */
	char *type;              /* plugin name: csv, ldap, sqlite, scim */
	const yaml_node_t *node; /* the whole mapping, for the plugin to parse */
	const struct ss_plugin *plugin;   /* set by plugins_open() */
	void *instance;
};

struct cfg_facility {
	char *id;                /* short id (the subdomain) */
	char *name;              /* display name; defaults to id */
	enum ss_platform platform;
	char **match_facility;   /* record facility hint equals one (case-insensitive) */
	char **match_group;      /* record is in one of these groups */
	char **match_dn_suffix;  /* record DN ends with one (case-insensitive) */
	/* Every key given must hold (AND); within a key any value (OR). */
};

struct cfg_role_rule {
	enum ss_role role;
	char *label;             /* Personnel only: Lab, Chemist */
	char **groups;           /* NULL: matches everyone */
	char **facilities;       /* NULL: every facility */
	unsigned requires;       /* SS_REQ_* */
	int line;                /* 1-based, for explain */
};

struct cfg_permissions {
	enum ss_level default_level;
	char **levels[_SS_LEVEL_MAX];   /* groups granting each level */
	bool allow_global_admin;
};

enum cfg_facilities_per_person {
	CFG_FACILITIES_ONE,      /* one primary facility: the first whose match holds */
	CFG_FACILITIES_MANY,     /* every facility whose match holds */
};

enum cfg_invite_delivery {
	CFG_INVITE_PLATFORM,
	CFG_INVITE_SMTP,
	CFG_INVITE_NONE,
};

/* accounts.smtp: invite e-mail sent by staffsync itself (invite-mail.c). */
struct cfg_smtp {
	char *url;               /* smtp://host:587 (STARTTLS required) or smtps://host (implicit TLS) */
	char *from;              /* "Name <address>" or an address */
	char *username;          /* AUTH; NULL: none */
	char *password_file;     /* absolute */
	char *password_credential;  /* a systemd credential name instead */
	char *sign_in_url;       /* may hold {facility} */
	char *ca_file;           /* absolute; NULL: the system trust store */
	char *template_file;     /* absolute; NULL: the built-in text */
	bool starttls;           /* false only accepted for a loopback smtp:// server */
	uint64_t timeout;
	unsigned long max_attempts;  /* a mail the server refuses is tried this often, then failed */
	uint64_t retry_delay;    /* before the first retry; doubled for each further one */
};

struct cfg_accounts {
	bool invite_on_create;   /* the welcome-email toggle */
	uint64_t invite_delay;   /* welcome toggle off: invite this long after creation; DURATION_NEVER: never */
	uint64_t resend_after;
	unsigned long max_resends;
	enum cfg_invite_delivery invite_delivery;
	const yaml_node_t *smtp; /* kept for the SMTP delivery */
	struct cfg_smtp smtp_conf;   /* parsed when the section is present */
};

struct cfg_leavers {
	unsigned long grace_runs;          /* complete full listings a person must be missing from */
	struct cfg_limit max_deactivations;/* default 10% and 500 */
	double max_shrink;                 /* fraction: the source may shrink by at most this against its last good full listing */
};

struct cfg_schedule {
	uint64_t interval;
	uint64_t full_every;
	uint64_t jitter;
};

struct config {
	char *file;
	char *state_dir;
	char *plugin_dir;        /* NULL: the built-in default */
	struct cfg_schedule schedule;
	struct cfg_plugin_ref *sources;
	size_t n_sources;
	struct cfg_plugin_ref target;
	enum cfg_facilities_per_person facilities_per_person;
	struct cfg_facility *facilities;
	size_t n_facilities;
	struct cfg_role_rule *roles;
	size_t n_roles;
	struct cfg_permissions permissions;
	struct cfg_accounts accounts;
	struct cfg_leavers leavers;

	/* The parsed document stays alive: plugins read their nodes from it,
	 * and their errors are added to the same list. */
	ss_conf *conf;
};

/* Errors found while loading: each one "FILE:LINE:COLUMN: message". */
struct config_errors {
	char **lines;
	size_t n;
};

/* Parse and validate the core of the configuration (everything but the
 * plugins' own keys, which plugin_loader_open() checks next, adding its
 * errors to the same list through c->conf). Every error is collected, not
 * only the first. On -EINVAL (errors recorded) *ret is still set when the
 * document could be parsed, so plugins can be checked too; the caller frees
 * it. Another negative errno (unreadable file) comes with one error line. */
int config_load(const char *path, struct config **ret, struct config_errors *errors);
void config_free(struct config *c);
void config_errors_clear(struct config_errors *e);

/* The host services given to plugins (conf helpers, logging). */
extern const struct ss_host ss_host_services;

/* 30s, 15m, 24h, 7d, 500ms, "never" -> DURATION_NEVER; bare number = seconds. */
int parse_duration(const char *s, uint64_t *usec);
/* "5%" -> percent 5, "500" -> count 500; a list [10%, 500] sets both. */
int parse_limit_scalar(const char *s, struct cfg_limit *l);

/* The facility of the config with this id, or NULL. */
const struct cfg_facility *config_facility(const struct config *c, const char *id);
