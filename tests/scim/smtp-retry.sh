#!/bin/sh
# A mail the SMTP server refuses is not retried without limit: npm
# smtp-server answers RCPT TO of one address with 550 and of another with
# 451, and accepts a third. With accounts.smtp.max_attempts: 3 and
# retry_delay: 10m (time moved with STAFFSYNC_FAKE_NOW, never waited for):
# each refused mail is tried again only once its back-off (10m, then 20m)
# is over, never before; after the third refusal it is 'failed' in the
# outbox with the server's answer, an error names it, the run's summary
# counts it and staffsyncctl status lists it; later runs never try it again. The accepted
# mail leaves once. A refused mail is also no reason to stop the others.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
require_sqlite3
scim_tmpdir

mkdir "$T/mail"
: >"$T/rcpt.log"
node "$SCIM_DIR/smtp-sink.js" --port-file "$T/smtp.port" --dir "$T/mail" \
	--refuse "ada@example.org=550,ben@example.org=451" --rcpt-log "$T/rcpt.log" \
	>"$T/sink.log" 2>&1 &
PIDS="$PIDS $!"
wait_file "$T/smtp.port" "$!" || { cat "$T/sink.log"; hard_error "the SMTP sink did not start"; }
PORT=$(cat "$T/smtp.port")

cat >"$T/config.yaml" <<YAML
state_dir: state
sources:
  - name: hr
    type: csv
    path: staff.csv
    max_age: never
    columns: { id: id, given_name: given, family_name: family, email: email,
               groups: groups, facility: site, speciality: speciality }
target:
  type: sqlite
facilities:
  - { id: north, name: North Clinic, platform: clinic, match: { facility: [North] } }
roles:
  - { role: Personnel, label: Lab, groups: [lab] }
accounts:
  invite_delivery: smtp
  resend_after: 7d
  smtp:
    url: smtp://127.0.0.1:$PORT
    starttls: false
    from: "Staff accounts <accounts@example.org>"
    max_attempts: 3
    retry_delay: 10m
YAML
cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,lab,North,
E2,Ben,Carter,ben@example.org,lab,North,
E3,Cleo,Diaz,cleo@example.org,lab,North,
CSV
outbox() { sql "$T/state/state.db" "SELECT person, state, attempts FROM outbox ORDER BY person"; }
run() {   # run N FAKE_NOW
	STAFFSYNC_FAKE_NOW=$2 "$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.$1" 2>"$T/err.$1"
	echo $? >"$T/rc.$1"
}
NOW=1800000000

# Run 1: Ada refused for good (550), Ben for now (451), Cleo's mail leaves.
run 1 $NOW
expect_same "run 1 exit code" 0 "$(cat "$T/rc.1")"
expect_same "RCPT after run 1" "$(printf '%s\n' 'ada@example.org 550' 'ben@example.org 451' 'cleo@example.org 250')" \
	"$(cat "$T/rcpt.log")"
expect_same "mails after run 1" 1 "$(ls "$T/mail" | wc -l)"
expect_same "outbox after run 1" "$(printf '%s\n' 'E1|queued|1' 'E2|queued|1' 'E3|sent|1')" "$(outbox)"
expect_same "retry times after run 1" "$((NOW + 600))|$((NOW + 600))" \
	"$(sql "$T/state/state.db" "SELECT group_concat(next_at, '|') FROM outbox WHERE state = 'queued'")"
grep -q "invite e-mail to ada@example.org (E1 in north) not sent (attempt 1 of 3): .*550" "$T/err.1" ||
	{ echo "# Ada's refusal is not reported:"; sed 's/^/#   /' "$T/err.1"; FAILED=$((FAILED + 1)); }

# Run 2, 5 minutes later: the back-off is not over, nobody is tried.
run 2 $((NOW + 300))
expect_same "RCPT after run 2" 3 "$(grep -c . "$T/rcpt.log")"
expect_same "outbox after run 2" "$(printf '%s\n' 'E1|queued|1' 'E2|queued|1' 'E3|sent|1')" "$(outbox)"
grep -q "invite e-mail: 0 sent, 0 to be tried again, 2 waiting for a later retry" "$T/err.2" ||
	{ sed 's/^/#   /' "$T/err.2"; FAILED=$((FAILED + 1)); }

