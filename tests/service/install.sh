#!/bin/bash
# make install puts the unit, sysusers.d, tmpfiles.d, the catalog, the man
# pages and the completion where configure said (a DESTDIR here).
. "$(dirname "$0")/../integration/lib.sh"
make_tmpdir
# A make of its own, not a part of the make running the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
dest=$TMPDIR_TEST/root
make -C "$top_builddir" install DESTDIR="$dest" >"$TMPDIR_TEST/install.log" 2>&1 ||
	{ tail -20 "$TMPDIR_TEST/install.log"; echo "FAIL: make install"; exit 1; }
get() { make -s --no-print-directory -C "$top_builddir" -f - print <<EOF2
include Makefile
print:
	@echo \$($1)
EOF2
}
status=0
for pair in "SYSTEMD_UNIT_DIR staffsyncd.service" "SYSUSERS_DIR staffsync.conf" \
	    "TMPFILES_DIR staffsync.conf" "CATALOG_DIR staffsync.catalog" \
	    "BASH_COMPLETION_DIR staffsyncctl" "mandir man8/staffsyncd.8" "mandir man8/staffsyncctl.8" \
	    "mandir man5/staffsync.yaml.5"; do
	set -- $pair
	dir=$(get "$1")
	if [ -f "$dest$dir/$2" ]; then echo "ok: $dir/$2"; else echo "FAIL: $dir/$2 not installed"; status=1; fi
done
unit=$dest$(get SYSTEMD_UNIT_DIR)/staffsyncd.service
sbindir=$(get sbindir)
grep -q "^ExecStart=$sbindir/staffsyncd " "$unit" || { echo "FAIL: ExecStart is not $sbindir/staffsyncd"; status=1; }
[ -x "$dest$sbindir/staffsyncd" ] || { echo "FAIL: staffsyncd not installed in $sbindir"; status=1; }
exit $status
