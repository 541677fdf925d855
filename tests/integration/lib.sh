#!/bin/sh
# Shared helpers for the integration tests: sourced, never run.
#
# The automake test harness exports top_srcdir, top_builddir and
# STAFFSYNC_PLUGIN_PATH (tests/local.mk, AM_TESTS_ENVIRONMENT). Run by hand
# from a build tree, the defaults below find the same things:
#   top_builddir=/tmp/build sh tests/integration/scenarios.sh
# Exit codes follow automake: 0 pass, 77 skip, 1 fail, 99 hard error.
# KEEP_TMP=1 keeps the temporary folder (its path is printed).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${STAFFSYNC_PLUGIN_PATH:=$top_builddir/plugins/csv/.libs:$top_builddir/plugins/sqlite/.libs}"
export top_srcdir top_builddir STAFFSYNC_PLUGIN_PATH

STAFFSYNCD=$top_builddir/staffsyncd
STAFFSYNCCTL=$top_builddir/staffsyncctl

# skip WHY: the test cannot run here (automake counts it as skipped).
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# hard_error WHY: the test itself is broken (automake: ERROR).
hard_error() {
	echo "ERROR: $*" >&2
	exit 99
}

# require_binaries: both programs built.
require_binaries() {
	for b in "$STAFFSYNCD" "$STAFFSYNCCTL"; do
		[ -x "$b" ] || skip "$b is not built (run make first)"
	done
}

# require_sqlite3: the sqlite3 CLI queries the workspace store.
require_sqlite3() {
	command -v sqlite3 >/dev/null 2>&1 ||
		skip "the sqlite3 command line tool is missing (apt-get install sqlite3)"
}

# make_tmpdir: sets TMPDIR_TEST to a fresh folder removed on exit unless KEEP_TMP=1.
make_tmpdir() {
	TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/staffsync-test.XXXXXX") ||
		hard_error "cannot create a temporary folder"
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# KEEP_TMP=1: files kept in $TMPDIR_TEST"
	else
		trap 'rm -rf "$TMPDIR_TEST"' EXIT
		trap 'rm -rf "$TMPDIR_TEST"; exit 99' HUP INT TERM
	fi
}

# fail_diff WHAT EXPECTED_FILE GOT_FILE: prints a unified diff of what differed.
fail_diff() {
	echo "# $1 differ (--- expected, +++ got):"
	diff -u "$2" "$3" | sed 's/^/#   /'
}

# same_file EXPECTED GOT: exact comparison (both may be missing = empty).
same_file() {
	cmp -s "$1" "$2"
}

# sql DB QUERY: runs QUERY with '|' between columns; a missing database is
# empty (never created by looking at it).
sql() {
	[ -f "$1" ] || return 0
	sqlite3 -batch -separator '|' "$1" "$2"
}

# sql_exec DB < SQL: runs statements (the "platform" changing the store);
# stops at the first error.
sql_exec() {
	sqlite3 -batch -bail "$1"
}

# The store's views as the scenarios compare them.
# shellcheck disable=SC2034 # used by the scripts that source this file
USERS_QUERY="SELECT facility, external_id, role, ifnull(label,''), permission_level, ifnull(speciality,''), status FROM workspace_users ORDER BY facility, external_id;"
# shellcheck disable=SC2034
INVITES_QUERY="SELECT facility, external_id, kind FROM workspace_invites ORDER BY facility, external_id, sent_at, kind;"

# dir_has_files DIR: true if DIR exists and holds at least one file (any depth).
dir_has_files() {
	[ -d "$1" ] && [ -n "$(find "$1" -type f -print | head -n 1)" ]
}
