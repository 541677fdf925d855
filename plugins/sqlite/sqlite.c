/* SPDX-License-Identifier: MIT */
/*
 * The embedded workspace store, staffsync's default target: facilities and
 * their memberships kept in a SQLite file the way a workspace platform would
 * keep them, so that a sync runs with nothing but a CSV export.
 *
 * Writes are batched: apply() runs each operation inside one open
 * transaction and flush() commits it, and only then are the operations'
 * done callbacks called, so the engine's journal marks an operation done
 * only once it is durable. Every operation carries an idempotency key that
 * is recorded with its effect, so replaying a key (after a crash between
 * COMMIT and the journal's own write) has no second effect.
 *
 * Nothing is ever deleted: leavers are deactivated, rows that move keep
 * their row id, their invites and their history.
 *
 * The plugin resolves no symbol of the daemon: only static inline helpers
 * of util.h are used here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "staffsync-plugin.h"
#include "util.h"

#define DEFAULT_STORE_NAME "workspaces.db"
#define BUSY_TIMEOUT_MS 5000
/* Commit on our own after this many operations, so that a long run keeps
 * its progress and its pending callbacks bounded. */
#define OPS_PER_TRANSACTION 10000
#define PATIENT_ROLE "Patient"
#define FAKE_NOW_ENV "STAFFSYNC_FAKE_NOW"

/* ------------------------------------------------------------- schema --- */

/*
 * (The CHECK constraints spell out "a = x OR a = y": an IN list there builds
 * a temporary index on every row written, a third of the cost of a create.)
 *
 * The stable contract of this store is its two views. Operators, scripts and
 * acceptance checks query them; their names, their columns (exactly these,
 * in this order) and the meaning of their values do not change:
 *
 *   workspace_users(facility, external_id, given_name, family_name, email,
 *                   role, label, permission_level, speciality, status)
 *     One row per membership (a person in one facility). external_id is the
 *     source's stable id of the person, NULL for rows the platform created
 *     itself. status is one of no_account, pending, active, deactivated.
 *
 *   workspace_invites(facility, external_id, email, kind, sent_at)
 *     One row per invitation e-mail: the facility it was sent for, the
 *     member's external id, the address, kind invite or resend, and sent_at
 *     in ISO 8601 UTC (2026-11-23T10:00:00Z).
 *
 * The tables behind the views belong to this plugin and may change from one
 * migration to the next. The migrations below run in order; PRAGMA
 * user_version holds how many have been applied. Append, never edit.
 */
static const char *const migrations[] = {
	/* 1: facilities, memberships, invites, and the log of applied keys. */
	"CREATE TABLE facilities (\n"
	"  id TEXT PRIMARY KEY NOT NULL,\n"
	"  name TEXT\n"
	");\n"
	"CREATE TABLE members (\n"
	"  id INTEGER PRIMARY KEY,\n"               /* the rowid: a member's ref */
	"  facility TEXT NOT NULL REFERENCES facilities(id),\n"
	"  external_id TEXT,\n"
	"  given_name TEXT,\n"
	"  family_name TEXT,\n"
	"  email TEXT,\n"
	"  role TEXT,\n"
	"  label TEXT,\n"
	"  permission_level TEXT,\n"
	"  speciality TEXT,\n"
	"  status TEXT NOT NULL DEFAULT 'no_account' CHECK (status = 'no_account'\n"
	"    OR status = 'pending' OR status = 'active' OR status = 'deactivated'),\n"
	"  status_before_deactivation TEXT CHECK (status_before_deactivation = 'no_account'\n"
	"    OR status_before_deactivation = 'pending' OR status_before_deactivation = 'active'),\n"
	"  managed INTEGER NOT NULL DEFAULT 0 CHECK (managed = 0 OR managed = 1),\n"
	"  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),\n"
	"  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),\n"
	"  UNIQUE (facility, external_id)\n"
	");\n"
	"CREATE INDEX members_by_email ON members (facility, email COLLATE NOCASE);\n"
	"CREATE TABLE invites (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  facility TEXT NOT NULL REFERENCES facilities(id),\n"
	"  member INTEGER NOT NULL REFERENCES members(id),\n"
	"  email TEXT NOT NULL,\n"
	"  kind TEXT NOT NULL CHECK (kind = 'invite' OR kind = 'resend'),\n"
	"  sent_at TEXT NOT NULL,\n"
	"  op_key TEXT UNIQUE\n"
	");\n"
	"CREATE INDEX invites_by_member ON invites (member);\n"
	/* Every applied operation, by idempotency key: what makes a replayed
	 * key a no-op even after later operations changed the row again. */
	"CREATE TABLE applied_ops (\n"
	"  op_key TEXT PRIMARY KEY NOT NULL,\n"
	"  kind TEXT NOT NULL,\n"
	"  facility TEXT NOT NULL,\n"
	"  member INTEGER REFERENCES members(id),\n"
	"  applied_at TEXT NOT NULL\n"
	") WITHOUT ROWID;\n",

	/* 2: the stable views (see above). */
	"CREATE VIEW workspace_users AS\n"
	"  SELECT facility, external_id, given_name, family_name, email, role, label,\n"
	"         permission_level, speciality, status\n"
	"  FROM members;\n"
	"CREATE VIEW workspace_invites AS\n"
	"  SELECT i.facility, m.external_id, i.email, i.kind, i.sent_at\n"
	"  FROM invites i JOIN members m ON m.id = i.member;\n",
};

#define SCHEMA_VERSION ((int) ELEMENTSOF(migrations))

/* The columns every membership query returns, in this order. */
#define MEMBER_COLUMNS \
	"id, facility, external_id, given_name, family_name, email, role, label, " \
	"permission_level, speciality, status, managed"

enum member_column {
	COL_ID,
	COL_FACILITY,
	COL_EXTERNAL_ID,
	COL_GIVEN_NAME,
	COL_FAMILY_NAME,
	COL_EMAIL,
	COL_ROLE,
	COL_LABEL,
	COL_PERMISSION_LEVEL,
	COL_SPECIALITY,
	COL_STATUS,
	COL_MANAGED,
};

