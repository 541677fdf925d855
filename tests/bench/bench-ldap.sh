#!/bin/bash
# Benchmark: the ldap source at 100k users in 1k groups in a private slapd.
#
#   tests/bench/bench-ldap.sh BUILDDIR     (or top_builddir=BUILDDIR ...)
#
# Loads the directory offline (slapadd -q, memberOf written into the LDIF
# since slapadd bypasses the overlay), then measures, each on its own:
#   ldapsearch  `ldapsearch -ZZ -E pr=1000/noprompt` reading the same entries and
#               attributes the source asks for (users, then the groups), over
#               StartTLS like the source
#   first       staffsyncd --once on an empty state (100k creates: context only)
#   full no-op  staffsyncd --once --full: nothing to change (goal: <= 1.3x ldapsearch);
#               both three times, alternating, and the medians compared
#   increment   10 users changed, staffsyncd --once: a syncrepl increment,
#               three rounds, the median (goal: <= 5% of the full no-op run)
#   service     the same in the running daemon (staffsyncctl run), the
#               duration it reports in its metrics file
# Each measurement starts after `sync`, so no run pays for writing back
# what an earlier one left dirty in the page cache.
# Figures: wall-clock seconds from bash's $EPOCHREALTIME around each command
# (resolution 1 us; run-to-run noise is far larger, ~10 ms),
# and the peak RSS of staffsyncd from GNU time when it is installed.
# BENCH_USERS / BENCH_GROUPS change the size.
set -eu
[ $# -ge 1 ] && top_builddir=$(cd "$1" && pwd)
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_srcdir top_builddir
STAFFSYNC_PLUGIN_PATH=$top_builddir/plugins/csv/.libs:$top_builddir/plugins/sqlite/.libs:$top_builddir/plugins/smtp/.libs
export STAFFSYNC_PLUGIN_PATH
set +u
# shellcheck source=../ldap/lib.sh
. "$top_srcdir/tests/ldap/lib.sh"
set -u
USERS=${BENCH_USERS:-100000}
GROUPS_N=${BENCH_GROUPS:-1000}

ldap_setup unlimited
T=$TMPDIR_TEST
{
	base_ldif
	/usr/bin/python3 - "$USERS" "$GROUPS_N" "$SUFFIX" <<'PY'
import sys
users, groups, suffix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = sys.stdout
for i in range(users):
    g = i % groups
    out.write(f"dn: uid=u{i:06d},ou=people,{suffix}\nobjectClass: inetOrgPerson\nuid: u{i:06d}\n"
              f"cn: Given{i} Family{i}\ngivenName: Given{i}\nsn: Family{i}\nmail: u{i:06d}@example.com\n"
              f"employeeNumber: {i}\ntitle: Nursing\nl: North\n"
              f"memberOf: cn=g{g:04d},ou=groups,{suffix}\n\n")
for g in range(groups):
    out.write(f"dn: cn=g{g:04d},ou=groups,{suffix}\nobjectClass: groupOfNames\ncn: g{g:04d}\n")
    for i in range(g, users, groups):
        out.write(f"member: uid=u{i:06d},ou=people,{suffix}\n")
    out.write("\n")
PY
} >"$T/bench.ldif"
slapadd -q -f "$T/slapd/slapd.conf" -l "$T/bench.ldif" >/dev/null 2>&1 || hard_error "slapadd failed"
rm -f "$T/bench.ldif"
start_slapd "$T/slapd"

W=$T/work
mkdir -p "$W"
{
	echo "state_dir: state"
	echo "sources:"
	ldap_source_yaml
	cat <<'YAML'
target:
  type: sqlite
facilities:
  - { id: north, name: North, platform: any, match: { facility: [North] } }
roles:
  - { role: Nurse }
accounts:
  invite_on_create: false
YAML
} >"$W/config.yaml"

# bash's clock, read without a fork: `date` would add its own start (~3 ms)
# to runs of ~60 ms.
now() { echo "$EPOCHREALTIME"; }
TIME=
[ -x /usr/bin/time ] && TIME="/usr/bin/time -f %M:%U:%S -o $T/rss"
measure() {  # NAME CMD...: prints and records seconds in $T/NAME.s
	name=$1
	shift
	# Written-back first: the 100k-row first run leaves ~100 MB of dirty
	# pages, and a later run's fdatasync would otherwise pay for them.
	sync
	start=$(now)
	"$@"
	end=$(now)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }' >"$T/$name.s"
	rss=
	[ -z "$TIME" ] || [ ! -f "$T/rss" ] ||
		rss=$(awk -F: '{ printf " peak RSS %s KiB, cpu %.2f s (user %s, sys %s)", $1, $2 + $3, $2, $3 }' "$T/rss")
	rm -f "$T/rss"
	echo "# $name: $(cat "$T/$name.s") s$rss"
}
# Over StartTLS with the same CA, as the source connects.
search() {
	LDAPTLS_CACERT=$T/good-ca.pem ldapsearch -ZZ -x -LLL -H "ldap://127.0.0.1:$SLAPD_PORT/" -D "cn=reader,$SUFFIX" -w "$READER_PW" \
		-E pr=1000/noprompt -b "ou=people,$SUFFIX" "(objectClass=inetOrgPerson)" \
		entryUUID givenName sn mail employeeNumber memberOf '*' pwdAccountLockedTime >/dev/null &&
	LDAPTLS_CACERT=$T/good-ca.pem ldapsearch -ZZ -x -LLL -H "ldap://127.0.0.1:$SLAPD_PORT/" -D "cn=reader,$SUFFIX" -w "$READER_PW" \
		-E pr=1000/noprompt -b "ou=groups,$SUFFIX" \
		"(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))" cn member uniqueMember >/dev/null
}
once() { (cd "$W" && $TIME "$top_builddir/staffsyncd" -c config.yaml --once "$@" >out 2>err) || { cat "$W/err"; exit 1; }; }

