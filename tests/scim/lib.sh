#!/bin/sh
# Shared helpers of the SCIM tests: sourced, never run. They start the real
# SCIM test server (scimmy, tests/scim/server.js) on loopback, wait for its
# port file, read users back through SCIM GET, and stop what they started by
# PID, also on failure.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

SCIM_DIR=$top_srcdir/tests/scim
# shellcheck disable=SC2154 # set by tests/integration/lib.sh
STAFFSYNC_PLUGIN_PATH=$STAFFSYNC_PLUGIN_PATH:$top_builddir/plugins/scim/.libs
export STAFFSYNC_PLUGIN_PATH
PIDS=""

# require_scim: node, the built plugin, and the server's npm packages
# (installed into tests/scim/node_modules from package-lock.json if missing).
require_scim() {
	require_binaries
	[ -f "$top_builddir/plugins/scim/.libs/scim.so" ] || skip "the scim plugin is not built"
	command -v node >/dev/null 2>&1 || skip "node is not installed (the SCIM test server needs it)"
	command -v curl >/dev/null 2>&1 || skip "curl is not installed"
	command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
	if [ ! -d "$SCIM_DIR/node_modules/scimmy-routers" ] || [ ! -d "$SCIM_DIR/node_modules/smtp-server" ]; then
		command -v npm >/dev/null 2>&1 || skip "npm is missing and tests/scim/node_modules is not installed"
		(cd "$SCIM_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
			skip "npm ci in tests/scim failed (no network?)"
	fi
}

# scim_tmpdir: make_tmpdir, and stop every started server on exit.
scim_tmpdir() {
	make_tmpdir
	T=$TMPDIR_TEST
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		trap 'stop_all' EXIT
	else
		trap 'stop_all; rm -rf "$T"' EXIT
	fi
	trap 'exit 99' HUP INT TERM
	use_valgrind
}

# VALGRIND=1: staffsyncd runs under valgrind (memory errors and definite
# leaks make it exit 99, which every exit code check catches).
use_valgrind() {
	[ "${VALGRIND:-0}" = 1 ] || return 0
	command -v valgrind >/dev/null 2>&1 || skip "VALGRIND=1 but valgrind is not installed"
	cat >"$T/staffsyncd-vg" <<SH
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--log-file="$T/valgrind.%p" "$STAFFSYNCD" "\$@"
SH
	chmod +x "$T/staffsyncd-vg"
	STAFFSYNCD=$T/staffsyncd-vg
}

stop_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=""
}

# wait_file FILE [PID]: until FILE exists (a server's readiness), or the
# server died, or 30 s passed.
wait_file() {
	n=0
	while [ ! -s "$1" ]; do
		if [ -n "$2" ] && ! kill -0 "$2" 2>/dev/null; then
			return 1
		fi
		n=$((n + 1))
		[ $n -gt 3000 ] && return 1
		sleep 0.01
	done
}

# start_server NAME [server.js options]: starts the SCIM server; sets
# SCIM_PORT and SCIM_PID; logs in $T/NAME.log, requests in $T/NAME.requests.
start_server() {
	name=$1
	shift
	rm -f "$T/$name.port"
	node "$SCIM_DIR/server.js" --port-file "$T/$name.port" --log "$T/$name.requests" \
		--dump "$T/$name.dump" "$@" >"$T/$name.log" 2>&1 &
	SCIM_PID=$!
	PIDS="$PIDS $SCIM_PID"
	wait_file "$T/$name.port" "$SCIM_PID" || {
		cat "$T/$name.log"
		hard_error "the SCIM server $name did not start"
	}
	# shellcheck disable=SC2034 # used by the scripts that source this file
	SCIM_PORT=$(cat "$T/$name.port")
}

# scim_users URL TOKEN_FILE: every User, one line each, sorted:
# externalId|userName|given|family|email|active|role|label|level|speciality|facility|status
scim_users() {
	curl -sS --fail-with-body -H "Authorization: Bearer $(cat "$2")" \
		"$1/Users?startIndex=1&count=100000" | python3 -c '
import json, sys
X = "urn:ietf:params:scim:schemas:extension:staffsync:2.0:User"
E = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
rows = []
for u in json.load(sys.stdin)["Resources"]:
    n = u.get("name", {})
    x = u.get(X, {})
    e = u.get(E, {})
    em = [m["value"] for m in u.get("emails", []) if m.get("primary")] or [m["value"] for m in u.get("emails", [])]
    roles = u.get("roles", [])
    ent = u.get("entitlements", [])
    role = x.get("role") or next((r["value"] for r in roles if r.get("primary")), "")
    label = x.get("label") or next((r["value"] for r in roles if not r.get("primary")), "")
    level = x.get("permissionLevel") or next((r["value"] for r in ent if r.get("type") == "permissionLevel"), "")
    status = x.get("accountStatus") or next((r["value"] for r in ent if r.get("type") == "accountStatus"), "")
    spec = x.get("speciality") or e.get("department", "")
    fac = x.get("facility") or e.get("organization", "")
    rows.append("|".join(str(v if v is not None else "") for v in (u.get("externalId", ""), u["userName"],
        n.get("givenName", ""), n.get("familyName", ""), em[0] if em else "",
        str(u.get("active", True)).lower(), role, label, level, spec, fac, status)))
print("\n".join(sorted(rows)))
'
}

