#!/bin/bash
# staffsyncd as a Type=notify service, with a socket of the test as
# NOTIFY_SOCKET: READY, STATUS, WATCHDOG, RELOADING/READY around reloads,
# STOPPING; a reload with a broken config keeps the old one; a reload with a
# new facility is used by the next run; SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
require_binaries
require_sqlite3
require_python3
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99

write_config svc
write_staff 200 svc/staff.csv
N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"

NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock WATCHDOG_USEC=2000000 \
	"$STAFFSYNCD" -c svc/config.yaml --metrics-file "$TMPDIR_TEST/staffsync.prom" 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)
status=0
check() { # check WHAT CMD...: a named assertion
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; status=1; fi
}

wait_until "READY=1" has_at_least $N '"READY=1"' 1
wait_until "the first run to finish" has_at_least $N 'last run: run 1 ok' 1
check "the first message (watchdog pings aside) is READY=1 with a STATUS" \
	bash -c "grep -v '^{\"notify\": \[\"WATCHDOG=1\"\]}\$' $N | head -1 | grep -qE '\"READY=1\", \"STATUS=starting the first run; last run: none yet; next run: [0-9-]+ [0-9:]+Z'"
check "STATUS says a run is going on" has_at_least $N 'STATUS=running a sync \(complete listings\)' 1
check "STATUS gives the next run's time when idle" has_at_least $N 'STATUS=idle; last run: run 1 ok at [0-9-]+ [0-9:]+Z after [0-9.]+ s; next run: [0-9-]+ [0-9:]+Z' 1
wait_until "a WATCHDOG=1 ping" has_at_least $N '"WATCHDOG=1"' 1
people=$(sqlite3 svc/state/workspaces.db "SELECT count(*) FROM workspace_users")
check "the first run put 200 people in (got $people)" [ "$people" = 200 ]
check "the metrics file has the run" grep -q '^staffsync_runs_total{status="ok"} 1$' staffsync.prom
check "the metrics file has per-facility counts" \
	grep -q '^staffsync_last_run_operations{facility="north",op="create"} 100$' staffsync.prom

# A broken configuration: every error with file:line:column, the old one kept.
cp svc/config.yaml svc/good.yaml
printf 'bogus_key: 1\nschedule: { interval: banana }\n' >> svc/config.yaml
kill -HUP $DPID
wait_until "READY=1 after the broken reload" has_at_least $N '"READY=1"' 2
check "RELOADING=1 before the second READY=1" \
	bash -c "grep -nE '\"(RELOADING|READY)=1\"' $N | sed -n 2p | grep -q RELOADING=1"
check "the reload sends MONOTONIC_USEC with RELOADING=1" has_at_least $N '"RELOADING=1", "MONOTONIC_USEC=[0-9]+"' 1
check "the errors are logged with file:line:column" grep -qE 'config\.yaml:[0-9]+:[0-9]+: ' "$DAEMON_LOG"
check "the daemon says it keeps the old configuration" grep -q 'still running on the configuration loaded before' "$DAEMON_LOG"
check "the daemon is still running" kill -0 $DPID
"$STAFFSYNCCTL" -c svc/good.yaml run > run.out
check "staffsyncctl run is accepted ($(cat run.out))" grep -q 'run started' run.out
wait_until "run 2 (old configuration)" has_at_least $N 'last run: run 2 ok' 1

# A new facility: the next run uses it.
write_config svc East
write_staff 200 svc/staff.csv East
kill -HUP $DPID
wait_until "READY=1 after the good reload" has_at_least $N '"READY=1"' 3
check "the reload is logged" grep -q 'reloaded .*: 1 sources, 3 facilities' "$DAEMON_LOG"
"$STAFFSYNCCTL" -c svc/config.yaml status > status.out
check "staffsyncctl status reaches the daemon" grep -q "^pid: $DPID$" status.out
"$STAFFSYNCCTL" -c svc/config.yaml run >/dev/null
wait_until "run 3 (new configuration)" has_at_least $N 'last run: run 3 ok' 1
east=$(sqlite3 svc/state/workspaces.db "SELECT count(*) FROM workspace_users WHERE facility='east' AND status <> 'deactivated'")
check "run 3 moved 40 people to the new facility east (got $east)" [ "$east" = 40 ]

kill -TERM $DPID
wait $DPID
rc=$?
check "SIGTERM: exit 0 (got $rc)" [ $rc = 0 ]
wait_until "STOPPING=1" has_at_least $N '"STOPPING=1"' 1
check "the control socket is removed" test ! -e svc/state/staffsyncd.sock
order=$(grep -oE '"(READY|RELOADING|STOPPING)=1"' $N | tr -d '"' | tr '\n' ' ')
check "the sequence is READY RELOADING READY RELOADING READY STOPPING (got $order)" \
	[ "$order" = "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1 " ]
exit $status
