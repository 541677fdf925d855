/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include "domain.h"
#include "state.h"
#include "util.h"

/* Each entry upgrades the schema by one version (PRAGMA user_version). Add,
 * never edit: databases in the field are at any earlier version. */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE memberships ("
	"  source TEXT NOT NULL, person TEXT NOT NULL, facility TEXT NOT NULL,"
	"  given_name TEXT, family_name TEXT, email TEXT, role TEXT, label TEXT,"
	"  permission_level TEXT, speciality TEXT, status TEXT NOT NULL,"
	"  missing_runs INTEGER NOT NULL DEFAULT 0,"
	"  invites_sent INTEGER NOT NULL DEFAULT 0, last_invite_at INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source, person, facility)) WITHOUT ROWID;"
	"CREATE TABLE sources (name TEXT PRIMARY KEY, last_full_count INTEGER, cursor TEXT);"
	"CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL,"
	"  finished_at INTEGER, status TEXT NOT NULL, message TEXT, plan_hash TEXT,"
	"  created INTEGER DEFAULT 0, invited INTEGER DEFAULT 0, resent INTEGER DEFAULT 0,"
	"  updated INTEGER DEFAULT 0, moved INTEGER DEFAULT 0, deactivated INTEGER DEFAULT 0,"
	"  reactivated INTEGER DEFAULT 0, held INTEGER DEFAULT 0, adopted INTEGER DEFAULT 0,"
	"  failed INTEGER DEFAULT 0);"
	"CREATE TABLE approvals (run_id INTEGER PRIMARY KEY REFERENCES runs(id),"
	"  plan_hash TEXT NOT NULL, approved_at INTEGER NOT NULL, used_at INTEGER);"
	"CREATE TABLE journal (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	"  key TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
	"  error TEXT);"
	"CREATE INDEX journal_pending ON journal(state) WHERE state = 'pending';"
	"CREATE TABLE holds (run_id INTEGER NOT NULL, source TEXT NOT NULL, person TEXT NOT NULL,"
	"  facility TEXT, reason TEXT NOT NULL);",
	/* 2: invite e-mail sent by staffsync itself (accounts.invite_delivery:
	 * smtp). A row is written in the transaction that marks its invite
	 * op done (by op key: once), is 'sending' during the SMTP transaction
	 * and 'sent' after; a row found 'sending' later (a crash mid-send) is
	 * marked 'unknown' and reported, never sent again. */
	"CREATE TABLE outbox (id INTEGER PRIMARY KEY, op_key TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL CHECK (kind = 'invite' OR kind = 'resend'),"
	"  facility TEXT NOT NULL, person TEXT NOT NULL, email TEXT NOT NULL,"
	"  given_name TEXT, family_name TEXT,"
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR state = 'sending'"
	"    OR state = 'sent' OR state = 'unknown'),"
	"  attempts INTEGER NOT NULL DEFAULT 0, error TEXT,"
	"  queued_at INTEGER NOT NULL, sent_at INTEGER);"
	"CREATE INDEX outbox_open ON outbox(state) WHERE state <> 'sent';",
	/* 3: operations the target refused for one person (SS_OP_REFUSED), by
	 * what they would write (content: plan_op_content()), so that later
	 * plans hold the person with the target's words instead of sending the
	 * same operation again; a row goes when an operation of that kind of
	 * that membership succeeds. */
	"CREATE TABLE refusals (source TEXT NOT NULL, person TEXT NOT NULL, facility TEXT NOT NULL,"
	"  kind TEXT NOT NULL, content TEXT NOT NULL, message TEXT NOT NULL,"
	"  refused_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source, person, facility, kind)) WITHOUT ROWID;",
	/* 4: bounded retries of invite e-mail (accounts.smtp.max_attempts): a
	 * mail the server refused waits in 'queued' until next_at; after its
	 * last attempt it is 'failed', kept with the server's answer for the
	 * operator. SQLite cannot change a CHECK: the table is rebuilt. */
	"CREATE TABLE outbox_4 (id INTEGER PRIMARY KEY, op_key TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL CHECK (kind = 'invite' OR kind = 'resend'),"
	"  facility TEXT NOT NULL, person TEXT NOT NULL, email TEXT NOT NULL,"
	"  given_name TEXT, family_name TEXT,"
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR state = 'sending'"
	"    OR state = 'sent' OR state = 'unknown' OR state = 'failed'),"
	"  attempts INTEGER NOT NULL DEFAULT 0, error TEXT,"
	"  queued_at INTEGER NOT NULL, sent_at INTEGER, next_at INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO outbox_4 (id, op_key, kind, facility, person, email, given_name, family_name,"
	"  state, attempts, error, queued_at, sent_at) SELECT id, op_key, kind, facility, person,"
	"  email, given_name, family_name, state, attempts, error, queued_at, sent_at FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_4 RENAME TO outbox;"
	"CREATE INDEX outbox_open ON outbox(state) WHERE state <> 'sent';",
};

