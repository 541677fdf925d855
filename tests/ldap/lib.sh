#!/bin/sh
# Shared helpers for the ldap source's tests: sourced, never run.
#
# start_slapd starts a private slapd (its own folder, config, TLS certificates
# and database) on loopback, ready when the command returns: slapd opens its
# listeners before it detaches, so no waiting loop and no sleep is needed.
# stop_slapd stops it by PID (also from the EXIT trap, even on failure).
# Exit codes follow automake: 0 pass, 77 skip, 1 fail, 99 hard error.

# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

STAFFSYNC_PLUGIN_PATH=$STAFFSYNC_PLUGIN_PATH:$top_builddir/plugins/ldap/.libs
export STAFFSYNC_PLUGIN_PATH
SUFFIX=dc=example,dc=com
ROOTDN=cn=admin,$SUFFIX
ROOTPW=admin-secret
READER_PW=reader-secret
SLAPD_PIDS=

require_slapd() {
	for b in slapd slapadd ldapadd ldapmodify openssl; do
		command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] ||
			skip "$b is missing (apt-get install slapd ldap-utils openssl)"
	done
	[ -f "$top_builddir/plugins/ldap/.libs/ldap.so" ] || skip "the ldap plugin is not built"
	PATH=$PATH:/usr/sbin
}

# make_ca NAME: a CA and a server certificate for 127.0.0.1 / localhost in $TMPDIR_TEST/NAME-*.pem.
make_ca() {
	d=$TMPDIR_TEST
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=staffsync test CA $1" -keyout "$d/$1-ca.key" -out "$d/$1-ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=localhost" -keyout "$d/$1-server.key" -out "$d/$1-server.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/$1-ext" &&
	openssl x509 -req -in "$d/$1-server.csr" -CA "$d/$1-ca.pem" -CAkey "$d/$1-ca.key" \
		-CAcreateserial -days 2 -extfile "$d/$1-ext" -out "$d/$1-server.pem" 2>/dev/null ||
		hard_error "cannot make test certificates"
	chmod 644 "$d/$1-server.key"
}

# write_slapd_conf DIR SIZELIMIT: schemas, overlays (memberof, syncprov,
# ppolicy for pwdAccountLockedTime), TLS with the "good" CA, and ACLs:
# cn=reader reads everything, cn=blind reads nothing.
write_slapd_conf() {
	dir=$1
	mkdir -p "$dir/db"
	cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload syncprov
moduleload ppolicy
TLSCACertificateFile $TMPDIR_TEST/good-ca.pem
TLSCertificateFile $TMPDIR_TEST/good-server.pem
TLSCertificateKeyFile $TMPDIR_TEST/good-server.key
sizelimit $2
database mdb
suffix "$SUFFIX"
rootdn "$ROOTDN"
rootpw $ROOTPW
directory $dir/db
maxsize 1073741824
dbnosync
# member and memberOf as a directory with the memberof overlay indexes them:
# increments look groups and users up by them (plugins/ldap/README.md).
index objectClass,entryUUID,entryCSN,member,uniqueMember,memberOf eq
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="cn=reader,$SUFFIX" read by dn.exact="cn=limited,$SUFFIX" read
	by dn.exact="gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth" read by * none
limits dn.exact="cn=reader,$SUFFIX" size=unlimited
limits dn.exact="gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth" size=unlimited
overlay memberof
memberof-refint true
overlay syncprov
syncprov-checkpoint 100 10
syncprov-sessionlog 1000
overlay ppolicy
CONF
	slaptest -u -f "$dir/slapd.conf" >/dev/null 2>"$dir/slaptest.err" ||
		{ cat "$dir/slaptest.err"; hard_error "slaptest refused the test configuration"; }
}

# base_ldif: the suffix, the OUs and the two service accounts.
base_ldif() {
	cat <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=moved,ou=people,$SUFFIX
objectClass: organizationalUnit
ou: moved

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

dn: cn=reader,$SUFFIX
objectClass: person
cn: reader
sn: reader
userPassword: $READER_PW

dn: cn=limited,$SUFFIX
objectClass: person
cn: limited
sn: limited
userPassword: $READER_PW

dn: cn=blind,$SUFFIX
objectClass: person
cn: blind
sn: blind
userPassword: $READER_PW

LDIF
}

# start_slapd DIR: runs slapd on a free loopback port; sets SLAPD_PORT,
# SLAPD_TLS_PORT, SLAPD_PID. Entries must be loaded (slapadd) before.
start_slapd() {
	dir=$1
	SLAPD_LDAPI="ldapi://$(printf '%s' "$dir/ldapi" | sed 's#/#%2F#g')"
	for try in 1 2 3 4 5 6 7 8; do
		SLAPD_PORT=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		SLAPD_TLS_PORT=$((SLAPD_PORT + 20000))
		if slapd -f "$dir/slapd.conf" \
			-h "ldap://127.0.0.1:$SLAPD_PORT/ ldaps://127.0.0.1:$SLAPD_TLS_PORT/ $SLAPD_LDAPI" 2>"$dir/slapd.err"; then
			SLAPD_PID=$(cat "$dir/slapd.pid")
			SLAPD_PIDS="$SLAPD_PIDS $SLAPD_PID"
			return 0
		fi
		: "$try"
	done
	cat "$dir/slapd.err"
	hard_error "slapd did not start"
}

# stop_slapd [PID]: SIGTERM and wait until it is gone (tail --pid polls for us).
stop_slapd() {
	pid=${1:-$SLAPD_PID}
	[ -n "$pid" ] || return 0
	if kill "$pid" 2>/dev/null; then
		timeout 10 tail --pid="$pid" -s 0.02 -f /dev/null
	fi
	return 0
}

