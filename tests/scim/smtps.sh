#!/bin/sh
# Invite e-mail over smtps:// (implicit TLS, verified against a test CA)
# with AUTH, to npm smtp-server with secure: true; names and a facility
# name outside ASCII. A wrong CA first: nothing is sent, the mails stay
# queued (not counted as attempts), the certificate is named in the error
# and the password nowhere. Then the right CA: every mail arrives over TLS,
# authenticated, once; its headers are 7-bit with lines of at most 76
# characters (RFC 2047 encoded-words), and decoded they give back the
# names ("Zoë Ångström", "Łukasz Żółć"), the From display name and the
# facility name in the subject.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
require_sqlite3
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (the test makes its own CA)"
scim_tmpdir

make_test_cas

printf 'smtps-pw-%s\n' "$$" >"$T/smtp.secret"
mkdir "$T/mail"
node "$SCIM_DIR/smtp-sink.js" --port-file "$T/smtp.port" --dir "$T/mail" --cert "$T/server.pem" \
	--key "$T/server.key" --user "staffsync:$(cat "$T/smtp.secret")" --secure yes \
	>"$T/sink.log" 2>&1 &
PIDS="$PIDS $!"
wait_file "$T/smtp.port" "$!" || { cat "$T/sink.log"; hard_error "the SMTP sink did not start"; }
PORT=$(cat "$T/smtp.port")

FACILITY_NAME="Klinik Süd – Ärztehaus Zürich-Oerlikon, Notfallstation und Tagesklinik"
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
  - { id: south, name: "$FACILITY_NAME", platform: clinic, match: { facility: [South] } }
roles:
  - { role: Personnel, label: Lab, groups: [lab] }
accounts:
  invite_delivery: smtp
  smtp:
    url: smtps://127.0.0.1:$PORT
    ca_file: $1
    from: "Personalabteilung Süd <accounts@example.org>"
    username: staffsync
    password_file: smtp.secret
    sign_in_url: https://{facility}.clinic.example/
YAML
}
outbox() { sql "$T/state/state.db" "SELECT person, state, attempts FROM outbox ORDER BY person"; }
cat >"$T/staff.csv" <<CSV
id,given,family,email,groups,site,speciality
E1,Zoë,Ångström,zoe@example.org,lab,South,
E2,Łukasz,Żółć,lukasz@example.org,lab,South,
E3,Ada,"O""Brien \\ Lovelace",ada@example.org,lab,South,
CSV

# A wrong CA: the TLS handshake fails before anything is said.
config other-ca.pem
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.1" 2>"$T/err.1"
expect_same "mails with a wrong CA" 0 "$(ls "$T/mail" | wc -l)"
expect_same "outbox after a wrong CA" "$(printf '%s\n' 'E1|queued|0' 'E2|queued|0' 'E3|queued|0')" "$(outbox)"
grep -qi "certificate" "$T/err.1" ||
	{ echo "# no certificate error:"; sed 's/^/#   /' "$T/err.1"; FAILED=$((FAILED + 1)); }
grep -q "2 more invite e-mails stay queued" "$T/err.1" ||
	{ echo "# delivery did not stop at the server's failure"; FAILED=$((FAILED + 1)); }

# The right CA: all three leave, over implicit TLS, authenticated.
config test-ca.pem
"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.2" 2>"$T/err.2"
expect_same "run 2 exit code" 0 "$?"
expect_same "mails" 3 "$(ls "$T/mail" | wc -l)"
expect_same "mails over TLS" 3 "$(cat "$T"/mail/*.eml | grep -c '^X-Sink-TLS: yes')"
expect_same "mails authenticated" 3 "$(cat "$T"/mail/*.eml | grep -c '^X-Sink-User: staffsync')"
expect_same "outbox at the end" "$(printf '%s\n' 'E1|sent|1' 'E2|sent|1' 'E3|sent|1')" "$(outbox)"

# The headers as a mail reader decodes them, and as they are on the wire.
python3 - "$T/mail" "$FACILITY_NAME" >"$T/headers" <<'PY'
import email, email.policy, glob, sys
rows, bad = [], []
for path in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    raw = open(path, "rb").read()
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if max(line, default=0) > 0x7e or len(line) > 76:
            bad.append(line)
    m = email.message_from_bytes(raw, policy=email.policy.default)
    to, frm = m["To"].addresses[0], m["From"].addresses[0]
    rows.append(f"{to.display_name}|{to.addr_spec}|{frm.display_name}|{frm.addr_spec}|"
                f"{m['Subject'] == 'Your staff account at ' + sys.argv[2]}")
for line in bad:
    print("BAD", line)
print("\n".join(sorted(rows)))
PY
expect_same "headers decoded" "$(printf '%s\n' \
	'Ada O"Brien \ Lovelace|ada@example.org|Personalabteilung Süd|accounts@example.org|True' \
	'Zoë Ångström|zoe@example.org|Personalabteilung Süd|accounts@example.org|True' \
	'Łukasz Żółć|lukasz@example.org|Personalabteilung Süd|accounts@example.org|True')" \
	"$(cat "$T/headers")"
grep -l "Hello Zoë Ångström" "$T"/mail/*.eml >/dev/null ||
	{ echo "# the body does not greet Zoë by her name (UTF-8)"; FAILED=$((FAILED + 1)); }

"$STAFFSYNCD" -c "$T/config.yaml" --once >"$T/out.3" 2>"$T/err.3"
expect_same "mails after one more run" 3 "$(ls "$T/mail" | wc -l)"

if grep -rqF "smtps-pw-$$" "$T"/out.* "$T"/err.*; then
	echo "# the SMTP password appears in the output"
	FAILED=$((FAILED + 1))
fi

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