enum stmt_id {
	ST_PERSON, ST_ACTIVE, ST_COUNT_ACTIVE, ST_PUT, ST_MOVE, ST_MISSING,
	ST_SRC_GET, ST_SRC_PUT, ST_JADD, ST_JFIN, ST_HOLD_ADD,
	_ST_MAX,
};

static const char *const stmt_sql[_ST_MAX] = {
	[ST_PERSON] = "SELECT source, person, facility, given_name, family_name, email, role, label,"
		" permission_level, speciality, status, missing_runs, invites_sent, last_invite_at,"
		" created_at FROM memberships WHERE source = ?1 AND person = ?2 ORDER BY facility",
	[ST_ACTIVE] = "SELECT source, person, facility, given_name, family_name, email, role, label,"
		" permission_level, speciality, status, missing_runs, invites_sent, last_invite_at,"
		" created_at FROM memberships WHERE source = ?1 AND status <> 'deactivated'"
		" ORDER BY person, facility",
	[ST_COUNT_ACTIVE] = "SELECT count(*) FROM memberships WHERE status <> 'deactivated'",
	[ST_PUT] = "INSERT INTO memberships (source, person, facility, given_name, family_name, email,"
		" role, label, permission_level, speciality, status, missing_runs, invites_sent,"
		" last_invite_at, created_at, updated_at)"
		" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?15)"
		" ON CONFLICT (source, person, facility) DO UPDATE SET given_name=?4, family_name=?5,"
		" email=?6, role=?7, label=?8, permission_level=?9, speciality=?10, status=?11,"
		" missing_runs=?12, invites_sent=?13, last_invite_at=?14, updated_at=?16",
	[ST_MOVE] = "UPDATE OR REPLACE memberships SET facility = ?4 WHERE source = ?1 AND person = ?2 AND facility = ?3",
	[ST_MISSING] = "UPDATE memberships SET missing_runs = ?4 WHERE source = ?1 AND person = ?2 AND facility = ?3",
	[ST_SRC_GET] = "SELECT last_full_count, cursor FROM sources WHERE name = ?1",
	[ST_SRC_PUT] = "INSERT INTO sources (name, last_full_count, cursor) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (name) DO UPDATE SET last_full_count = ?2, cursor = ?3",
	[ST_JADD] = "INSERT INTO journal (run_id, seq, key, payload) VALUES (?1, ?2, ?3, ?4)",
	[ST_JFIN] = "UPDATE journal SET state = ?2, error = ?3 WHERE id = ?1",
	[ST_HOLD_ADD] = "INSERT INTO holds (run_id, source, person, facility, reason) VALUES (?1,?2,?3,?4,?5)",
};

enum refusal_stmt_id { RF_GET, RF_PUT, RF_DROP, RF_PERSON, RF_FORGET, _RF_MAX };

static const char *const refusal_sql[_RF_MAX] = {
	[RF_GET] = "SELECT message, refused_at FROM refusals WHERE source = ?1 AND person = ?2"
		" AND facility = ?3 AND kind = ?4 AND content = ?5",
	[RF_PUT] = "INSERT OR REPLACE INTO refusals (source, person, facility, kind, content, message,"
		" refused_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[RF_DROP] = "DELETE FROM refusals WHERE source = ?1 AND person = ?2 AND facility = ?3"
		" AND kind = ?4",
	[RF_PERSON] = "SELECT facility, kind, message, refused_at FROM refusals"
		" WHERE source = ?1 AND person = ?2 ORDER BY facility, kind",
	[RF_FORGET] = "DELETE FROM refusals WHERE person = ?1",
};