/* The editable fields of a membership, in the order of the parameters of
 * STMT_INSERT_MEMBER (?3 ...) and of the (flag, value) pairs of
 * STMT_WRITE_FIELDS (?5, ?6 ...). */
static const struct member_field {
	unsigned bit;
	size_t offset;
} member_fields[] = {
	{ SS_FIELD_GIVEN_NAME,       offsetof(struct ss_member, given_name) },
	{ SS_FIELD_FAMILY_NAME,      offsetof(struct ss_member, family_name) },
	{ SS_FIELD_EMAIL,            offsetof(struct ss_member, email) },
	{ SS_FIELD_ROLE,             offsetof(struct ss_member, role) },
	{ SS_FIELD_LABEL,            offsetof(struct ss_member, label) },
	{ SS_FIELD_PERMISSION_LEVEL, offsetof(struct ss_member, permission_level) },
	{ SS_FIELD_SPECIALITY,       offsetof(struct ss_member, speciality) },
};

#define ALL_FIELDS (SS_FIELD_GIVEN_NAME | SS_FIELD_FAMILY_NAME | SS_FIELD_EMAIL | \
		    SS_FIELD_ROLE | SS_FIELD_LABEL | SS_FIELD_PERMISSION_LEVEL | \
		    SS_FIELD_SPECIALITY)

enum stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_FACILITY_UPSERT,
	STMT_FACILITY_EXISTS,
	STMT_MEMBER_BY_EXTERNAL_ID,
	STMT_MEMBER_BY_ID,
	STMT_MEMBER_BY_EMAIL,
	STMT_INSERT_MEMBER,
	STMT_WRITE_FIELDS,
	STMT_DEACTIVATE,
	STMT_REACTIVATE,
	STMT_SET_PENDING,
	STMT_INSERT_INVITE,
	STMT_KEY_APPLIED,
	STMT_RECORD_APPLIED,
	_STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
	/* IMMEDIATE: take the write lock when the batch starts, so a busy
	 * store fails the first apply() instead of a COMMIT later. */
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_FACILITY_UPSERT] =
		"INSERT INTO facilities (id, name) VALUES (?1, ?2) "
		"ON CONFLICT (id) DO UPDATE SET name = coalesce(excluded.name, name)",
	[STMT_FACILITY_EXISTS] = "SELECT 1 FROM facilities WHERE id = ?1",
	[STMT_MEMBER_BY_EXTERNAL_ID] =
		"SELECT " MEMBER_COLUMNS " FROM members WHERE facility = ?1 AND external_id = ?2",
	[STMT_MEMBER_BY_ID] = "SELECT " MEMBER_COLUMNS " FROM members WHERE id = ?1",
	/* Rows without an external id first: those are the ones that may be
	 * adopted. COLLATE NOCASE on the comparison uses members_by_email. */
	[STMT_MEMBER_BY_EMAIL] =
		"SELECT " MEMBER_COLUMNS " FROM members "
		"WHERE facility = ?1 AND email = ?2 COLLATE NOCASE "
		"ORDER BY external_id IS NOT NULL, id LIMIT 1",
	[STMT_INSERT_MEMBER] =
		"INSERT INTO members (facility, external_id, given_name, family_name, email, role, "
		"label, permission_level, speciality, status, managed, created_at, updated_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11)",
	/* One statement for every partial update: a field is written only when
	 * its flag is set, so no SQL is built at run time. */
	[STMT_WRITE_FIELDS] =
		"UPDATE members SET facility = ?1, external_id = ?2, managed = 1, updated_at = ?3, "
		"given_name = CASE WHEN ?5 THEN ?6 ELSE given_name END, "
		"family_name = CASE WHEN ?7 THEN ?8 ELSE family_name END, "
		"email = CASE WHEN ?9 THEN ?10 ELSE email END, "
		"role = CASE WHEN ?11 THEN ?12 ELSE role END, "
		"label = CASE WHEN ?13 THEN ?14 ELSE label END, "
		"permission_level = CASE WHEN ?15 THEN ?16 ELSE permission_level END, "
		"speciality = CASE WHEN ?17 THEN ?18 ELSE speciality END "
		"WHERE id = ?4",
	[STMT_DEACTIVATE] =
		"UPDATE members SET status = 'deactivated', status_before_deactivation = status, "
		"updated_at = ?2 WHERE id = ?1 AND status <> 'deactivated'",
	[STMT_REACTIVATE] =
		"UPDATE members SET status = coalesce(status_before_deactivation, 'no_account'), "
		"status_before_deactivation = NULL, updated_at = ?2 "
		"WHERE id = ?1 AND status = 'deactivated'",
	[STMT_SET_PENDING] = "UPDATE members SET status = 'pending', updated_at = ?2 WHERE id = ?1",
	[STMT_INSERT_INVITE] =
		"INSERT OR IGNORE INTO invites (facility, member, email, kind, sent_at, op_key) "
		"SELECT facility, id, email, ?2, ?3, ?4 FROM members WHERE id = ?1",
	[STMT_KEY_APPLIED] = "SELECT 1 FROM applied_ops WHERE op_key = ?1",
	[STMT_RECORD_APPLIED] =
		"INSERT INTO applied_ops (op_key, kind, facility, member, applied_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
};

/* ----------------------------------------------------------- instance --- */

/* An applied operation waiting for its transaction to commit. */
struct pending_op {
	const struct ss_op *op;
	ss_applied_fn done;
	void *userdata;
	struct ss_op_result result;
};

struct sqlite_target {
	const struct ss_host *host;
	char *path;
	bool connected;
	bool read_only;
	sqlite3 *db;             /* NULL when connected read-only to a store that does not exist */
	bool in_transaction;
	bool reading;            /* a read transaction spans the lookups of a run */
	sqlite3_stmt *stmts[_STMT_MAX];
	struct pending_op *pending;
	size_t n_pending;
	size_t n_allocated;
};

struct sqlite_conf {
	char *path;
};

