#!/bin/sh
# One SCIM endpoint for all facilities (the facility an attribute) with
# facilities_per_person: many: each membership is a User of its own, so the
# userName of each is made unique by the facility (user_name default
# "{facility}/{email}"): a person in two facilities gets two Users, no 409;
# leaving one facility deactivates that User only. A user_name without
# {facility} is refused by the configuration check in that mode.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
scim_tmpdir

printf 'many-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token"
URL=http://127.0.0.1:$SCIM_PORT/scim/v2

config() {   # config FILE [user_name line]
	cat >"$1" <<YAML
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
${2:+  $2}
facilities_per_person: many
facilities:
  - { id: north, platform: clinic, match: { facility: [North] } }
  - { id: south, platform: clinic, match: { facility: [South] } }
roles:
  - { role: Personnel, label: Lab, groups: [lab] }
leavers: { grace_runs: 1, max_deactivations: 100, max_shrink: 50% }
YAML
}
config "$T/config.yaml"

# A user_name that cannot tell a person's memberships apart is refused.
config "$T/bad.yaml" 'user_name: "{email}"'
"$STAFFSYNCD" -c "$T/bad.yaml" --check-config >"$T/bad.out" 2>&1
expect_same "check-config of user_name without {facility}" 2 "$?"
grep -q "bad.yaml:12:14: user_name must hold {facility}" "$T/bad.out" ||
	{ echo "# no positioned error:"; sed 's/^/#   /' "$T/bad.out"; FAILED=$((FAILED + 1)); }
config "$T/good.yaml" 'user_name: "{id}@{facility}"'
"$STAFFSYNCD" -c "$T/good.yaml" --check-config >"$T/good.out" 2>&1
expect_same "check-config of user_name {id}@{facility}" 0 "$?"

cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,lab,North;South,
E2,Ben,Carter,,lab,North;South,
E3,Cleo,Diaz,cleo@example.org,lab,North,
CSV
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
rc=$?
expect_same "run 1 exit code" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err.1"
expect_same "run 1 summary" \
	"summary: created=5 invited=3 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary:' "$T/out.1")"
expect_same "409 answers" 0 "$(grep -c ' 409$' "$T/scim.requests")"
expect_same "users after run 1: one per membership" "$(cat <<X
E1|north/ada@example.org|Ada|Lovelace|ada@example.org|true|Personnel|Lab|Staff||north|pending
E1|south/ada@example.org|Ada|Lovelace|ada@example.org|true|Personnel|Lab|Staff||south|pending
E2|north/E2|Ben|Carter||true|Personnel|Lab|Staff||north|no_account
E2|south/E2|Ben|Carter||true|Personnel|Lab|Staff||south|no_account
E3|north/cleo@example.org|Cleo|Diaz|cleo@example.org|true|Personnel|Lab|Staff||north|pending
X
)" "$(scim_users "$URL" "$T/token")"

"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "run 2 summary" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary:' "$T/out.2")"

# Ada leaves South and changes her e-mail: her South User is deactivated,
# her North User renamed with the new address.
cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada.l@example.org,lab,North,
E2,Ben,Carter,,lab,North;South,
E3,Cleo,Diaz,cleo@example.org,lab,North,
CSV
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.3" 2>"$T/err.3"
rc=$?
expect_same "run 3 exit code" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err.3"
expect_same "Ada after run 3" "$(cat <<X
E1|north/ada.l@example.org|Ada|Lovelace|ada.l@example.org|true|Personnel|Lab|Staff||north|pending
E1|south/ada@example.org|Ada|Lovelace|ada@example.org|false|Personnel|Lab|Staff||south|deactivated
X
)" "$(scim_users "$URL" "$T/token" | grep '^E1|')"
expect_same "409 answers in all" 0 "$(grep -c ' 409$' "$T/scim.requests")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
