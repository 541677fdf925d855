/* SPDX-License-Identifier: MIT */
/*
 * The embedded workspace store (plugins/sqlite), driven through its
 * descriptor with the daemon's real host services, on a store in a fresh
 * temporary folder per test. Effects are read back through the documented
 * views with a second, independent SQLite connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>

#include "conf.h"
#include "config.h"
#include "staffsync-plugin.h"
#include "util.h"

/* 2026-11-23T10:00:00Z */
#define FAKE_NOW "1795428000"
#define FAKE_NOW_ISO "2026-11-23T10:00:00Z"
#define SCHEMA_VERSION 2
#define MAX_LOGGED 64

/* What the done callbacks were told, in order. */
struct done_log {
	size_t n;
	const struct ss_op *ops[MAX_LOGGED];
	struct ss_op_result results[MAX_LOGGED];
};

struct fixture {
	char dir[64];
	char *store;             /* dir/workspaces.db */
	struct config_errors errors;
	ss_conf *conf;
	const struct ss_target_ops *ops;
	void *t;
	sqlite3 *raw;            /* an independent connection for reading back */
	struct done_log log;
};

/* ------------------------------------------------------------ helpers --- */

static void on_done(void *userdata, const struct ss_op *op, const struct ss_op_result *result)
{
	struct done_log *log = userdata;
	if (log->n < MAX_LOGGED) {
		log->ops[log->n] = op;
		log->results[log->n] = *result;
	}
	log->n++;
}

static void on_done_count(void *userdata, const struct ss_op *op,
			  const struct ss_op_result *result)
{
	size_t *count = userdata;
	assert_int_equal(result->error, 0);
	(*count)++;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* A configuration document whose state_dir is the test folder; yaml is
 * the whole document. */
static ss_conf *load_conf(struct fixture *f, const char *yaml)
{
	char name[128];
	ss_conf *conf = NULL;

	snprintf(name, sizeof(name), "%s/staffsync.yaml", f->dir);
	assert_int_equal(conf_load_string(name, yaml, &conf, &f->errors), 0);
	conf_set_state_dir(conf, f->dir);
	return conf;
}

static const yaml_node_t *target_node(ss_conf *conf)
{
	return conf_get(conf, conf_root(conf), "target");
}

static void connect_store(struct fixture *f, bool read_only)
{
	assert_int_equal(f->ops->connect(f->t, read_only), 0);
}

/* Close the plugin instance and open a new one on the same store. */
static void reopen(struct fixture *f, bool read_only)
{
	f->ops->close(f->t);
	f->t = NULL;
	assert_int_equal(f->ops->open(&ss_host_services, f->conf, NULL, &f->t), 0);
	connect_store(f, read_only);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ss-sqlite-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_true(asprintf(&f->store, "%s/workspaces.db", f->dir) > 0);
	setenv("STAFFSYNC_FAKE_NOW", FAKE_NOW, 1);

	f->ops = staffsync_plugin()->target;
	/* No target section: every default, the store in state_dir. */
	f->conf = load_conf(f, "state_dir: /unused\n");
	assert_int_equal(f->ops->open(&ss_host_services, f->conf, NULL, &f->t), 0);
	*state = f;
	return 0;
}

/* The usual starting point: connected for writing, two facilities. */
static int setup_connected(void **state)
{
	setup(state);
	struct fixture *f = *state;
	connect_store(f, false);
	assert_int_equal(f->ops->facility(f->t, "north", "North Campus"), 0);
	assert_int_equal(f->ops->facility(f->t, "south", "South"), 0);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->t)
		f->ops->close(f->t);
	if (f->raw)
		sqlite3_close(f->raw);
	conf_free(f->conf);
	config_errors_clear(&f->errors);
	nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f->store);
	free(f);
	return 0;
}

static sqlite3 *raw(struct fixture *f)
{
	if (!f->raw) {
		assert_int_equal(sqlite3_open_v2(f->store, &f->raw, SQLITE_OPEN_READWRITE, NULL),
				 SQLITE_OK);
		sqlite3_busy_timeout(f->raw, 5000);
	}
	return f->raw;
}

