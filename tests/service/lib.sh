#!/bin/bash
# Shared helpers of the service tests (sourced): the integration helpers,
# plus a fake systemd: sockets that receive sd_notify and journal messages.
. "$(dirname "$0")/../integration/lib.sh"

SOCKRECV="$top_srcdir/tests/service/sockrecv.py"
PIDS=()

require_python3() {
	command -v python3 >/dev/null 2>&1 || skip "python3 is missing (it plays systemd's sockets)"
}

# cleanup_pids: stop what the test started, by PID (called on exit).
cleanup_pids() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}

# start_recv MODE SOCKET OUT: a receiver in the background, waited for by
# its socket appearing.
start_recv() {
	python3 "$SOCKRECV" "$1" "$2" "$3" &
	PIDS+=($!)
	wait_until "the $1 socket $2 to appear" test -S "$2"
}

# wait_until WHAT CMD...: poll CMD until it succeeds; a minute without it is
# a failure of the test (the daemon hangs), not a timing assertion.
wait_until() {
	local what=$1 i
	shift
	for ((i = 0; i < 1200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	echo "FAIL: waited a minute for $what"
	[ -n "${DAEMON_LOG:-}" ] && [ -f "$DAEMON_LOG" ] && sed 's/^/#   daemon: /' "$DAEMON_LOG" | tail -30
	exit 1
}

# count_lines FILE PATTERN: lines of FILE matching the extended regex.
count_lines() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
has_at_least() { [ "$(count_lines "$1" "$2")" -ge "$3" ]; }

# write_staff N FILE [EXTRA_SITE]: N people over the North/South sites.
write_staff() {
	awk -v n="$1" -v extra="${3:-}" 'BEGIN {
		print "employee_id,first_name,last_name,email,groups,site,speciality"
		for (i = 0; i < n; i++) {
			site = (i % 2) ? "North" : "South"
			if (extra != "" && i % 5 == 0) site = extra
			printf "E%06d,First%d,Last%d,p%d@example.org,nurses,%s,\n", i, i, i, i, site
		}
	}' > "$2"
}

# write_config DIR [EXTRA_FACILITY]
write_config() {
	mkdir -p "$1"
	cat > "$1/config.yaml" <<YAML
state_dir: state
schedule: { interval: 1h, jitter: 0s, full_every: 24h }
sources:
  - name: hr
    type: csv
    path: staff.csv
    max_age: never
    columns: { id: employee_id, given_name: first_name, family_name: last_name, email: email,
               groups: groups, facility: site, speciality: speciality }
facilities:
  - { id: north, platform: surgical, match: { facility: [North] } }
  - { id: south, platform: surgical, match: { facility: [South] } }
YAML
	[ -n "${2:-}" ] && echo "  - { id: ${2,,}, platform: surgical, match: { facility: [$2] } }" >> "$1/config.yaml"
	cat >> "$1/config.yaml" <<YAML
roles:
  - { role: Nurse, groups: [nurses] }
leavers:
  grace_runs: 1
  max_deactivations: 50%
  max_shrink: 50%
YAML
}

# check WHAT CMD...: a named assertion; a failure sets status=1.
status=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; status=1; fi
}

# journal_namespace "$@": where root may have a private mount namespace, run
# the test again inside one (call it before make_tmpdir); there it mounts a
# tmpfs on /run so that the test can bind its own receiver at
# /run/systemd/journal/socket, where sd_journal_sendv sends. Returns 0 inside
# such a namespace, 1 where none can be made (the test then reads stderr).
journal_namespace() {
	if [ "${STAFFSYNC_TEST_NAMESPACE:-}" = 1 ]; then
		mount --make-rprivate / 2>/dev/null
		mount -t tmpfs tmpfs /run || hard_error "cannot mount a tmpfs on /run in the namespace"
		mkdir -p /run/systemd/journal
		return 0
	fi
	if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
		STAFFSYNC_TEST_NAMESPACE=1 exec unshare -m bash "$0" "$@"
	fi
	echo "# no private mount namespace (needs root and unshare): the journal fields are not checked"
	return 1
}

# start_journal FILE: the fake journal, one JSON object a line in FILE; the
# daemon logs there (STAFFSYNC_LOG=journal). Inside journal_namespace only.
start_journal() {
	JOURNAL=$1
	start_recv journal /run/systemd/journal/socket "$JOURNAL"
	export STAFFSYNC_LOG=journal
}

# journal_entries 'FIELD=VALUE'...: entries of $JOURNAL having all these
# fields (VALUE: an extended regex of the whole value, JSON-escaped).
journal_entries() {
	local cmd="cat \"\$JOURNAL\"" kv
	for kv in "$@"; do
		cmd+=" | grep -E '\"${kv%%=*}\": \"${kv#*=}\"[,}]'"
	done
	eval "$cmd" | wc -l
}

# logged REGEX [FIELD=VALUE...]: how many of the daemon's messages start
# with REGEX: from the fake journal (entries also having each FIELD) when the
# test has one, else from the daemon's stderr ($DAEMON_LOG; fields unchecked).
logged() {
	local re=$1
	shift
	if [ -n "${JOURNAL:-}" ]; then
		journal_entries "MESSAGE=$re.*" "$@"
	else
		grep -cE -- "^([a-z]+: )?$re" "$DAEMON_LOG" 2>/dev/null || true
	fi
}

# ms_since T0_NS MS: true once MS milliseconds have passed since T0_NS
# (date +%s%N). For waiting until a run has lasted long enough, never for
# asserting how long something took.
ms_since() { [ $(( ($(date +%s%N) - $1) / 1000000 )) -ge "$2" ]; }
