#!/bin/sh
# target.adopt: username against the scimmy server: an account made by hand
# with the userName staffsync would give a person (but another e-mail) is
# adopted (externalId, fields and e-mail set), not duplicated and not a 409;
# the next run has nothing to do. A userName taken by a User of another
# person holds the newcomer before any request.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
scim_tmpdir

printf 'adopt-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token"
URL=http://127.0.0.1:$SCIM_PORT/scim/v2
simple_config "$T/config.yaml" "$URL" "adopt: username"
"$STAFFSYNCD" -c "$T/config.yaml" --check-config >"$T/check" 2>&1 ||
	{ echo "# adopt: username refused for scim:"; sed 's/^/#   /' "$T/check"; FAILED=$((FAILED + 1)); }

scim_send "$URL" "$T/token" POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName":"Fred@Example.org","name":{"givenName":"Fred","familyName":"Old"},
  "emails":[{"value":"fred.old@example.org","primary":true}]}' || hard_error "seeding"
FRED=$(scim_id "$URL" "$T/token" fred@example.org)

cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,lab,North,
E6,Fred,Gray,fred@example.org,lab,North,
CSV
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
rc=$?
expect_same "run 1 exit code" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err.1"
expect_same "run 1 summary" \
	"summary: created=1 invited=1 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=1 held=0" \
	"$(grep '^summary:' "$T/out.1")"
# (its e-mail changed, so its userName is written again: the same name.)
expect_same "users after run 1 (Fred's account adopted)" "$(cat <<X
E1|ada@example.org|Ada|Lovelace|ada@example.org|true|Personnel|Lab|Staff||north|pending
E6|fred@example.org|Fred|Gray|fred@example.org|true|Personnel|Lab|Staff||north|
X
)" "$(scim_users "$URL" "$T/token")"
expect_same "the adopted User is the hand-made one" "$FRED" "$(scim_id "$URL" "$T/token" fred@example.org)"
expect_same "409 answers" 0 "$(grep -c ' 409$' "$T/scim.requests")"

"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "run 2 exit code" 0 "$?"
expect_same "run 2 summary" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary:' "$T/out.2")"

# Someone else's User already has Gus's userName: held, nothing sent.
scim_send "$URL" "$T/token" POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName":"gus@example.org","externalId":"X9","emails":[{"value":"x9@example.org","primary":true}]}' ||
	hard_error "seeding"
printf 'E7,Gus,Hale,gus@example.org,lab,North,\n' >>"$T/staff.csv"
before=$(wc -l <"$T/scim.requests")
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.3" 2>"$T/err.3"
expect_same "run 3 exit code" 0 "$?"
grep -q "held E7: the user name is already used in north by person X9" "$T/out.3" ||
	{ echo "# E7 is not held:"; sed 's/^/#   /' "$T/out.3"; FAILED=$((FAILED + 1)); }
expect_same "POSTs of run 3" 0 "$(tail -n +"$((before + 1))" "$T/scim.requests" | grep -c '^POST ')"
expect_same "duplicates" "" "$(duplicates "$URL" "$T/token")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
