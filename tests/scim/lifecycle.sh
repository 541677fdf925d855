#!/bin/sh
# The engine's whole lifecycle through the SCIM target against the scimmy
# server (one endpoint, the facility as an attribute of the project's
# extension schema), read back through SCIM GET after every run: create with
# and without an account, invite, update, move, drift put back, a hand
# deactivation reported, deactivate, reactivate, adopt by email, a 409 that
# holds one person only, and a second identical run that changes nothing.
# Never a DELETE.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
scim_tmpdir

printf 'test-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token"
URL=http://127.0.0.1:$SCIM_PORT/scim/v2

cat >"$T/config.yaml" <<YAML
state_dir: state
sources:
  - name: hr
    type: csv
    path: staff.csv
    columns: { id: id, given_name: given, family_name: family, email: email,
               groups: groups, facility: site, speciality: speciality }
target:
  type: scim
  base_url: $URL
  token_file: token
  adopt: email
  concurrency: 4
  invite_request: { method: POST, path: "/Users/{id}/invite" }
facilities:
  - { id: north, name: North, platform: clinic, match: { facility: [North] } }
  - { id: south, name: South, platform: clinic, match: { facility: [South] } }
roles:
  - { role: Doctor, groups: [physicians], requires: [speciality] }
  - { role: Personnel, label: Lab, groups: [lab] }
  - { role: Admin, groups: [admins] }
permissions:
  default: Staff
  levels: { Coordinator: [coordinators] }
leavers: { grace_runs: 1, max_deactivations: 100, max_shrink: 50% }
YAML

run() {   # run N: staffsyncd --once; stdout's summary kept in $T/out.N
	"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.$1" 2>"$T/err.$1"
	echo $? >"$T/rc.$1"
}
summary() { grep '^summary:' "$T/out.$1"; }

# A hand-made account (no externalId) to adopt, and one whose userName
# collides with a new person's e-mail (the server answers 409).
scim_send "$URL" "$T/token" POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName":"eve@example.org","name":{"givenName":"Eve","familyName":"Old"},
  "emails":[{"value":"Eve@Example.org","primary":true}]}' || hard_error "seeding"
scim_send "$URL" "$T/token" POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName":"fred@example.org","emails":[{"value":"other@example.org","primary":true}]}' || hard_error "seeding"

cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,physicians,North,Cardiology
E2,Ben,Carter,,lab,North,
E3,Cleo,Diaz,cleo@example.org,admins;coordinators,South,
E4,Dan,Evans,dan@example.org,lab,South,
E5,Eve,Stone,eve@example.org,admins,North,
E6,Fred,Gray,fred@example.org,admins,North,
CSV
run 1
expect_same "run 1 exit code (one person refused: 1)" 1 "$(cat "$T/rc.1")"
expect_same "run 1 summary" \
	"summary: created=5 invited=4 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=1 held=0" \
	"$(summary 1)"
grep -q "E6.*userName fred@example.org is already in use" "$T/err.1" ||
	{ echo "# the 409 of E6 is not reported with the server's words:"; sed 's/^/#   /' "$T/err.1"; FAILED=$((FAILED + 1)); }
expect_same "users after run 1" "$(cat <<X
E1|ada@example.org|Ada|Lovelace|ada@example.org|true|Doctor||Staff|Cardiology|north|pending
E2|E2|Ben|Carter||true|Personnel|Lab|Staff||north|no_account
E3|cleo@example.org|Cleo|Diaz|cleo@example.org|true|Admin||Coordinator||south|pending
E4|dan@example.org|Dan|Evans|dan@example.org|true|Personnel|Lab|Staff||south|pending
E5|eve@example.org|Eve|Stone|Eve@Example.org|true|Admin||Staff||north|
|fred@example.org|||other@example.org|true||||||
X
)" "$(scim_users "$URL" "$T/token")"

# The platform's invite call, once per invited person, after the account
# is pending.
expect_same "invite requests after run 1" "$(printf '%s\n' \
	'INVITE E1 ada@example.org' 'INVITE E3 cleo@example.org' 'INVITE E4 dan@example.org')" \
	"$(grep '^INVITE' "$T/scim.requests" | sort)"

# The same file again: nothing to do; the refused person is held with the
# server's words, not sent again (tests/scim/refusals.sh has the details).
run 2
expect_same "run 2 summary" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=1" \
	"$(summary 2)"

# Hand edits on the platform: Ada renamed (drift: put back), Ben deactivated
# by hand (reported, not reactivated). Source: Cleo moves south -> north,
# Dan leaves, Ada's speciality changes, Fred is gone from the source.
ADA=$(scim_id "$URL" "$T/token" ada@example.org)
BEN=$(scim_id "$URL" "$T/token" E2)
scim_send "$URL" "$T/token" PATCH "/Users/$ADA" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"replace","path":"name.givenName","value":"Adah"}]}' || hard_error "hand edit"
scim_send "$URL" "$T/token" PATCH "/Users/$BEN" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"replace","path":"active","value":false}]}' || hard_error "hand edit"
cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,physicians,North,Neurology
E2,Ben,Carter,,lab,North,
E3,Cleo,Diaz,cleo@example.org,admins;coordinators,North,
E5,Eve,Stone,eve@example.org,admins,North,
CSV
run 3
expect_same "run 3 exit code" 0 "$(cat "$T/rc.3")"
expect_same "run 3 summary" \
	"summary: created=0 invited=0 resent=0 updated=1 moved=1 deactivated=1 reactivated=0 adopted=0 held=1" \
	"$(summary 3)"
expect_same "users after run 3" "$(cat <<X
E1|ada@example.org|Ada|Lovelace|ada@example.org|true|Doctor||Staff|Neurology|north|pending
E2|E2|Ben|Carter||false|Personnel|Lab|Staff||north|no_account
E3|cleo@example.org|Cleo|Diaz|cleo@example.org|true|Admin||Coordinator||north|pending
E4|dan@example.org|Dan|Evans|dan@example.org|false|Personnel|Lab|Staff||south|deactivated
E5|eve@example.org|Eve|Stone|Eve@Example.org|true|Admin||Staff||north|
|fred@example.org|||other@example.org|true||||||
X
)" "$(scim_users "$URL" "$T/token")"

# Dan comes back: reactivated with the status he had (pending).
printf 'E4,Dan,Evans,dan@example.org,lab,South,\n' >>"$T/staff.csv"
run 4
expect_same "run 4 summary" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=1 adopted=0 held=1" \
	"$(summary 4)"
expect_same "Dan after run 4" \
	"E4|dan@example.org|Dan|Evans|dan@example.org|true|Personnel|Lab|Staff||south|pending" \
	"$(scim_users "$URL" "$T/token" | grep '^E4|')"

expect_same "invite requests in all" 3 "$(grep -c '^INVITE' "$T/scim.requests")"

# A dry run sends no writing request.
before=$(wc -l <"$T/scim.requests")
"$STAFFSYNCD" -c "$T/config.yaml" --once --dry-run >"$T/out.dry" 2>&1
writes=$(tail -n +"$((before + 1))" "$T/scim.requests" | grep -vc '^GET ')
expect_same "writing requests of a dry run" 0 "$writes"
expect_same "DELETE requests" 0 "$(grep -c '^DELETE ' "$T/scim.requests")"
grep -q "$(cat "$T/token")" "$T"/err.* "$T"/out.* && { echo "# the token appears in the output"; FAILED=$((FAILED + 1)); }

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