# scim_id URL TOKEN_FILE USERNAME: the id of a User.
scim_id() {
	curl -sS --fail-with-body -H "Authorization: Bearer $(cat "$2")" \
		"$1/Users?startIndex=1&count=100000" |
		python3 -c 'import json,sys; print([u["id"] for u in json.load(sys.stdin)["Resources"] if u["userName"].lower() == sys.argv[1].lower()][0])' "$3"
}

# scim_send URL TOKEN_FILE METHOD PATH JSON: a request as an operator would
# make it by hand (drift, hand-made accounts).
scim_send() {
	curl -sS --fail-with-body -o /dev/null -X "$3" -H "Authorization: Bearer $(cat "$2")" \
		-H 'Content-Type: application/scim+json' "$1$4" -d "$5"
}

# expect_same WHAT EXPECTED GOT (strings): counts a failure.
FAILED=0
expect_same() {
	if [ "$2" != "$3" ]; then
		printf '%s\n' "$2" >"$T/expected"
		printf '%s\n' "$3" >"$T/got"
		fail_diff "$1" "$T/expected" "$T/got"
		FAILED=$((FAILED + 1))
	else
		echo "# ok: $1"
	fi
}

# start_proxy NAME UPSTREAM_PORT [RULE...]: the fault-injecting proxy
# (tests/scim/faultproxy.js); sets PROXY_PORT and PROXY_PID; its log of
# requests is $T/NAME.faults.
start_proxy() {
	name=$1
	up=$2
	shift 2
	rm -f "$T/$name.port"
	node "$SCIM_DIR/faultproxy.js" --upstream "$up" --port-file "$T/$name.port" \
		--log "$T/$name.faults" "$@" >"$T/$name.log" 2>&1 &
	PROXY_PID=$!
	PIDS="$PIDS $PROXY_PID"
	wait_file "$T/$name.port" "$PROXY_PID" || hard_error "the proxy $name did not start"
	# shellcheck disable=SC2034
	PROXY_PORT=$(cat "$T/$name.port")
}

# stop_pid PID: stop one process this test started.
stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# staff_csv N [SITE]: a CSV of N people E0001... with e-mails, at SITE.
staff_csv() {
	echo "id,given,family,email,groups,site,speciality"
	i=1
	while [ "$i" -le "$1" ]; do
		printf 'E%04d,Given%d,Family%d,p%d@example.org,lab,%s,\n' "$i" "$i" "$i" "$i" "${2:-North}"
		i=$((i + 1))
	done
}

# make_test_cas: two CAs in $T (test-ca, other-ca: .pem and .key) and a
# server certificate for 127.0.0.1 signed by test-ca (server.pem, .key).
make_test_cas() {
	for ca in test-ca other-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$ca" \
			-keyout "$T/$ca.key" -out "$T/$ca.pem" >/dev/null 2>&1 || hard_error "openssl CA"
	done
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/server.key" \
		-out "$T/server.csr" >/dev/null 2>&1 || hard_error "openssl csr"
	printf 'subjectAltName=IP:127.0.0.1\n' >"$T/san.ext"
	openssl x509 -req -in "$T/server.csr" -CA "$T/test-ca.pem" -CAkey "$T/test-ca.key" \
		-CAcreateserial -days 2 -extfile "$T/san.ext" -out "$T/server.pem" >/dev/null 2>&1 ||
		hard_error "openssl sign"
}

# simple_config FILE BASE_URL [extra target lines]: one facility, everyone Personnel/Lab.
simple_config() {
	file=$1
	url=$2
	shift 2
	{
		cat <<YAML
state_dir: state
sources:
  - name: hr
    type: csv
    path: staff.csv
    columns: { id: id, given_name: given, family_name: family, email: email,
               groups: groups, facility: site, speciality: speciality }
target:
  type: scim
  base_url: $url
  token_file: token
YAML
		for line in "$@"; do echo "  $line"; done
		cat <<YAML
facilities:
  - { id: north, platform: clinic, match: { facility: [North] } }
roles:
  - { role: Personnel, label: Lab, groups: [lab] }
YAML
	} >"$file"
}

# count_by_external_id URL TOKEN: "externalId count" lines of duplicates only.
duplicates() {
	scim_users "$1" "$2" | cut -d'|' -f1 | sort | uniq -d
}