# Run 3, after 10 minutes: the second attempt; the next waits 20 minutes.
T3=$((NOW + 601))
run 3 $T3
expect_same "RCPT after run 3" 5 "$(grep -c . "$T/rcpt.log")"
expect_same "outbox after run 3" "$(printf '%s\n' 'E1|queued|2' 'E2|queued|2' 'E3|sent|1')" "$(outbox)"
expect_same "retry times after run 3" "$((T3 + 1200))|$((T3 + 1200))" \
	"$(sql "$T/state/state.db" "SELECT group_concat(next_at, '|') FROM outbox WHERE state = 'queued'")"
run 4 $((T3 + 1199))
expect_same "RCPT after run 4 (back-off not over)" 5 "$(grep -c . "$T/rcpt.log")"

# Run 5: the third and last attempt; both fail for good.
run 5 $((T3 + 1200))
expect_same "RCPT after run 5" 7 "$(grep -c . "$T/rcpt.log")"
expect_same "outbox after run 5" "$(printf '%s\n' 'E1|failed|3' 'E2|failed|3' 'E3|sent|1')" "$(outbox)"
expect_same "the server's answers kept for the operator" \
	"$(printf '%s\n' 'E1|failed|1' 'E2|failed|1')" \
	"$(sql "$T/state/state.db" "SELECT person, state, (error LIKE '%550%') + (error LIKE '%451%')
		FROM outbox WHERE state = 'failed' ORDER BY person")"
for who in "ada@example.org (E1 in north)" "ben@example.org (E2 in north)"; do
	grep -q "error: invite e-mail to $who failed after 3 attempts: .*; it is not tried again" "$T/err.5" ||
		{ echo "# no error for $who:"; sed 's/^/#   /' "$T/err.5"; FAILED=$((FAILED + 1)); }
done
grep -q "invite e-mail: 0 sent, 2 failed for good, 0 to be tried again, 0 waiting for a later retry" \
	"$T/err.5" || { echo "# the delivery summary does not count the failures"; FAILED=$((FAILED + 1)); }
grep -q "^warning: run [0-9]* finished (ok): .*; 2 invite e-mails failed for good$" "$T/err.5" ||
	{ echo "# the run summary does not report the failures"; FAILED=$((FAILED + 1)); }
# What an operator sees.
"$STAFFSYNCCTL" -c "$T/config.yaml" status >"$T/status" 2>&1
expect_same "failed mails in staffsyncctl status" "$(printf '%s\n' \
	'invite e-mails that failed for good (accounts.smtp.max_attempts):' \
	'  invite e-mail to ada@example.org (E1 in north), 3 attempts: RCPT failed: 550' \
	'  invite e-mail to ben@example.org (E2 in north), 3 attempts: RCPT failed: 451')" \
	"$(sed -n '/^invite e-mails that failed/,$p' "$T/status")"

# A day later: nothing is tried again, nothing more is sent.
run 6 $((NOW + 86400))
expect_same "RCPT after run 6" 7 "$(grep -c . "$T/rcpt.log")"
expect_same "outbox at the end" "$(printf '%s\n' 'E1|failed|3' 'E2|failed|3' 'E3|sent|1')" "$(outbox)"
expect_same "mails at the end" 1 "$(ls "$T/mail" | wc -l)"

expect_same "exit codes of runs 1-6" "0 0 0 0 0 0" "$(cat "$T"/rc.[1-6] | tr '\n' ' ' | sed 's/ $//')"

# max_attempts: 0 and retry_delay: never are refused by --check-config.
sed -i -e 's/max_attempts: 3/max_attempts: 0/' -e 's/retry_delay: 10m/retry_delay: never/' "$T/config.yaml"
"$STAFFSYNCD" -c "$T/config.yaml" --check-config >"$T/check.out" 2>&1
expect_same "check-config exit code" 1 "$([ $? -ne 0 ] && echo 1 || echo 0)"
expect_same "check-config errors" 2 \
	"$(grep -c 'accounts.smtp.max_attempts must be at least 1\|accounts.smtp.retry_delay must be a duration' "$T/check.out")"

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
