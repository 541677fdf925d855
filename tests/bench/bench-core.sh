#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Core benchmark: one CSV source into the embedded store (sqlite target), at
# 100k and 1M people. For each size: a first run (empty state), a no-op second
# run, and a run with 1% of the people changed. Prints wall time, CPU time
# (user + sys) and peak RSS of each run, and the two goal checks:
#   1M no-op peak RSS <= 300 MB
#   1M no-op time <= 11 x 100k no-op time
# It reports figures, it never fails on them: the exit status is 0 unless a
# run itself fails (or the build is missing).
#
# Usage: tests/bench/bench-core.sh [BUILDDIR]      (default: $top_builddir)
# Builds nothing: run `make` in BUILDDIR first.
#
# Environment:
#   BENCH_SIZES="100000 1000000"   people per size, run in this order
#   BENCH_CHANGE_PERCENT=1         share of people changed in the third run
#   BENCH_SEED=1                   population seed (gen-staff-csv.py --seed)
#   BENCH_TMPDIR=$TMPDIR           where the temporary folder goes (~0.5 GB at 1M)
#   BENCH_KEEP=1                   keep the temporary folder (CSVs, configs, state, logs)
#   BENCH_TIMER=python             measure with the python3 fallback even if GNU time is there

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

die() { echo "bench-core: $*" >&2; exit 1; }

builddir=${1:-${top_builddir:-}}
[ -n "$builddir" ] || die "usage: $0 BUILDDIR (or set top_builddir)"
builddir=$(cd "$builddir" && pwd) || die "no build folder $1"
staffsyncd=$builddir/staffsyncd
[ -x "$staffsyncd" ] || die "$staffsyncd missing: build it first (make -C $builddir)"
for p in csv sqlite; do
	[ -e "$builddir/plugins/$p/.libs/$p.so" ] || die "$builddir/plugins/$p/.libs/$p.so missing: build it first"
done
export STAFFSYNC_PLUGIN_PATH="$builddir/plugins/csv/.libs:$builddir/plugins/sqlite/.libs:$builddir/plugins/smtp/.libs"

sizes=${BENCH_SIZES:-"100000 1000000"}
change_percent=${BENCH_CHANGE_PERCENT:-1}
seed=${BENCH_SEED:-1}
python=${PYTHON:-python3}

# ------------------------------------------------------------ measuring ---
# GNU time reports what wait4() returns for the process: wall %e and CPU
# %U/%S in 0.01 s, peak RSS %M in KiB. Without it (and no way to install it),
# a python3 wrapper reads the same wait4() figures (wall then in 1 ms).
gnu_time() { /usr/bin/time --version 2>&1 | grep -q 'GNU'; }
if ! gnu_time && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "bench-core: installing GNU time (Debian package time)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null 2>&1 || true
fi
if gnu_time && [ "${BENCH_TIMER:-gnu-time}" != python ]; then
	measure_with=gnu-time
	resolution="wall 0.01 s, user/sys 0.01 s (GNU time %e %U %S), peak RSS 1 KiB (%M, the kernel's maxrss)"
else
	measure_with=python
	resolution="wall 0.001 s, user/sys 0.001 s (wait4 rusage), peak RSS 1 KiB (ru_maxrss)"
fi

# measure OUTFILE CMD...: runs CMD, writes "wall user sys maxrss_kib" to OUTFILE,
# returns CMD's exit status.
measure() {
	local out=$1; shift
	if [ "$measure_with" = gnu-time ]; then
		local rc=0
		/usr/bin/time -f '%e %U %S %M' -o "$out.raw" "$@" || rc=$?
		tail -n 1 "$out.raw" >"$out"    # "Command exited with non-zero status" comes first
		return $rc
	fi
	"$python" - "$out" "$@" <<-'EOF'
		import resource, subprocess, sys, time
		start = time.monotonic()
		rc = subprocess.call(sys.argv[2:])
		wall = time.monotonic() - start
		ru = resource.getrusage(resource.RUSAGE_CHILDREN)
		with open(sys.argv[1], "w") as f:
		    f.write(f"{wall:.3f} {ru.ru_utime:.3f} {ru.ru_stime:.3f} {ru.ru_maxrss}\n")
		sys.exit(rc if rc >= 0 else 128 - rc)
	EOF
}

# ----------------------------------------------------------------- setup ---
tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/staffsync-bench.XXXXXX")
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench-core: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

label() {   # 100000 -> 100k, 1000000 -> 1M
	local n=$1
	if [ $((n % 1000000)) = 0 ]; then echo "$((n / 1000000))M"
	elif [ $((n % 1000)) = 0 ]; then echo "$((n / 1000))k"
	else echo "$n"; fi
}

write_config() {   # DIR: the config of one size, paths relative to it
	cat >"$1/staffsync.yaml" <<-'EOF'
		# Written by tests/bench/bench-core.sh
		state_dir: ./state
		sources:
		  - name: hr
		    type: csv
		    path: ./staff.csv            # a symlink: base.csv, then changed.csv
		    columns: { id: employee_id, given_name: first_name, family_name: last_name,
		               email: email, groups: groups, facility: site,
		               speciality: speciality, enabled: status }
		    max_age: never               # the files are fresh, but the figures must not depend on it
		target:
		  type: sqlite
		facilities_per_person: one
		facilities:
		  - { id: north, name: North Surgical Center, platform: surgical, match: { facility: [North, N] } }
		  - { id: south, name: South Clinic, platform: clinic, match: { facility: [South] } }
		  - { id: east, name: East Clinic, platform: clinic, match: { facility: [East] } }
		roles:
		  - { role: Surgeon, groups: [surgeons] }
		  - { role: Anesthesiologist, groups: [anesthesiologists] }
		  - { role: Nurse, groups: [nurses] }
		  - { role: Tech, groups: [surgical-techs] }
		  - { role: Doctor, groups: [physicians], requires: [speciality] }
		  - { role: Personnel, label: Lab, groups: [lab] }
		  - { role: Personnel, label: Chemist, groups: [pharmacy] }
		  - { role: Admin, groups: [admins] }
		permissions:
		  default: Staff
		  levels:
		    Coordinator: [coordinators]
		    Facility Admin: [facility-admins]
		  allow_global_admin: false
		accounts:
		  invite_on_create: true
		leavers:
		  grace_runs: 2
		  max_deactivations: 50%         # the change run must not be stopped by the gate
		  max_shrink: 10%
	EOF
}

