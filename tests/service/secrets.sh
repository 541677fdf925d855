#!/bin/bash
# Secrets never reach the journal: the SMTP password (accounts.smtp, from a
# password_file, then from a systemd credential) appears in no datagram of
# the fake journal, nor on stderr, nor in STATUS=, the control socket's
# status reply, staffsyncctl's output, the metrics or the state, on the
# error paths too: the SMTP server is unreachable (a closed loopback port),
# a reload brings a broken configuration, the server refuses the login
# (smtpdeny.py, which also shows the daemon really sent the password).
# Debug messages are on.
. "$(dirname "$0")/lib.sh"
require_binaries
require_python3
in_ns=0
journal_namespace "$@" && in_ns=1
make_tmpdir
trap 'cleanup_pids; [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMPDIR_TEST"' EXIT
cd "$TMPDIR_TEST" || exit 99

SECRET=pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
CRED_SECRET=cred-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
[ ${#SECRET} = 27 ] && [ ${#CRED_SECRET} = 29 ] || hard_error "cannot make the test secrets"
# A loopback port nobody listens on: bound, then closed.
CLOSED_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$top_srcdir/tests/service/smtpdeny.py" "$TMPDIR_TEST/smtp.port" "$TMPDIR_TEST/smtp-received" &
PIDS+=($!)
wait_until "the test mail server's port" test -s smtp.port
DENY_PORT=$(cat smtp.port)

write_config svc
write_staff 6 svc/staff.csv
printf '%s\n' "$SECRET" > svc/smtp.secret
mkdir -p creds
printf '%s' "$CRED_SECRET" > creds/smtp-password
chmod 600 svc/smtp.secret creds/smtp-password
# smtp_section PASSWORD_KEY [PORT]: the accounts section sending invites over SMTP.
smtp_section() {
	cat <<YAML
accounts:
  invite_on_create: true
  invite_delivery: smtp
  smtp:
    url: smtp://127.0.0.1:${2:-$CLOSED_PORT}
    starttls: false
    from: "Staff accounts <accounts@example.org>"
    username: staffsync
    $1
    timeout: 5s
YAML
}
cp svc/config.yaml svc/base.yaml
{ cat svc/base.yaml; smtp_section 'password_file: smtp.secret'; } > svc/config.yaml

N=notify.jsonl
DAEMON_LOG=$TMPDIR_TEST/daemon.log
start_recv notify "$TMPDIR_TEST/notify.sock" "$N"
[ $in_ns = 1 ] && start_journal "$TMPDIR_TEST/journal.jsonl"
NOTIFY_SOCKET=$TMPDIR_TEST/notify.sock STAFFSYNC_LOG_LEVEL=debug CREDENTIALS_DIRECTORY=$TMPDIR_TEST/creds \
	"$STAFFSYNCD" -c svc/config.yaml --metrics-file "$TMPDIR_TEST/staffsync.prom" 2>"$DAEMON_LOG" &
DPID=$!
PIDS+=($DPID)

# Run 1: six invites, the SMTP server unreachable.
wait_until "run 1 to finish" has_at_least $N 'last run: run 1 [a-z]+ at' 1
wait_until "the failed sending to be logged" test "$(logged '.*e-mail to p[0-9]@example\.org .* not sent')" -ge 1
"$STAFFSYNCCTL" -c svc/config.yaml status > status.out 2>&1

# A reload with errors about the password keys: refused, the old one kept.
{ cat svc/base.yaml; smtp_section 'password_file: smtp.secret
    password_credential: smtp-password
    password: smtp.secret'; } > svc/config.yaml
kill -HUP $DPID
wait_until "READY=1 after the broken reload" has_at_least $N '"READY=1"' 2
wait_until "the refused reload to be logged" test "$(logged 'reload: .* has errors')" -ge 1
check "the daemon survived the broken reload" kill -0 $DPID

# The password from $CREDENTIALS_DIRECTORY, a server refusing the login.
{ cat svc/base.yaml; smtp_section 'password_credential: smtp-password' "$DENY_PORT"; } > svc/config.yaml
kill -HUP $DPID
wait_until "READY=1 after the good reload" has_at_least $N '"READY=1"' 3
"$STAFFSYNCCTL" -c svc/config.yaml run >> status.out 2>&1
wait_until "run 2 to finish" has_at_least $N 'last run: run 2 [a-z]+ at' 1
"$STAFFSYNCCTL" -c svc/config.yaml status >> status.out 2>&1
"$STAFFSYNCCTL" -c svc/config.yaml history >> status.out 2>&1
kill -TERM $DPID
wait $DPID

# Without the daemon: --once, messages on stderr.
STAFFSYNC_LOG=stderr STAFFSYNC_LOG_LEVEL=debug CREDENTIALS_DIRECTORY=$TMPDIR_TEST/creds \
	"$STAFFSYNCD" -c svc/config.yaml --once > once.out 2> once.err
"$STAFFSYNCCTL" -c svc/config.yaml status >> status.out 2>&1

# The error paths were taken: else finding no secret would prove nothing.
check "the unreachable server was reported (run 1)" \
	[ "$(logged '.*e-mail to p[0-9]@example\.org .* not sent: .*(connect|Connection refused)')" -ge 1 ]
check "the refused login was reported (run 2)" \
	[ "$(logged '.*e-mail to p[0-9]@example\.org .* not sent: .*([Ll]ogin|[Aa]uth)')" -ge 1 ]
check "--once reported it on stderr too" grep -qE 'e-mail to p[0-9]@example\.org .* not sent' once.err
check "the server received the credential's password (the daemon had it)" \
	grep -qxF -- "$CRED_SECRET" smtp-received
# (The errors go to stderr: under systemd a stream into the journal too.)
check "the broken reload's errors were listed with file:line:column" \
	grep -qE "config\.yaml:[0-9]+:[0-9]+: .*'password'" "$DAEMON_LOG"
check "the status reply was received" grep -q "^pid: $DPID\$" status.out
if [ $in_ns = 1 ]; then
	check "the journal received the messages ($(wc -l < "$JOURNAL") entries)" [ "$(wc -l < "$JOURNAL")" -ge 20 ]
else
	check "stderr received the messages" [ "$(wc -l < "$DAEMON_LOG")" -ge 20 ]
fi
# The secrets as they are, and as SMTP AUTH sends them (base64), in case a
# protocol trace were logged.
declare -A secrets=([password_file]=$SECRET [credential]=$CRED_SECRET
	[credential-as-AUTH-PLAIN]=$(printf '\0staffsync\0%s' "$CRED_SECRET" | base64 -w0)
	[credential-as-AUTH-LOGIN]=$(printf '%s' "$CRED_SECRET" | base64 -w0))
for f in "${JOURNAL:-}" "$DAEMON_LOG" $N status.out once.out once.err staffsync.prom svc/state/*; do
	[ -f "$f" ] || continue
	for k in "${!secrets[@]}"; do
		check "the $k secret is not in ${f##*/}" bash -c '! grep -aqF -- "$1" "$2"' _ "${secrets[$k]}" "$f"
	done
done
exit $status
