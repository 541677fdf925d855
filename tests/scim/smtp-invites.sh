#!/bin/sh
# Invite e-mail sent by staffsync itself (accounts.invite_delivery: smtp)
# to a real SMTP sink (Debian python3-aiosmtpd, a Maildir), with the
# embedded store as the target: exactly one e-mail per invite and per
# resend, the person's name and the facility's sign-in URL in it; nothing
# more on a run with nothing to do; a mail caught mid-send by a crash
# ('sending' in the outbox) is reported and never sent again; a mail that
# could not be sent (server down) stays queued and leaves on the next run.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_binaries
require_sqlite3
PY=/usr/bin/python3
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
scim_tmpdir

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {   # wait_port PORT PID
	$PY - "$1" <<'PY' || return 1
import socket, sys, time
for _ in range(3000):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.01)
sys.exit(1)
PY
}
start_sink() {
	SMTP_PORT=$(free_port)
	$PY -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$T/mail" \
		>"$T/smtp.log" 2>&1 &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	wait_port "$SMTP_PORT" || { cat "$T/smtp.log"; hard_error "the SMTP sink did not start"; }
}
# mails: "To address|Subject" of every mail received, sorted.
mails() {
	$PY - "$T/mail" <<'PY'
import email.utils, mailbox, sys
rows = sorted(f"{email.utils.parseaddr(m['To'])[1]}|{m['Subject']}"
              for m in mailbox.Maildir(sys.argv[1], create=False))
print("\n".join(rows))
PY
}

mkdir -p "$T/mail/new" "$T/mail/cur" "$T/mail/tmp"
start_sink
config() {
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
  max_resends: 1
  smtp:
    url: smtp://127.0.0.1:$1
    starttls: false
    from: "Staff accounts <accounts@example.org>"
    sign_in_url: https://{facility}.clinic.example/
YAML
}
config "$SMTP_PORT"
cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Ada,Lovelace,ada@example.org,lab,North,
E2,Ben,Carter,,lab,North,
E3,Cleo,Diaz,cleo@example.org,lab,North,
CSV
NOW=1800000000
STAFFSYNC_FAKE_NOW=$NOW "$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
expect_same "run 1 exit code" 0 "$?"
expect_same "mails after run 1" "$(printf '%s\n' \
	'ada@example.org|Your staff account at North Clinic' \
	'cleo@example.org|Your staff account at North Clinic')" "$(mails)"
grep -l "Hello Ada Lovelace" "$T"/mail/new/* >/dev/null 2>&1 &&
	grep -q "https://north.clinic.example/" "$(grep -l "Hello Ada Lovelace" "$T"/mail/new/*)" ||
	{ echo "# Ada's mail lacks her name or the sign-in URL"; FAILED=$((FAILED + 1)); }
grep -q '^To: "Ada Lovelace" <ada@example.org>' "$(grep -l "Hello Ada Lovelace" "$T"/mail/new/*)" ||
	{ echo "# Ada's mail is not addressed to her name"; FAILED=$((FAILED + 1)); }
expect_same "outbox after run 1" "$(printf '%s\n' 'E1|invite|sent' 'E3|invite|sent')" \
	"$(sql "$T/state/state.db" "SELECT person, kind, state FROM outbox ORDER BY person")"

STAFFSYNC_FAKE_NOW=$((NOW + 3600)) "$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "mails after a run with nothing to do" 2 "$(mails | grep -c .)"

# A week later: one resend each. The sink is down for the first attempt.
stop_pid "$SINK_PID"
STAFFSYNC_FAKE_NOW=$((NOW + 8 * 86400)) "$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.3" 2>"$T/err.3"
expect_same "resends planned" 2 "$(grep -o 'resent=[0-9]*' "$T/out.3" | cut -d= -f2)"
expect_same "outbox while the SMTP server is down" "$(printf '%s\n' 'E1|resend|queued' 'E3|resend|queued')" \
	"$(sql "$T/state/state.db" "SELECT person, kind, state FROM outbox WHERE kind = 'resend' ORDER BY person")"
grep -q "stays queued" "$T/err.3" || { echo "# the failed send is not reported"; FAILED=$((FAILED + 1)); }

# The server is back, but the SMTP transport (plugins/smtp, smtp.so) is
# not in the plugin path: the configuration is refused, at accounts.smtp,
# and the mails stay queued.
start_sink
config "$SMTP_PORT"
no_smtp=$(printf '%s\n' "$STAFFSYNC_PLUGIN_PATH" | tr ':' '\n' | grep -v '/plugins/smtp' | paste -sd:)
STAFFSYNC_PLUGIN_PATH=$no_smtp STAFFSYNC_FAKE_NOW=$((NOW + 8 * 86400 + 30)) "$STAFFSYNCD" -c "$T/config.yaml" --once \
	>"$T/out.3b" 2>"$T/err.3b"
expect_same "run without smtp.so: a configuration error" 2 "$?"
grep -q "config.yaml:[0-9]*:[0-9]*: invite_delivery: smtp needs the SMTP transport, smtp.so" "$T/err.3b" ||
	{ echo "# the missing transport is not reported:"; sed 's/^/#   /' "$T/err.3b"; FAILED=$((FAILED + 1)); }
expect_same "run without smtp.so: the resends stay queued, none sent" \
	"$(printf '%s\n' 'E1|resend|queued' 'E3|resend|queued')|2" \
	"$(sql "$T/state/state.db" "SELECT person, kind, state FROM outbox WHERE kind = 'resend' ORDER BY person")|$(mails | grep -c .)"

# A crash in the middle of Cleo's SMTP transaction, simulated: her row is
# left 'sending'. The next run reports it and sends only Ada's.
sql "$T/state/state.db" "UPDATE outbox SET state = 'sending' WHERE person = 'E3' AND kind = 'resend'"
STAFFSYNC_FAKE_NOW=$((NOW + 8 * 86400 + 60)) "$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.4" 2>"$T/err.4"
expect_same "run 4 exit code" 0 "$?"
expect_same "mails in all" "$(printf '%s\n' \
	'ada@example.org|Reminder: your staff account at North Clinic' \
	'ada@example.org|Your staff account at North Clinic' \
	'cleo@example.org|Your staff account at North Clinic')" "$(mails)"
grep -q "cleo@example.org.*not sent again" "$T/err.4" ||
	{ echo "# the interrupted mail is not reported:"; sed 's/^/#   /' "$T/err.4"; FAILED=$((FAILED + 1)); }
expect_same "outbox at the end" "$(printf '%s\n' 'E1|invite|sent' 'E1|resend|sent' 'E3|invite|sent' 'E3|resend|unknown')" \
	"$(sql "$T/state/state.db" "SELECT person, kind, state FROM outbox ORDER BY person, kind")"

# starttls: false is refused for a server that is not on this machine.
sed -i "s|url: smtp://127.0.0.1:$SMTP_PORT|url: smtp://mail.example.org:25|" "$T/config.yaml"
"$STAFFSYNCD" -c "$T/config.yaml" --check-config >"$T/check.out" 2>&1
expect_same "check-config with starttls: false to a remote server" 1 "$([ $? -ne 0 ] && echo 1 || echo 0)"
grep -q "starttls: false is only accepted for a loopback server" "$T/check.out" ||
	{ sed 's/^/#   /' "$T/check.out"; FAILED=$((FAILED + 1)); }

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
