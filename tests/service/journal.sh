#!/bin/bash
# The journal fields as they are really sent: in a private mount namespace
# the test binds its own receiver at /run/systemd/journal/socket (where
# sd_journal_sendv sends) and checks each event's MESSAGE_ID and
# STAFFSYNC_* fields; every MESSAGE_ID is explained by the catalog.
. "$(dirname "$0")/lib.sh"
require_binaries
require_python3
if [ "${1:-}" != --inside ]; then
	[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace (unshare -m) to own /run/systemd/journal/socket"
	command -v unshare >/dev/null 2>&1 || skip "unshare (util-linux) is missing"
	unshare -m true 2>/dev/null || skip "cannot create a mount namespace here"
	exec unshare -m bash "$0" --inside
fi
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99
mount --make-rprivate / 2>/dev/null
mount -t tmpfs tmpfs /run || hard_error "cannot mount a tmpfs on /run in the namespace"
mkdir -p /run/systemd/journal
J=journal.jsonl
start_recv journal /run/systemd/journal/socket "$J"

status=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; status=1; fi
}
# entries 'FIELD=VALUE'...: entries having all these fields (VALUE: an
# extended regex of the whole value). The receiver writes one JSON object a
# line; grep keeps the test fast (no interpreter start per check).
entries() {
	local cmd="cat $J" kv
	for kv in "$@"; do
		cmd+=" | grep -E '\"${kv%%=*}\": \"${kv#*=}\"[,}]'"
	done
	eval "$cmd" | wc -l
}
MID_FINISHED=2f4a14a7f1974b7290612920d695f8e7
MID_GATE=7e6f94c9e76b44abb063e8966cfe438f
MID_HELD=759e7c9a9b334054932d3c9c927630ff
MID_DEACT=201fdc63f3ca490493de4de638810d22
MID_INVITE=c1fcac1136574c5499300d12adf6a4b4

write_config j
# 30 people, 3 of them in a group no rule knows: held.
write_staff 30 j/staff.csv
sed -i 's/^\(E00000[0-2],.*\),nurses,/\1,janitors,/' j/staff.csv
STAFFSYNC_LOG=journal "$STAFFSYNCD" -c j/config.yaml --once >/dev/null 2>stderr.log
rc=$?
check "first run exit 0 (got $rc)" [ $rc = 0 ]
check "nothing went to stderr instead" [ ! -s stderr.log ]
wait_until "the run-finished entry" test "$(entries MESSAGE_ID=$MID_FINISHED)" -ge 1
check "run finished: MESSAGE_ID, STAFFSYNC_RUN=1, status ok, PRIORITY 6, SYSLOG_IDENTIFIER" \
	[ "$(entries MESSAGE_ID=$MID_FINISHED STAFFSYNC_RUN=1 STAFFSYNC_RUN_STATUS=ok PRIORITY=6 SYSLOG_IDENTIFIER=staffsyncd 'MESSAGE=run 1 finished \(ok\).*')" = 1 ]
check "3 held persons with STAFFSYNC_PERSON/FACILITY/OP=hold" \
	[ "$(entries MESSAGE_ID=$MID_HELD STAFFSYNC_OP=hold 'STAFFSYNC_PERSON=E00000[012]' 'STAFFSYNC_FACILITY=(north|south)' STAFFSYNC_RUN=1)" = 3 ]
check "27 invites sent, each with its person and facility" \
	[ "$(entries MESSAGE_ID=$MID_INVITE STAFFSYNC_OP=invite 'STAFFSYNC_PERSON=E0000[0-9][0-9]' 'STAFFSYNC_FACILITY=(north|south)' STAFFSYNC_RUN=1)" = 27 ]
check "a per-facility count entry for north and south" \
	[ "$(entries 'STAFFSYNC_FACILITY=(north|south)' 'MESSAGE=run 1, facility .*' STAFFSYNC_RUN=1)" = 2 ]

# Two leavers: deactivated (grace_runs 1: on the first run without them).
sed -i '/^E00002[89],/d' j/staff.csv
STAFFSYNC_LOG=journal "$STAFFSYNCD" -c j/config.yaml --once >/dev/null 2>>stderr.log
wait_until "run 2's finished entry" test "$(entries MESSAGE_ID=$MID_FINISHED STAFFSYNC_RUN=2)" -ge 1
check "2 deactivations with MESSAGE_ID, person and run 2" \
	[ "$(entries MESSAGE_ID=$MID_DEACT STAFFSYNC_RUN=2 'STAFFSYNC_PERSON=E00002[89]' PRIORITY=5 STAFFSYNC_OP=deactivate)" = 2 ]

# Everyone leaves: the gate trips.
head -1 j/staff.csv > j/empty.csv; head -3 j/staff.csv | tail -2 >> j/empty.csv; mv j/empty.csv j/staff.csv
STAFFSYNC_LOG=journal "$STAFFSYNCD" -c j/config.yaml --once >/dev/null 2>>stderr.log
rc=$?
check "the gated run exits 3 (got $rc)" [ $rc = 3 ]
wait_until "the gate entry" test "$(entries MESSAGE_ID=$MID_GATE)" -ge 1
check "gate tripped: MESSAGE_ID, STAFFSYNC_RUN=3, PRIORITY 3" \
	[ "$(entries MESSAGE_ID=$MID_GATE STAFFSYNC_RUN=3 PRIORITY=3)" = 1 ]

# Every MESSAGE_ID the daemon sends has a catalog entry.
catalog="$top_srcdir/contrib/systemd/staffsync.catalog"
for id in $(grep -oE '"MESSAGE_ID": "[0-9a-f]{32}"' "$J" | grep -oE '[0-9a-f]{32}' | sort -u); do
	check "MESSAGE_ID $id is in the catalog" grep -q "^-- $id\$" "$catalog"
done
exit $status