# ------------------------------------------------------------------ runs ---
declare -A wall cpu rss summary
rows=()

run_once() {   # SIZE RUN DIR
	local size=$1 run=$2 dir=$3 key="$1/$2" rc=0
	measure "$dir/$run.time" "$staffsyncd" -c "$dir/staffsync.yaml" --once \
		>"$dir/$run.out" 2>"$dir/$run.err" || rc=$?
	if [ $rc != 0 ]; then
		echo "bench-core: $(label "$size") $run run failed with exit status $rc; its last words:" >&2
		tail -n 20 "$dir/$run.err" "$dir/$run.out" >&2 || true
		exit 1
	fi
	local w u s m
	read -r w u s m <"$dir/$run.time"
	wall[$key]=$w
	cpu[$key]=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.*f", length(u) - index(u, "."), u + s }')
	rss[$key]=$m
	summary[$key]=$(grep '^summary:' "$dir/$run.out" | tail -n 1 || true)
	rows+=("$key")
	printf '  %-6s %-10s wall %8s s  cpu %8s s  peak RSS %8.1f MiB  %s\n' \
		"$(label "$size")" "$run" "$w" "${cpu[$key]}" "$(awk -v k="$m" 'BEGIN { print k / 1024 }')" \
		"${summary[$key]:-(no summary line)}"
}

echo "staffsync core benchmark"
echo "  build:    $builddir"
echo "  machine:  $(nproc) CPU, $(awk '/^model name/ { sub(/^[^:]*: /, ""); print; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "  measured: $measure_with; resolution: $resolution"
echo "  temp:     $tmp"
echo

for size in $sizes; do
	dir=$tmp/$(label "$size")
	mkdir -p "$dir"
	start=$(date +%s.%N)
	"$python" "$here/gen-staff-csv.py" "$size" --seed "$seed" >"$dir/base.csv"
	"$python" "$here/gen-staff-csv.py" "$size" --seed "$seed" \
		--change-percent "$change_percent" -v >"$dir/changed.csv" 2>"$dir/gen.log"
	echo "$(label "$size"): generated in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s; $(sed 's/^gen-staff-csv: //' "$dir/gen.log")"
	write_config "$dir"
	"$staffsyncd" -c "$dir/staffsync.yaml" --check-config >"$dir/check.out" 2>&1 ||
		{ cat "$dir/check.out" >&2; die "the generated configuration was refused"; }

	ln -sfn base.csv "$dir/staff.csv"
	run_once "$size" first "$dir"
	run_once "$size" no-op "$dir"
	ln -sfn changed.csv "$dir/staff.csv"
	run_once "$size" "${change_percent}%-change" "$dir"
	echo "  state on disk: $(du -sh "$dir/state" | cut -f1)"
	echo
done

# ----------------------------------------------------------------- table ---
echo "Results ($measure_with; $resolution)"
printf '%-6s %-10s %9s %9s %13s\n' size run wall_s cpu_s peak_rss_MiB
for key in "${rows[@]}"; do
	printf '%-6s %-10s %9s %9s %13.1f\n' "$(label "${key%%/*}")" "${key#*/}" \
		"${wall[$key]}" "${cpu[$key]}" "$(awk -v k="${rss[$key]}" 'BEGIN { print k / 1024 }')"
done
echo

# ----------------------------------------------------------- goal checks ---
echo "Goal checks (reported, never enforced)"
big=1000000 small=100000
if [ -n "${rss[$big/no-op]:-}" ]; then
	awk -v k="${rss[$big/no-op]}" 'BEGIN {
		mb = k * 1024 / 1e6
		printf "  1M no-op peak RSS <= 300 MB: %.1f MB (%.1f MiB): %s\n", mb, k / 1024,
			mb <= 300 ? "met" : "NOT met" }'
else
	echo "  1M no-op peak RSS <= 300 MB: not measured (BENCH_SIZES has no $big)"
fi
if [ -n "${wall[$big/no-op]:-}" ] && [ -n "${wall[$small/no-op]:-}" ]; then
	awk -v b="${wall[$big/no-op]}" -v s="${wall[$small/no-op]}" \
	    -v bc="${cpu[$big/no-op]}" -v sc="${cpu[$small/no-op]}" 'BEGIN {
		if (s > 0) {
			printf "  1M no-op time <= 11 x 100k no-op time: %.2f s / %.2f s = %.2f x: %s\n",
				b, s, b / s, b <= 11 * s ? "met" : "NOT met"
		} else {
			printf "  1M no-op time <= 11 x 100k no-op time: 100k no-op took 0.00 s, below the resolution\n"
		}
		if (sc > 0)
			printf "    (cpu time: %.2f s / %.2f s = %.2f x)\n", bc, sc, bc / sc }'
else
	echo "  1M no-op time <= 11 x 100k no-op time: not measured (BENCH_SIZES needs $small and $big)"
fi
exit 0