struct state {
	sqlite3 *db;             /* NULL: read-only view of a state that does not exist yet */
	bool writable;
	sqlite3_stmt *stmt[_ST_MAX];
	/* Prepared on first use: a read-only open of a state not migrated to
	 * version 3 yet (staffsyncctl plan after an upgrade) has no refusals. */
	sqlite3_stmt *refusal[_RF_MAX];
};

static int sql_err(int rc)
{
	switch (rc) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return 0;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_FULL: return -ENOSPC;
	default: return -EIO;
	}
}

/* Run a statement that returns no row, and make it ready for the next
 * call: 0 or a negative errno. */
static int step_reset(sqlite3_stmt *s)
{
	int r = sql_err(sqlite3_step(s));
	sqlite3_reset(s);
	return r;
}

static int exec(state *st, const char *sql)
{
	return sql_err(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static int migrate(state *st)
{
	sqlite3_stmt *s;
	int version = 0, r;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > (int)ELEMENTSOF(migrations))
		return -EPROTO;   /* written by a newer staffsync */
	for (int v = version; v < (int)ELEMENTSOF(migrations); v++) {
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if ((r = exec(st, "BEGIN IMMEDIATE")) < 0)
			return r;
		if ((r = exec(st, migrations[v])) < 0 || (r = exec(st, pragma)) < 0) {
			exec(st, "ROLLBACK");
			return r;
		}
		if ((r = exec(st, "COMMIT")) < 0)
			return r;
	}
	return 0;
}

int state_open(const char *state_dir, bool read_only, state **ret)
{
	_cleanup_free_ char *path = NULL;
	struct stat sb;
	int r;
	state *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	if (asprintf(&path, "%s/state.db", state_dir) < 0) {
		free(st);
		return -ENOMEM;
	}
	if (read_only && stat(path, &sb) < 0 && errno == ENOENT) {
		*ret = st;   /* dry run before the first run: empty state */
		return 0;
	}
	if (!read_only && mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		free(st);
		return r;
	}
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = st->db ? sql_err(sqlite3_errcode(st->db)) : -ENOMEM;
		state_close(st);
		return r < 0 ? r : -EIO;
	}
	sqlite3_busy_timeout(st->db, 5000);
	st->writable = !read_only;
	if (!read_only) {
		/* WAL at rest, its -wal and -shm kept when the last connection
		 * closes: a later read-only open (a dry run, the operator tool)
		 * finds them and creates nothing, and no run pays for switching
		 * the journal mode in and out (8 of an increment's fdatasyncs). */
		int persist = 1;
		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
		if ((r = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")) < 0 ||
		    (r = migrate(st)) < 0) {
			state_close(st);
			return r;
		}
	}
	for (int i = 0; i < _ST_MAX; i++)
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL) != SQLITE_OK) {
			state_close(st);
			return -EPROTO;   /* a read-only database of an older schema */
		}
	*ret = st;
	return 0;
}

void state_close(state *st)
{
	if (!st)
		return;
	for (int i = 0; i < _ST_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int i = 0; i < _RF_MAX; i++)
		sqlite3_finalize(st->refusal[i]);
	/* The log back into the database and emptied, so that the -wal kept
	 * beside it stays small. Does nothing while another connection (the
	 * daemon) reads. */
	if (st->writable)
		sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(st->db);
	free(st);
}

bool state_is_empty(state *st) { return !st->db; }

int state_begin(state *st) { return st->db ? exec(st, "BEGIN IMMEDIATE") : 0; }
int state_commit(state *st) { return st->db ? exec(st, "COMMIT") : 0; }
int state_rollback(state *st) { return st->db ? exec(st, "ROLLBACK") : 0; }

int state_read_begin(state *st) { return st->db ? exec(st, "BEGIN") : 0; }
void state_read_end(state *st)
{
	if (st->db && !sqlite3_get_autocommit(st->db))
		exec(st, "COMMIT");
}

/* A prepared statement, reset, bound from text arguments (NULL = SQL NULL). */
static sqlite3_stmt *stmt(state *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? strdup((const char *)t) : NULL;
}