/* Run SQL (a printf format: %Q quotes) on the independent connection. */
static void raw_exec(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	char *err = NULL;
	int rc = sqlite3_exec(raw(f), sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_free(sql);
}

/* The first column of the first row as text ("" for none, "NULL" for NULL). */
static char *raw_text(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *s;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(raw(f), sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(raw(f)));
	char *v;
	if (sqlite3_step(s) != SQLITE_ROW)
		v = strdup("");
	else if (sqlite3_column_type(s, 0) == SQLITE_NULL)
		v = strdup("NULL");
	else
		v = strdup((const char *) sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_free(sql);
	assert_non_null(v);
	return v;
}

static long raw_count(struct fixture *f, const char *what)
{
	_cleanup_free_ char *v = raw_text(f, "SELECT count(*) FROM %s", what);
	return atol(v);
}

#define assert_raw_text(f, expected, ...) do { \
		_cleanup_free_ char *_v = raw_text(f, __VA_ARGS__); \
		assert_string_equal(_v, expected); \
	} while (0)

/* A membership as the engine would send it. */
static struct ss_op make_op(enum ss_op_kind kind, const char *key, const char *facility,
			    const char *external_id)
{
	return (struct ss_op) {
		.kind = kind,
		.key = (char *) key,
		.facility = (char *) facility,
		.member = {
			.facility = (char *) facility,
			.external_id = (char *) external_id,
			.given_name = "Ada",
			.family_name = "Lovelace",
			.email = "Ada@Example.org",
			.role = "Surgeon",
			.permission_level = "Staff",
			.status = SS_STATUS_NO_ACCOUNT,
		},
	};
}

/* Apply one operation, flush, and return what its callback was told. */
static struct ss_op_result apply_one(struct fixture *f, const struct ss_op *op)
{
	size_t before = f->log.n;
	assert_int_equal(f->ops->apply(f->t, op, on_done, &f->log), 0);
	assert_int_equal(f->ops->flush(f->t), 0);
	assert_int_equal(f->log.n, before + 1);
	assert_ptr_equal(f->log.ops[before], op);
	return f->log.results[before];
}

static void assert_applied(struct fixture *f, const struct ss_op *op)
{
	struct ss_op_result r = apply_one(f, op);
	if (r.error != 0)
		fail_msg("%s: %d %s", op->key, r.error, r.message);
	assert_false(r.already);
}

static void assert_already(struct fixture *f, const struct ss_op *op)
{
	struct ss_op_result r = apply_one(f, op);
	assert_int_equal(r.error, 0);
	assert_true(r.already);
}

static void assert_refused(struct fixture *f, const struct ss_op *op, int error,
			   const char *message_part)
{
	struct ss_op_result r = apply_one(f, op);
	assert_int_equal(r.error, error);
	assert_false(r.already);
	if (!strstr(r.message, message_part))
		fail_msg("message \"%s\" lacks \"%s\"", r.message, message_part);
}

static void create(struct fixture *f, const char *key, const char *facility,
		   const char *external_id)
{
	struct ss_op op = make_op(SS_OP_CREATE, key, facility, external_id);
	assert_applied(f, &op);
}

static void status_is(struct fixture *f, const char *facility, const char *external_id,
		      const char *status)
{
	assert_raw_text(f, status, "SELECT status FROM workspace_users WHERE facility = %Q "
			"AND external_id = %Q", facility, external_id);
}

/* A row as the platform itself would have made it (not staffsync's). */
static long insert_platform_row(struct fixture *f, const char *facility, const char *external_id,
				const char *email, const char *role, int managed)
{
	raw_exec(f, "INSERT INTO members (facility, external_id, given_name, family_name, email, "
		 "role, permission_level, status, managed) VALUES (%Q, %Q, 'Grace', 'Hopper', %Q, "
		 "%Q, 'Staff', 'active', %d)", facility, external_id, email, role, managed);
	return (long) sqlite3_last_insert_rowid(raw(f));
}

/* The names of a folder's entries, sorted, one string. */
static char *folder_listing(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	char *all = strdup("");
	for (int i = 0; i < n; i++) {
		char *next;
		assert_true(asprintf(&next, "%s%s\n", all, names[i]->d_name) > 0);
		free(all);
		all = next;
		free(names[i]);
	}
	free(names);
	return all;
}

/* -------------------------------------------------------------- config --- */

static void test_descriptor(void **state)
{
	const struct ss_plugin *p = staffsync_plugin();
	assert_int_equal(ss_plugin_abi_major(p), SS_PLUGIN_ABI_VERSION);
	assert_int_equal(ss_plugin_abi_revision(p), SS_PLUGIN_ABI_REVISION);
	assert_int_equal(p->kind, SS_PLUGIN_TARGET);
	assert_string_equal(p->name, "sqlite");
	assert_null(p->source);
	assert_non_null(p->target);
	const struct ss_target_ops *o = p->target;
	assert_true(o->open && o->connect && o->facility && o->lookup && o->lookup_email &&
		    o->apply && o->flush && o->close);
	/* The store has no user names: target.adopt: username is refused for it. */
	assert_null(ss_target_lookup_username(p));
}

static void test_default_store_in_state_dir(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->store, &st), -1);
	connect_store(f, false);
	assert_int_equal(stat(f->store, &st), 0);
	/* Names and e-mail addresses: not world-readable. */
	assert_int_equal(st.st_mode & 0007, 0);
}

static void test_config_path_relative_to_config_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *expected = NULL;
	struct stat st;
	void *t = NULL;
	ss_conf *conf = load_conf(f, "target:\n  type: sqlite\n  adopt: email\n  path: ws.db\n");

	assert_int_equal(f->ops->open(&ss_host_services, conf, target_node(conf), &t), 0);
	assert_int_equal(conf_error_count(conf), 0);
	assert_int_equal(f->ops->connect(t, false), 0);
	assert_true(asprintf(&expected, "%s/ws.db", f->dir) > 0);
	assert_int_equal(stat(expected, &st), 0);
	f->ops->close(t);
	conf_free(conf);
}

static void test_config_errors(void **state)
{
	struct fixture *f = *state;
	void *t = NULL;
	ss_conf *conf = load_conf(f, "target:\n  type: sqlite\n  pth: ws.db\n");

	assert_int_equal(f->ops->open(&ss_host_services, conf, target_node(conf), &t), -EINVAL);
	assert_null(t);
	assert_int_equal(f->errors.n, 1);
	assert_non_null(strstr(f->errors.lines[0], ":3:3: unknown key"));
	conf_free(conf);

	conf = load_conf(f, "target:\n  type: sqlite\n  path: ''\n");
	assert_int_equal(f->ops->open(&ss_host_services, conf, target_node(conf), &t), -EINVAL);
	assert_int_equal(f->errors.n, 2);
	assert_non_null(strstr(f->errors.lines[1], "must not be empty"));
	conf_free(conf);
}

/* -------------------------------------------------------------- schema --- */

static void assert_columns(struct fixture *f, const char *view, const char *expected)
{
	assert_raw_text(f, expected, "SELECT group_concat(name, ',') FROM "
			"(SELECT name FROM pragma_table_info(%Q) ORDER BY cid)", view);
}

