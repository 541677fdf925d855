#!/bin/bash
# schedule.full_every in the service loop: the first run after the start is
# complete, then runs are incremental until full_every has passed since the
# last complete one; full_every 0 makes every run complete, never none;
# staffsyncctl run --full asks for one. Each run's kind is logged when it
# starts (STAFFSYNC_LISTINGS=complete|incremental) and shown in STATUS=.
. "$(dirname "$0")/lib.sh"
require_binaries
require_python3
in_ns=0
journal_namespace "$@" && in_ns=1
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99

write_config svc
write_staff 10 svc/staff.csv
N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"
[ $in_ns = 1 ] && start_journal "$TMPDIR_TEST/journal.jsonl"
NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock "$STAFFSYNCD" -c svc/config.yaml 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)
reloads=1
# reload_with KEY VALUE: set schedule.KEY and reload.
reload_with() {
	sed -i -E "s/$1: [^,}]+/$1: $2/" svc/config.yaml
	kill -HUP $DPID
	reloads=$((reloads + 1))
	wait_until "READY=1 after reload $reloads" has_at_least $N '"READY=1"' $reloads
}
# run_now N [--full]: ask for run N and wait for its end.
run_now() {
	local n=$1
	shift
	"$STAFFSYNCCTL" -c svc/config.yaml run "$@" >/dev/null
	wait_until "run $n to finish" has_at_least $N "last run: run $n ok" 1
}
# starts KIND: how many runs started with complete|incremental listings.
starts() {
	if [ "$1" = complete ]; then logged 'starting a run with complete listings' STAFFSYNC_LISTINGS=complete
	else logged 'starting an incremental run' STAFFSYNC_LISTINGS=incremental; fi
}
# expect_start N KIND WHY: run N (the Nth start) was of KIND, for WHY (regex).
expect_start() {
	local nth=$1 kind=$2 why=$3 line
	line=$(grep -E '(starting a run with complete listings|starting an incremental run)' \
		"${JOURNAL:-$DAEMON_LOG}" | sed -n "${nth}p")
	check "run $nth: $kind listings (got: $(echo "$line" | grep -oE 'starting [^"]*'))" \
		bash -c 'grep -qE -- "$1" <<<"$2"' _ "$why" "$line"
	[ -z "${JOURNAL:-}" ] ||
		check "run $nth: STAFFSYNC_LISTINGS=$kind" grep -q "\"STAFFSYNC_LISTINGS\": \"$kind\"" <<<"$line"
}

# full_every 24h: the first run is complete, the next ones incremental.
wait_until "run 1 to finish" has_at_least $N 'last run: run 1 ok' 1
expect_start 1 complete 'complete listings: no complete listing since the daemon started'
run_now 2
expect_start 2 incremental 'an incremental run: complete listings are due in 86[0-9]{3} s \(schedule\.full_every\)'
check "STATUS= told run 1 apart from run 2" \
	[ "$(count_lines $N 'STATUS=running a sync \(complete listings\);')" = 1 -a "$(count_lines $N 'STATUS=running a sync;')" = 1 ]
run_now 3 --full
expect_start 3 complete 'complete listings: asked for with staffsyncctl run --full'
run_now 4
expect_start 4 incremental 'an incremental run: complete listings are due in'

# full_every 1s: once a second has passed since run 3 (the last complete
# one), the loop makes the next run complete.
reload_with full_every 1s
t0=$(date +%s%N)
wait_until "full_every (1 s) to pass" ms_since "$t0" 1100
run_now 5
expect_start 5 complete 'complete listings: schedule\.full_every has passed since the last complete listing'
# Back to 24h: run 5 was complete, so run 6 is not.
reload_with full_every 24h
run_now 6
expect_start 6 incremental 'an incremental run: complete listings are due in'

# full_every 0: every run complete; never: none.
reload_with full_every 0
run_now 7
run_now 8
expect_start 7 complete 'complete listings: schedule\.full_every is 0: every run is complete'
expect_start 8 complete 'complete listings: schedule\.full_every is 0: every run is complete'
reload_with full_every never
run_now 9
expect_start 9 incremental 'an incremental run \(schedule\.full_every: never\)'
check "9 runs: 5 complete, 4 incremental" [ "$(starts complete)" = 5 -a "$(starts incremental)" = 4 ]
kill -TERM $DPID
wait $DPID
exit $status
