#!/bin/bash
# Failures back off: the first retry after 30 s, doubling with each failure
# in a row; a success returns to the schedule's interval. Runs asked for
# with staffsyncctl run stand in for the waits.
. "$(dirname "$0")/lib.sh"
require_binaries
require_python3
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99
status=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; status=1; fi
}
write_config svc   # staff.csv missing: the source fails
N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"
NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock "$STAFFSYNCD" -c svc/config.yaml 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)
wait_until "run 1 to fail" has_at_least $N 'last run: run 1 failed' 1
check "the first failure retries in 30 s" grep -q 'run 1 failed (1 in a row): retrying in 30 s' "$DAEMON_LOG"
"$STAFFSYNCCTL" -c svc/config.yaml run >/dev/null
wait_until "run 2 to fail" has_at_least $N 'last run: run 2 failed' 1
check "the second failure retries in 60 s" grep -q 'run 2 failed (2 in a row): retrying in 60 s' "$DAEMON_LOG"
"$STAFFSYNCCTL" -c svc/config.yaml run >/dev/null
wait_until "run 3 to fail" has_at_least $N 'last run: run 3 failed' 1
check "the third failure retries in 120 s" grep -q 'run 3 failed (3 in a row): retrying in 120 s' "$DAEMON_LOG"
"$STAFFSYNCCTL" -c svc/config.yaml status > status.out
check "status counts the failures in a row" grep -q '^failures in a row: 3$' status.out
write_staff 10 svc/staff.csv
"$STAFFSYNCCTL" -c svc/config.yaml run >/dev/null
wait_until "run 4 to succeed" has_at_least $N 'last run: run 4 ok' 1
"$STAFFSYNCCTL" -c svc/config.yaml status > status.out
check "a success resets the count" grep -q '^failures in a row: 0$' status.out
# The next run is an interval (1h, no jitter) after the success.
next=$(grep -oE 'last run: run 4 ok at .*; next run: [0-9-]+ [0-9:]+Z' $N | tail -1 | grep -oE '[0-9-]+ [0-9:]+Z$')
ended=$(grep -oE 'last run: run 4 ok at [0-9-]+ [0-9:]+Z' $N | tail -1 | grep -oE '[0-9-]+ [0-9:]+Z$')
gap=$(( $(date -u -d "${next%Z}" +%s) - $(date -u -d "${ended%Z}" +%s) ))
check "after a success the next run is an interval later (gap ${gap} s)" [ "$gap" -ge 3599 -a "$gap" -le 3601 ]
kill -TERM $DPID; wait $DPID
exit $status
