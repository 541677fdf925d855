#!/bin/sh
# Listings that a server ends early must never deactivate anyone. Against a
# private slapd with page size 2:
#  - a lost paging cookie: a proxy (ldap-proxy.py bad-cookie) spoils the
#    cookie of the second page (in two runs); slapd answers "paged results
#    cookie is invalid" (it no longer knows the paged search): incomplete,
#    exit 4;
#  - a time limit: cn=limited has `limits ... time.soft=1`, and the retcode
#    overlay makes slapd spend 2 s sending one entry (errAuxObject with
#    errSleepTime 2: a real server-side delay, not a test sleep), so the
#    search really runs longer than its limit and slapd ends it with
#    timeLimitExceeded: incomplete, exit 4. The reader, without a time
#    limit, still lists everyone through the same slow entry.
# Each time, nobody is deactivated in the sqlite store, also over a second run.
# Also: range_size (Active Directory's) is refused for an OpenLDAP source.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/ldap/lib.sh"

ldap_setup unlimited
T=$TMPDIR_TEST
P=ou=people,$SUFFIX
[ -f /usr/lib/ldap/retcode.so ] || skip "slapd's retcode overlay is missing (/usr/lib/ldap/retcode.so)"
# cn=limited: one second per search; retcode-indir: entries may carry errAuxObject.
cat >>"$T/slapd/slapd.conf" <<CONF
limits dn.exact="cn=limited,$SUFFIX" time.soft=1 size=unlimited
moduleload retcode
overlay retcode
retcode-parent "ou=retcode,$SUFFIX"
retcode-indir on
CONF
slaptest -u -f "$T/slapd/slapd.conf" >/dev/null 2>"$T/slaptest.err" ||
	{ cat "$T/slaptest.err"; hard_error "slaptest refused the retcode / limits configuration"; }
twelve_nurses >"$T/all.ldif"
start_slapd "$T/slapd"
ldap_as_root ldapadd -f "$T/all.ldif" || hard_error "cannot load entries"

W=$T/work
mkdir -p "$W"
# write_config URI [BIND_DN]
write_config() {
	{
		echo "state_dir: state"
		echo "sources:"
		PAGE_SIZE=2 ldap_source_yaml | sed "s#uri: .*#uri: $1\n    starttls: false#; s#cn=reader,$SUFFIX#${2:-cn=reader,$SUFFIX}#"
		nurses_yaml
	} >"$W/config.yaml"
}
DIRECT=ldap://127.0.0.1:$SLAPD_PORT

write_config "$DIRECT"
run_once "$W"
check "the reader lists everyone (page size 2)" "0|pending|12" "$RUN_EXIT|$(statuses)"

# range_size is Active Directory's: slapd would answer "member;range=0-499"
# with no members at all, and every group would look empty.
sed 's#^    page_size: 2$#    page_size: 2\n    range_size: 500#' "$W/config.yaml" >"$W/range.yaml"
"$STAFFSYNCD" -c "$W/range.yaml" --check-config >"$W/check" 2>&1
check "check-config refuses range_size for openldap" "2" "$?"
check_grep "and says where and why" "range.yaml:[0-9]*:[0-9]*: range_size: only for dialect: ad" "$W/check"

# A lost paging cookie, twice: had the short listings been taken for
# the whole directory, everyone after the first page would be gone.
mkfifo "$T/proxy.port"
/usr/bin/python3 "$top_srcdir/tests/ldap/ldap-proxy.py" "$T/proxy.port" "$SLAPD_PORT" bad-cookie 2 &
proxy=$!
read -r pport <"$T/proxy.port"
write_config "ldap://127.0.0.1:$pport"
run_once "$W" --full
check "a lost paging cookie: incomplete listing, exit 4" "4" "$RUN_EXIT"
check_grep "the reason is the server's answer to the spoiled cookie" \
	"search of $P stopped after [0-9]* entries: .*paged results cookie is invalid" "$W/err"
check "nobody deactivated after a lost paging cookie" "pending|12" "$(statuses)"
run_once "$W" --full
check "nor after a second such run" "4|pending|12" "$RUN_EXIT|$(statuses)"
run_once "$W" --full
kill "$proxy" 2>/dev/null
wait "$proxy" 2>/dev/null
check "with its cookies left alone, the same path gives a full listing" "0|pending|12" "$RUN_EXIT|$(statuses)"

# A time limit exceeded: u01 makes slapd wait 2 s while it sends it (the
# retcode overlay); cn=limited may search for 1 s.
printf 'dn: uid=u01,%s\nchangetype: modify\nadd: objectClass\nobjectClass: errAuxObject\n-\nadd: errCode\nerrCode: 0\n-\nadd: errSleepTime\nerrSleepTime: 2\n' "$P" |
	ldap_as_root ldapmodify || hard_error "cannot make u01 slow"
write_config "$DIRECT" "cn=limited,$SUFFIX"
run_once "$W" --full
check "a time limit exceeded: incomplete listing, exit 4" "4" "$RUN_EXIT"
check_grep "the reason is the time limit" "Time limit exceeded" "$W/err"
check "nobody deactivated after a time limit" "pending|12" "$(statuses)"
run_once "$W" --full
check "nor after a second such run" "4|pending|12" "$RUN_EXIT|$(statuses)"
write_config "$DIRECT"
run_once "$W" --full
check "the reader (no time limit) lists everyone through the slow entry" "0|pending|12" "$RUN_EXIT|$(statuses)"
finish