static void test_views_have_exactly_the_documented_columns(void **state)
{
	struct fixture *f = *state;
	assert_columns(f, "workspace_users", "facility,external_id,given_name,family_name,email,"
		       "role,label,permission_level,speciality,status");
	assert_columns(f, "workspace_invites", "facility,external_id,email,kind,sent_at");
	assert_raw_text(f, "view", "SELECT type FROM sqlite_master WHERE name = 'workspace_users'");
	assert_raw_text(f, "view", "SELECT type FROM sqlite_master WHERE name = 'workspace_invites'");
}

static void test_schema_version_and_journal(void **state)
{
	struct fixture *f = *state;
	char expected[16];
	snprintf(expected, sizeof(expected), "%d", SCHEMA_VERSION);
	assert_raw_text(f, expected, "PRAGMA user_version");
	assert_raw_text(f, "wal", "PRAGMA journal_mode");
	assert_raw_text(f, "North Campus", "SELECT name FROM facilities WHERE id = 'north'");
	/* A second connect migrates nothing twice. */
	reopen(f, false);
	assert_raw_text(f, expected, "PRAGMA user_version");
}

/* A store left at version 1 (before the views) is brought up to date on
 * connect, keeping its rows; a read-only connect migrates nothing. */
static void test_older_schema_migrated(void **state)
{
	struct fixture *f = *state;
	char expected[16];
	snprintf(expected, sizeof(expected), "%d", SCHEMA_VERSION);
	create(f, "k1", "north", "E1");
	f->ops->close(f->t);
	f->t = NULL;
	raw_exec(f, "DROP VIEW workspace_users; DROP VIEW workspace_invites; "
		 "PRAGMA user_version = 1");

	assert_int_equal(f->ops->open(&ss_host_services, f->conf, NULL, &f->t), 0);
	connect_store(f, true);
	assert_raw_text(f, "1", "PRAGMA user_version");
	struct ss_member m = {0};
	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), 1);
	ss_member_clear(&m);

	connect_store(f, false);
	assert_raw_text(f, expected, "PRAGMA user_version");
	assert_raw_text(f, "E1", "SELECT external_id FROM workspace_users");
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	f->ops->close(f->t);
	f->t = NULL;
	raw_exec(f, "PRAGMA user_version = 99");
	assert_int_equal(f->ops->open(&ss_host_services, f->conf, NULL, &f->t), 0);
	assert_int_equal(f->ops->connect(f->t, false), -EPROTO);
	assert_int_equal(f->ops->connect(f->t, true), -EPROTO);
	_cleanup_free_ char *v = raw_text(f, "PRAGMA user_version");
	assert_string_equal(v, "99");
}

static void test_facility_name_updated(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(f->ops->facility(f->t, "north", "North"), 0);
	assert_raw_text(f, "North", "SELECT name FROM facilities WHERE id = 'north'");
	assert_int_equal(f->ops->facility(f->t, "north", NULL), 0);
	assert_raw_text(f, "North", "SELECT name FROM facilities WHERE id = 'north'");
	assert_int_equal(raw_count(f, "facilities"), 2);
}

/* -------------------------------------------------------------- create --- */

static void test_create_reads_back_through_view(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	op.member.role = "Personnel";
	op.member.label = "Lab";
	op.member.speciality = "";   /* empty is absent */
	assert_applied(f, &op);

	assert_raw_text(f, "north|E1|Ada|Lovelace|Ada@Example.org|Personnel|Lab|Staff|NULL|no_account",
			"SELECT facility || '|' || external_id || '|' || given_name || '|' || "
			"family_name || '|' || email || '|' || role || '|' || label || '|' || "
			"permission_level || '|' || coalesce(speciality, 'NULL') || '|' || status "
			"FROM workspace_users");
	assert_raw_text(f, "1|" FAKE_NOW_ISO "|" FAKE_NOW_ISO,
			"SELECT managed || '|' || created_at || '|' || updated_at FROM members");
}

static void test_create_same_key_twice_one_row(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	assert_applied(f, &op);
	op.member.given_name = "Changed";
	assert_already(f, &op);
	assert_int_equal(raw_count(f, "workspace_users"), 1);
	assert_raw_text(f, "Ada", "SELECT given_name FROM workspace_users");
}

static void test_create_existing_member_is_already(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op again = make_op(SS_OP_CREATE, "k2", "north", "E1");
	assert_already(f, &again);
	/* The same person in another facility is another membership. */
	create(f, "k3", "south", "E1");
	assert_int_equal(raw_count(f, "workspace_users"), 2);
}

static void test_create_in_unknown_facility_refused(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "east", "E1");
	assert_refused(f, &op, -ENOENT, "facility east does not exist");
	assert_int_equal(raw_count(f, "members"), 0);
}

static void test_create_patient_refused(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	op.member.role = "patient";
	assert_refused(f, &op, -EPERM, "patient");
	assert_int_equal(raw_count(f, "members"), 0);
	/* Refused, not applied: the key stays free. */
	op.member.role = "Nurse";
	assert_applied(f, &op);
}

static void test_failed_op_leaves_batch_intact(void **state)
{
	struct fixture *f = *state;
	struct ss_op a = make_op(SS_OP_CREATE, "ka", "north", "A");
	struct ss_op bad = make_op(SS_OP_CREATE, "kbad", "east", "B");
	struct ss_op c = make_op(SS_OP_CREATE, "kc", "north", "C");

	assert_int_equal(f->ops->apply(f->t, &a, on_done, &f->log), 0);
	assert_int_equal(f->ops->apply(f->t, &bad, on_done, &f->log), 0);
	assert_int_equal(f->ops->apply(f->t, &c, on_done, &f->log), 0);
	assert_int_equal(f->ops->flush(f->t), 0);
	assert_int_equal(f->log.n, 3);
	assert_int_equal(f->log.results[0].error, 0);
	assert_int_equal(f->log.results[1].error, -ENOENT);
	assert_int_equal(f->log.results[2].error, 0);
	assert_raw_text(f, "A,C", "SELECT group_concat(external_id) FROM "
			"(SELECT external_id FROM workspace_users ORDER BY 1)");
}