static int read_member(sqlite3_stmt *s, struct state_member *m)
{
	*m = (struct state_member){0};
	m->source = col_text(s, 0);
	m->person = col_text(s, 1);
	m->m.facility = col_text(s, 2);
	m->m.external_id = col_text(s, 1);
	m->m.given_name = col_text(s, 3);
	m->m.family_name = col_text(s, 4);
	m->m.email = col_text(s, 5);
	m->m.role = col_text(s, 6);
	m->m.label = col_text(s, 7);
	m->m.permission_level = col_text(s, 8);
	m->m.speciality = col_text(s, 9);
	int status = ss_status_from_name((const char *)sqlite3_column_text(s, 10));
	m->m.status = status < 0 ? SS_STATUS_NO_ACCOUNT : (enum ss_status)status;
	m->m.managed = true;
	m->missing_runs = (unsigned long)sqlite3_column_int64(s, 11);
	m->invites_sent = (unsigned long)sqlite3_column_int64(s, 12);
	m->last_invite_at = sqlite3_column_int64(s, 13);
	m->created_at = sqlite3_column_int64(s, 14);
	if (!m->source || !m->person || !m->m.facility) {
		state_member_clear(m);
		return -ENOMEM;
	}
	return 0;
}

void state_member_clear(struct state_member *s)
{
	free(s->source);
	free(s->person);
	ss_member_clear(&s->m);
	*s = (struct state_member){0};
}

void state_members_free(struct state_member *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		state_member_clear(&v[i]);
	free(v);
}

int state_person_members(state *st, const char *source, const char *person,
			 struct state_member **ret, size_t *n)
{
	struct state_member *v = NULL;
	size_t count = 0;
	int rc, r = 0;
	*ret = NULL;
	*n = 0;
	if (!st->db)
		return 0;
	sqlite3_stmt *s = stmt(st, ST_PERSON);
	bind_text(s, 1, source);
	bind_text(s, 2, person);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_member *nv = realloc(v, (count + 1) * sizeof *v);
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		if ((r = read_member(s, &v[count])) < 0)
			break;
		count++;
	}
	if (r == 0)
		r = sql_err(rc);
	sqlite3_reset(s);
	if (r < 0) {
		state_members_free(v, count);
		return r;
	}
	*ret = v;
	*n = count;
	return 0;
}

int state_for_each_active(state *st, const char *source,
			  int (*fn)(void *ud, const struct state_member *s), void *ud)
{
	int rc, r = 0;
	if (!st->db)
		return 0;
	/* A separate statement: fn may call state_person_members(). */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, stmt_sql[ST_ACTIVE], -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	bind_text(s, 1, source);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_member m;
		if ((r = read_member(s, &m)) < 0)
			break;
		r = fn(ud, &m);
		state_member_clear(&m);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = sql_err(rc);
	sqlite3_finalize(s);
	return r;
}

int state_count_active(state *st, unsigned long *ret)
{
	*ret = 0;
	if (!st->db)
		return 0;
	sqlite3_stmt *s = stmt(st, ST_COUNT_ACTIVE);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ret = (unsigned long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return sql_err(rc);
}

int state_put_member(state *st, const struct state_member *m)
{
	sqlite3_stmt *s = stmt(st, ST_PUT);
	bind_text(s, 1, m->source);
	bind_text(s, 2, m->person);
	bind_text(s, 3, m->m.facility);
	bind_text(s, 4, m->m.given_name);
	bind_text(s, 5, m->m.family_name);
	bind_text(s, 6, m->m.email);
	bind_text(s, 7, m->m.role);
	bind_text(s, 8, m->m.label);
	bind_text(s, 9, m->m.permission_level);
	bind_text(s, 10, m->m.speciality);
	bind_text(s, 11, ss_status_name(m->m.status));
	sqlite3_bind_int64(s, 12, (sqlite3_int64)m->missing_runs);
	sqlite3_bind_int64(s, 13, (sqlite3_int64)m->invites_sent);
	sqlite3_bind_int64(s, 14, m->last_invite_at);
	sqlite3_bind_int64(s, 15, m->created_at);
	sqlite3_bind_int64(s, 16, m->created_at);
	return step_reset(s);
}

int state_move_member(state *st, const char *source, const char *person,
		      const char *from, const char *to)
{
	sqlite3_stmt *s = stmt(st, ST_MOVE);
	bind_text(s, 1, source);
	bind_text(s, 2, person);
	bind_text(s, 3, from);
	bind_text(s, 4, to);
	return step_reset(s);
}

int state_set_missing(state *st, const char *source, const char *person,
		      const char *facility, unsigned long missing)
{
	sqlite3_stmt *s = stmt(st, ST_MISSING);
	bind_text(s, 1, source);
	bind_text(s, 2, person);
	bind_text(s, 3, facility);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)missing);
	return step_reset(s);
}

