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