/* -------------------------------------------------------------- update --- */

static void test_update_writes_named_fields_only(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	op.member.speciality = "Cardiology";
	assert_applied(f, &op);

	struct ss_op up = make_op(SS_OP_UPDATE, "k2", "north", "E1");
	up.member.given_name = "Augusta";
	up.member.family_name = "ignored";
	up.member.speciality = NULL;
	up.member.permission_level = "Coordinator";
	up.changed = SS_FIELD_GIVEN_NAME | SS_FIELD_SPECIALITY | SS_FIELD_PERMISSION_LEVEL;
	setenv("STAFFSYNC_FAKE_NOW", "1795431600", 1);
	assert_applied(f, &up);

	assert_raw_text(f, "Augusta|Lovelace|NULL|Coordinator",
			"SELECT given_name || '|' || family_name || '|' || "
			"coalesce(speciality, 'NULL') || '|' || permission_level FROM workspace_users");
	assert_raw_text(f, FAKE_NOW_ISO "|2026-11-23T11:00:00Z",
			"SELECT created_at || '|' || updated_at FROM members");
}

static void test_update_replayed_key_has_no_second_effect(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op first = make_op(SS_OP_UPDATE, "k2", "north", "E1");
	first.member.email = "first@example.org";
	first.changed = SS_FIELD_EMAIL;
	struct ss_op second = first;
	second.key = "k3";
	second.member.email = "second@example.org";

	assert_applied(f, &first);
	assert_applied(f, &second);
	assert_already(f, &first);
	assert_raw_text(f, "second@example.org", "SELECT email FROM workspace_users");
}

static void test_update_missing_member_refused(void **state)
{
	struct fixture *f = *state;
	struct ss_op up = make_op(SS_OP_UPDATE, "k1", "north", "nobody");
	up.changed = SS_FIELD_EMAIL;
	assert_refused(f, &up, -ENOENT, "no membership of nobody");
}

/* ---------------------------------------------------------------- move --- */

static void test_move_keeps_row_and_invites(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	assert_applied(f, &invite);
	_cleanup_free_ char *id_before = raw_text(f, "SELECT id FROM members");

	struct ss_op move = make_op(SS_OP_MOVE, "k3", "south", "E1");
	move.from_facility = "north";
	move.member.role = "Nurse";
	assert_applied(f, &move);

	assert_raw_text(f, id_before, "SELECT id FROM members");
	assert_raw_text(f, "south|Nurse|pending",
			"SELECT facility || '|' || role || '|' || status FROM workspace_users");
	/* The invite stays with the person, for the facility it was sent for. */
	assert_raw_text(f, "north|E1|invite", "SELECT facility || '|' || external_id || '|' || "
			"kind FROM workspace_invites");
	assert_int_equal(raw_count(f, "workspace_users"), 1);
}

static void test_move_replayed_or_done_is_already(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op move = make_op(SS_OP_MOVE, "k2", "south", "E1");
	move.from_facility = "north";
	assert_applied(f, &move);
	assert_already(f, &move);
	move.key = "k3";   /* another key, but the person is there already */
	assert_already(f, &move);
	assert_raw_text(f, "south", "SELECT facility FROM workspace_users");

	/* Nowhere to be found: not "already". */
	struct ss_op lost = make_op(SS_OP_MOVE, "k4", "south", "E2");
	lost.from_facility = "north";
	assert_refused(f, &lost, -ENOENT, "no membership");
}

static void test_move_onto_existing_membership_refused(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	create(f, "k2", "south", "E1");
	struct ss_op move = make_op(SS_OP_MOVE, "k3", "south", "E1");
	move.from_facility = "north";
	assert_refused(f, &move, -EEXIST, "already has a membership");
	assert_int_equal(raw_count(f, "workspace_users WHERE facility = 'north'"), 1);
}

/* ------------------------------------------------- deactivate/reactivate --- */

static void test_deactivate_and_reactivate_restore_status(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	assert_applied(f, &invite);
	struct ss_op off = make_op(SS_OP_DEACTIVATE, "k3", "north", "E1");
	assert_applied(f, &off);
	status_is(f, "north", "E1", "deactivated");
	assert_int_equal(raw_count(f, "members"), 1);   /* never deleted */

	struct ss_op on = make_op(SS_OP_REACTIVATE, "k4", "north", "E1");
	assert_applied(f, &on);
	status_is(f, "north", "E1", "pending");
}

static void test_deactivate_twice_keeps_previous_status(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	op.member.status = SS_STATUS_ACTIVE;
	assert_applied(f, &op);
	struct ss_op off = make_op(SS_OP_DEACTIVATE, "k2", "north", "E1");
	assert_applied(f, &off);
	assert_already(f, &off);
	off.key = "k3";
	assert_already(f, &off);

	struct ss_op on = make_op(SS_OP_REACTIVATE, "k4", "north", "E1");
	assert_applied(f, &on);
	status_is(f, "north", "E1", "active");
}

static void test_reactivate_replayed_key_has_no_second_effect(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op off = make_op(SS_OP_DEACTIVATE, "k2", "north", "E1");
	struct ss_op on = make_op(SS_OP_REACTIVATE, "k3", "north", "E1");
	struct ss_op off_again = make_op(SS_OP_DEACTIVATE, "k4", "north", "E1");
	assert_applied(f, &off);
	assert_applied(f, &on);
	assert_already(f, &on);
	assert_applied(f, &off_again);
	assert_already(f, &on);   /* replayed after a later deactivation: still nothing */
	status_is(f, "north", "E1", "deactivated");
}

