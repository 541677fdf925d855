#!/bin/sh
# Never a wrongful deactivation: against a private slapd whose default
# sizelimit is 5, a listing cut by the size limit is incomplete (exit 4,
# nobody deactivated, even over several runs); a bind that can read nothing
# fails the run; a wrong password fails it without the password in any
# message; a server killed mid-search (through a proxy that SIGKILLs slapd
# after some bytes) deactivates no one. Also: URI failover, the password from
# $CREDENTIALS_DIRECTORY, SASL EXTERNAL over ldapi://, --check-config, and a
# server that accepts but never answers (the operation timeout ends it).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/ldap/lib.sh"

ldap_setup 5
T=$TMPDIR_TEST
P=ou=people,$SUFFIX
twelve_nurses >"$T/all.ldif"
start_slapd "$T/slapd"
ldap_as_root ldapadd -f "$T/all.ldif" || hard_error "cannot load entries"

W=$T/work
mkdir -p "$W"
# write_config [BIND_DN] [SED on the source block]
write_config() {
	{
		echo "state_dir: state"
		echo "sources:"
		PAGE_SIZE=2 ldap_source_yaml | sed "s#cn=reader,$SUFFIX#${1:-cn=reader,$SUFFIX}#; ${2:-}"
		nurses_yaml
	} >"$W/config.yaml"
}

write_config
run_once "$W"
check "the reader (no size limit) lists everyone" "0|pending|12" "$RUN_EXIT|$(statuses)"

write_config "cn=limited,$SUFFIX"
run_once "$W" --full
check "a size limit in a paged search: incomplete listing, exit 4" "4" "$RUN_EXIT"
check_grep "the reason is the size limit" "Size limit exceeded" "$W/err"
check "nobody deactivated after a size limit" "pending|12" "$(statuses)"
run_once "$W" --full
check "nor after a second such run (grace is not counted)" "4|pending|12" "$RUN_EXIT|$(statuses)"

write_config "cn=blind,$SUFFIX"
run_once "$W" --full
check "a bind that reads nothing fails the run" "1" "$RUN_EXIT"
check_grep "and says why" "returned no entries\|No such object" "$W/err"
check "nobody deactivated after reading nothing" "pending|12" "$(statuses)"

write_config
printf 'not-the-password-XYZZY\n' >"$T/wrong.secret"
sed -i "s#$T/reader.secret#$T/wrong.secret#" "$W/config.yaml"
run_once "$W" --full
check "a wrong password fails the run" "1" "$RUN_EXIT"
check_grep "with the server's words" "Invalid credentials" "$W/err"
CHECKS=$((CHECKS + 1))
if grep -q XYZZY "$W/out" "$W/err"; then
	FAILS=$((FAILS + 1)); echo "not ok $CHECKS the password appears in the output"
else
	echo "ok $CHECKS the password is never printed"
fi

write_config "" "s#uri: ldap://127.0.0.1:$SLAPD_PORT#uri: ldap://127.0.0.1:1 ldap://127.0.0.1:$SLAPD_PORT#"
run_once "$W" --full
check "failover to the second URI" "0|pending|12" "$RUN_EXIT|$(statuses)"

mkdir -p "$T/creds"
cp "$T/reader.secret" "$T/creds/ldap-reader"
write_config "" "s#bind_password_file: .*#bind_credential: ldap-reader#"
CREDENTIALS_DIRECTORY=$T/creds run_once "$W" --full
check "the password from \$CREDENTIALS_DIRECTORY" "0" "$RUN_EXIT"
run_once "$W" --full
check "a credential without \$CREDENTIALS_DIRECTORY fails the run" "1" "$RUN_EXIT"
check_grep "and says so" "CREDENTIALS_DIRECTORY is not set" "$W/err"

write_config "" "s#uri: .*#uri: $SLAPD_LDAPI\n    starttls: false\n    sasl_mech: EXTERNAL#; /bind_dn:/d; /bind_password_file/d"
run_once "$W" --full
check "SASL EXTERNAL over ldapi://" "0|pending|12" "$RUN_EXIT|$(statuses)"

write_config "" "s#uri: .*#uri: ldap://192.0.2.1\n    starttls: false#; s#bind_password_file: .*#bind_password_file: /nonexistent/secret#"
"$STAFFSYNCD" -c "$W/config.yaml" --check-config >"$W/check" 2>&1
check "check-config refuses clear text to a remote server" "2" "$?"
check_grep "with the position of starttls" "config.yaml:[0-9]*:[0-9]*: starttls: false is only accepted" "$W/check"
CHECKS=$((CHECKS + 1))
if grep -q "secret" "$W/check"; then
	FAILS=$((FAILS + 1)); echo "not ok $CHECKS check-config tried the password file"; cat "$W/check"
else
	echo "ok $CHECKS check-config does not need the password file"
fi

# A server that never answers: the operation timeout ends the wait.
mkfifo "$T/silent.port"
/usr/bin/python3 "$top_srcdir/tests/ldap/silent-server.py" "$T/silent.port" &
silent=$!
read -r sport <"$T/silent.port"
write_config "" "s#uri: .*#uri: ldap://127.0.0.1:$sport\n    starttls: false#; s#timeout: .*#timeout: 1s#"
run_once "$W" --full
kill "$silent" 2>/dev/null; wait "$silent"
check "a server that never answers fails the run (operation timeout)" "1" "$RUN_EXIT"
check_grep "and says so" "Timed out\|timed out\|Timeout" "$W/err"
check "nobody deactivated after a timeout" "pending|12" "$(statuses)"

# The server dies mid-search: the proxy SIGKILLs slapd after 1500 bytes.
mkfifo "$T/proxy.port"
/usr/bin/python3 "$top_srcdir/tests/ldap/kill-proxy.py" "$T/proxy.port" "$SLAPD_PORT" "$SLAPD_PID" 1500 &
proxy=$!
read -r pport <"$T/proxy.port"
write_config "" "s#uri: .*#uri: ldap://127.0.0.1:$pport\n    starttls: false#"
run_once "$W" --full
kill "$proxy" 2>/dev/null; wait "$proxy"
case $RUN_EXIT in 1|4) got=stopped ;; *) got="exit $RUN_EXIT" ;; esac
check "a server killed mid-search stops the listing (exit 1 or 4)" "stopped" "$got"
check_grep "the reason says the search was cut off" "cut off\|Can't contact\|server" "$W/err"
check "nobody deactivated when the server died" "pending|12" "$(statuses)"
timeout 10 tail --pid="$SLAPD_PID" -s 0.02 -f /dev/null
CHECKS=$((CHECKS + 1))
if kill -0 "$SLAPD_PID" 2>/dev/null; then
	FAILS=$((FAILS + 1)); echo "not ok $CHECKS slapd is still running: the test proved nothing"
else
	echo "ok $CHECKS slapd was really killed"
fi
finish