int state_source_get(state *st, const char *name, long *last_full_count, char **cursor)
{
	*last_full_count = -1;
	if (cursor)
		*cursor = NULL;
	if (!st->db)
		return 0;
	sqlite3_stmt *s = stmt(st, ST_SRC_GET);
	bind_text(s, 1, name);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			*last_full_count = (long)sqlite3_column_int64(s, 0);
		if (cursor)
			*cursor = col_text(s, 1);
	}
	sqlite3_reset(s);
	return sql_err(rc);
}

int state_source_put(state *st, const char *name, long last_full_count, const char *cursor)
{
	sqlite3_stmt *s = stmt(st, ST_SRC_PUT);
	bind_text(s, 1, name);
	if (last_full_count < 0)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int64(s, 2, last_full_count);
	bind_text(s, 3, cursor);
	return step_reset(s);
}

/* ------------------------------------------------------------------ runs */

static const char *const count_cols[_SS_OP_MAX] = {
	[SS_OP_CREATE] = "created", [SS_OP_INVITE] = "invited",
	[SS_OP_RESEND_INVITE] = "resent", [SS_OP_UPDATE] = "updated",
	[SS_OP_MOVE] = "moved", [SS_OP_DEACTIVATE] = "deactivated",
	[SS_OP_REACTIVATE] = "reactivated", [SS_OP_HOLD] = "held",
	[SS_OP_ADOPT] = "adopted",
};

void state_run_clear(struct state_run *r)
{
	free(r->status);
	free(r->message);
	*r = (struct state_run){0};
}

int state_run_begin(state *st, int64_t now, long *id)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO runs (started_at, status) VALUES (?1, 'running')",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, now);
	int r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	*id = (long)sqlite3_last_insert_rowid(st->db);
	return r;
}

int state_run_finish(state *st, const struct state_run *run)
{
	sqlite3_stmt *s;
	char hash[17];
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)run->plan_hash);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE runs SET finished_at=?2, status=?3, message=?4, plan_hash=?5,"
			       " created=?6, invited=?7, resent=?8, updated=?9, moved=?10,"
			       " deactivated=?11, reactivated=?12, held=?13, adopted=?14, failed=?15"
			       " WHERE id=?1", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, run->id);
	sqlite3_bind_int64(s, 2, run->finished_at);
	bind_text(s, 3, run->status);
	bind_text(s, 4, run->message);
	bind_text(s, 5, hash);
	static const enum ss_op_kind order[] = {
		SS_OP_CREATE, SS_OP_INVITE, SS_OP_RESEND_INVITE, SS_OP_UPDATE, SS_OP_MOVE,
		SS_OP_DEACTIVATE, SS_OP_REACTIVATE, SS_OP_HOLD, SS_OP_ADOPT,
	};
	for (size_t i = 0; i < ELEMENTSOF(order); i++)
		sqlite3_bind_int64(s, (int)i + 6, (sqlite3_int64)run->counts[order[i]]);
	sqlite3_bind_int64(s, 15, (sqlite3_int64)run->failed);
	int r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	return r;
}

static void read_run(sqlite3_stmt *s, struct state_run *run)
{
	*run = (struct state_run){0};
	run->id = (long)sqlite3_column_int64(s, 0);
	run->started_at = sqlite3_column_int64(s, 1);
	run->finished_at = sqlite3_column_int64(s, 2);
	run->status = col_text(s, 3);
	run->message = col_text(s, 4);
	const char *h = (const char *)sqlite3_column_text(s, 5);
	run->plan_hash = h ? strtoull(h, NULL, 16) : 0;
	for (int k = 0; k < _SS_OP_MAX; k++)
		run->counts[k] = (unsigned long)sqlite3_column_int64(s, 6 + k);
	run->failed = (unsigned long)sqlite3_column_int64(s, 6 + _SS_OP_MAX);
}