static void test_reactivate_without_previous_status(void **state)
{
	struct fixture *f = *state;
	raw_exec(f, "INSERT INTO members (facility, external_id, status, managed) "
		 "VALUES ('north', 'E1', 'deactivated', 1)");
	struct ss_op on = make_op(SS_OP_REACTIVATE, "k1", "north", "E1");
	assert_applied(f, &on);
	status_is(f, "north", "E1", "no_account");
}

/* ------------------------------------------------------------- invites --- */

static void test_invite_records_invite_and_pending(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	invite.member.email = "not-used@example.org";   /* the stored address is */
	assert_applied(f, &invite);
	assert_raw_text(f, "north|E1|Ada@Example.org|invite|" FAKE_NOW_ISO,
			"SELECT facility || '|' || external_id || '|' || email || '|' || kind || "
			"'|' || sent_at FROM workspace_invites");
	status_is(f, "north", "E1", "pending");
}

static void test_resend_records_resend(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	struct ss_op resend = make_op(SS_OP_RESEND_INVITE, "k3", "north", "E1");
	assert_applied(f, &invite);
	setenv("STAFFSYNC_FAKE_NOW", "1796032800", 1);   /* a week later */
	assert_applied(f, &resend);
	assert_raw_text(f, "invite " FAKE_NOW_ISO ",resend 2026-11-30T10:00:00Z",
			"SELECT group_concat(kind || ' ' || sent_at) FROM "
			"(SELECT kind, sent_at FROM workspace_invites ORDER BY sent_at)");
	status_is(f, "north", "E1", "pending");
}

static void test_invite_same_key_one_invite(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	struct ss_op resend = make_op(SS_OP_RESEND_INVITE, "k3", "north", "E1");
	assert_applied(f, &invite);
	assert_already(f, &invite);
	assert_applied(f, &resend);
	assert_already(f, &resend);
	assert_int_equal(raw_count(f, "workspace_invites"), 2);

	/* An invite on record under a key (sent before its key was logged)
	 * is not sent twice either. */
	raw_exec(f, "UPDATE members SET status = 'no_account'; INSERT INTO invites (facility, "
		 "member, email, kind, sent_at, op_key) SELECT facility, id, email, 'invite', "
		 "'2026-01-01T00:00:00Z', 'k-old' FROM members");
	struct ss_op old = make_op(SS_OP_INVITE, "k-old", "north", "E1");
	assert_already(f, &old);
	assert_int_equal(raw_count(f, "workspace_invites"), 3);
	status_is(f, "north", "E1", "no_account");
}

static void test_invite_refused_for_deactivated_member(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op off = make_op(SS_OP_DEACTIVATE, "k2", "north", "E1");
	assert_applied(f, &off);
	struct ss_op invite = make_op(SS_OP_INVITE, "k3", "north", "E1");
	assert_refused(f, &invite, -EINVAL, "deactivated");
	invite.kind = SS_OP_RESEND_INVITE;
	assert_refused(f, &invite, -EINVAL, "deactivated");
	assert_int_equal(raw_count(f, "workspace_invites"), 0);
	status_is(f, "north", "E1", "deactivated");
}

static void test_invite_refused_without_email(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	op.member.email = NULL;
	assert_applied(f, &op);
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	assert_refused(f, &invite, -EINVAL, "no e-mail address");
	assert_int_equal(raw_count(f, "workspace_invites"), 0);
	status_is(f, "north", "E1", "no_account");
}

/* ------------------------------------------------------ lookup / adopt --- */

static void test_lookup_fills_member(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	op.member.status = SS_STATUS_PENDING;
	op.member.speciality = "Anesthesia";
	assert_applied(f, &op);
	_cleanup_free_ char *id = raw_text(f, "SELECT id FROM members");

	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), 1);
	assert_string_equal(m.facility, "north");
	assert_string_equal(m.external_id, "E1");
	assert_string_equal(m.given_name, "Ada");
	assert_string_equal(m.email, "Ada@Example.org");
	assert_string_equal(m.role, "Surgeon");
	assert_null(m.label);
	assert_string_equal(m.permission_level, "Staff");
	assert_string_equal(m.speciality, "Anesthesia");
	assert_int_equal(m.status, SS_STATUS_PENDING);
	assert_true(m.managed);
	assert_string_equal(m.ref, id);
	ss_member_clear(&m);

	assert_int_equal(f->ops->lookup(f->t, "south", "E1", &m), 0);
	assert_int_equal(f->ops->lookup(f->t, "north", "E2", &m), 0);
}

static void test_lookup_email_case_insensitive(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};
	create(f, "k1", "north", "E1");   /* Ada@Example.org, another person's */
	long platform = insert_platform_row(f, "north", NULL, "ADA@example.ORG", "Admin", 0);

	/* The row without an external id comes first: it is the adoptable one. */
	assert_int_equal(f->ops->lookup_email(f->t, "north", "ada@example.org", &m), 1);
	assert_null(m.external_id);
	assert_false(m.managed);
	assert_int_equal(atol(m.ref), platform);
	assert_int_equal(m.status, SS_STATUS_ACTIVE);
	ss_member_clear(&m);

	assert_int_equal(f->ops->lookup_email(f->t, "south", "ada@example.org", &m), 0);
	assert_int_equal(f->ops->lookup_email(f->t, "north", "bob@example.org", &m), 0);
}

static struct ss_op adopt_op(const char *key, const char *external_id, char *ref)
{
	struct ss_op op = make_op(SS_OP_ADOPT, key, "north", external_id);
	op.member.ref = ref;
	op.member.role = "Nurse";
	op.changed = SS_FIELD_ROLE;
	return op;
}