static const struct ss_conf_key conf_keys[] = {
	{ "type", SS_CONF_SKIP, 0, false, NULL },
	{ "adopt", SS_CONF_SKIP, 0, false, NULL },  /* the engine's */
	{ "path", SS_CONF_STRING, offsetof(struct sqlite_conf, path), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

/* ------------------------------------------------------------ helpers --- */

static const char *status_name(enum ss_status s)
{
	return ss_status_to_string(s);
}

static int status_from_name(const char *s, enum ss_status *ret)
{
	return ss_status_from_string(s, ret) < 0 ? -EBADMSG : 0;
}

static bool is_patient_role(const char *role)
{
	return role && strcasecmp(role, PATIENT_ROLE) == 0;
}

/* The current time as ISO 8601 UTC; STAFFSYNC_FAKE_NOW (seconds since the
 * epoch) replaces the clock so tests get stable timestamps. */
static void format_now(char buf[static 32])
{
	time_t now = time(NULL);
	const char *fake = getenv(FAKE_NOW_ENV);
	if (!isempty(fake)) {
		char *end;
		errno = 0;
		long long v = strtoll(fake, &end, 10);
		if (errno == 0 && *end == '\0')
			now = (time_t) v;
	}
	struct tm tm;
	if (!gmtime_r(&now, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "1970-01-01T00:00:00Z");
}

static int errno_from_sqlite(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE: case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	}
	switch (rc & 0xff) {
	case SQLITE_NOMEM:      return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:     return -EBUSY;
	case SQLITE_READONLY:   return -EROFS;
	case SQLITE_FULL:       return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:       return -EACCES;
	case SQLITE_CONSTRAINT:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:     return -EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:     return -EBADMSG;
	case SQLITE_CANTOPEN:   return sys > 0 ? -sys : -ENOENT;
	case SQLITE_IOERR:      return sys > 0 ? -sys : -EIO;
	default:                return -EIO;
	}
}

static bool sqlite_error_is_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_IOERR:
	case SQLITE_FULL: case SQLITE_NOMEM:
		return true;
	default:
		return false;
	}
}

static void stmt_resetp(sqlite3_stmt **s)
{
	if (*s) {
		sqlite3_reset(*s);
		sqlite3_clear_bindings(*s);
	}
}
#define _cleanup_reset_ _cleanup_(stmt_resetp)

/* The cached statement, prepared on first use (a read-only connection to
 * an older schema never prepares the writes it cannot run). Callers hold
 * it in a _cleanup_reset_ variable. */
static int stmt_get(struct sqlite_target *t, enum stmt id, sqlite3_stmt **ret)
{
	if (!t->stmts[id]) {
		int rc = sqlite3_prepare_v3(t->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &t->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return errno_from_sqlite(t->db, rc);
	}
	*ret = t->stmts[id];
	return 0;
}

/* Empty strings are stored as NULL: "absent" has one spelling in the store. */
static int bind_text(sqlite3_stmt *s, int index, const char *value)
{
	return sqlite3_bind_text(s, index, isempty(value) ? NULL : value, -1, SQLITE_STATIC);
}

/* Step a statement that returns no row (or whose rows do not matter). */
static int step_done(struct sqlite_target *t, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return errno_from_sqlite(t->db, rc);
}

/* 1 when the statement yields a row (left on it), 0 when none. */
static int step_row(struct sqlite_target *t, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return errno_from_sqlite(t->db, rc);
}

static int run_stmt(struct sqlite_target *t, enum stmt id)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(t, id, &s);
	if (r < 0)
		return r;
	return step_done(t, s);
}

static int exec_sql(struct sqlite_target *t, const char *sql)
{
	int rc = sqlite3_exec(t->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		t->host->log(LOG_DEBUG, "sqlite target %s: %s", t->path, sqlite3_errmsg(t->db));
		return errno_from_sqlite(t->db, rc);
	}
	return 0;
}

static int column_strdup(sqlite3_stmt *s, int column, char **ret)
{
	const char *v = (const char *) sqlite3_column_text(s, column);
	*ret = NULL;
	if (!v)
		return 0;
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

/* Fill a caller-owned struct ss_member from a row of MEMBER_COLUMNS. */
static int member_from_row(sqlite3_stmt *s, struct ss_member *out)
{
	static const struct { int column; size_t offset; } text_columns[] = {
		{ COL_FACILITY,         offsetof(struct ss_member, facility) },
		{ COL_EXTERNAL_ID,      offsetof(struct ss_member, external_id) },
		{ COL_GIVEN_NAME,       offsetof(struct ss_member, given_name) },
		{ COL_FAMILY_NAME,      offsetof(struct ss_member, family_name) },
		{ COL_EMAIL,            offsetof(struct ss_member, email) },
		{ COL_ROLE,             offsetof(struct ss_member, role) },
		{ COL_LABEL,            offsetof(struct ss_member, label) },
		{ COL_PERMISSION_LEVEL, offsetof(struct ss_member, permission_level) },
		{ COL_SPECIALITY,       offsetof(struct ss_member, speciality) },
	};
	struct ss_member m = {0};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ELEMENTSOF(text_columns); i++)
		r = column_strdup(s, text_columns[i].column,
				  (char **) ((char *) &m + text_columns[i].offset));
	if (r == 0)
		r = status_from_name((const char *) sqlite3_column_text(s, COL_STATUS), &m.status);
	if (r == 0 && asprintf(&m.ref, "%" PRId64, (int64_t) sqlite3_column_int64(s, COL_ID)) < 0) {
		m.ref = NULL;
		r = -ENOMEM;
	}
	if (r < 0) {
		ss_member_clear(&m);
		return r;
	}
	m.managed = sqlite3_column_int(s, COL_MANAGED) != 0;
	*out = m;
	return 0;
}

/* ------------------------------------------------------------- config --- */

