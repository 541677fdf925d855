#!/bin/sh
# Invite e-mail over SMTP with STARTTLS (verified against a test CA) and
# AUTH, to npm smtp-server (which refuses AUTH before STARTTLS): the mails
# arrive encrypted and authenticated; a wrong password or a wrong CA sends
# nothing, says why without the password, and keeps the mails queued.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
require_sqlite3
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (the test makes its own CA)"
scim_tmpdir

make_test_cas

printf 'smtp-pw-%s\n' "$$" >"$T/smtp.secret"
mkdir "$T/mail"
node "$SCIM_DIR/smtp-sink.js" --port-file "$T/smtp.port" --dir "$T/mail" --cert "$T/server.pem" \
	--key "$T/server.key" --user "staffsync:$(cat "$T/smtp.secret")" >"$T/sink.log" 2>&1 &
PIDS="$PIDS $!"
wait_file "$T/smtp.port" "$!" || { cat "$T/sink.log"; hard_error "the SMTP sink did not start"; }
PORT=$(cat "$T/smtp.port")

config() {   # config CA_FILE
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
  smtp:
    url: smtp://127.0.0.1:$PORT
    ca_file: $1
    from: "Staff accounts <accounts@example.org>"
    username: staffsync
    password_file: smtp.secret
    sign_in_url: https://{facility}.clinic.example/
YAML
}
outbox() { sql "$T/state/state.db" "SELECT person, state FROM outbox ORDER BY person"; }
staff_csv 2 >"$T/staff.csv"

# A wrong CA: nothing sent, both stay queued.
config other-ca.pem
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
expect_same "mails with a wrong CA" 0 "$(ls "$T/mail" | wc -l)"
expect_same "outbox after a wrong CA" "$(printf '%s\n' 'E0001|queued' 'E0002|queued')" "$(outbox)"
grep -qi "certificate" "$T/err.1" || { sed 's/^/#   /' "$T/err.1"; FAILED=$((FAILED + 1)); }
grep -q "1 more invite e-mails stay queued" "$T/err.1" ||
	{ echo "# delivery did not stop at the server's failure"; FAILED=$((FAILED + 1)); }

# A wrong password: refused by the server, still queued.
config test-ca.pem
cp "$T/smtp.secret" "$T/smtp.secret.good"
printf 'wrong-%s\n' "$$" >"$T/smtp.secret"
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "mails with a wrong password" 0 "$(ls "$T/mail" | wc -l)"
expect_same "outbox after a wrong password" "$(printf '%s\n' 'E0001|queued' 'E0002|queued')" "$(outbox)"
grep -q "not sent" "$T/err.2" || { sed 's/^/#   /' "$T/err.2"; FAILED=$((FAILED + 1)); }

# The right password: both leave, over TLS, authenticated, once.
cp "$T/smtp.secret.good" "$T/smtp.secret"
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.3" 2>"$T/err.3"
expect_same "run 3 exit code" 0 "$?"
expect_same "mails" 2 "$(ls "$T/mail" | wc -l)"
expect_same "mails over TLS with AUTH" 2 "$(cat "$T"/mail/*.eml | grep -c '^X-Sink-TLS: yes')"
expect_same "mails authenticated" 2 "$(cat "$T"/mail/*.eml | grep -c '^X-Sink-User: staffsync')"
expect_same "outbox at the end" "$(printf '%s\n' 'E0001|sent' 'E0002|sent')" "$(outbox)"
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.4" 2>"$T/err.4"
expect_same "mails after one more run" 2 "$(ls "$T/mail" | wc -l)"

for secret in "smtp-pw-$$" "wrong-$$"; do
	if grep -rqF "$secret" "$T"/out.* "$T"/err.*; then
		echo "# the SMTP password appears in the output"
		FAILED=$((FAILED + 1))
	fi
done

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
