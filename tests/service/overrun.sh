#!/bin/bash
# A run longer than schedule.interval is reported: a warning with the
# run-overran MESSAGE_ID and STAFFSYNC_RUN. The test makes the run long
# without a sleep in the daemon: the CSV source is a FIFO, so the run blocks
# opening it until the test has waited past the interval and writes the
# file. A run shorter than the interval is not reported.
. "$(dirname "$0")/lib.sh"
require_binaries
require_python3
command -v mkfifo >/dev/null 2>&1 || skip "mkfifo (coreutils) is missing"
in_ns=0
journal_namespace "$@" && in_ns=1
make_tmpdir
trap 'stop_daemon; cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99
MID_OVERRAN=391e540e51f549d1838eba1305fda7e6

write_config svc
write_staff 20 svc/data.csv
mkfifo svc/fifo
ln -s data.csv svc/staff.csv
# point_source_at TARGET: staff.csv becomes a symlink to TARGET in one rename.
point_source_at() { ln -s "$1" svc/staff.tmp && mv -T svc/staff.tmp svc/staff.csv; }
# A run blocked opening the FIFO wakes when a writer opens it; it then reads
# an empty file and, SIGTERM pending, stops before applying.
unblock_and_gone() {
	{ exec 3<>svc/fifo; exec 3>&-; } 2>/dev/null
	! kill -0 "$DPID" 2>/dev/null
}
stop_daemon() {
	[ -n "${DPID:-}" ] && kill -0 "$DPID" 2>/dev/null || return 0
	kill -TERM "$DPID"
	wait_until "the daemon to exit" unblock_and_gone
}

N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"
[ $in_ns = 1 ] && start_journal "$TMPDIR_TEST/journal.jsonl"
NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock "$STAFFSYNCD" -c svc/config.yaml 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)

# Run 1, from the regular file, with the interval of 1h: not reported.
wait_until "run 1 to finish" has_at_least $N 'last run: run 1 ok' 1
check "a run shorter than the interval is not reported" [ "$(logged 'run [0-9]+ took')" = 0 ]

# Interval 1s, the source a FIFO: run 2 blocks until the test writes it.
sed -i 's/interval: 1h/interval: 1s/' svc/config.yaml
kill -HUP $DPID
wait_until "READY=1 after the reload" has_at_least $N '"READY=1"' 2
point_source_at fifo
"$STAFFSYNCCTL" -c svc/config.yaml run >/dev/null
wait_until "run 2 to start" has_at_least $N 'STATUS=running a sync' 2
t0=$(date +%s%N)
wait_until "the run to last longer than the interval" ms_since "$t0" 1500
# The file for the runs after this one, then run 2's data: the write waits
# for the daemon to open the FIFO, so run 2 has lasted over 1.5 s.
point_source_at data.csv
cat svc/data.csv > svc/fifo
wait_until "run 2 to finish" has_at_least $N 'last run: run 2 ok' 1
check "the overrun is logged with the run, its length and the interval" \
	[ "$(logged 'run 2 took [0-9]+\.[0-9] s, longer than schedule\.interval \(1\.0 s\): the next run starts late')" = 1 ]
check "run 1 is still not reported" [ "$(logged 'run 1 took')" = 0 ]
if [ $in_ns = 1 ]; then
	check "the overrun entry has its MESSAGE_ID, STAFFSYNC_RUN=2 and PRIORITY 4 (warning)" \
		[ "$(journal_entries MESSAGE_ID=$MID_OVERRAN STAFFSYNC_RUN=2 PRIORITY=4 'MESSAGE=run 2 took .*')" = 1 ]
	check "the catalog explains the MESSAGE_ID" \
		grep -q "^-- $MID_OVERRAN\$" "$top_srcdir/contrib/systemd/staffsync.catalog"
fi
"$STAFFSYNCCTL" -c svc/config.yaml history > history.out
check "history records run 2 as ok" grep -qE '^ +2 .* ok ' history.out
stop_daemon
exit $status