static char *runs_select(const char *where)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	if (!f)
		return NULL;
	fputs("SELECT id, started_at, ifnull(finished_at, 0), status, message, plan_hash", f);
	for (int k = 0; k < _SS_OP_MAX; k++)
		fprintf(f, ", %s", count_cols[k]);
	fprintf(f, ", failed FROM runs %s", where);
	fclose(f);
	return sql;
}

int state_run_get(state *st, long id, struct state_run *ret)
{
	_cleanup_free_ char *sql = runs_select("WHERE id = ?1");
	sqlite3_stmt *s;
	if (!st->db)
		return -ENOENT;
	if (!sql)
		return -ENOMEM;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_run(s, ret);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int state_runs_list(state *st, unsigned limit, struct state_run **ret, size_t *n)
{
	_cleanup_free_ char *sql = runs_select("ORDER BY id DESC LIMIT ?1");
	struct state_run *v = NULL;
	size_t count = 0;
	sqlite3_stmt *s;
	*ret = NULL;
	*n = 0;
	if (!st->db)
		return 0;
	if (!sql)
		return -ENOMEM;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, limit);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct state_run *nv = realloc(v, (count + 1) * sizeof *v);
		if (!nv)
			break;
		v = nv;
		read_run(s, &v[count++]);
	}
	sqlite3_finalize(s);
	*ret = v;
	*n = count;
	return 0;
}

int state_approve(state *st, long run_id, int64_t now)
{
	struct state_run run;
	int r = state_run_get(st, run_id, &run);
	if (r < 0)
		return r;
	bool gated = run.status && streq(run.status, "gated");
	state_run_clear(&run);
	if (!gated)
		return -EINVAL;   /* only a plan a gate stopped needs approval */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO approvals (run_id, plan_hash, approved_at)"
			       " SELECT id, plan_hash, ?2 FROM runs WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_int64(s, 2, now);
	r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	return r;
}

int state_take_approval(state *st, uint64_t hash)
{
	char h[17];
	sqlite3_stmt *s;
	if (!st->db)
		return 0;
	snprintf(h, sizeof h, "%016llx", (unsigned long long)hash);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE approvals SET used_at = strftime('%s','now')"
			       " WHERE plan_hash = ?1 AND used_at IS NULL", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	bind_text(s, 1, h);
	int r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	if (r < 0)
		return r;
	return sqlite3_changes(st->db) > 0;
}

/* --------------------------------------------------------------- journal */

int state_journal_add(state *st, long run_id, long seq, const char *key,
		      const char *payload, long *op_id)
{
	sqlite3_stmt *s = stmt(st, ST_JADD);
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_int64(s, 2, seq);
	bind_text(s, 3, key);
	bind_text(s, 4, payload);
	int r = sql_err(sqlite3_step(s));
	sqlite3_reset(s);
	*op_id = (long)sqlite3_last_insert_rowid(st->db);
	return r;
}

int state_journal_finish(state *st, long op_id, bool ok, const char *error)
{
	sqlite3_stmt *s = stmt(st, ST_JFIN);
	sqlite3_bind_int64(s, 1, op_id);
	bind_text(s, 2, ok ? "done" : "failed");
	bind_text(s, 3, error);
	return step_reset(s);
}

int state_journal_pending(state *st, int (*fn)(void *ud, long op_id, const char *payload), void *ud)
{
	sqlite3_stmt *s;
	int r = 0, rc;
	if (!st->db)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, payload FROM journal WHERE state = 'pending' ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = fn(ud, (long)sqlite3_column_int64(s, 0),
			    (const char *)sqlite3_column_text(s, 1))) < 0)
			break;
	if (r == 0)
		r = sql_err(rc);
	sqlite3_finalize(s);
	return r;
}

int state_holds_clear(state *st)
{
	return exec(st, "DELETE FROM holds");   /* the holds table keeps the last run's only */
}

int state_hold_add(state *st, long run_id, const char *source, const char *person,
		   const char *facility, const char *reason)
{
	sqlite3_stmt *s = stmt(st, ST_HOLD_ADD);
	sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, source);
	bind_text(s, 3, person);
	bind_text(s, 4, facility);
	bind_text(s, 5, reason);
	return step_reset(s);
}

