#!/bin/sh
# staffsyncctl: history lists the runs with their counts, plan prints what a
# run would do without writing, explain shows a person's record, each rule
# and the result, approve refuses what it cannot approve.
. "$(dirname "$0")/lib.sh"
require_binaries
require_sqlite3
make_tmpdir
cd "$TMPDIR_TEST" || exit 99
status=0
check() { # check NAME PATTERN: the pattern must be in out.txt
	grep -qF -- "$2" out.txt || { echo "FAIL $1: missing '$2' in:"; sed 's/^/#   /' out.txt; status=1; }
}

cat > staff.csv <<'CSV'
employee_id,first_name,last_name,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,surgeons,North,
E2,Grace,Hopper,grace@example.org,physicians,South,
E3,Cleo,Doe,cleo@example.org,physicians,South,Cardiology
CSV
cat > config.yaml <<'YAML'
state_dir: state
sources:
  - name: hr
    type: csv
    path: staff.csv
    max_age: never
    columns: { id: employee_id, given_name: first_name, family_name: last_name, email: email,
               groups: groups, facility: site, speciality: speciality }
facilities:
  - { id: north, name: North Surgical, platform: surgical, match: { facility: [North] } }
  - { id: south, name: South Clinic, platform: clinic, match: { facility: [South] } }
roles:
  - { role: Surgeon, groups: [surgeons] }
  - { role: Doctor, groups: [physicians] }
YAML
ctl() { "$STAFFSYNCCTL" -c config.yaml "$@" > out.txt 2>&1; }

ctl history || { echo "FAIL history before any run"; status=1; }
check history-empty "no runs yet"
ctl plan; rc=$?
[ $rc -eq 0 ] || { echo "FAIL plan: exit $rc"; status=1; }
check plan "create        E1 Ada Lovelace <ada@example.org>: Surgeon, Staff"
check plan "hold          E2: role Doctor requires speciality"
[ ! -e state ] || { echo "FAIL: plan wrote $(ls state)"; status=1; }

"$STAFFSYNCD" -c config.yaml --once > /dev/null 2>&1 || { echo "FAIL: --once"; status=1; }
ctl history
check history "ok        create 2, invite 2"
ctl explain E2
check explain "record (source hr, staff.csv row 3):"
check explain "rule 1 (Surgeon, line 13): not for facility south"
check explain "rule 2 (Doctor, line 14): matches"
check explain "south: held: role Doctor requires speciality"
ctl explain E3
check explain "south: Doctor, Staff"
check explain "memberships staffsync manages:"
ctl explain NOBODY && { echo "FAIL explain NOBODY: exit 0"; status=1; }
check explain-nobody "person NOBODY: not in any source listing"
ctl approve 1 && { echo "FAIL approve of a run no gate stopped: exit 0"; status=1; }
check approve "run 1 was not stopped by a safety gate"
ctl approve 42 && { echo "FAIL approve 42: exit 0"; status=1; }
check approve "there is no run 42"
ctl frobnicate && { echo "FAIL unknown command: exit 0"; status=1; }
check unknown "unknown command 'frobnicate'"
exit $status
