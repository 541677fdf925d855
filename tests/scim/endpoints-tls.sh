#!/bin/sh
# One SCIM service provider per facility (base_url with {facility}, each
# with its own token file), the standard-attribute mapping (roles,
# entitlements, enterprise extension), over TLS verified against a test CA;
# a move between providers creates the account in the new one and
# deactivates the old; a wrong CA is refused before any request is sent.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (the test makes its own CA)"
scim_tmpdir

# Two CAs: the server's, and another one.
make_test_cas

mkdir "$T/tokens"
for f in north south; do printf 'token-of-%s-%s\n' "$f" "$$" >"$T/tokens/$f.token"; done
start_server scim --tls-cert "$T/server.pem" --tls-key "$T/server.key" --token-dir "$T/tokens"
BASE=https://127.0.0.1:$SCIM_PORT

config() {   # config FILE CA
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
  base_url: $BASE/{facility}/scim/v2
  token_file: tokens/{facility}.token
  ca_file: $2
  schema: standard
facilities:
  - { id: north, platform: clinic, match: { facility: [North] } }
  - { id: south, platform: clinic, match: { facility: [South] } }
roles:
  - { role: Doctor, groups: [physicians], requires: [speciality] }
  - { role: Personnel, label: Lab, groups: [lab] }
  - { role: Admin, groups: [admins] }
permissions:
  default: Staff
  levels: { Coordinator: [coordinators] }
YAML
}
config "$T/config.yaml" test-ca.pem
config "$T/wrong-ca.yaml" other-ca.pem

users() {   # users FACILITY: the provider's users, read back with curl
	curl -sS --cacert "$T/test-ca.pem" -H "Authorization: Bearer $(cat "$T/tokens/$1.token")" \
		"$BASE/$1/scim/v2/Users?startIndex=1&count=1000" >"$T/list.json" || return 1
	printf '%s\n' "$BASE/$1/scim/v2" >/dev/null
	# scim_users reads the list from a URL: reuse its formatter on the file.
	SCIM_URL_FILE=$T/list.json python3 - <<'PY'
import json, os
E = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
rows = []
for u in json.load(open(os.environ["SCIM_URL_FILE"]))["Resources"]:
    n = u.get("name", {}); e = u.get(E, {})
    roles = {("role" if r.get("primary") else "label"): r["value"] for r in u.get("roles", [])}
    ent = {r.get("type"): r["value"] for r in u.get("entitlements", [])}
    rows.append("|".join([u.get("externalId", ""), u["userName"], n.get("givenName", ""),
        str(u.get("active")).lower(), roles.get("role", ""), roles.get("label", ""),
        ent.get("permissionLevel", ""), ent.get("accountStatus", ""), e.get("department", ""),
        e.get("organization", "")]))
print("\n".join(sorted(rows)))
PY
}

cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,physicians,North,Cardiology
E2,Ben,Carter,,lab,North,
E3,Cleo,Diaz,cleo@example.org,admins;coordinators,South,
CSV

# The wrong CA first: refused, nothing sent.
"$STAFFSYNCD" -c "$T/wrong-ca.yaml" --once >"$T/out.0" 2>"$T/err.0"
expect_same "exit code with a wrong CA" 1 "$?"
grep -qi "certificate" "$T/err.0" ||
	{ echo "# no certificate error reported:"; sed 's/^/#   /' "$T/err.0"; FAILED=$((FAILED + 1)); }
expect_same "requests that reached the server with a wrong CA" 0 "$(cat "$T/scim.requests" 2>/dev/null | wc -l)"
rm -rf "$T/state"

"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
expect_same "run 1 exit code" 0 "$?"
expect_same "run 1 summary" \
	"summary: created=3 invited=2 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary' "$T/out.1")"
expect_same "north after run 1" "$(printf '%s\n' \
	'E1|ada@example.org|Ada|true|Doctor||Staff|pending|Cardiology|' \
	'E2|E2|Ben|true|Personnel|Lab|Staff|no_account||')" "$(users north)"
expect_same "south after run 1" \
	'E3|cleo@example.org|Cleo|true|Admin||Coordinator|pending||' "$(users south)"

# Cleo moves to North; Ben's label changes (a minimal PATCH of roles).
cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,physicians,North,Cardiology
E2,Ben,Carter,,admins,North,
E3,Cleo,Diaz,cleo@example.org,admins;coordinators,North,
CSV
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "run 2 exit code" 0 "$?"
expect_same "run 2 summary" \
	"summary: created=0 invited=0 resent=0 updated=1 moved=1 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary' "$T/out.2")"
expect_same "north after the move" "$(printf '%s\n' \
	'E1|ada@example.org|Ada|true|Doctor||Staff|pending|Cardiology|' \
	'E2|E2|Ben|true|Admin||Staff|no_account||' \
	'E3|cleo@example.org|Cleo|true|Admin||Coordinator|pending||')" "$(users north)"
expect_same "south after the move" \
	'E3|cleo@example.org|Cleo|false|Admin||Coordinator|deactivated||' "$(users south)"
expect_same "DELETE requests" 0 "$(grep -c '^DELETE ' "$T/scim.requests")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