void state_holds_free(struct state_hold *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].source);
		free(v[i].person);
		free(v[i].facility);
		free(v[i].reason);
	}
	free(v);
}

static int holds_count(state *st, size_t *total)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM holds", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*total = (size_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return sql_err(rc);
}

int state_holds_list(state *st, unsigned limit, struct state_hold **ret, size_t *n, size_t *total)
{
	struct state_hold *v = NULL;
	size_t count = 0;
	sqlite3_stmt *s;
	int r, rc;
	*ret = NULL;
	*n = *total = 0;
	if (!st->db)
		return 0;
	if ((r = holds_count(st, total)) < 0)
		return r;
	if (sqlite3_prepare_v2(st->db, "SELECT run_id, source, person, facility, reason FROM holds"
			       " ORDER BY person, facility LIMIT ?1", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_hold *nv = realloc(v, (count + 1) * sizeof *v);
		if (!nv) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		v[count++] = (struct state_hold){
			.run_id = (long)sqlite3_column_int64(s, 0),
			.source = col_text(s, 1),
			.person = col_text(s, 2),
			.facility = col_text(s, 3),
			.reason = col_text(s, 4),
		};
	}
	sqlite3_finalize(s);
	if ((r = sql_err(rc)) < 0) {
		state_holds_free(v, count);
		return r;
	}
	*ret = v;
	*n = count;
	return 0;
}

int state_approval_pending(state *st, long run_id)
{
	sqlite3_stmt *s;
	if (!st->db)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM approvals WHERE run_id = ?1 AND used_at IS NULL",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : sql_err(rc);
}

/* ------------------------------------------------------------ refusals */

/* The statement, reset; NULL when the state has no refusals table. */
static sqlite3_stmt *refusal_stmt(state *st, enum refusal_stmt_id id)
{
	if (!st->db)
		return NULL;
	if (!st->refusal[id] &&
	    sqlite3_prepare_v3(st->db, refusal_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			       &st->refusal[id], NULL) != SQLITE_OK)
		return NULL;
	sqlite3_reset(st->refusal[id]);
	sqlite3_clear_bindings(st->refusal[id]);
	return st->refusal[id];
}

static void bind_membership(sqlite3_stmt *s, const char *source, const char *person,
			    const char *facility, enum ss_op_kind kind)
{
	bind_text(s, 1, source);
	bind_text(s, 2, person);
	bind_text(s, 3, facility);
	sqlite3_bind_text(s, 4, ss_op_kind_to_string(kind), -1, SQLITE_STATIC);
}

int state_refusal_put(state *st, const char *source, const char *person, const char *facility,
		      enum ss_op_kind kind, uint64_t content, const char *message, int64_t now)
{
	char c[17];
	sqlite3_stmt *s = refusal_stmt(st, RF_PUT);
	if (!s)
		return -EPROTO;
	snprintf(c, sizeof c, "%016llx", (unsigned long long)content);
	bind_membership(s, source, person, strempty(facility), kind);
	bind_text(s, 5, c);
	bind_text(s, 6, strempty(message));
	sqlite3_bind_int64(s, 7, now);
	return step_reset(s);
}

int state_refusal_drop(state *st, const char *source, const char *person, const char *facility,
		       enum ss_op_kind kind)
{
	sqlite3_stmt *s = refusal_stmt(st, RF_DROP);
	if (!s)
		return -EPROTO;
	bind_membership(s, source, person, strempty(facility), kind);
	return step_reset(s);
}

int state_refusals_forget(state *st, const char *person, unsigned long *forgotten)
{
	sqlite3_stmt *s = refusal_stmt(st, RF_FORGET);
	*forgotten = 0;
	if (!s)
		return -EPROTO;
	bind_text(s, 1, person);
	int r = sql_err(sqlite3_step(s));
	if (r >= 0)
		*forgotten = (unsigned long)sqlite3_changes(st->db);
	sqlite3_reset(s);
	return r;
}

int state_refusal_get(state *st, const char *source, const char *person, const char *facility,
		      enum ss_op_kind kind, uint64_t content, char **message, int64_t *at)
{
	char c[17];
	*message = NULL;
	sqlite3_stmt *s = refusal_stmt(st, RF_GET);
	if (!s)
		return 0;   /* no state yet, or one from before refusals were kept */
	snprintf(c, sizeof c, "%016llx", (unsigned long long)content);
	bind_membership(s, source, person, strempty(facility), kind);
	bind_text(s, 5, c);
	int rc = sqlite3_step(s), r = sql_err(rc);
	if (rc == SQLITE_ROW) {
		*message = col_text(s, 0);
		*at = sqlite3_column_int64(s, 1);
		r = *message ? 1 : -ENOMEM;
	}
	sqlite3_reset(s);
	return r;
}

int state_person_refusals(state *st, const char *source, const char *person,
			  int (*fn)(void *ud, const char *facility, const char *kind,
				    const char *message, int64_t at), void *ud)
{
	sqlite3_stmt *s = refusal_stmt(st, RF_PERSON);
	int rc, r = 0;
	if (!s)
		return 0;
	bind_text(s, 1, source);
	bind_text(s, 2, person);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = fn(ud, (const char *)sqlite3_column_text(s, 0),
			    (const char *)sqlite3_column_text(s, 1),
			    (const char *)sqlite3_column_text(s, 2), sqlite3_column_int64(s, 3))) < 0)
			break;
	if (r == 0)
		r = sql_err(rc);
	sqlite3_reset(s);
	return r;
}