static void test_adopt_links_unmanaged_row(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};
	long platform = insert_platform_row(f, "north", NULL, "grace@example.org", "Admin", 0);

	assert_int_equal(f->ops->lookup_email(f->t, "north", "Grace@Example.org", &m), 1);
	struct ss_op op = adopt_op("k1", "E7", m.ref);
	assert_applied(f, &op);
	assert_already(f, &op);
	ss_member_clear(&m);

	assert_int_equal(f->ops->lookup(f->t, "north", "E7", &m), 1);
	assert_int_equal(atol(m.ref), platform);
	assert_true(m.managed);
	assert_string_equal(m.role, "Nurse");            /* changed */
	assert_string_equal(m.given_name, "Grace");      /* not named in changed */
	assert_int_equal(m.status, SS_STATUS_ACTIVE);
	ss_member_clear(&m);
	assert_int_equal(raw_count(f, "members"), 1);

	/* Managed now: ordinary operations apply. */
	struct ss_op off = make_op(SS_OP_DEACTIVATE, "k2", "north", "E7");
	assert_applied(f, &off);
}

static void test_adopt_refuses_patient_row(void **state)
{
	struct fixture *f = *state;
	char ref[32];
	snprintf(ref, sizeof(ref), "%ld",
		 insert_platform_row(f, "north", NULL, "pat@example.org", "Patient", 0));
	struct ss_op op = adopt_op("k1", "E7", ref);
	assert_refused(f, &op, -EPERM, "patient memberships are never changed by staffsync");
	assert_raw_text(f, "NULL|0", "SELECT coalesce(external_id, 'NULL') || '|' || managed "
			"FROM members");
}

static void test_adopt_refuses_other_person_or_facility(void **state)
{
	struct fixture *f = *state;
	char ref[32];
	snprintf(ref, sizeof(ref), "%ld",
		 insert_platform_row(f, "north", "someone-else", "x@example.org", "Admin", 0));
	struct ss_op op = adopt_op("k1", "E7", ref);
	assert_refused(f, &op, -EEXIST, "another person");

	op.facility = "south";
	op.key = "k2";
	assert_refused(f, &op, -EINVAL, "not in facility south");
	op.member.ref = "999";
	op.key = "k3";
	assert_refused(f, &op, -ENOENT, "no membership 999");
	op.member.ref = "abc";
	assert_refused(f, &op, -EINVAL, "not a membership");
	assert_raw_text(f, "someone-else|Admin", "SELECT external_id || '|' || role FROM members");
}

/* -------------------------------------------------------------- safety --- */

static void test_patient_rows_never_changed(void **state)
{
	struct fixture *f = *state;
	insert_platform_row(f, "north", "P1", "p@example.org", "Patient", 1);
	struct ss_op up = make_op(SS_OP_UPDATE, "k1", "north", "P1");
	up.changed = SS_FIELD_ROLE;
	const enum ss_op_kind kinds[] = { SS_OP_UPDATE, SS_OP_DEACTIVATE, SS_OP_INVITE,
					  SS_OP_RESEND_INVITE };

	for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
		up.kind = kinds[i];
		assert_refused(f, &up, -EPERM, "patient memberships are never changed by staffsync");
	}
	struct ss_op move = make_op(SS_OP_MOVE, "k2", "south", "P1");
	move.from_facility = "north";
	assert_refused(f, &move, -EPERM, "patient");
	assert_raw_text(f, "north|Patient|active|Grace",
			"SELECT facility || '|' || role || '|' || status || '|' || given_name "
			"FROM workspace_users");
	assert_int_equal(raw_count(f, "workspace_invites"), 0);
}

static void test_update_to_patient_refused(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op up = make_op(SS_OP_UPDATE, "k2", "north", "E1");
	up.member.role = "Patient";
	up.changed = SS_FIELD_ROLE;
	assert_refused(f, &up, -EPERM, "patient");
	assert_raw_text(f, "Surgeon", "SELECT role FROM workspace_users");
}

static void test_unmanaged_rows_refused(void **state)
{
	struct fixture *f = *state;
	insert_platform_row(f, "north", "E1", "e1@example.org", "Admin", 0);
	struct ss_op up = make_op(SS_OP_UPDATE, "k1", "north", "E1");
	up.changed = SS_FIELD_GIVEN_NAME;
	assert_refused(f, &up, -EPERM, "not created by staffsync");
	struct ss_op off = make_op(SS_OP_DEACTIVATE, "k2", "north", "E1");
	assert_refused(f, &off, -EPERM, "not created by staffsync");
	struct ss_op invite = make_op(SS_OP_INVITE, "k3", "north", "E1");
	assert_refused(f, &invite, -EPERM, "not created by staffsync");
	assert_raw_text(f, "Grace|active", "SELECT given_name || '|' || status FROM workspace_users");
}

static void test_hold_refused(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op hold = make_op(SS_OP_HOLD, "k2", "north", "E1");
	assert_refused(f, &hold, -EINVAL, "never applied");
}

static void test_no_delete_statement_in_source(void **state)
{
	const char *top = getenv("top_srcdir");
	if (isempty(top))
		skip();
	_cleanup_free_ char *path = NULL;
	assert_true(asprintf(&path, "%s/plugins/sqlite/sqlite.c", top) > 0);
	_cleanup_fclose_ FILE *src = fopen(path, "re");
	assert_non_null(src);
	char line[4096];
	unsigned n = 0, lines = 0;
	while (fgets(line, sizeof(line), src)) {
		lines++;
		for (char *p = line; *p; p++)
			*p = (char) toupper((unsigned char) *p);
		/* DELETE FROM, and the DELETE of an INSERT OR REPLACE: neither. */
		if (strstr(line, "DELETE FROM") || strstr(line, "OR REPLACE") ||
		    strstr(line, "DROP TABLE"))
			n++;
	}
	assert_true(lines > 100);
	assert_int_equal(n, 0);
}

/* ---------------------------------------------------------- durability --- */

