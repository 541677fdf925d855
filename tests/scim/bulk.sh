#!/bin/sh
# SCIM Bulk (RFC 7644 3.7): used for creates when the provider advertises
# it in ServiceProviderConfig (bulk: auto), at most 100 operations per
# request; a create refused inside a Bulk (409) is tried alone and then
# reported with the server's words; bulk: off never sends one.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
scim_tmpdir

printf 'bulk-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token" --bulk
URL=http://127.0.0.1:$SCIM_PORT/scim/v2
# Someone already uses the userName of person 7 (another e-mail address).
scim_send "$URL" "$T/token" POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName":"p7@example.org","emails":[{"value":"someone@example.org","primary":true}]}' || hard_error "seeding"

staff_csv 250 >"$T/staff.csv"
simple_config "$T/config.yaml" "$URL" "bulk: auto"
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
expect_same "exit code (one person refused)" 1 "$?"
expect_same "Bulk requests" 3 "$(grep -c '^POST /scim/v2/Bulk 200' "$T/scim.requests")"
expect_same "POSTs to /Users: the seeding one and the refused create sent alone" 2 "$(grep -c '^POST /scim/v2/Users ' "$T/scim.requests")"
grep -q "create E0007 .*userName p7@example.org is already in use" "$T/err.1" ||
	{ echo "# the refused create is not reported:"; grep E0007 "$T/err.1" | sed 's/^/#   /'; FAILED=$((FAILED + 1)); }
expect_same "users created and invited" 249 "$(scim_users "$URL" "$T/token" | grep -c '|pending$')"
expect_same "duplicates" "" "$(duplicates "$URL" "$T/token")"

# bulk: off (and the standard attributes on one endpoint: the facility is
# the enterprise extension's organization)
start_server plain --token-file "$T/token" --bulk
rm -rf "$T/state"
staff_csv 20 >"$T/staff.csv"
simple_config "$T/off.yaml" "http://127.0.0.1:$SCIM_PORT/scim/v2" "bulk: off" "schema: standard"
"$STAFFSYNCD" -c "$T/off.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "exit code with bulk: off" 0 "$?"
expect_same "Bulk requests with bulk: off" 0 "$(grep -c '/Bulk' "$T/plain.requests")"
expect_same "creates with bulk: off" 20 "$(grep -c '^POST /scim/v2/Users 201' "$T/plain.requests")"
expect_same "a user in the standard attributes" \
	"E0001|p1@example.org|Given1|Family1|p1@example.org|true|Personnel|Lab|Staff||north|pending" \
	"$(scim_users "http://127.0.0.1:$SCIM_PORT/scim/v2" "$T/token" | grep '^E0001|')"
"$STAFFSYNCD" -c "$T/off.yaml" --once >"$T/out.3" 2>"$T/err.3"
expect_same "a second run with the standard attributes" \
	"summary: created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary' "$T/out.3")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