static int store_path(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		      const char *configured, char **ret)
{
	if (configured) {
		if (isempty(configured)) {
			host->conf_error(conf, host->conf_get(conf, node, "path"),
					 "target path must not be empty");
			return -EINVAL;
		}
		*ret = host->conf_path(conf, configured);
		return *ret ? 0 : -ENOMEM;
	}

	const char *state_dir = host->conf_state_dir(conf);
	if (isempty(state_dir)) {
		host->conf_error(conf, node, "no state_dir to keep " DEFAULT_STORE_NAME
				 " in: set state_dir or the target's path");
		return -EINVAL;
	}
	if (asprintf(ret, "%s/%s", state_dir, DEFAULT_STORE_NAME) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int target_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		       void **instance)
{
	struct sqlite_conf cfg = {0};
	_cleanup_free_ char *path = NULL;

	/* No section at all (node NULL): every default. */
	if (node && host->conf_parse(conf, node, conf_keys, &cfg) > 0) {
		host->conf_free(conf_keys, &cfg);
		return -EINVAL;
	}
	int r = store_path(host, conf, node, cfg.path, &path);
	host->conf_free(conf_keys, &cfg);
	if (r < 0)
		return r;

	struct sqlite_target *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = host;
	t->path = TAKE_PTR(path);
	*instance = t;
	return 0;
}

/* --------------------------------------------------------- connection --- */

static void finalize_statements(struct sqlite_target *t)
{
	for (size_t i = 0; i < _STMT_MAX; i++) {
		sqlite3_finalize(t->stmts[i]);
		t->stmts[i] = NULL;
	}
}

/* Operations applied but never flushed are rolled back without their
 * callbacks: the engine's journal has not marked them done, so it applies
 * them again on its next run. */
static void drop_pending(struct sqlite_target *t)
{
	if (t->in_transaction) {
		t->host->log(LOG_DEBUG, "sqlite target %s: rolling back %zu unflushed operations",
			     t->path, t->n_pending);
		(void) run_stmt(t, STMT_ROLLBACK);
		t->in_transaction = false;
	}
	free(t->pending);
	t->pending = NULL;
	t->n_pending = t->n_allocated = 0;
}

/* The lookups of a run (one or two per person) share one read transaction:
 * a consistent snapshot, and no lock taken and released per statement,
 * which was a fifth of a no-op run's time. It ends before the first write. */
static int reading_begin(struct sqlite_target *t)
{
	if (t->reading || t->in_transaction)
		return 0;
	int r = exec_sql(t, "BEGIN");
	if (r == 0)
		t->reading = true;
	return r;
}

static void reading_end(struct sqlite_target *t)
{
	if (!t->reading)
		return;
	(void) sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL);
	t->reading = false;
}

static void disconnect(struct sqlite_target *t)
{
	if (t->db) {
		reading_end(t);
		drop_pending(t);
		finalize_statements(t);
		if (t->connected && !t->read_only) {
			/* The log back into the store and emptied, so that the
			 * -wal kept beside it stays small. Not waiting for a
			 * reader (the checkpoint then does what it can). */
			sqlite3_busy_timeout(t->db, 0);
			(void) sqlite3_exec(t->db, "PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE)",
					    NULL, NULL, NULL);
		}
		sqlite3_close(t->db);
		t->db = NULL;
	}
	t->connected = false;
}

static int open_database(struct sqlite_target *t, int flags)
{
	int rc = sqlite3_open_v2(t->path, &t->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int r = errno_from_sqlite(t->db, rc);
		t->host->log(LOG_DEBUG, "sqlite target %s: %s", t->path,
			     t->db ? sqlite3_errmsg(t->db) : sqlite3_errstr(rc));
		sqlite3_close(t->db);
		t->db = NULL;
		return r;
	}
	sqlite3_extended_result_codes(t->db, 1);
	sqlite3_busy_timeout(t->db, BUSY_TIMEOUT_MS);
	return 0;
}