/* A done callback that checks, from the independent connection, that the
 * operation's effect is committed when it is told. */
static void on_done_check_visible(void *userdata, const struct ss_op *op,
				  const struct ss_op_result *result)
{
	struct fixture *f = userdata;
	char *where = sqlite3_mprintf("workspace_users WHERE facility = %Q AND external_id = %Q",
				      op->facility, op->member.external_id);
	long visible = raw_count(f, where);
	sqlite3_free(where);
	assert_int_equal(visible, 1);
	on_done(&f->log, op, result);
}

static void test_callbacks_only_after_commit(void **state)
{
	struct fixture *f = *state;
	struct ss_op ops[3] = {
		make_op(SS_OP_CREATE, "k1", "north", "E1"),
		make_op(SS_OP_CREATE, "k2", "north", "E2"),
		make_op(SS_OP_CREATE, "k3", "south", "E3"),
	};
	for (size_t i = 0; i < ELEMENTSOF(ops); i++)
		assert_int_equal(f->ops->apply(f->t, &ops[i], on_done_check_visible, f), 0);

	assert_int_equal(f->log.n, 0);
	assert_int_equal(raw_count(f, "workspace_users"), 0);   /* not committed */
	/* The plugin's own connection sees its batch. */
	struct ss_member m = {0};
	assert_int_equal(f->ops->lookup(f->t, "north", "E2", &m), 1);
	ss_member_clear(&m);

	assert_int_equal(f->ops->flush(f->t), 0);
	assert_int_equal(f->log.n, 3);
	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		assert_ptr_equal(f->log.ops[i], &ops[i]);
		assert_int_equal(f->log.results[i].error, 0);
	}
	assert_int_equal(raw_count(f, "workspace_users"), 3);
	assert_int_equal(f->ops->flush(f->t), 0);   /* nothing left */
	assert_int_equal(f->log.n, 3);
}

static void test_commit_every_10000_ops(void **state)
{
	struct fixture *f = *state;
	enum { N = 10000 };
	struct ss_op *ops = calloc(N, sizeof(*ops));
	char (*ids)[16] = calloc(N, sizeof(*ids));
	size_t done = 0;
	assert_non_null(ops);
	assert_non_null(ids);

	for (size_t i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "P%zu", i);
		ops[i] = make_op(SS_OP_CREATE, ids[i], "north", ids[i]);
		assert_int_equal(f->ops->apply(f->t, &ops[i], on_done_count, &done), 0);
		if (i == N - 2) {
			assert_int_equal(done, 0);
			assert_int_equal(raw_count(f, "members"), 0);
		}
	}
	assert_int_equal(done, N);
	assert_int_equal(raw_count(f, "members"), N);
	free(ops);
	free(ids);
}

/* A COMMIT that cannot write (the file size limit makes every write to
 * the store fail) fails every operation of the batch, and keeps nothing. */
static void test_commit_failure_fails_the_batch(void **state)
{
	struct fixture *f = *state;
	struct ss_op a = make_op(SS_OP_CREATE, "k1", "north", "E1");
	struct ss_op b = make_op(SS_OP_CREATE, "k2", "north", "E2");
	struct rlimit saved, tiny = { .rlim_cur = 1 };
	void (*old)(int) = signal(SIGXFSZ, SIG_IGN);

	assert_int_equal(f->ops->apply(f->t, &a, on_done, &f->log), 0);
	assert_int_equal(f->ops->apply(f->t, &b, on_done, &f->log), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	tiny.rlim_max = saved.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
	int r = f->ops->flush(f->t);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, old);

	assert_true(r < 0);
	assert_int_equal(f->log.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(f->log.results[i].error, r);
		assert_non_null(strstr(f->log.results[i].message, "commit failed"));
	}
	assert_int_equal(raw_count(f, "members"), 0);
	/* The store goes on: the same operations apply now. */
	assert_applied(f, &a);
	assert_int_equal(raw_count(f, "members"), 1);
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	create(f, "k1", "north", "E1");
	struct ss_op invite = make_op(SS_OP_INVITE, "k2", "north", "E1");
	assert_applied(f, &invite);
	reopen(f, false);

	struct ss_member m = {0};
	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), 1);
	assert_int_equal(m.status, SS_STATUS_PENDING);
	ss_member_clear(&m);
	assert_already(f, &invite);   /* keys survive too */
	assert_int_equal(raw_count(f, "workspace_invites"), 1);
}

static void test_unflushed_ops_dropped_at_close(void **state)
{
	struct fixture *f = *state;
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	assert_int_equal(f->ops->apply(f->t, &op, on_done, &f->log), 0);
	assert_int_equal(f->ops->connect(f->t, false), -EBUSY);
	reopen(f, false);
	assert_int_equal(f->log.n, 0);
	assert_int_equal(raw_count(f, "members"), 0);
	assert_applied(f, &op);   /* the journal's replay applies it */
}

/* ------------------------------------------------------------ read-only --- */

static void test_read_only_missing_store_creates_nothing(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};
	_cleanup_free_ char *before = folder_listing(f->dir);

	connect_store(f, true);
	assert_int_equal(f->ops->facility(f->t, "north", "North"), 0);
	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), 0);
	assert_int_equal(f->ops->lookup_email(f->t, "north", "a@example.org", &m), 0);
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	assert_int_equal(f->ops->apply(f->t, &op, on_done, &f->log), -EROFS);
	assert_int_equal(f->ops->flush(f->t), 0);
	f->ops->close(f->t);
	f->t = NULL;

	_cleanup_free_ char *after = folder_listing(f->dir);
	assert_string_equal(before, after);
	assert_int_equal(f->log.n, 0);
}

/* An empty file (a first connect that died before its migration) is an
 * empty store to a dry run. */
