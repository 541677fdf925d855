#!/bin/sh
# Runs the real staffsyncd (and staffsyncctl) on the scenario folders of
# tests/integration/scenarios/ and compares the workspace store with what
# each step expects. SCENARIOS="name other" runs only those. KEEP_TMP=1
# keeps the work folders.
#
# A scenario folder holds config.yaml (its first comment line says what the
# scenario proves; state_dir and the CSV path are relative: the config is
# copied into a fresh folder) and numbered step folders 1/, 2/, ... A step
# folder may hold, applied in this order:
#   config.yaml  replaces the configuration from this step on
#   staff.csv    copied before the step (absent: the previous file stays)
#   touch        a `touch -d` date for staff.csv ("3 days ago"); without it,
#                a step that sets STAFFSYNC_FAKE_NOW dates the file then
#   env          VAR=value lines exported for this step only
#   before.sql   SQL run on state/workspaces.db (the platform's own changes)
#   ctl          arguments for `staffsyncctl -c config.yaml`; it must exit 0,
#                or as ctl-exit says (a number, or "nonzero")
#   args         extra arguments for `staffsyncd -c config.yaml --once`
# and then checks:
#   exit         the expected exit code of staffsyncd (default 0; "any":
#                not checked, as long as it neither timed out nor crashed)
#   users        the exact output of USERS_QUERY (lib.sh)
#   invites      the exact output of INVITES_QUERY (lib.sh)
#   check.sql    any query on the store, whose exact output is check.out
#   stdout       lines that must each appear in staffsyncd's stdout (grep -F)
#   stdout-not   lines that must not appear in it
#   nofiles      state/ must not exist or must hold no file
#   unchanged    the files in state/ must be the same and byte for byte as before the run
# Each step prints "ok NAME step N" or "FAIL NAME step N: why".

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

require_sqlite3
require_binaries
make_tmpdir

# The clock is real unless a step's env file says otherwise.
unset STAFFSYNC_FAKE_NOW

SCENARIO_DIR=$top_srcdir/tests/integration/scenarios
[ -d "$SCENARIO_DIR" ] || hard_error "no scenario folder $SCENARIO_DIR"

if command -v timeout >/dev/null 2>&1; then
	TIMEOUT="timeout ${STEP_TIMEOUT:-60}"
else
	TIMEOUT=
fi

steps_ok=0
steps_failed=0
failed_names=

# Lines of a file, without blank lines and # comments.
content_lines() {
	grep -v -e '^[[:space:]]*$' -e '^[[:space:]]*#' "$1" || true
}