echo "# $USERS users in $GROUPS_N groups, slapd 127.0.0.1, StartTLS (as configured), page size 1000"
measure first once
grep summary "$W/out"
# Side by side, three times each, alternating: the medians are compared.
for round in 1 2 3; do
	measure "ldapsearch$round" search
	measure "full$round" once --full
	grep summary "$W/out"
done
median() { sort -n "$T/$1"1.s "$T/$1"2.s "$T/$1"3.s | sed -n 2p >"$T/$1.s"; }
median ldapsearch
median full
# Three rounds, 10 other users each: the median is the figure (single
# runs of ~50 ms vary by more than the goal's margin).
for round in 1 2 3; do
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf 'dn: uid=u%06d,ou=people,%s\nchangetype: modify\nreplace: sn\nsn: Changed%s\n\n' \
			"$((i * 997 + round))" "$SUFFIX" "$i"
	done | ldap_as_root ldapmodify
	measure "increment$round" once
	grep summary "$W/out"
	grep -o "listing [a-z]*" "$W/err" | head -1 | sed "s/^/# increment $round: /"
done
median increment

# The same increments in the service, as they run in production: the
# daemon keeps its plugins and libraries loaded between runs, so a run
# there does not pay a process start (~25 ms of the --once figure: the
# dynamic loader and page faults of libldap, GnuTLS, SQLite, ...). Its
# duration is the daemon's own (the metrics file, 1 ms resolution).
metric() { sed -n "s/^$1 //p" "$W/metrics.prom" 2>/dev/null || true; }
until_run_after() {  # ID: poll the metrics file until a later run ended
	for _ in $(seq 2400); do
		id=$(metric staffsync_last_run_id)
		[ -n "$id" ] && [ "$id" -gt "$1" ] && return 0
		sleep 0.05
	done
	echo "the service never finished a run after $1" >&2
	exit 1
}
(cd "$W" && exec "$top_builddir/staffsyncd" -c config.yaml --metrics-file "$W/metrics.prom" >svc.out 2>svc.err) &
SVC=$!
# Stopped on any exit, with slapd: a failed poll must not leave it running.
SLAPD_PIDS="$SVC $SLAPD_PIDS"
until_run_after 0
for round in 1 2 3; do
	last=$(metric staffsync_last_run_id)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf 'dn: uid=u%06d,ou=people,%s\nchangetype: modify\nreplace: sn\nsn: Service%s\n\n' \
			"$((i * 997 + 10 + round))" "$SUFFIX" "$i"
	done | ldap_as_root ldapmodify
	(cd "$W" && "$top_builddir/staffsyncctl" -c config.yaml run >/dev/null)
	until_run_after "$last"
	metric staffsync_last_run_duration_seconds >"$T/service$round.s"
	echo "# service increment $round: $(cat "$T/service$round.s") s, $(grep -c 'listing incremental' "$W/svc.err") incremental runs so far"
done
kill -TERM "$SVC"
wait "$SVC" 2>/dev/null || true
median service

best_ls=$(cat "$T/ldapsearch.s")
echo "| run | seconds | goal |"
echo "|---|---|---|"
echo "| ldapsearch -E pr=1000 (median of 3) | $best_ls | |"
echo "| full no-op (median of 3) | $(cat "$T/full.s") | $(awk -v f="$(cat "$T/full.s")" -v l="$best_ls" 'BEGIN { printf "%.2fx ldapsearch (goal <= 1.3x)", f / l }') |"
echo "| 10 changed, incremental (median of 3) | $(cat "$T/increment.s") | $(awk -v i="$(cat "$T/increment.s")" -v f="$(cat "$T/full.s")" 'BEGIN { printf "%.1f%% of full (goal <= 5%%)", 100 * i / f }') |"
echo "| 10 changed, incremental in the service (median of 3) | $(cat "$T/service.s") | $(awk -v i="$(cat "$T/service.s")" -v f="$(cat "$T/full.s")" 'BEGIN { printf "%.1f%% of full (goal <= 5%%)", 100 * i / f }') |"
echo "# resolution: wall clock from \$EPOCHREALTIME (1 us), the service's own durations 1 ms; medians of 3 runs; noise ~10 ms"
