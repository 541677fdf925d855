#!/bin/sh
# HTTP/2 where the server offers it: the scimmy server behind nghttpx (Debian
# nghttp2-proxy), a reverse proxy whose frontend speaks TLS (test CA) with
# ALPN h2 and whose backend is the node server over HTTP/1.1. The lifecycle
# (create, update, deactivate) works through it, and the proxy's access log
# proves what went over the wire: every request of staffsyncd arrived as
# HTTP/2 (ALPN h2), and with concurrency: 8 each run used one connection
# carrying all its requests as streams. A control run with the same proxy
# offering only http/1.1 shows that the same workload then needs several
# connections (so "one connection" above is multiplexing, not idleness).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (the test makes its own CA)"
NGHTTPX=$(command -v nghttpx 2>/dev/null || { [ -x /usr/sbin/nghttpx ] && echo /usr/sbin/nghttpx; })
[ -n "$NGHTTPX" ] || skip "nghttpx is not installed (apt-get install nghttp2-proxy)"
scim_tmpdir

make_test_cas

printf 'test-token-%s\n' "$$" >"$T/token"
start_server scim --token-file "$T/token"
BACKEND=http://127.0.0.1:$SCIM_PORT/scim/v2

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start_proxy_h NAME ALPN_LIST: nghttpx in front of the node server; sets
# H_PORT. Its access log $T/NAME.access has one line per request:
# "ALPN PROTOCOL CLIENT_PORT METHOD PATH STATUS".
start_proxy_h() {
	H_PORT=$(free_port)
	: >"$T/$1.access"
	# shellcheck disable=SC2016 # $alpn etc. are nghttpx's variables
	"$NGHTTPX" --conf=/dev/null --workers=1 --no-ocsp --npn-list="$2" \
		--frontend="127.0.0.1,$H_PORT" --backend="127.0.0.1,$SCIM_PORT" \
		--accesslog-file="$T/$1.access" \
		--accesslog-format='$alpn $protocol_version $remote_port $method $path $status' \
		--errorlog-file="$T/$1.err" "$T/server.key" "$T/server.pem" >"$T/$1.log" 2>&1 &
	H_PID=$!
	PIDS="$PIDS $H_PID"
	# Ready when the TLS frontend answers (a probe that the logs tell apart).
	n=0
	until curl -s --cacert "$T/test-ca.pem" -o /dev/null "https://127.0.0.1:$H_PORT/ready-probe" 2>/dev/null; do
		kill -0 "$H_PID" 2>/dev/null || { cat "$T/$1.log" "$T/$1.err"; hard_error "nghttpx $1 did not start"; }
		n=$((n + 1))
		[ $n -gt 3000 ] && hard_error "nghttpx $1 did not answer"
		sleep 0.01
	done
}
config() {   # config FILE PORT
	simple_config "$1" "https://127.0.0.1:$2/scim/v2" "ca_file: test-ca.pem" "concurrency: 8" \
		"bulk: off"
	cat >>"$1" <<YAML
leavers: { grace_runs: 1, max_deactivations: 100, max_shrink: 50% }
YAML
}
# staffsyncd's requests in an access log (not the readiness probes).
requests() { grep -v ' /ready-probe ' "$1"; }
run() {   # run N CONFIG
	"$STAFFSYNCD" -c "$2" --once >"$T/out.$1" 2>"$T/err.$1"
	echo $? >"$T/rc.$1"
}

start_proxy_h h2 h2,http/1.1
config "$T/config.yaml" "$H_PORT"

# Run 1: 20 people created (with invites: the platform sends them).
staff_csv 20 >"$T/staff.csv"
run 1 "$T/config.yaml"
expect_same "run 1 exit code" 0 "$(cat "$T/rc.1")"
expect_same "run 1 summary" \
	"summary: created=20 invited=20 resent=0 updated=0 moved=0 deactivated=0 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary' "$T/out.1")"
expect_same "users after run 1" 20 "$(scim_users "$BACKEND" "$T/token" | grep -c '|true|')"
requests "$T/h2.access" >"$T/run1.access"

# Run 2: one name changes, one person leaves.
staff_csv 20 | sed -e 's/^E0003,Given3,/E0003,Renamed,/' -e '/^E0020,/d' >"$T/staff.csv"
run 2 "$T/config.yaml"
expect_same "run 2 exit code" 0 "$(cat "$T/rc.2")"
expect_same "run 2 summary" \
	"summary: created=0 invited=0 resent=0 updated=1 moved=0 deactivated=1 reactivated=0 adopted=0 held=0" \
	"$(grep '^summary' "$T/out.2")"
expect_same "E0003 renamed" "Renamed" \
	"$(scim_users "$BACKEND" "$T/token" | grep '^E0003|' | cut -d'|' -f3)"
expect_same "E0020 deactivated" "false|deactivated" \
	"$(scim_users "$BACKEND" "$T/token" | grep '^E0020|' | cut -d'|' -f6,12)"
requests "$T/h2.access" >"$T/all.access"

# What went over the wire: every request HTTP/2 over ALPN h2.
expect_same "requests not over h2" "" "$(awk '$1 != "h2" || $2 != "HTTP/2"' "$T/all.access")"
expect_same "requests answered with 5xx" "" "$(awk '$6 >= 500' "$T/all.access")"
nreq=$(grep -c . "$T/run1.access")
[ "$nreq" -ge 20 ] || { echo "# only $nreq requests in run 1"; FAILED=$((FAILED + 1)); }
# One connection per run (each run is one process), carrying every request
# of that run as a stream: run 1's requests share one client port.
expect_same "connections of run 1" 1 "$(awk '{print $3}' "$T/run1.access" | sort -u | wc -l)"
expect_same "connections of runs 1 and 2" 2 "$(awk '{print $3}' "$T/all.access" | sort -u | wc -l)"

# The control: the same proxy offering only http/1.1, the same first run
# against a fresh server state. Without HTTP/2 the 8 concurrent requests
# need connections of their own.
stop_pid "$SCIM_PID"
start_server scim2 --token-file "$T/token"
stop_pid "$H_PID"
start_proxy_h h1 http/1.1
config "$T/config-h1.yaml" "$H_PORT"
sed -i 's|^state_dir: state|state_dir: state-h1|' "$T/config-h1.yaml"
staff_csv 20 >"$T/staff.csv"
run 3 "$T/config-h1.yaml"
expect_same "run over http/1.1 exit code" 0 "$(cat "$T/rc.3")"
requests "$T/h1.access" >"$T/run3.access"
expect_same "requests over http/1.1" "$(grep -c . "$T/run3.access")" \
	"$(awk '$1 == "http/1.1"' "$T/run3.access" | grep -c .)"
conns=$(awk '{print $3}' "$T/run3.access" | sort -u | wc -l)
[ "$conns" -gt 1 ] || { echo "# over http/1.1 the run used $conns connection(s): the h2 check proves nothing"
	FAILED=$((FAILED + 1)); }
echo "# over http/1.1: $conns connections for $(grep -c . "$T/run3.access") requests; over h2: 1 for $nreq"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
