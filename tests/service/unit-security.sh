#!/bin/bash
# The shipped unit, as make builds it: systemd-analyze security --offline=yes
# scores its exposure at most 1.5 (--threshold=15, tenths), and systemd
# parses the unit, the sysusers.d and tmpfiles.d files without complaint.
. "$(dirname "$0")/../integration/lib.sh"
unit=$top_builddir/contrib/systemd/staffsyncd.service
[ -f "$unit" ] || hard_error "$unit is not built (make builds it)"
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is missing (apt-get install systemd)"
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
	skip "this systemd-analyze has no --offline (systemd >= 250 needed)"
status=0
out=$(systemd-analyze security --offline=yes --threshold=15 "$unit" 2>&1)
rc=$?
echo "$out" | grep 'Overall exposure' | sed 's/^/# /'
if [ $rc = 0 ]; then echo "ok: exposure at most 1.5"; else echo "FAIL: systemd-analyze security exit $rc"; echo "$out" | grep '✗' | sed 's/^/#   /'; status=1; fi
grep -q '^Type=notify$' "$unit" && grep -q '^WatchdogSec=' "$unit" && grep -q "^ExecStart=/.*/staffsyncd " "$unit" ||
	{ echo "FAIL: the unit lacks Type=notify, WatchdogSec= or an absolute ExecStart"; status=1; }
for c in ldap-password scim-token smtp-password; do
	grep -q "^LoadCredential=$c:/etc/staffsync/credentials/$c\$" "$unit" || { echo "FAIL: no LoadCredential for $c"; status=1; }
	grep -q "^f /etc/staffsync/credentials/$c 0600 root root" "$top_srcdir/contrib/systemd/staffsync.tmpfiles" ||
		{ echo "FAIL: tmpfiles.d does not create the credential file $c"; status=1; }
done
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	root=$(mktemp -d) || hard_error "mktemp"
	if systemd-tmpfiles --root="$root" --create "$top_srcdir/contrib/systemd/staffsync.tmpfiles" 2>&1 | grep .; then
		echo "FAIL: systemd-tmpfiles complained"; status=1
	elif [ "$(stat -c %a "$root/etc/staffsync/credentials/scim-token")" != 600 ]; then
		echo "FAIL: the credential file is not 0600"; status=1
	else echo "ok: systemd-tmpfiles creates the credential files 0600"; fi
	if command -v systemd-sysusers >/dev/null 2>&1; then
		mkdir -p "$root/etc"
		if systemd-sysusers --root="$root" "$top_srcdir/contrib/systemd/staffsync.sysusers" 2>&1 | grep -v '^Creating' | grep .; then
			echo "FAIL: systemd-sysusers complained"; status=1
		elif grep -q '^staffsync:' "$root/etc/passwd"; then echo "ok: systemd-sysusers creates the user staffsync"
		else echo "FAIL: no staffsync user in the test root's passwd"; status=1; fi
	fi
	rm -rf "$root"
fi
exit $status
