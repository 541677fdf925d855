#!/bin/sh
# SCIM target benchmarks (issue 4), against the scimmy test server:
#
#  1. Initial provisioning of N users (default 10,000): staffsyncd --once
#     (listing, planning, the POSTs, state.db) side by side with
#     `curl --parallel` sending the same POST bodies at the same concurrency
#     to a fresh server. Goal: staffsyncd at most 1.25x curl's time.
#     Then the same through SCIM Bulk (bulk: auto, a server offering it).
#  2. rate_limit: 25 over a run of R requests (default 300), the request
#     times taken at a pass-through proxy. Goal: within 5% of 25/s.
#
#   tests/bench/bench-scim.sh BUILDDIR      (or top_builddir=BUILDDIR ...)
#   BENCH_USERS=2000 BENCH_RATE_REQUESTS=100 tests/bench/bench-scim.sh BUILDDIR
#
# Figures: wall times from date +%s.%N (nanosecond clock; the runs take
# seconds, so the resolution is far below the noise); request times from the
# proxy in milliseconds. It needs node (tests/scim/node_modules installed by
# the tests' harness when missing), curl and python3.
top_builddir=${1:-${top_builddir:-.}}
top_builddir=$(cd "$top_builddir" && pwd)
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export top_builddir top_srcdir
. "$top_srcdir/tests/scim/lib.sh"
require_scim
scim_tmpdir
N=${BENCH_USERS:-10000}
R=${BENCH_RATE_REQUESTS:-300}
C=${BENCH_CONCURRENCY:-8}
now() { date +%s.%N; }

printf 'bench-token\n' >"$T/token"
staff_csv "$N" >"$T/staff.csv"
write_config() {   # write_config FILE URL [target lines]
	simple_config "$@"
	cat >>"$1" <<YAML
accounts: { invite_on_create: false, invite_delay: never }
YAML
	sed -i -e 's|    path: staff.csv|    path: staff.csv\n    max_age: never|' \
		-e "s|^state_dir: state|state_dir: state-$(basename "$1" .yaml)|" "$1"
}

# --- 1. provisioning ------------------------------------------------------
start_server a --token-file "$T/token"
write_config "$T/a.yaml" "http://127.0.0.1:$SCIM_PORT/scim/v2" "concurrency: $C"
t0=$(now)
"$STAFFSYNCD" -c "$T/a.yaml" --once >"$T/a.out" 2>"$T/a.err" || { cat "$T/a.err"; exit 1; }
t1=$(now)
grep '^summary' "$T/a.out"
created=$(grep -c '^POST .* 201$' "$T/a.requests")

# The same bodies (as the plugin writes them) through curl --parallel.
mkdir "$T/bodies"
python3 - "$T/bodies" "$N" "$T/curl.cfg" "$T/token" <<'PY'
import json, sys
d, n, cfg, tok = sys.argv[1], int(sys.argv[2]), sys.argv[3], open(sys.argv[4]).read().strip()
X = "urn:ietf:params:scim:schemas:extension:staffsync:2.0:User"
with open(cfg, "w") as c:
    for i in range(1, n + 1):
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", X],
                "userName": f"p{i}@example.org", "externalId": f"E{i:04d}",
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
                "displayName": f"Given{i} Family{i}",
                "emails": [{"value": f"p{i}@example.org", "type": "work", "primary": True}],
                "active": True,
                X: {"role": "Personnel", "label": "Lab", "permissionLevel": "Staff",
                    "facility": "north", "accountStatus": "no_account"}}
        with open(f"{d}/{i}.json", "w") as f:
            json.dump(body, f, separators=(",", ":"))
        c.write(f'next\nurl = "URL"\nheader = "Content-Type: application/scim+json"\n'
                f'header = "Authorization: Bearer {tok}"\ndata-binary = "@{d}/{i}.json"\n'
                f'output = "/dev/null"\n')
PY
start_server b --token-file "$T/token"
sed -i "s|URL|http://127.0.0.1:$SCIM_PORT/scim/v2/Users|" "$T/curl.cfg"
t2=$(now)
curl -s --no-progress-meter --parallel --parallel-max "$C" -K "$T/curl.cfg" || echo "curl reported errors"
t3=$(now)
curl_created=$(grep -c '^POST .* 201$' "$T/b.requests")

# The same provisioning through SCIM Bulk (a server that offers it).
start_server d --token-file "$T/token" --bulk
write_config "$T/d.yaml" "http://127.0.0.1:$SCIM_PORT/scim/v2" "concurrency: $C" "bulk: auto"
t4=$(now)
"$STAFFSYNCD" -c "$T/d.yaml" --once >"$T/d.out" 2>"$T/d.err" || { cat "$T/d.err"; exit 1; }
t5=$(now)
bulk_requests=$(grep -c '^POST /scim/v2/Bulk 200' "$T/d.requests")

# --- 2. rate limit ----------------------------------------------------------
start_server c --token-file "$T/token"
start_proxy rate "$SCIM_PORT"
staff_csv "$R" >"$T/staff.csv"
write_config "$T/c.yaml" "http://127.0.0.1:$PROXY_PORT/scim/v2" "concurrency: $C" "rate_limit: 25"
"$STAFFSYNCD" -c "$T/c.yaml" --once >"$T/c.out" 2>"$T/c.err" || { cat "$T/c.err"; exit 1; }

python3 - "$t0" "$t1" "$t2" "$t3" "$N" "$created" "$curl_created" "$C" "$T/rate.faults" "$t4" "$t5" "$bulk_requests" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
t4, t5, bulks = float(sys.argv[10]), float(sys.argv[11]), int(sys.argv[12])
n, created, curl_created, c = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
sd, cu = t1 - t0, t3 - t2
print(f"\n1. initial provisioning of {n} users, concurrency {c}")
print(f"   staffsyncd --once : {sd:8.2f} s  ({created} users created, {created / sd:7.1f}/s)")
print(f"   curl --parallel   : {cu:8.2f} s  ({curl_created} users created, {curl_created / cu:7.1f}/s)")
ratio = sd / cu
print(f"   ratio             : {ratio:8.2f}x   goal <= 1.25x: {'met' if ratio <= 1.25 else 'NOT met'}")
print(f"   with SCIM Bulk    : {t5 - t4:8.2f} s  ({bulks} Bulk requests; {(t5 - t4) / cu:.2f}x curl's time)")
times = [int(l.split()[0]) for l in open(sys.argv[9]) if l.split()[1] == "POST"]
rate = (len(times) - 1) / ((times[-1] - times[0]) / 1000)
print(f"\n2. rate_limit: 25 over {len(times)} POSTs (times at the proxy, 1 ms resolution)")
print(f"   measured          : {rate:8.2f} requests/s ({abs(rate - 25) / 25 * 100:.1f}% off)"
      f"   goal within 5%: {'met' if abs(rate - 25) <= 1.25 else 'NOT met'}")
PY