static int read_user_version(struct sqlite_target *t, int *ret)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(t->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return errno_from_sqlite(t->db, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : errno_from_sqlite(t->db, rc);
}

static int refuse_newer_schema(struct sqlite_target *t, int version)
{
	t->host->log(LOG_DEBUG, "sqlite target %s: schema version %d is newer than this "
		     "staffsync's %d", t->path, version, SCHEMA_VERSION);
	return -EPROTO;
}

/* Bring the schema to SCHEMA_VERSION in one transaction: a crash during a
 * migration leaves the previous version intact. */
static int migrate(struct sqlite_target *t)
{
	int version = 0;
	int r = exec_sql(t, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = read_user_version(t, &version);
	if (r == 0 && version > SCHEMA_VERSION)
		r = refuse_newer_schema(t, version);
	for (int i = version; r == 0 && i < SCHEMA_VERSION; i++)
		r = exec_sql(t, migrations[i]);
	if (r == 0 && version < SCHEMA_VERSION) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
		r = exec_sql(t, sql);
	}
	if (r == 0)
		return exec_sql(t, "COMMIT");
	(void) sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Create a missing store readable by the owner and group only: it holds
 * names and e-mail addresses. (SQLite's default is 0644 less the umask.) */
static int create_store_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int connect_writable(struct sqlite_target *t)
{
	int r = create_store_file(t->path);
	if (r < 0)
		return r;
	r = open_database(t, SQLITE_OPEN_READWRITE);
	if (r < 0)
		return r;
	/* WAL at rest, its -wal and -shm kept when the last connection
	 * closes: a later read-only (dry-run) connection finds them and
	 * creates nothing, and no run pays for switching the journal mode in
	 * and out. */
	int persist = 1;
	sqlite3_file_control(t->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	r = exec_sql(t, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		     "PRAGMA foreign_keys = ON");
	if (r < 0)
		return r;
	return migrate(t);
}

/* Dry run: nothing may be written, not even a new empty store. A missing
 * store (or one never migrated) is an empty store: t->db stays NULL. */
static int connect_read_only(struct sqlite_target *t)
{
	struct stat st;
	if (stat(t->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;

	int r = open_database(t, SQLITE_OPEN_READONLY);
	if (r < 0)
		return r;
	int version = 0;
	r = read_user_version(t, &version);
	if (r < 0)
		return r;
	if (version > SCHEMA_VERSION)
		return refuse_newer_schema(t, version);
	if (version == 0) {
		sqlite3_close(t->db);
		t->db = NULL;
		return 0;
	}
	return exec_sql(t, "PRAGMA query_only = ON");
}

static int target_connect(void *instance, bool read_only)
{
	struct sqlite_target *t = instance;

	/* Reconnecting would drop applied operations: flush first. */
	if (t->n_pending > 0)
		return -EBUSY;
	disconnect(t);
	t->read_only = read_only;
	int r = read_only ? connect_read_only(t) : connect_writable(t);
	if (r < 0) {
		disconnect(t);
		return r;
	}
	t->connected = true;
	return 0;
}

static void target_close(void *instance)
{
	struct sqlite_target *t = instance;
	if (!t)
		return;
	disconnect(t);
	free(t->path);
	free(t);
}

/* ------------------------------------------------------------- lookups --- */

static void batch_lost(struct sqlite_target *t);

/* After a failed statement outside apply(): when SQLite rolled the open
 * batch back on its own (I/O error, disk full), its operations fail now
 * rather than be reported done at the next flush. */
static int check_batch_after(struct sqlite_target *t, int r)
{
	if (r < 0 && t->in_transaction && sqlite3_get_autocommit(t->db))
		batch_lost(t);
	return r;
}

static int facility_upsert(struct sqlite_target *t, const char *id, const char *name)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(t, STMT_FACILITY_UPSERT, &s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, id) || bind_text(s, 2, name))
		return -EINVAL;
	return step_done(t, s);
}

static int target_facility(void *instance, const char *id, const char *name)
{
	struct sqlite_target *t = instance;

	if (!t->connected)
		return -ENOTCONN;
	if (isempty(id))
		return -EINVAL;
	if (t->read_only)
		return 0;
	reading_end(t);
	/* Inside an open batch this joins the batch, and commits with it. */
	return check_batch_after(t, facility_upsert(t, id, name));
}

/* Run a membership query with text parameters and fill out from its first row. */
static int lookup_member(struct sqlite_target *t, enum stmt id, const char *p1, const char *p2,
			 struct ss_member *out)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;

	if (!t->connected)
		return -ENOTCONN;
	if (isempty(p1) || isempty(p2))
		return -EINVAL;
	if (!t->db)
		return 0;   /* read-only on a store that does not exist yet */
	int r = reading_begin(t);
	if (r < 0)
		return r;
	r = stmt_get(t, id, &s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, p1) || bind_text(s, 2, p2))
		return -EINVAL;
	r = step_row(t, s);
	if (r <= 0)
		return r;
	r = member_from_row(s, out);
	return r < 0 ? r : 1;
}

static int target_lookup(void *instance, const char *facility, const char *external_id,
			 struct ss_member *out)
{
	return check_batch_after(instance, lookup_member(instance, STMT_MEMBER_BY_EXTERNAL_ID,
							 facility, external_id, out));
}

static int target_lookup_email(void *instance, const char *facility, const char *email,
			       struct ss_member *out)
{
	/* The engine asks after lookup() found nothing for the person, so any
	 * row with this address is one without an external id or another's. */
	return check_batch_after(instance, lookup_member(instance, STMT_MEMBER_BY_EMAIL,
							 facility, email, out));
}

/* ---------------------------------------------------------- operations --- */

/* One operation being applied. */
struct op_context {
	struct sqlite_target *t;
	const struct ss_op *op;
	struct ss_op_result *result;
	char now[32];
	int64_t member_id;       /* the row the operation changed, for applied_ops */
	bool wrote;              /* a statement of the operation changed the store */
};

/* What the checks of an operation need to know about an existing row. */
struct row {
	int64_t id;
	enum ss_status status;
	bool managed;
	bool patient;
	bool has_email;
	bool external_id_null;
	bool external_id_matches;   /* equal to the operation's external id */
	bool in_facility;           /* in the operation's facility */
};

static int refuse(struct op_context *c, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct op_context *c, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->result->message, sizeof(c->result->message), fmt, ap);
	va_end(ap);
	c->result->error = error;
	return error;
}

/* A store failure (error from the helpers above) in the result, with
 * SQLite's own words. */
static int store_failure(struct op_context *c, int error, const char *what)
{
	int rc = sqlite3_extended_errcode(c->t->db);
	c->result->transient = sqlite_error_is_transient(rc);
	return refuse(c, error, "%s: %s", what, sqlite3_errmsg(c->t->db));
}

static int already(struct op_context *c)
{
	c->result->already = true;
	return 0;
}

static const char *op_external_id(const struct op_context *c)
{
	return c->op->member.external_id;
}

static int row_from_stmt(struct op_context *c, sqlite3_stmt *s, struct row *row)
{
	const char *external_id = (const char *) sqlite3_column_text(s, COL_EXTERNAL_ID);
	const char *facility = (const char *) sqlite3_column_text(s, COL_FACILITY);

	*row = (struct row) {
		.id = sqlite3_column_int64(s, COL_ID),
		.managed = sqlite3_column_int(s, COL_MANAGED) != 0,
		.patient = is_patient_role((const char *) sqlite3_column_text(s, COL_ROLE)),
		.has_email = !isempty((const char *) sqlite3_column_text(s, COL_EMAIL)),
		.external_id_null = !external_id,
		.external_id_matches = external_id && streq_ptr(external_id, op_external_id(c)),
		.in_facility = streq_ptr(facility, c->op->facility),
	};
	if (status_from_name((const char *) sqlite3_column_text(s, COL_STATUS), &row->status) < 0)
		return refuse(c, -EBADMSG, "membership %" PRId64 " has an unknown status", row->id);
	return 0;
}

/* 1 found, 0 none, negative errno (result filled). */
static int find_row_by_external_id(struct op_context *c, const char *facility, struct row *row)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_MEMBER_BY_EXTERNAL_ID, &s);
	if (r == 0 && (bind_text(s, 1, facility) || bind_text(s, 2, op_external_id(c))))
		r = -EINVAL;
	if (r == 0)
		r = step_row(c->t, s);
	if (r < 0)
		return store_failure(c, r, "reading the membership");
	if (r == 0)
		return 0;
	r = row_from_stmt(c, s, row);
	return r < 0 ? r : 1;
}

