#!/bin/sh
# SIGKILL of staffsyncd in the middle of applying a plan to the SCIM server
# (answers slowed by the fault proxy so that requests are in flight): the
# next run resumes the journal and the server ends with exactly the
# expected users, none twice; a third run has nothing left to do.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
scim_tmpdir

printf 'kill-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token"
URL=http://127.0.0.1:$SCIM_PORT/scim/v2
start_proxy slow "$SCIM_PORT" 'POST#*=slow:60' 'PATCH#*=slow:60'
simple_config "$T/slow.yaml" "http://127.0.0.1:$PROXY_PORT/scim/v2" "concurrency: 3"
simple_config "$T/config.yaml" "$URL"
staff_csv 60 >"$T/staff.csv"

"$STAFFSYNCD" -c "$T/slow.yaml" --once >"$T/out.1" 2>"$T/err.1" &
DAEMON=$!
# Killed once 25 writing requests went through the proxy.
n=0
while [ "$(cat "$T/slow.faults" 2>/dev/null | grep -c -E ' (POST|PATCH) ')" -lt 25 ]; do
	kill -0 "$DAEMON" 2>/dev/null || break
	n=$((n + 1))
	[ $n -gt 3000 ] && break
	sleep 0.01
done
kill -KILL "$DAEMON" 2>/dev/null
wait "$DAEMON"
expect_same "staffsyncd was killed mid-apply" 137 "$?" 2>/dev/null
stop_pid "$PROXY_PID"
before=$(scim_users "$URL" "$T/token" | grep -c .)
[ "$before" -gt 0 ] && [ "$before" -lt 60 ] ||
	echo "# note: $before users existed when staffsyncd was killed"

"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
rc=$?
expect_same "exit code of the run after the kill" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err.2"
grep -q "resuming" "$T/err.2" ||
	{ echo "# the interrupted run was not resumed:"; sed 's/^/#   /' "$T/err.2"; FAILED=$((FAILED + 1)); }
expect_same "users (all invited)" 60 "$(scim_users "$URL" "$T/token" | grep -c '|true|Personnel|Lab|Staff||north|pending$')"
expect_same "users in all" 60 "$(scim_users "$URL" "$T/token" | grep -c .)"
expect_same "duplicates" "" "$(duplicates "$URL" "$T/token")"

"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.3" 2>"$T/err.3"
expect_same "third run" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary' "$T/out.3")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
