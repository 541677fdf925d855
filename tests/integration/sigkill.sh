#!/bin/bash
# SIGKILL at any moment, then a normal run, ends with the same workspaces as
# an uninterrupted run: no duplicate person, no lost operation, no invite
# sent twice. The kills land at spread-out moments of the first run
# (reading, planning, journaling, applying), then of a run with changes.
. "$(dirname "$0")/lib.sh"
require_binaries
require_sqlite3
make_tmpdir
cd "$TMPDIR_TEST" || exit 99
N=${SIGKILL_PEOPLE:-20000}

gen_csv() { # gen_csv VARIANT: 0 = first listing, 1 = with changes and leavers
	awk -v n="$N" -v v="$1" 'BEGIN {
		print "employee_id,first_name,last_name,email,groups,site,speciality"
		split("North South East", site, " ")
		split("surgeons nurses physicians lab admins", grp, " ")
		for (i = 0; i < n; i++) {
			if (v == 1 && i % 50 == 7) continue            # leavers
			s = site[i % 3 + 1]; g = grp[int(i / 3) % 5 + 1]
			if (s == "North" && (g == "physicians" || g == "lab")) g = "nurses"
			if (s != "North" && (g == "surgeons" || g == "nurses")) g = "admins"
			if (v == 1 && i % 40 == 3) s = site[(i + 1) % 3 + 1]  # movers (one facility)
			if (s == "North" && (g == "physicians" || g == "lab" || g == "admins")) g = "nurses"
			if (s != "North" && (g == "surgeons" || g == "nurses")) g = "admins"
			email = (i % 9 == 0) ? "" : sprintf("p%d@example.org", i)
			last = (v == 1 && i % 30 == 1) ? "Renamed" i : "Last" i
			printf "E%06d,First%d,%s,%s,%s,%s,Cardiology\n", i, i, last, email, g, s
		}
		if (v == 1) for (i = n; i < n + n / 100; i++)
			printf "E%06d,First%d,Last%d,p%d@example.org,admins,South,\n", i, i, i, i
	}'
}

write_config() { # write_config DIR
	mkdir -p "$1"
	cat > "$1/config.yaml" <<'YAML'
state_dir: state
sources:
  - name: hr
    type: csv
    path: staff.csv
    max_age: never
    columns: { id: employee_id, given_name: first_name, family_name: last_name, email: email,
               groups: groups, facility: site, speciality: speciality }
facilities:
  - { id: north, platform: surgical, match: { facility: [North] } }
  - { id: south, platform: clinic, match: { facility: [South] } }
  - { id: east, platform: clinic, match: { facility: [East] } }
roles:
  - { role: Surgeon, groups: [surgeons] }
  - { role: Nurse, groups: [nurses] }
  - { role: Doctor, groups: [physicians] }
  - { role: Personnel, label: Lab, groups: [lab] }
  - { role: Admin, groups: [admins] }
leavers:
  grace_runs: 1
  max_deactivations: 50%
  max_shrink: 50%
YAML
}

snapshot() { # snapshot DIR: what must be identical
	db=$1/state/workspaces.db
	sql "$db" "SELECT facility, external_id, given_name, family_name, email, role, ifnull(label,''),
		permission_level, ifnull(speciality,''), status FROM workspace_users ORDER BY 2, 1"
	sql "$db" "SELECT facility, external_id, email, kind FROM workspace_invites ORDER BY 2, 1, 4"
}

run_once() { "$STAFFSYNCD" -c "$1/config.yaml" --once >/dev/null 2>>"$1/stderr"; }

# The reference: uninterrupted runs.
write_config ref; write_config killed
for v in 0 1; do
	gen_csv $v > ref/staff.csv
	run_once ref; rc=$?
	[ $rc -eq 0 ] || { echo "FAIL: reference run $v exit $rc"; cat ref/stderr; exit 1; }
done

# Measure how long the first run takes, to spread the kills over it.
write_config timing; gen_csv 0 > timing/staff.csv
start=$(date +%s%N); run_once timing; end=$(date +%s%N)
span_ms=$(( (end - start) / 1000000 ))
echo "# an uninterrupted first run of $N people takes ${span_ms} ms"

kills=0 completed_early=0
for v in 0 1; do
	gen_csv $v > killed/staff.csv
	for frac in 5 15 30 45 60 75 90; do
		delay_ms=$(( span_ms * frac / 100 + 1 ))
		"$STAFFSYNCD" -c killed/config.yaml --once >/dev/null 2>>killed/stderr &
		pid=$!
		sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
		if kill -KILL "$pid" 2>/dev/null; then kills=$((kills + 1)); else completed_early=$((completed_early + 1)); fi
		wait "$pid" 2>/dev/null
	done
	run_once killed; rc=$?
	[ $rc -eq 0 ] || { echo "FAIL: the run after the kills (variant $v) exit $rc"; tail -20 killed/stderr; exit 1; }
done
echo "# $kills runs killed with SIGKILL, $completed_early finished before their kill"
[ "$kills" -ge 4 ] || hard_error "too few kills landed ($kills): the runs are too fast to interrupt"

snapshot ref > ref.txt
snapshot killed > killed.txt
status=0
if ! same_file ref.txt killed.txt; then
	fail_diff "workspaces after kills vs uninterrupted" ref.txt killed.txt | head -40
	status=1
fi
dups=$(sql killed/state/workspaces.db "SELECT count(*) FROM (SELECT facility, external_id FROM workspace_users GROUP BY 1, 2 HAVING count(*) > 1)")
[ "$dups" = 0 ] || { echo "FAIL: $dups duplicate memberships"; status=1; }
twice=$(sql killed/state/workspaces.db "SELECT count(*) FROM (SELECT external_id, kind FROM workspace_invites WHERE kind = 'invite' GROUP BY 1 HAVING count(*) > 1)")
[ "$twice" = 0 ] || { echo "FAIL: $twice people invited twice"; status=1; }
pending=$(sql killed/state/state.db "SELECT count(*) FROM journal WHERE state = 'pending'")
[ "$pending" = 0 ] || { echo "FAIL: $pending journal entries still pending"; status=1; }
echo "# $(wc -l < ref.txt) rows compared"
exit $status