stop_all_slapd() {
	for p in $SLAPD_PIDS; do stop_slapd "$p"; done
}

# ldap_as_root CMD ARGS...: ldapadd / ldapmodify / ldapdelete as the rootdn.
ldap_as_root() {
	cmd=$1
	shift
	"$cmd" -x -H "ldap://127.0.0.1:$SLAPD_PORT/" -D "$ROOTDN" -w "$ROOTPW" "$@" >/dev/null
}

# person UID GIVEN SN [OU] [extra LDIF lines]: an inetOrgPerson.
person() {
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\nmail: %s@example.com\nl: North\n' \
		"$1" "${4:-ou=people,$SUFFIX}" "$1" "$2" "$3" "$2" "$3" "$1"
	[ -z "${5:-}" ] || printf '%b\n' "$5"
	printf '\n'
}

# group CN MEMBER_DN...: a groupOfNames under ou=groups.
group() {
	cn=$1
	shift
	printf 'dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n' "$cn" "$SUFFIX" "$cn"
	for m in "$@"; do printf 'member: %s\n' "$m"; done
	printf '\n'
}

# write_source_yaml EXTRA_LINES: the ldap source block (indented for sources:).
ldap_source_yaml() {
	cat <<YAML
  - name: corp
    type: ldap
    uri: ldap://127.0.0.1:$SLAPD_PORT
    ca_file: $TMPDIR_TEST/good-ca.pem
    bind_dn: cn=reader,$SUFFIX
    bind_password_file: $TMPDIR_TEST/reader.secret
    base_dn: ou=people,$SUFFIX
    group_base_dn: ou=groups,$SUFFIX
    page_size: ${PAGE_SIZE:-1000}
    timeout: 10s
    attributes: { id: entryUUID, given_name: givenName, family_name: sn, email: mail,
                  employee_id: employeeNumber, speciality: title, facility: l }
YAML
}

# run_once DIR [ARGS]: staffsyncd --once in DIR; RUN_EXIT and DIR/out.
# STAFFSYNC_TEST_WRAPPER runs it under a checker, e.g.
# "valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99".
run_once() {
	d=$1
	shift
	RUN_EXIT=0
	# shellcheck disable=SC2086
	(cd "$d" && timeout 120 ${STAFFSYNC_TEST_WRAPPER:-} "$STAFFSYNCD" -c config.yaml --once "$@" >out 2>err) ||
		RUN_EXIT=$?
	if [ "$RUN_EXIT" = 99 ] && [ -n "${STAFFSYNC_TEST_WRAPPER:-}" ]; then
		cat "$d/err"
		hard_error "the checker found a memory error"
	fi
}

users() {
	sql "$1/state/workspaces.db" "SELECT facility, external_id, given_name, family_name, role, permission_level, status FROM workspace_users ORDER BY given_name, facility;"
}

FAILS=0
CHECKS=0
# check WHAT EXPECTED GOT
check() {
	CHECKS=$((CHECKS + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $CHECKS $1"
	else
		FAILS=$((FAILS + 1))
		echo "not ok $CHECKS $1"
		printf '%s\n' "# expected:" "$2" "# got:" "$3" | sed 's/^/#   /'
	fi
}

# check_grep WHAT PATTERN FILE
check_grep() {
	CHECKS=$((CHECKS + 1))
	if grep -q -e "$2" "$3"; then
		echo "ok $CHECKS $1"
	else
		FAILS=$((FAILS + 1))
		echo "not ok $CHECKS $1: '$2' not in $3:"
		sed 's/^/#   /' "$3"
	fi
}

finish() {
	echo "# $CHECKS checks, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

# ldap_setup SIZELIMIT: temp folder, certificates, config, EXIT trap.
ldap_setup() {
	require_sqlite3
	require_binaries
	require_slapd
	make_tmpdir
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		trap 'stop_all_slapd' EXIT
	else
		trap 'stop_all_slapd; rm -rf "$TMPDIR_TEST"' EXIT
	fi
	trap 'stop_all_slapd; exit 99' HUP INT TERM
	make_ca good
	make_ca wrong
	printf '%s\n' "$READER_PW" >"$TMPDIR_TEST/reader.secret"
	write_slapd_conf "$TMPDIR_TEST/slapd" "$1"
}

# twelve_nurses: the failure tests' directory, twelve people u01..u12, all
# in cn=nurses (P must be the people OU).
twelve_nurses() {
	base_ldif
	for i in 01 02 03 04 05 06 07 08 09 10 11 12; do person "u$i" "User$i" "Staff$i"; done
	# shellcheck disable=SC2046 # one member DN a word, no spaces in them
	group nurses $(for i in 01 02 03 04 05 06 07 08 09 10 11 12; do printf 'uid=u%s,%s ' "$i" "$P"; done)
}

# nurses_yaml: their configuration after the sources (one facility, nurses
# as Nurse, leavers deactivated after one complete listing, no gate).
nurses_yaml() {
	cat <<'YAML'
target:
  type: sqlite
facilities:
  - { id: north, name: North, platform: any, match: { facility: [North] } }
roles:
  - { role: Nurse, groups: [nurses] }
leavers:
  grace_runs: 1
  max_deactivations: 100%
  max_shrink: 100%
YAML
}

# statuses: the store's users of $W by status, with counts.
statuses() {
	sql "$W/state/workspaces.db" "SELECT status, count(*) FROM workspace_users GROUP BY status;"
}