# db_digest: one line per database file in state/ (cwd: the work folder),
# with its write-ahead log when that holds anything.
db_digest() {
	ls -A state 2>/dev/null   # no new file either (a -wal or -shm)
	for f in state/*.db state/*.db-wal; do
		[ -s "$f" ] && cksum "$f"
	done
	return 0
}

# run_step NAME N STEPDIR WORK: runs in a subshell (its env stays there);
# exit status 0 = every check held.
run_step() (
	name=$1 n=$2 sd=$3 work=$4
	out=$work/out.$n
	mkdir -p "$out"
	why=
	add_why() { why="${why:+$why; }$1"; }

	cd "$work" || exit 99

	# A misspelt file name would silently check nothing.
	for f in "$sd"/*; do
		case ${f##*/} in
		config.yaml|staff.csv|touch|env|before.sql|ctl|ctl-exit|args) ;;
		exit|users|invites|check.sql|check.out|stdout|stdout-not|nofiles|unchanged) ;;
		*) echo "FAIL $name step $n: unknown file ${f##*/} in the step folder"; exit 1 ;;
		esac
	done
	if [ -f "$sd/check.sql" ] && ! [ -f "$sd/check.out" ]; then
		echo "FAIL $name step $n: check.sql without check.out"
		exit 1
	fi

	[ -f "$sd/config.yaml" ] && cat "$sd/config.yaml" > config.yaml
	[ -f "$sd/staff.csv" ] && cat "$sd/staff.csv" > staff.csv

	if [ -f "$sd/env" ]; then
		while IFS= read -r line; do
			case $line in ''|'#'*) continue ;; esac
			# shellcheck disable=SC2163 # the line is NAME=value
			export "$line"
		done < "$sd/env"
	fi

	if [ -f staff.csv ]; then
		if [ -f "$sd/touch" ]; then
			touch -d "$(content_lines "$sd/touch")" staff.csv ||
				{ echo "FAIL $name step $n: bad touch date"; exit 1; }
		elif [ -n "${STAFFSYNC_FAKE_NOW:-}" ]; then
			# The export is as fresh as the fake clock says.
			touch -d "@$STAFFSYNC_FAKE_NOW" staff.csv
		fi
	fi

	if [ -f "$sd/before.sql" ]; then
		if ! [ -f state/workspaces.db ]; then
			echo "FAIL $name step $n: before.sql but state/workspaces.db does not exist"
			exit 1
		fi
		if ! sql_exec state/workspaces.db < "$sd/before.sql" >"$out/before.out" 2>&1; then
			echo "FAIL $name step $n: before.sql failed"
			sed 's/^/#   /' "$out/before.out"
			exit 1
		fi
	fi

	if [ -f "$sd/ctl" ]; then
		# shellcheck disable=SC2046 # word splitting wanted: an argument list
		set -- $(content_lines "$sd/ctl")
		$TIMEOUT "$STAFFSYNCCTL" -c "$work/config.yaml" "$@" \
			>"$out/ctl.stdout" 2>"$out/ctl.stderr"
		ctl_rc=$?
		ctl_want=0
		[ -f "$sd/ctl-exit" ] && ctl_want=$(content_lines "$sd/ctl-exit")
		case $ctl_want in
		nonzero) [ "$ctl_rc" -ne 0 ] && [ "$ctl_rc" -lt 124 ] ;;
		*) [ "$ctl_rc" = "$ctl_want" ] ;;
		esac || {
			echo "FAIL $name step $n: staffsyncctl $* exited $ctl_rc, expected $ctl_want"
			sed 's/^/#   ctl: /' "$out/ctl.stdout" "$out/ctl.stderr"
			exit 1
		}
	fi

	[ -f "$sd/unchanged" ] && db_digest > "$out/digest.before"

	args=
	[ -f "$sd/args" ] && args=$(content_lines "$sd/args")
	# shellcheck disable=SC2086 # word splitting wanted: an argument list
	$TIMEOUT "$STAFFSYNCD" -c "$work/config.yaml" --once $args \
		>"$out/stdout" 2>"$out/stderr"
	rc=$?

	expected_rc=0
	[ -f "$sd/exit" ] && expected_rc=$(content_lines "$sd/exit")
	case $expected_rc in
	any) [ "$rc" -lt 124 ] ;;     # not checked, but no timeout or signal
	*) [ "$rc" = "$expected_rc" ] ;;
	esac || add_why "exit code $rc, expected $expected_rc"

	report=$out/report
	: > "$report"

	if [ -f "$sd/users" ]; then
		sql state/workspaces.db "$USERS_QUERY" > "$out/users" 2>&1
		if ! same_file "$sd/users" "$out/users"; then
			add_why "workspace_users differ"
			fail_diff workspace_users "$sd/users" "$out/users" >> "$report"
		fi
	fi

	if [ -f "$sd/invites" ]; then
		sql state/workspaces.db "$INVITES_QUERY" > "$out/invites" 2>&1
		if ! same_file "$sd/invites" "$out/invites"; then
			add_why "workspace_invites differ"
			fail_diff workspace_invites "$sd/invites" "$out/invites" >> "$report"
		fi
	fi

	if [ -f "$sd/check.sql" ]; then
		sql state/workspaces.db "$(cat "$sd/check.sql")" > "$out/check" 2>&1
		if ! same_file "$sd/check.out" "$out/check"; then
			add_why "check.sql output differs"
			fail_diff "check.sql output" "$sd/check.out" "$out/check" >> "$report"
		fi
	fi

	if [ -f "$sd/stdout" ]; then
		content_lines "$sd/stdout" > "$out/want"
		while IFS= read -r line; do
			if ! grep -q -F -e "$line" "$out/stdout"; then
				add_why "stdout lacks a line"
				echo "# stdout lacks: $line" >> "$report"
			fi
		done < "$out/want"
	fi

	if [ -f "$sd/stdout-not" ]; then
		content_lines "$sd/stdout-not" > "$out/unwanted"
		while IFS= read -r line; do
			if grep -q -F -e "$line" "$out/stdout"; then
				add_why "stdout has an unwanted line"
				echo "# stdout has: $line" >> "$report"
			fi
		done < "$out/unwanted"
	fi

	if [ -f "$sd/nofiles" ] && dir_has_files state; then
		add_why "state/ holds files"
		find state -type f | sed 's/^/#   written: /' >> "$report"
	fi

	if [ -f "$sd/unchanged" ]; then
		db_digest > "$out/digest.after"
		if ! same_file "$out/digest.before" "$out/digest.after"; then
			add_why "state/ databases changed"
			fail_diff "state/*.db digests" "$out/digest.before" "$out/digest.after" >> "$report"
		fi
	fi

	if [ -z "$why" ]; then
		echo "ok $name step $n"
		exit 0
	fi
	echo "FAIL $name step $n: $why"
	cat "$report"
	echo "#   staffsyncd $args (exit $rc) stdout:"
	tail -n 30 "$out/stdout" | sed 's/^/#     /'
	echo "#   stderr:"
	tail -n 30 "$out/stderr" | sed 's/^/#     /'
	exit 1
)

