#!/bin/bash
# staffsyncctl status shows the held persons and the runs waiting for an
# approval from state.db, whether the daemon runs or not: a --once run made
# beside the running daemon changes what the daemon's status reply lists
# (it is not the daemon's memory of its own last run).
. "$(dirname "$0")/lib.sh"
require_binaries
require_python3
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99

write_config svc
write_staff 10 svc/staff.csv
# E000000..E000002 are janitors: no role rule, held.
sed -i 's/^\(E00000[0-2],.*\),nurses,/\1,janitors,/' svc/staff.csv
ctl_status() { # ctl_status OUT: staffsyncctl status into OUT, its exit code in rc
	"$STAFFSYNCCTL" -c svc/config.yaml status > "$1" 2>&1
	rc=$?
}
# holds_listed OUT PERSON...: OUT lists exactly these held persons.
holds_listed() {
	local out=$1 p
	shift
	[ "$(grep -cE '^  E[0-9]+ \(source hr\) in (north|south): no role rule matches' "$out")" = $# ] || return 1
	for p in "$@"; do
		grep -qE "^  $p \(source hr\) in (north|south): no role rule matches in facility (north|south)\$" "$out" || return 1
	done
}

ctl_status none.out
check "before any run, without the daemon: exit 3 (got $rc)" [ $rc = 3 ]
check "before any run: no held persons" grep -q '^held persons: none$' none.out

"$STAFFSYNCD" -c svc/config.yaml --once >/dev/null 2>once.log
ctl_status down.out
check "without the daemon: exit 3 (got $rc)" [ $rc = 3 ]
check "without the daemon: it says so" grep -q '^daemon: not running' down.out
check "without the daemon: 3 held persons of run 1" grep -q '^held persons (run 1): 3$' down.out
check "without the daemon: each held person with the reason" holds_listed down.out E000000 E000001 E000002

N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"
NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock "$STAFFSYNCD" -c svc/config.yaml 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)
wait_until "the daemon's run 2 to finish" has_at_least $N 'last run: run 2 ok' 1
ctl_status up.out
check "with the daemon: exit 0 (got $rc)" [ $rc = 0 ]
check "with the daemon: its reply" grep -q "^pid: $DPID\$" up.out
check "with the daemon: 3 held persons of run 2, listed once" \
	[ "$(grep -c '^held persons' up.out)" = 1 ] && grep -q '^held persons (run 2): 3$' up.out
check "with the daemon: each held person with the reason" holds_listed up.out E000000 E000001 E000002

# A --once run beside the idle daemon: E000001 and E000002 are nurses again.
sed -i 's/^\(E00000[12],.*\),janitors,/\1,nurses,/' svc/staff.csv
"$STAFFSYNCD" -c svc/config.yaml --once >/dev/null 2>>once.log
ctl_status after.out
check "the daemon's reply follows the state: 1 held person of run 3" grep -q '^held persons (run 3): 1$' after.out
check "the daemon's reply lists E000000 alone" holds_listed after.out E000000

# Everybody leaves but two: a safety gate stops run 4, nothing written.
head -3 svc/staff.csv > svc/few.csv && mv svc/few.csv svc/staff.csv
"$STAFFSYNCD" -c svc/config.yaml --once >/dev/null 2>>once.log
rc=$?
check "run 4 is gated (exit 3, got $rc)" [ $rc = 3 ]
ctl_status gated.out
check "status lists run 4 as waiting for an approval" \
	grep -qE '^  run 4: .*; approve with: staffsyncctl approve 4$' gated.out
check "the gated run wrote no holds: still run 3's" grep -q '^held persons (run 3): 1$' gated.out
"$STAFFSYNCCTL" -c svc/config.yaml approve 4 >/dev/null
ctl_status approved.out
check "status says run 4 is approved, for the next run" \
	grep -qE '^  run 4: .*; approved: the next run applies it if the plan is unchanged$' approved.out

kill -TERM $DPID
wait $DPID
ctl_status stopped.out
check "after the stop: exit 3 (got $rc)" [ $rc = 3 ]
check "after the stop: the approved run 4 and the held person" \
	grep -qE '^  run 4: .*; approved: ' stopped.out && holds_listed stopped.out E000000

# Many held persons: the first 50, then a count.
write_staff 120 svc/staff.csv
sed -i 's/,nurses,/,janitors,/' svc/staff.csv
"$STAFFSYNCD" -c svc/config.yaml --once --full >/dev/null 2>>once.log
ctl_status many.out
check "120 held persons: the count, 50 of them, then how many more" \
	grep -q '^held persons (run 5): 120$' many.out &&
	[ "$(grep -c '^  E[0-9]* (source hr) in ' many.out)" = 50 ] &&
	grep -q '^  \.\.\. and 70 more (staffsyncctl explain PERSON tells why)$' many.out
exit $status
