/* SPDX-License-Identifier: MIT */
/*
 * staffsync plugin API.
 *
 * A plugin is a shared object that exports one function, staffsync_plugin(),
 * returning a descriptor (struct ss_plugin). The loader refuses a descriptor
 * whose major abi_version differs from SS_PLUGIN_ABI_VERSION.
 *
 * Sources stream normalised person records (struct ss_record) and say how
 * complete their listing was. Targets are the workspaces: they look up the
 * memberships they hold and apply operations (struct ss_op).
 *
 * Everything a plugin needs from the daemon (logging, configuration parsing
 * with file positions) comes through struct ss_host, so a plugin resolves no
 * symbols of the daemon. Live handles belong to the plugin instance.
 *
 * Ownership: strings inside a struct ss_record handed to an emit callback are
 * borrowed for the duration of the call. Strings a target writes into a
 * struct ss_member are malloc'd and owned by the caller (ss_member_clear()).
 * Functions return 0 (or a count) on success and a negative errno on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <yaml.h>

#define SS_PLUGIN_ABI_VERSION 1u
#define SS_PLUGIN_ENTRY_SYMBOL "staffsync_plugin"

/* Additions to ABI 1 that plugins built before them lack: a plugin says
 * which it knows by setting abi_version to SS_PLUGIN_ABI (the revision in
 * the upper 16 bits). The loader compares the low 16 bits only, and reads
 * a member appended to a struct the plugin defines (struct ss_target_ops)
 * only when the plugin's revision has it: a plugin built before has no
 * such member, and reading past the end of its struct would be reading
 * garbage, not NULL.
 *   revision 1: ss_target_ops.lookup_username, SS_OP_REFUSED */
#define SS_PLUGIN_ABI_REVISION 1u
#define SS_PLUGIN_ABI (SS_PLUGIN_ABI_VERSION | SS_PLUGIN_ABI_REVISION << 16)

#define SS_USEC_PER_SEC 1000000ULL
#define SS_DURATION_NEVER UINT64_MAX   /* an SS_CONF_DURATION of "never" */

/* ---------------------------------------------------------------- host --- */

/* One YAML configuration document being checked: its file name and the list
 * of errors found so far. Opaque to plugins. */
typedef struct ss_conf ss_conf;

enum ss_conf_type {
	SS_CONF_SKIP,        /* key owned by the core (name, type): accepted, not stored */
	SS_CONF_STRING,      /* char *, malloc'd */
	SS_CONF_BOOL,        /* bool */
	SS_CONF_UINT,        /* unsigned long */
	SS_CONF_DURATION,    /* uint64_t microseconds: 500ms 30s 15m 24h 7d; bare number = seconds */
	SS_CONF_CHAR,        /* char: a one-character string ("\t" accepted) */
	SS_CONF_STRING_LIST, /* char **, NULL-terminated; a scalar is a one-element list */
	SS_CONF_STRING_MAP,  /* char **, NULL-terminated key, value, key, value, ... (flat mapping of scalars) */
	SS_CONF_ENUM,        /* int: index of the value in .choices */
	SS_CONF_NODE,        /* const yaml_node_t *: kept for the caller to read itself */
};

struct ss_conf_key {
	const char *name;
	enum ss_conf_type type;
	size_t offset;                /* offsetof() the field in the output struct */
	bool required;
	const char *const *choices;   /* SS_CONF_ENUM: NULL-terminated list of accepted values */
};

struct ss_host {
	unsigned abi_version;