/* ------------------------------------------------------------- outbox */

int state_outbox_add(state *st, const struct state_mail *m, int64_t now)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO outbox (op_key, kind, facility, person, email,"
			       " given_name, family_name, queued_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"
			       " ON CONFLICT (op_key) DO NOTHING", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	bind_text(s, 1, m->op_key);
	bind_text(s, 2, m->kind);
	bind_text(s, 3, m->facility);
	bind_text(s, 4, m->person);
	bind_text(s, 5, m->email);
	bind_text(s, 6, m->given_name);
	bind_text(s, 7, m->family_name);
	sqlite3_bind_int64(s, 8, now);
	int r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	return r;
}

int state_outbox_for_each(state *st, const char *which,
			  int (*fn)(void *ud, const struct state_mail *m), void *ud)
{
	sqlite3_stmt *s;
	int r = 0, rc;
	if (!st->db)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, op_key, kind, facility, person, email, given_name,"
			       " family_name, attempts, next_at, error FROM outbox WHERE state = ?1 ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	bind_text(s, 1, which);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_mail m = {
			.id = (long)sqlite3_column_int64(s, 0),
			.op_key = (const char *)sqlite3_column_text(s, 1),
			.kind = (const char *)sqlite3_column_text(s, 2),
			.facility = (const char *)sqlite3_column_text(s, 3),
			.person = (const char *)sqlite3_column_text(s, 4),
			.email = (const char *)sqlite3_column_text(s, 5),
			.given_name = (const char *)sqlite3_column_text(s, 6),
			.family_name = (const char *)sqlite3_column_text(s, 7),
			.attempts = (unsigned long)sqlite3_column_int64(s, 8),
			.next_at = sqlite3_column_int64(s, 9),
			.error = (const char *)sqlite3_column_text(s, 10),
		};
		if ((r = fn(ud, &m)) < 0)
			break;
	}
	if (r == 0)
		r = sql_err(rc);
	sqlite3_finalize(s);
	return r;
}

int state_outbox_set(state *st, long id, const char *to, const char *error, int64_t now)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "UPDATE outbox SET state = ?2, error = ?3,"
			       " attempts = attempts + (?2 = 'sending'),"
			       " sent_at = CASE WHEN ?2 = 'sent' THEN ?4 ELSE sent_at END WHERE id = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, to);
	bind_text(s, 3, error);
	sqlite3_bind_int64(s, 4, now);
	int r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	return r;
}

int state_outbox_retry(state *st, long id, const char *error, unsigned long attempts, int64_t next_at)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "UPDATE outbox SET state = 'queued', error = ?2, attempts = ?3,"
			       " next_at = ?4 WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, error);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)attempts);
	sqlite3_bind_int64(s, 4, next_at);
	int r = sql_err(sqlite3_step(s));
	sqlite3_finalize(s);
	return r;
}