static void test_read_only_empty_file_is_empty_store(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};
	_cleanup_fclose_ FILE *empty = fopen(f->store, "w");
	assert_non_null(empty);

	connect_store(f, true);
	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), 0);
	assert_int_equal(f->ops->lookup_email(f->t, "north", "a@example.org", &m), 0);
	struct stat st;
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_read_only_store_refuses_writes(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};

	connect_store(f, false);
	assert_int_equal(f->ops->facility(f->t, "north", "North"), 0);
	create(f, "k1", "north", "E1");
	f->ops->close(f->t);
	_cleanup_free_ char *before = folder_listing(f->dir);
	assert_int_equal(f->ops->open(&ss_host_services, f->conf, NULL, &f->t), 0);
	connect_store(f, true);

	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), 1);
	ss_member_clear(&m);
	struct ss_op op = make_op(SS_OP_CREATE, "k2", "north", "E2");
	assert_int_equal(f->ops->apply(f->t, &op, on_done, &f->log), -EROFS);
	assert_int_equal(f->ops->facility(f->t, "east", "East"), 0);
	f->ops->close(f->t);
	f->t = NULL;

	/* No -wal or -shm left behind by the dry run, nothing written. */
	_cleanup_free_ char *after = folder_listing(f->dir);
	assert_string_equal(before, after);
	assert_int_equal(raw_count(f, "members"), 1);
	assert_int_equal(raw_count(f, "facilities"), 1);
}

static void test_not_connected(void **state)
{
	struct fixture *f = *state;
	struct ss_member m = {0};
	struct ss_op op = make_op(SS_OP_CREATE, "k1", "north", "E1");
	assert_int_equal(f->ops->apply(f->t, &op, on_done, &f->log), -ENOTCONN);
	assert_int_equal(f->ops->lookup(f->t, "north", "E1", &m), -ENOTCONN);
	assert_int_equal(f->ops->facility(f->t, "north", NULL), -ENOTCONN);
}

/* ----------------------------------------------------------- benchmark --- */

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Creates per second, in batches the way the engine flushes; measured and
 * printed, never asserted. STAFFSYNC_BENCH_CREATES overrides the count. */
static void test_bench_creates(void **state)
{
	struct fixture *f = *state;
	enum { BATCH = 1000 };
	const char *env = getenv("STAFFSYNC_BENCH_CREATES");
	long total = isempty(env) ? 100000 : atol(env);
	struct ss_op ops[BATCH];
	char keys[BATCH][24];
	size_t done = 0;

	double start = seconds_now();
	for (long i = 0; i < total; i++) {
		size_t slot = (size_t) (i % BATCH);
		snprintf(keys[slot], sizeof(keys[slot]), "E%ld", i);
		ops[slot] = make_op(SS_OP_CREATE, keys[slot], i % 2 ? "north" : "south", keys[slot]);
		assert_int_equal(f->ops->apply(f->t, &ops[slot], on_done_count, &done), 0);
		if (slot == BATCH - 1)
			assert_int_equal(f->ops->flush(f->t), 0);
	}
	assert_int_equal(f->ops->flush(f->t), 0);
	double elapsed = seconds_now() - start;

	assert_int_equal(done, (size_t) total);
	assert_int_equal(raw_count(f, "members"), total);
	print_message("sqlite target: %ld creates in %.2f s: %.0f creates/s (batches of %d)\n",
		      total, elapsed, elapsed > 0 ? (double) total / elapsed : 0.0, BATCH);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_connected, teardown)
#define T_BARE(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		T_BARE(test_default_store_in_state_dir),
		T_BARE(test_config_path_relative_to_config_file),
		T_BARE(test_config_errors),
		T(test_views_have_exactly_the_documented_columns),
		T(test_schema_version_and_journal),
		T(test_older_schema_migrated),
		T(test_newer_schema_refused),
		T(test_facility_name_updated),
		T(test_create_reads_back_through_view),
		T(test_create_same_key_twice_one_row),
		T(test_create_existing_member_is_already),
		T(test_create_in_unknown_facility_refused),
		T(test_create_patient_refused),
		T(test_failed_op_leaves_batch_intact),
		T(test_update_writes_named_fields_only),
		T(test_update_replayed_key_has_no_second_effect),
		T(test_update_missing_member_refused),
		T(test_move_keeps_row_and_invites),
		T(test_move_replayed_or_done_is_already),
		T(test_move_onto_existing_membership_refused),
		T(test_deactivate_and_reactivate_restore_status),
		T(test_deactivate_twice_keeps_previous_status),
		T(test_reactivate_replayed_key_has_no_second_effect),
		T(test_reactivate_without_previous_status),
		T(test_invite_records_invite_and_pending),
		T(test_resend_records_resend),
		T(test_invite_same_key_one_invite),
		T(test_invite_refused_for_deactivated_member),
		T(test_invite_refused_without_email),
		T(test_lookup_fills_member),
		T(test_lookup_email_case_insensitive),
		T(test_adopt_links_unmanaged_row),
		T(test_adopt_refuses_patient_row),
		T(test_adopt_refuses_other_person_or_facility),
		T(test_patient_rows_never_changed),
		T(test_update_to_patient_refused),
		T(test_unmanaged_rows_refused),
		T(test_hold_refused),
		cmocka_unit_test(test_no_delete_statement_in_source),
		T(test_callbacks_only_after_commit),
		T(test_commit_every_10000_ops),
		T(test_commit_failure_fails_the_batch),
		T(test_reopen_keeps_data),
		T(test_unflushed_ops_dropped_at_close),
		T_BARE(test_read_only_missing_store_creates_nothing),
		T_BARE(test_read_only_empty_file_is_empty_store),
		T_BARE(test_read_only_store_refuses_writes),
		T_BARE(test_not_connected),
		T(test_bench_creates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