# run_scenario NAME: every numbered step in order; later steps still run
# after a failure (they may show more), on the state the failure left.
run_scenario() {
	name=$1
	dir=$SCENARIO_DIR/$name
	if ! [ -f "$dir/config.yaml" ]; then
		echo "FAIL $name step 0: no config.yaml"
		steps_failed=$((steps_failed + 1))
		failed_names="$failed_names $name"
		return
	fi
	work=$TMPDIR_TEST/$name
	mkdir -p "$work"
	cat "$dir/config.yaml" > "$work/config.yaml"
	steps=$(for d in "$dir"/*/; do
		d=${d%/}; d=${d##*/}
		case $d in *[!0-9]*|'') ;; *) echo "$d" ;; esac
	done | sort -n)
	if [ -z "$steps" ]; then
		echo "FAIL $name step 0: no step folder"
		steps_failed=$((steps_failed + 1))
		failed_names="$failed_names $name"
		return
	fi
	scenario_failed=0
	for n in $steps; do
		if run_step "$name" "$n" "$dir/$n" "$work"; then
			steps_ok=$((steps_ok + 1))
		else
			steps_failed=$((steps_failed + 1))
			scenario_failed=1
		fi
	done
	[ "$scenario_failed" = 0 ] || failed_names="$failed_names $name"
}

if [ -n "${SCENARIOS:-}" ]; then
	names=$SCENARIOS
else
	names=$(ls "$SCENARIO_DIR")
fi

for name in $names; do
	if [ -d "$SCENARIO_DIR/$name" ]; then
		run_scenario "$name"
	else
		echo "FAIL $name step 0: no such scenario"
		steps_failed=$((steps_failed + 1))
		failed_names="$failed_names $name"
	fi
done

echo "# steps: $steps_ok ok, $steps_failed failed"
if [ "$steps_failed" -ne 0 ]; then
	echo "# failed scenarios:$failed_names"
	exit 1
fi
exit 0