	/* syslog priority (LOG_ERR ... LOG_DEBUG). Plugins log only at LOG_DEBUG
	 * or for progress; errors are returned to the caller, which logs once. */
	void (*log)(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

	/* Record a configuration error at the node's position:
	 * "FILE:LINE:COLUMN: message". */
	void (*conf_error)(ss_conf *c, const yaml_node_t *at, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Parse the mapping node into out according to keys (a table ended by a
	 * key with name == NULL). Unknown keys, wrong types and missing required
	 * keys are recorded as errors; fields of absent keys are left untouched
	 * (so callers set defaults first). Returns the number of errors found. */
	int (*conf_parse)(ss_conf *c, const yaml_node_t *mapping,
			  const struct ss_conf_key *keys, void *out);

	/* Free what conf_parse allocated in out (strings, lists, maps). */
	void (*conf_free)(const struct ss_conf_key *keys, void *out);

	/* The value node of key in a mapping node, or NULL. */
	const yaml_node_t *(*conf_get)(ss_conf *c, const yaml_node_t *mapping, const char *key);

	/* A node of the document by index (for walking sequences and mappings). */
	const yaml_node_t *(*conf_node)(ss_conf *c, int index);

	/* The configuration file's path. */
	const char *(*conf_file)(ss_conf *c);

	/* A path from the configuration made absolute: a relative path is taken
	 * relative to the configuration file's folder. malloc'd; NULL on ENOMEM. */
	char *(*conf_path)(ss_conf *c, const char *path);

	/* The configured state_dir (absolute), where plugins may keep files
	 * (the default workspace store lives there). */
	const char *(*conf_state_dir)(ss_conf *c);
};

/* -------------------------------------------------------------- records --- */

/* A raw source attribute, for mapping rules that name one. */
struct ss_attr {
	const char *name;
	const char *const *values;   /* NULL-terminated */
};

/* One person as a source read them, normalised. Absent fields are NULL. */
struct ss_record {
	const char *id;              /* stable identity: entryUUID, objectGUID, employee number */
	const char *origin;          /* where it came from, for messages: "row 17", "entry cn=..." */
	const char *dn;              /* directory entries only */
	const char *given_name;
	const char *family_name;
	const char *email;
	const char *employee_id;
	const char *speciality;
	const char *const *groups;       /* NULL-terminated; nested groups already flattened */
	const char *const *facilities;   /* NULL-terminated facility hints (site, office, l) */
	const struct ss_attr *attrs;     /* raw attributes */
	size_t n_attrs;
	bool enabled;                /* false: disabled in the source, a leaver for the engine */
	bool deleted;                /* authoritative deletion from a change feed (incremental) */
	const char *error;           /* non-NULL: the record is bad; the person is held with this reason */
};

/* How complete a source's listing was. Only a complete full listing (or an
 * authoritative change feed's deletions) may lead to deactivations. */
enum ss_listing {
	SS_LISTING_FULL,         /* every person the source holds was emitted */
	SS_LISTING_INCREMENTAL,  /* only changes since the cursor were emitted */
	SS_LISTING_INCOMPLETE,   /* some records were emitted, but not all: size limit, truncated file */
	SS_LISTING_FAILED,       /* nothing trustworthy was read */
};

struct ss_read_request {
	bool full;               /* a complete listing is required (ignore the cursor) */
	const char *cursor;      /* from the last successful read, or NULL */
	int64_t now;             /* seconds since the epoch, for age checks */
};

struct ss_read_result {
	enum ss_listing listing;
	char *cursor;            /* malloc'd new cursor to keep, or NULL */
	char reason[512];        /* why the listing is incomplete or failed */
	unsigned long records;   /* records emitted */
	unsigned long bad;       /* records emitted with an error */
};

/* Called for each record; a negative return aborts the read with that error. */
typedef int (*ss_emit_fn)(void *userdata, const struct ss_record *record);

struct ss_source_ops {
	/* Parse the source's YAML mapping (name and type are the core's: list
	 * them as SS_CONF_SKIP) and create an instance. No I/O to the source here:
	 * --check-config calls it. Returns 0, or -EINVAL after recording errors. */
	int (*open)(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		    const char *name, void **instance);
	/* Stream the records. Returns 0 when result->listing says what happened
	 * (an unreachable source is listing FAILED with a reason, not an error),
	 * or a negative errno when the callback aborted or memory ran out. */
	int (*read)(void *instance, const struct ss_read_request *request,
		    ss_emit_fn emit, void *userdata, struct ss_read_result *result);
	void (*close)(void *instance);
};

/* ---------------------------------------------------------- workspaces --- */

enum ss_status {
	SS_STATUS_NO_ACCOUNT,    /* staff record without login */
	SS_STATUS_PENDING,       /* invited, not signed in yet */
	SS_STATUS_ACTIVE,
	SS_STATUS_DEACTIVATED,   /* soft delete: login revoked, history kept */
};

/* The status names of DESIGN.md (workspace_users.status). */
static inline const char *ss_status_to_string(enum ss_status s)
{
	static const char *const names[] = { "no_account", "pending", "active", "deactivated" };
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : NULL;
}

/* 0 and *ret set, or -EINVAL for a name that is not a status. */
static inline int ss_status_from_string(const char *s, enum ss_status *ret)
{
	for (unsigned i = 0; s && ss_status_to_string((enum ss_status)i); i++)
		if (__builtin_strcmp(s, ss_status_to_string((enum ss_status)i)) == 0) {
			*ret = (enum ss_status)i;
			return 0;
		}
	return -22;   /* -EINVAL, without making every plugin include errno.h first */
}

/* A membership: one person in one workspace. */
struct ss_member {
	char *facility;
	char *external_id;       /* the source's stable id; NULL for rows staffsync does not manage */
	char *given_name;
	char *family_name;
	char *email;
	char *role;              /* Surgeon, Doctor, Personnel, ... Patient */
	char *label;             /* Personnel: Lab, Chemist */
	char *permission_level;  /* Staff, Coordinator, Facility Admin, Global Admin */
	char *speciality;
	enum ss_status status;
	bool managed;            /* created or adopted by staffsync */
	char *ref;               /* the target's own id for the row */
};

static inline void ss_member_clear(struct ss_member *m)
{
	free(m->facility); free(m->external_id); free(m->given_name);
	free(m->family_name); free(m->email); free(m->role); free(m->label);
	free(m->permission_level); free(m->speciality); free(m->ref);
	*m = (struct ss_member){0};
}

enum ss_op_kind {
	SS_OP_CREATE,
	SS_OP_INVITE,
	SS_OP_RESEND_INVITE,
	SS_OP_UPDATE,
	SS_OP_MOVE,
	SS_OP_DEACTIVATE,
	SS_OP_REACTIVATE,
	SS_OP_HOLD,              /* never sent to a target */
	SS_OP_ADOPT,             /* link an existing unmanaged row (matched by email) */
	_SS_OP_MAX,
};

/* The operation names of DESIGN.md (create, invite, resend_invite, ...). */
static inline const char *ss_op_kind_to_string(enum ss_op_kind k)
{
	static const char *const names[_SS_OP_MAX] = {
		"create", "invite", "resend_invite", "update", "move",
		"deactivate", "reactivate", "hold", "adopt",
	};
	return (unsigned)k < _SS_OP_MAX ? names[k] : "unknown";
}

/* Fields an update changes (struct ss_op.changed). */
enum {
	SS_FIELD_GIVEN_NAME       = 1u << 0,
	SS_FIELD_FAMILY_NAME      = 1u << 1,
	SS_FIELD_EMAIL            = 1u << 2,
	SS_FIELD_ROLE             = 1u << 3,
	SS_FIELD_LABEL            = 1u << 4,
	SS_FIELD_PERMISSION_LEVEL = 1u << 5,
	SS_FIELD_SPECIALITY       = 1u << 6,
};

struct ss_op {
	enum ss_op_kind kind;
	char *key;               /* idempotency key: applying the same key twice has one effect */
	char *facility;          /* the workspace (the destination of a move) */
	char *from_facility;     /* move: where the person was */
	struct ss_member member; /* the membership as it must be after the operation */
	unsigned changed;        /* update/adopt: SS_FIELD_* bits */
	char *reason;            /* hold: why; others: a short human explanation */
};

/* ss_op_result.error when the target refuses this person's operation
 * for good (a uniqueness conflict, a value it does not accept: SCIM 400,
 * 409): retrying the same content cannot succeed. The engine holds the
 * person, with the message, until what the operation would write changes.
 * Any other failure that is not transient (authentication, TLS) is
 * journaled as failed and planned again: it is not about the person. A
 * value no errno takes, so that no plugin returns it by chance. */
#define SS_OP_REFUSED (-4096)

struct ss_op_result {
	int error;               /* 0, a negative errno, or SS_OP_REFUSED */
	bool transient;          /* worth retrying later (timeout, 5xx) */
	bool already;            /* the key had been applied before: nothing done now */
	char message[512];       /* the target's words on failure; never a secret */
};

typedef void (*ss_applied_fn)(void *userdata, const struct ss_op *op,
			      const struct ss_op_result *result);

struct ss_target_ops {
	int (*open)(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		    void **instance);
	/* Connect. With read_only nothing may be written (dry run). */
	int (*connect)(void *instance, bool read_only);
	/* Make sure a workspace exists (sqlite creates it; remote targets check). */
	int (*facility)(void *instance, const char *id, const char *name);
	/* The membership of facility with this external id: 1 found (out filled),
	 * 0 none, negative errno. */
	int (*lookup)(void *instance, const char *facility, const char *external_id,
		      struct ss_member *out);
	/* A membership of facility whose email matches case-insensitively and
	 * whose external id differs or is NULL: 1/0/negative errno. */
	int (*lookup_email)(void *instance, const char *facility, const char *email,
			    struct ss_member *out);
	/* Apply op (it stays valid until done is called). done may be called
	 * before apply returns or later, at flush at the latest; it is called
	 * only once the operation's effect is durable. Returns a negative errno
	 * only when the target cannot take operations at all. */
	int (*apply)(void *instance, const struct ss_op *op, ss_applied_fn done, void *userdata);
	/* Complete every applied operation and call its done callback. */
	int (*flush)(void *instance);
	void (*close)(void *instance);
	/* Revision 1 (read only when ss_plugin_abi_revision() >= 1), optional
	 * (NULL: the target has no user names; target.adopt: username is then
	 * refused by the configuration check). The membership of facility
	 * whose user name (the login the target knows an account by) is,
	 * case-insensitively, the one the target would give want (how it
	 * names accounts is the target's: its configuration), and whose
	 * external id differs from want's or is NULL: 1 found (out filled),
	 * 0 none, negative errno. */
	int (*lookup_username)(void *instance, const char *facility, const struct ss_member *want,
			       struct ss_member *out);
};

/* ----------------------------------------------------------- descriptor --- */

enum ss_plugin_kind {
	SS_PLUGIN_SOURCE,
	SS_PLUGIN_TARGET,
};

struct ss_plugin {
	unsigned abi_version;    /* SS_PLUGIN_ABI (or SS_PLUGIN_ABI_VERSION: revision 0) */
	enum ss_plugin_kind kind;
	const char *name;        /* the config's "type:" value */
	const char *description;
	const struct ss_source_ops *source;   /* kind == SS_PLUGIN_SOURCE */
	const struct ss_target_ops *target;   /* kind == SS_PLUGIN_TARGET */
};

typedef const struct ss_plugin *(*ss_plugin_entry_fn)(void);

/* The major ABI version a descriptor was built for, and its revision. */
static inline unsigned ss_plugin_abi_major(const struct ss_plugin *p)
{
	return p->abi_version & 0xffffu;
}

static inline unsigned ss_plugin_abi_revision(const struct ss_plugin *p)
{
	return p->abi_version >> 16;
}

/* The target's lookup_username, or NULL (none, or built before revision 1). */
static inline int (*ss_target_lookup_username(const struct ss_plugin *p))(
	void *, const char *, const struct ss_member *, struct ss_member *)
{
	if (p->kind != SS_PLUGIN_TARGET || !p->target || ss_plugin_abi_revision(p) < 1)
		return NULL;
	return p->target->lookup_username;
}

/* Every plugin defines this, returning a static descriptor. */
const struct ss_plugin *staffsync_plugin(void);
