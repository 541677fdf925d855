#!/bin/bash
# SIGTERM in the middle of a run: the daemon stops the run at the next
# progress point (nothing of it written), exits 0, and a restart finishes the
# work: the workspaces equal an uninterrupted run's, nobody twice, no
# operation left pending.
. "$(dirname "$0")/lib.sh"
require_binaries
require_sqlite3
require_python3
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99
PEOPLE=${SIGTERM_PEOPLE:-20000}
status=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; status=1; fi
}
snapshot() {
	sqlite3 "$1/state/workspaces.db" "SELECT facility, external_id, given_name, family_name, email,
		role, permission_level, status FROM workspace_users ORDER BY 2, 1"
	sqlite3 "$1/state/workspaces.db" "SELECT facility, external_id, kind FROM workspace_invites ORDER BY 2, 1, 3"
}

write_config ref; write_staff "$PEOPLE" ref/staff.csv
"$STAFFSYNCD" -c ref/config.yaml --once >/dev/null 2>ref.log || { cat ref.log; hard_error "the reference run failed"; }

write_config svc; write_staff "$PEOPLE" svc/staff.csv
N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"
export NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock
"$STAFFSYNCD" -c svc/config.yaml 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)
# The first records are read: the run is under way.
wait_until "the run to start" has_at_least $N 'STATUS=running a sync' 1
kill -TERM $DPID
wait $DPID
rc=$?
check "SIGTERM during the run: exit 0 (got $rc)" [ $rc = 0 ]
check "STOPPING=1 was sent" has_at_least $N '"STOPPING=1"' 1
check "the run was stopped before applying" grep -q 'run 1 stopped before applying: nothing of it was written' "$DAEMON_LOG"
written=$(sqlite3 svc/state/workspaces.db "SELECT count(*) FROM workspace_users" 2>/dev/null || echo 0)
check "nothing of the stopped run was written (got $written people)" [ "$written" = 0 ]
"$STAFFSYNCCTL" -c svc/config.yaml history > history.out
check "history shows run 1 as stopped" grep -qE '^ +1 .* stopped ' history.out

# The restart finishes the work.
"$STAFFSYNCD" -c svc/config.yaml 2>>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)
wait_until "run 2 to finish" has_at_least $N 'last run: run 2 ok' 1
kill -TERM $DPID
wait $DPID
rc=$?
check "the restarted daemon exits 0 (got $rc)" [ $rc = 0 ]
snapshot ref > ref.txt
snapshot svc > svc.txt
if same_file ref.txt svc.txt; then echo "ok: workspaces equal the uninterrupted run's ($(wc -l < ref.txt) rows)"
else fail_diff "workspaces" ref.txt svc.txt | head -20; status=1; fi
dups=$(sqlite3 svc/state/workspaces.db "SELECT count(*) FROM (SELECT facility, external_id FROM workspace_users GROUP BY 1, 2 HAVING count(*) > 1)")
check "no duplicate membership (got $dups)" [ "$dups" = 0 ]
pending=$(sqlite3 svc/state/state.db "SELECT count(*) FROM journal WHERE state = 'pending'")
check "no journal entry left pending (got $pending)" [ "$pending" = 0 ]
exit $status
