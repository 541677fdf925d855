#!/bin/sh
# --check-config reports every problem of a file in one pass as
# FILE:LINE:COLUMN: message and exits non-zero; a good file exits 0.
. "$(dirname "$0")/lib.sh"
require_binaries
make_tmpdir
cd "$TMPDIR_TEST" || exit 99
status=0
printf 'employee_id,first_name,last_name\n' > staff.csv

expect() { # expect NAME PATTERN...: each pattern must appear in the output
	name=$1; shift
	for p in "$@"; do
		if ! grep -qF -- "$p" out.txt; then
			echo "FAIL $name: missing '$p' in:"; sed 's/^/#   /' out.txt; status=1
		fi
	done
}

# A file with several errors: all of them, with positions.
cat > bad.yaml <<'YAML'
state_dir: state
sources:
  - name: hr
    type: csv
    path: staff.csv
    columns: { id: employee_id, shoe_size: x }
facilities:
  - id: north
    match: { facility: [North] }
roles:
  - { role: Surgeon, groups: [surgeons], facilities: [west] }
  - { role: Patient }
permissions:
  default: Boss
schedule:
  interval: soon
colour: blue
YAML
"$STAFFSYNCD" -c bad.yaml --check-config > out.txt 2>&1
rc=$?
[ $rc -ne 0 ] || { echo "FAIL bad.yaml: exit 0"; status=1; }
expect bad.yaml "bad.yaml:11:" "west" "bad.yaml:12:" "Patient" "bad.yaml:14:" "Boss" \
	"bad.yaml:16:" "soon" "bad.yaml:17:1:" "colour" "bad.yaml:6:" "shoe_size"
echo "ok: bad.yaml reports $(grep -c '^bad.yaml:[0-9]*:[0-9]*: ' out.txt) errors, exit $rc"

# A YAML syntax error is reported the same way.
printf 'sources:\n  - name: hr\n    type: [csv\n' > syntax.yaml
"$STAFFSYNCD" -c syntax.yaml --check-config > out.txt 2>&1 && { echo "FAIL syntax: exit 0"; status=1; }
grep -qE '^syntax.yaml:[0-9]+:[0-9]+: ' out.txt || { echo "FAIL syntax: no position"; cat out.txt; status=1; }

# An unknown plugin type names the file position of `type`.
cat > plugin.yaml <<'YAML'
sources:
  - name: hr
    type: nosuchplugin
facilities:
  - { id: north, match: { facility: [North] } }
roles:
  - { role: Nurse }
YAML
"$STAFFSYNCD" -c plugin.yaml --check-config > out.txt 2>&1 && { echo "FAIL plugin: exit 0"; status=1; }
expect plugin.yaml "plugin.yaml:3:11:" "nosuchplugin"

# A plugin built for another ABI version is refused, saying so.
if [ -n "${STAFFSYNC_TEST_PLUGIN_DIR:-}" ] && [ -f "$STAFFSYNC_TEST_PLUGIN_DIR/wrong-abi.so" ]; then
	sed 's/type: nosuchplugin/type: wrong-abi/' plugin.yaml > abi.yaml
	STAFFSYNC_PLUGIN_PATH="$STAFFSYNC_PLUGIN_PATH:$STAFFSYNC_TEST_PLUGIN_DIR" \
		"$STAFFSYNCD" -c abi.yaml --check-config > out.txt 2>&1 && { echo "FAIL abi: exit 0"; status=1; }
	expect abi.yaml "abi.yaml:3:11:" "plugin wrong-abi was built for plugin ABI 99, this staffsyncd speaks ABI 1"
else
	echo "FAIL: the wrong-abi test plugin was not built"; status=1
fi

# target.adopt: username needs a target with user names: the workspace
# store has none. An unknown adopt value is refused too.
cat > adopt.yaml <<'YAML'
sources:
  - { name: hr, type: csv, path: staff.csv, columns: { id: employee_id } }
target:
  type: sqlite
  adopt: username
facilities:
  - { id: north, match: { facility: [North] } }
roles:
  - { role: Nurse }
YAML
"$STAFFSYNCD" -c adopt.yaml --check-config > out.txt 2>&1 && { echo "FAIL adopt: exit 0"; status=1; }
expect adopt.yaml "adopt.yaml:5:10: target.adopt: username needs a target that knows user names; the sqlite target has none"
sed 's/adopt: username/adopt: phone/' adopt.yaml > adopt2.yaml
"$STAFFSYNCD" -c adopt2.yaml --check-config > out.txt 2>&1 && { echo "FAIL adopt2: exit 0"; status=1; }
expect adopt2.yaml "adopt2.yaml:5:10: target.adopt must be none, email or username"
sed 's/adopt: username/adopt: email/' adopt.yaml > adopt3.yaml
"$STAFFSYNCD" -c adopt3.yaml --check-config > out.txt 2>&1 || { echo "FAIL adopt3: refused"; cat out.txt; status=1; }

# A target built before ABI 1 revision 1 still loads and runs; it has no
# lookup_username (whatever follows its ops struct is not read), so
# adopt: username is refused for it.
if [ -f "${STAFFSYNC_TEST_PLUGIN_DIR:-}/old-target.so" ]; then
	printf 'employee_id,site,first_name,last_name\nE1,North,Ann,Lee\n' > old.csv
	cat > old.yaml <<'YAML'
state_dir: old-state
sources:
  - { name: hr, type: csv, path: old.csv, columns: { id: employee_id, facility: site,
                                                     given_name: first_name, family_name: last_name } }
target:
  type: old-target
  adopt: none
facilities:
  - { id: north, match: { facility: [North] } }
roles:
  - { role: Nurse }
YAML
	STAFFSYNC_PLUGIN_PATH="$STAFFSYNC_PLUGIN_PATH:$STAFFSYNC_TEST_PLUGIN_DIR" \
		"$STAFFSYNCD" -c old.yaml --once > out.txt 2>&1 || { echo "FAIL old target: a run failed"; cat out.txt; status=1; }
	expect old.yaml "summary: created=1 "
	sed 's/adopt: none/adopt: username/' old.yaml > old2.yaml
	STAFFSYNC_PLUGIN_PATH="$STAFFSYNC_PLUGIN_PATH:$STAFFSYNC_TEST_PLUGIN_DIR" \
		"$STAFFSYNCD" -c old2.yaml --check-config > out.txt 2>&1 && { echo "FAIL old2: exit 0"; status=1; }
	expect old2.yaml "old2.yaml:7:10: target.adopt: username needs a target that knows user names; the old-target target has none"
else
	echo "FAIL: the old-target test plugin was not built"; status=1
fi

# A missing file.
"$STAFFSYNCD" -c missing.yaml --check-config > out.txt 2>&1 && { echo "FAIL missing: exit 0"; status=1; }
expect missing.yaml "missing.yaml"

# A good file.
cat > good.yaml <<'YAML'
state_dir: state
sources:
  - { name: hr, type: csv, path: staff.csv, columns: { id: employee_id, given_name: first_name, family_name: last_name } }
facilities:
  - { id: north, match: { facility: [North] } }
roles:
  - { role: Nurse }
YAML
"$STAFFSYNCD" -c good.yaml --check-config > out.txt 2>&1 || { echo "FAIL good.yaml:"; cat out.txt; status=1; }
[ ! -e state ] || { echo "FAIL: --check-config created the state folder"; status=1; }
exit $status