static int find_row_by_id(struct op_context *c, int64_t id, struct row *row)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_MEMBER_BY_ID, &s);
	if (r == 0 && sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		r = -EINVAL;
	if (r == 0)
		r = step_row(c->t, s);
	if (r < 0)
		return store_failure(c, r, "reading the membership");
	if (r == 0)
		return 0;
	r = row_from_stmt(c, s, row);
	return r < 0 ? r : 1;
}

/* The row an operation on an existing membership acts on. */
static int require_row(struct op_context *c, struct row *row)
{
	int r = find_row_by_external_id(c, c->op->facility, row);
	if (r < 0)
		return r;
	if (r == 0)
		return refuse(c, -ENOENT, "no membership of %s in facility %s",
			      op_external_id(c), c->op->facility);
	return 0;
}

/* The safety rules every change of an existing row obeys. */
static int check_may_change(struct op_context *c, const struct row *row)
{
	if (row->patient)
		return refuse(c, -EPERM, "patient memberships are never changed by staffsync");
	if (!row->managed && c->op->kind != SS_OP_ADOPT)
		return refuse(c, -EPERM, "membership %" PRId64 " in facility %s was not created by "
			      "staffsync; it must be adopted first", row->id, c->op->facility);
	return 0;
}

static int check_role_allowed(struct op_context *c, unsigned fields)
{
	if ((fields & SS_FIELD_ROLE) && is_patient_role(c->op->member.role))
		return refuse(c, -EPERM, "patient memberships are never created or assigned "
			      "by staffsync");
	return 0;
}

static int facility_exists(struct op_context *c)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_FACILITY_EXISTS, &s);
	if (r == 0 && bind_text(s, 1, c->op->facility))
		r = -EINVAL;
	if (r == 0)
		r = step_row(c->t, s);
	if (r < 0)
		return store_failure(c, r, "reading the facility");
	if (r == 0)
		return refuse(c, -ENOENT, "facility %s does not exist in the workspace store",
			      c->op->facility);
	return 0;
}

/* 1 when the operation's key was applied before, 0 if not. */
static int key_applied(struct op_context *c)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_KEY_APPLIED, &s);
	if (r == 0 && bind_text(s, 1, c->op->key))
		r = -EINVAL;
	if (r == 0)
		r = step_row(c->t, s);
	if (r < 0)
		return store_failure(c, r, "reading applied operations");
	return r;
}

static int record_applied(struct op_context *c)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_RECORD_APPLIED, &s);
	if (r == 0 && (bind_text(s, 1, c->op->key) ||
		       bind_text(s, 2, ss_op_kind_to_string(c->op->kind)) ||
		       bind_text(s, 3, c->op->facility) ||
		       sqlite3_bind_int64(s, 4, c->member_id) ||
		       bind_text(s, 5, c->now)))
		r = -EINVAL;
	if (r == 0)
		r = step_done(c->t, s);
	return r < 0 ? store_failure(c, r, "recording the operation") : 0;
}

/* A one-row update (STMT_DEACTIVATE, STMT_REACTIVATE, STMT_SET_PENDING):
 * ?1 the row, ?2 the time. */
static int update_row(struct op_context *c, enum stmt id, int64_t row_id, const char *what)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, id, &s);
	if (r == 0 && (sqlite3_bind_int64(s, 1, row_id) || bind_text(s, 2, c->now)))
		r = -EINVAL;
	if (r == 0)
		r = step_done(c->t, s);
	if (r < 0)
		return store_failure(c, r, what);
	c->member_id = row_id;
	c->wrote = true;
	return 0;
}

static const char *member_field_value(const struct ss_member *m, const struct member_field *f)
{
	return *(char *const *) ((const char *) m + f->offset);
}

static int bind_fields(sqlite3_stmt *s, int first, const struct ss_member *m, unsigned fields,
		       bool with_flags)
{
	int index = first;
	for (size_t i = 0; i < ELEMENTSOF(member_fields); i++) {
		bool set = fields & member_fields[i].bit;
		if (with_flags && sqlite3_bind_int(s, index++, set) != SQLITE_OK)
			return -EINVAL;
		if (bind_text(s, index++, set ? member_field_value(m, &member_fields[i]) : NULL))
			return -EINVAL;
	}
	return 0;
}

/* Write facility, external id and the named fields of the operation's
 * member into a row, marking it managed. */
static int write_fields(struct op_context *c, int64_t row_id, const char *facility,
			unsigned fields)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_WRITE_FIELDS, &s);
	if (r == 0 && (bind_text(s, 1, facility) ||
		       bind_text(s, 2, op_external_id(c)) ||
		       bind_text(s, 3, c->now) ||
		       sqlite3_bind_int64(s, 4, row_id) ||
		       bind_fields(s, 5, &c->op->member, fields, true) < 0))
		r = -EINVAL;
	if (r == 0)
		r = step_done(c->t, s);
	if (r == -EEXIST)
		return refuse(c, r, "facility %s already has a membership for %s",
			      facility, op_external_id(c));
	if (r < 0)
		return store_failure(c, r, "writing the membership");
	c->member_id = row_id;
	c->wrote = true;
	return 0;
}

static int insert_member(struct op_context *c)
{
	const struct ss_member *m = &c->op->member;
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_INSERT_MEMBER, &s);
	if (r == 0 && (bind_text(s, 1, c->op->facility) ||
		       bind_text(s, 2, m->external_id) ||
		       bind_fields(s, 3, m, ALL_FIELDS, false) < 0 ||
		       bind_text(s, 10, status_name(m->status)) ||
		       bind_text(s, 11, c->now)))
		r = -EINVAL;
	if (r == 0)
		r = step_done(c->t, s);
	if (r < 0)
		return store_failure(c, r, "creating the membership");
	c->member_id = sqlite3_last_insert_rowid(c->t->db);
	c->wrote = true;
	return 0;
}

