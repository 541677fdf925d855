#!/bin/sh
# A SCIM refusal of one person's operation (409 uniqueness) is not sent again
# run after run: the next runs hold that person with the server's words (run
# output, staffsyncctl plan and explain, the holds table) while everyone else
# goes on; once the person's record changes the operation is tried again. A
# transient failure (500s) never becomes a hold: it is resent next run.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
require_sqlite3
scim_tmpdir

printf 'refusals-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token"
URL=http://127.0.0.1:$SCIM_PORT/scim/v2
simple_config "$T/config.yaml" "$URL"
# Someone already uses the userName Fred would get (with another e-mail:
# nothing to adopt).
scim_send "$URL" "$T/token" POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName":"fred@example.org","emails":[{"value":"other@example.org","primary":true}]}' ||
	hard_error "seeding"

run() {   # run N [CONFIG]: staffsyncd --once, output in $T/out.N, $T/err.N, $T/rc.N
	"$STAFFSYNCD" -c "${2:-$T/config.yaml}" --once >"$T/out.$1" 2>"$T/err.$1"
	echo $? >"$T/rc.$1"
}
summary() { grep '^summary:' "$T/out.$1"; }
# POSTs to /Users the server saw since line $1 of its request log.
posts_since() { tail -n +"$(($1 + 1))" "$T/scim.requests" | grep -c '^POST /scim/v2/Users'; }
MSG="userName fred@example.org is already in use"

cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,lab,North,
E6,Fred,Gray,fred@example.org,lab,North,
CSV
run 1
expect_same "run 1 exit code (one person refused)" 1 "$(cat "$T/rc.1")"
grep -q "create E6 in north refused by the target: HTTP 409: $MSG" "$T/err.1" ||
	{ echo "# the refusal is not reported:"; sed 's/^/#   /' "$T/err.1"; FAILED=$((FAILED + 1)); }

# Run 2: E6 held with the server's words, not sent again; a new person is
# created as usual.
printf 'E7,Gus,Hale,gus@example.org,lab,North,\n' >>"$T/staff.csv"
before=$(wc -l <"$T/scim.requests")
run 2
expect_same "run 2 exit code" 0 "$(cat "$T/rc.2")"
expect_same "run 2 summary" \
	"summary: created=1 invited=1 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=1" \
	"$(summary 2)"
expect_same "POSTs of run 2 (E7's only)" 1 "$(posts_since "$before")"
grep -q "held E6: the target refused the create (.*): HTTP 409: $MSG; held until the person's record changes" \
	"$T/out.2" || { echo "# run 2 does not show the hold:"; sed 's/^/#   /' "$T/out.2"; FAILED=$((FAILED + 1)); }
expect_same "the holds table" "E6|north|1" \
	"$(sql "$T/state/state.db" "SELECT person, facility, instr(reason, '$MSG') > 0 FROM holds")"
"$STAFFSYNCCTL" -c "$T/config.yaml" explain E6 >"$T/explain" 2>&1
grep -q "held in north: the target refused the create (.*): HTTP 409: $MSG" "$T/explain" ||
	{ echo "# explain does not show the refusal:"; sed 's/^/#   /' "$T/explain"; FAILED=$((FAILED + 1)); }
"$STAFFSYNCCTL" -c "$T/config.yaml" plan >"$T/plan" 2>&1
grep -q "hold  *E6: the target refused the create" "$T/plan" ||
	{ echo "# staffsyncctl plan does not show the hold:"; sed 's/^/#   /' "$T/plan"; FAILED=$((FAILED + 1)); }

# Run 3: still the same record: still held, still nothing sent for E6.
before=$(wc -l <"$T/scim.requests")
run 3
expect_same "run 3 summary" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=1" \
	"$(summary 3)"
expect_same "POSTs of run 3" 0 "$(posts_since "$before")"
grep -q "refused by the target" "$T/err.3" &&
	{ echo "# run 3 sent the refused create again"; FAILED=$((FAILED + 1)); }

# The operator says the conflict is fixed (staffsyncctl retry): the next
# run sends E6's create again. Here it was not fixed: refused, held again.
"$STAFFSYNCCTL" -c "$T/config.yaml" retry E6 >"$T/retry" 2>&1
expect_same "staffsyncctl retry E6" "0|forgot 1 refused operation of E6: the next run tries it again" \
	"$?|$(cat "$T/retry")"
expect_same "retry for a person with no refusal" \
	"nothing the target refused is recorded for E1" "$("$STAFFSYNCCTL" -c "$T/config.yaml" retry E1 2>&1)"
before=$(wc -l <"$T/scim.requests")
run 3b
expect_same "POSTs after retry (E6's create, sent again)" 1 "$(posts_since "$before")"
expect_same "refused again: recorded again (the next run holds E6)" "E6|north|create" \
	"$(sql "$T/state/state.db" "SELECT person, facility, kind FROM refusals")"

# Run 4: E6's record changes (another e-mail, so another userName): tried
# again, and created.
sed -i 's/^E6,Fred,Gray,fred@example.org,/E6,Fred,Gray,fred.gray@example.org,/' "$T/staff.csv"
run 4
expect_same "run 4 exit code" 0 "$(cat "$T/rc.4")"
expect_same "run 4 summary" \
	"summary: created=1 invited=1 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(summary 4)"
expect_same "users after run 4" "$(cat <<X
E1|ada@example.org|Ada|Lovelace|ada@example.org|true|Personnel|Lab|Staff||north|pending
E6|fred.gray@example.org|Fred|Gray|fred.gray@example.org|true|Personnel|Lab|Staff||north|pending
E7|gus@example.org|Gus|Hale|gus@example.org|true|Personnel|Lab|Staff||north|pending
|fred@example.org||||true||||||
X
)" "$(scim_users "$URL" "$T/token" | sed 's/|other@example.org|/||/')"
expect_same "holds after run 4" "" "$(sql "$T/state/state.db" "SELECT person FROM holds")"

# Transient failures are no refusals: E8's create gets 500s (through the
# fault proxy), is deferred, and the next run sends it: no hold.
printf 'E8,Hal,Ives,hal@example.org,lab,North,\n' >>"$T/staff.csv"
start_proxy p1 "$SCIM_PORT" 'POST#*=500'
simple_config "$T/proxy.yaml" "http://127.0.0.1:$PROXY_PORT/scim/v2" "retries: 1" "timeout: 2s"
run 5 "$T/proxy.yaml"
expect_same "run 5 exit code (E8 deferred)" 1 "$(cat "$T/rc.5")"
grep -q "create E8 in north deferred" "$T/err.5" ||
	{ echo "# E8's create is not deferred:"; sed 's/^/#   /' "$T/err.5"; FAILED=$((FAILED + 1)); }
stop_pid "$PROXY_PID"
run 6
expect_same "run 6 exit code" 0 "$(cat "$T/rc.6")"
expect_same "run 6 summary (E8 sent from the journal before planning)" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(summary 6)"
expect_same "E8 after run 6" "E8|hal@example.org|Hal|Ives|hal@example.org|true|Personnel|Lab|Staff||north|pending" \
	"$(scim_users "$URL" "$T/token" | grep '^E8|')"
expect_same "refusals kept after run 6 (E6's is over)" "0" \
	"$(sql "$T/state/state.db" "SELECT count(*) FROM refusals")"
expect_same "duplicates" "" "$(duplicates "$URL" "$T/token")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