static int op_create(struct op_context *c)
{
	struct row row;

	if (isempty(op_external_id(c)))
		return refuse(c, -EINVAL, "a membership is created for a person's external id");
	if (!status_name(c->op->member.status))
		return refuse(c, -EINVAL, "unknown status %d", (int) c->op->member.status);
	int r = find_row_by_external_id(c, c->op->facility, &row);
	if (r != 0)
		return r < 0 ? r : already(c);
	r = check_role_allowed(c, ALL_FIELDS);
	if (r < 0)
		return r;
	return insert_member(c);
}

static int insert_invite(struct op_context *c, int64_t row_id)
{
	const char *kind = c->op->kind == SS_OP_INVITE ? "invite" : "resend";
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(c->t, STMT_INSERT_INVITE, &s);
	if (r == 0 && (sqlite3_bind_int64(s, 1, row_id) ||
		       bind_text(s, 2, kind) ||
		       bind_text(s, 3, c->now) ||
		       bind_text(s, 4, c->op->key)))
		r = -EINVAL;
	if (r == 0)
		r = step_done(c->t, s);
	if (r < 0)
		return store_failure(c, r, "recording the invite");
	/* Ignored: an invite with this key was sent already. */
	if (sqlite3_changes(c->t->db) == 0)
		return 0;
	c->wrote = true;
	return 1;
}

static int op_invite(struct op_context *c)
{
	struct row row;
	int r = require_row(c, &row);
	if (r == 0)
		r = check_may_change(c, &row);
	if (r < 0)
		return r;
	if (row.status == SS_STATUS_DEACTIVATED)
		return refuse(c, -EINVAL, "%s in facility %s is deactivated: no invite is sent",
			      op_external_id(c), c->op->facility);
	if (row.status == SS_STATUS_ACTIVE)
		return refuse(c, -EINVAL, "%s in facility %s has an account already: no invite "
			      "is sent", op_external_id(c), c->op->facility);
	if (!row.has_email)
		return refuse(c, -EINVAL, "%s in facility %s has no e-mail address to invite",
			      op_external_id(c), c->op->facility);
	r = insert_invite(c, row.id);
	if (r <= 0)
		return r < 0 ? r : already(c);
	return update_row(c, STMT_SET_PENDING, row.id, "marking the member pending");
}

static int op_update(struct op_context *c)
{
	struct row row;
	int r = require_row(c, &row);
	if (r == 0)
		r = check_may_change(c, &row);
	if (r == 0)
		r = check_role_allowed(c, c->op->changed);
	if (r < 0)
		return r;
	return write_fields(c, row.id, c->op->facility, c->op->changed);
}

static int op_move(struct op_context *c)
{
	struct row row;

	if (isempty(c->op->from_facility))
		return refuse(c, -EINVAL, "a move needs the facility the person leaves");
	int r = find_row_by_external_id(c, c->op->from_facility, &row);
	if (r < 0)
		return r;
	if (r == 0 || row.in_facility) {
		/* Not where it was: moved before (by this key or another)? */
		r = require_row(c, &row);
		return r < 0 ? r : already(c);
	}
	r = check_may_change(c, &row);
	if (r == 0)
		r = check_role_allowed(c, ALL_FIELDS);
	if (r < 0)
		return r;
	/* The same row: its id, invites and history go with it. */
	return write_fields(c, row.id, c->op->facility, ALL_FIELDS);
}

static int op_deactivate(struct op_context *c)
{
	struct row row;
	int r = require_row(c, &row);
	if (r == 0)
		r = check_may_change(c, &row);
	if (r < 0)
		return r;
	/* Twice would overwrite status_before_deactivation with 'deactivated'. */
	if (row.status == SS_STATUS_DEACTIVATED)
		return already(c);
	return update_row(c, STMT_DEACTIVATE, row.id, "deactivating the member");
}

static int op_reactivate(struct op_context *c)
{
	struct row row;
	int r = require_row(c, &row);
	if (r == 0)
		r = check_may_change(c, &row);
	if (r < 0)
		return r;
	if (row.status != SS_STATUS_DEACTIVATED)
		return already(c);
	return update_row(c, STMT_REACTIVATE, row.id, "reactivating the member");
}

static int parse_ref(const char *ref, int64_t *ret)
{
	char *end;
	if (isempty(ref))
		return -EINVAL;
	errno = 0;
	long long v = strtoll(ref, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int op_adopt(struct op_context *c)
{
	const char *ref = c->op->member.ref;
	int64_t id;
	struct row row;

	if (isempty(op_external_id(c)))
		return refuse(c, -EINVAL, "adopting a membership needs the person's external id");
	if (parse_ref(ref, &id) < 0)
		return refuse(c, -EINVAL, "adopt: \"%s\" is not a membership of this store",
			      strempty(ref));
	int r = find_row_by_id(c, id, &row);
	if (r < 0)
		return r;
	if (r == 0)
		return refuse(c, -ENOENT, "adopt: no membership %s", ref);
	if (!row.in_facility)
		return refuse(c, -EINVAL, "adopt: membership %s is not in facility %s",
			      ref, c->op->facility);
	if (!row.external_id_null && !row.external_id_matches)
		return refuse(c, -EEXIST, "adopt: membership %s belongs to another person", ref);
	r = check_may_change(c, &row);
	if (r == 0)
		r = check_role_allowed(c, c->op->changed);
	if (r < 0)
		return r;
	return write_fields(c, row.id, c->op->facility, c->op->changed);
}

static int op_hold(struct op_context *c)
{
	return refuse(c, -EINVAL, "held operations are never applied to a target");
}

static int (*const op_handlers[_SS_OP_MAX])(struct op_context *c) = {
	[SS_OP_CREATE] = op_create,
	[SS_OP_INVITE] = op_invite,
	[SS_OP_RESEND_INVITE] = op_invite,
	[SS_OP_UPDATE] = op_update,
	[SS_OP_MOVE] = op_move,
	[SS_OP_DEACTIVATE] = op_deactivate,
	[SS_OP_REACTIVATE] = op_reactivate,
	[SS_OP_HOLD] = op_hold,
	[SS_OP_ADOPT] = op_adopt,
};

/* Apply one operation's statements; the result says what happened.
 *
 * No savepoint per operation is needed: every refusal comes before the
 * operation's first write, and a single statement is atomic on its own. A
 * failure after a write (I/O, memory) breaks the whole batch instead, see
 * target_apply(). */
static int apply_op(struct op_context *c)
{
	const struct ss_op *op = c->op;

	if ((unsigned) op->kind >= _SS_OP_MAX)
		return refuse(c, -EINVAL, "unknown operation kind %d", (int) op->kind);
	if (op->kind == SS_OP_HOLD)
		return op_hold(c);
	if (isempty(op->key))
		return refuse(c, -EINVAL, "%s without an idempotency key", ss_op_kind_to_string(op->kind));
	if (isempty(op->facility))
		return refuse(c, -EINVAL, "%s without a facility", ss_op_kind_to_string(op->kind));

	int r = key_applied(c);
	if (r != 0)
		return r < 0 ? r : already(c);
	r = facility_exists(c);
	if (r == 0)
		r = op_handlers[op->kind](c);
	if (r < 0 || c->result->already)
		return r;
	return record_applied(c);
}

/* --------------------------------------------------------- batching --- */

static int transaction_begin(struct sqlite_target *t)
{
	if (t->in_transaction)
		return 0;
	reading_end(t);
	int r = run_stmt(t, STMT_BEGIN);
	if (r < 0)
		return r;
	t->in_transaction = true;
	return 0;
}

static int pending_reserve(struct sqlite_target *t)
{
	if (t->n_pending < t->n_allocated)
		return 0;
	size_t n = t->n_allocated ? t->n_allocated * 2 : 64;
	struct pending_op *p = reallocarray(t->pending, n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->pending = p;
	t->n_allocated = n;
	return 0;
}

/* Mark every pending operation that had succeeded as failed with error:
 * its effect was not kept. */
static void fail_pending(struct sqlite_target *t, int error, bool transient, const char *why)
{
	for (size_t i = 0; i < t->n_pending; i++) {
		struct ss_op_result *res = &t->pending[i].result;
		if (res->error != 0)
			continue;
		*res = (struct ss_op_result) { .error = error, .transient = transient };
		snprintf(res->message, sizeof(res->message), "%s", why);
	}
}

/* Call the done callbacks of the batch, in order. The list is detached
 * first: a callback may apply the next operation, which starts a new batch. */
static void notify_pending(struct sqlite_target *t)
{
	struct pending_op *batch = TAKE_PTR(t->pending);
	size_t n = t->n_pending, allocated = t->n_allocated;

	t->n_pending = t->n_allocated = 0;
	for (size_t i = 0; i < n; i++)
		batch[i].done(batch[i].userdata, batch[i].op, &batch[i].result);
	if (!t->pending) {
		t->pending = batch;   /* keep the allocation for the next batch */
		t->n_allocated = allocated;
	} else
		free(batch);
}

/* The batch cannot be committed: roll back what is left of it and fail
 * every operation in it, now. */
static void batch_lost(struct sqlite_target *t)
{
	char why[512];
	int rc = sqlite3_extended_errcode(t->db);
	int error = errno_from_sqlite(t->db, rc) ?: -EIO;

	snprintf(why, sizeof(why), "the batch was rolled back: %s", sqlite3_errmsg(t->db));
	if (!sqlite3_get_autocommit(t->db))
		(void) run_stmt(t, STMT_ROLLBACK);
	t->in_transaction = false;
	fail_pending(t, error, true, why);
	notify_pending(t);
}

static int commit_and_notify(struct sqlite_target *t)
{
	if (!t->in_transaction)
		return 0;
	int r = run_stmt(t, STMT_COMMIT);
	if (r < 0) {
		char why[512];
		int rc = sqlite3_extended_errcode(t->db);
		snprintf(why, sizeof(why), "commit failed: %s", sqlite3_errmsg(t->db));
		if (!sqlite3_get_autocommit(t->db))
			(void) run_stmt(t, STMT_ROLLBACK);
		fail_pending(t, r, sqlite_error_is_transient(rc), why);
	}
	t->in_transaction = false;
	notify_pending(t);
	return r;
}

static int target_apply(void *instance, const struct ss_op *op, ss_applied_fn done,
			void *userdata)
{
	struct sqlite_target *t = instance;

	if (!t->connected)
		return -ENOTCONN;
	if (t->read_only || !t->db)
		return -EROFS;
	if (!op || !done)
		return -EINVAL;
	int r = pending_reserve(t);
	if (r == 0)
		r = transaction_begin(t);
	if (r < 0)
		return r;

	struct pending_op *p = &t->pending[t->n_pending++];
	*p = (struct pending_op) { .op = op, .done = done, .userdata = userdata };
	struct op_context c = { .t = t, .op = op, .result = &p->result };
	format_now(c.now);

	/* Half an operation must not be committed: after a failure that
	 * follows one of its writes, or when SQLite rolled the transaction
	 * back on its own, the batch goes, and the journal retries it all. */
	if (apply_op(&c) < 0 && (c.wrote || sqlite3_get_autocommit(t->db)))
		batch_lost(t);
	else if (t->n_pending >= OPS_PER_TRANSACTION)
		(void) commit_and_notify(t);   /* failures are in the results */
	return 0;
}

static int target_flush(void *instance)
{
	struct sqlite_target *t = instance;

	if (!t->connected)
		return -ENOTCONN;
	return commit_and_notify(t);
}

/* ---------------------------------------------------------- descriptor --- */

static const struct ss_target_ops sqlite_target_ops = {
	.open = target_open,
	.connect = target_connect,
	.facility = target_facility,
	.lookup = target_lookup,
	.lookup_email = target_lookup_email,
	.apply = target_apply,
	.flush = target_flush,
	.close = target_close,
};

static const struct ss_plugin sqlite_plugin = {
	.abi_version = SS_PLUGIN_ABI,
	.kind = SS_PLUGIN_TARGET,
	.name = "sqlite",
	.description = "embedded workspace store (SQLite): facilities and memberships in one file",
	.target = &sqlite_target_ops,
};

const struct ss_plugin *staffsync_plugin(void)
{
	return &sqlite_plugin;
}
