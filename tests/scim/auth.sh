#!/bin/sh
# Credentials other than a bearer token file: OAuth2 client credentials
# (the token fetched, and fetched again when it expires mid-run), HTTP
# basic, a systemd credential; none of the secrets in any output.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/scim/lib.sh"
require_scim
scim_tmpdir

run() {   # run NAME: staffsyncd --once -c $T/NAME.yaml
	"$STAFFSYNCD" -c "$T/$1.yaml" --once >"$T/$1.out" 2>"$T/$1.err"
}

# --- OAuth2: tokens living 1 s, a run of ~3 s at 20 requests/s -------------
printf 'client-secret-%s\n' "$$" >"$T/client.secret"
start_server oauth --oauth "staffsync:$(cat "$T/client.secret")" --token-lifetime 1
simple_config "$T/oauth.yaml" "http://127.0.0.1:$SCIM_PORT/scim/v2" "rate_limit: 20" \
	"oauth2: { token_url: http://127.0.0.1:$SCIM_PORT/oauth/token, client_id: staffsync, client_secret_file: client.secret }"
sed -i '/^  token_file: token$/d' "$T/oauth.yaml"
staff_csv 30 >"$T/staff.csv"
run oauth
rc=$?
expect_same "OAuth2 run exit code" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/oauth.err"
expect_same "OAuth2 users created" 30 "$(grep -c '^POST /scim/v2/Users 201' "$T/oauth.requests")"
tokens=$(grep -c '^TOKEN issued' "$T/oauth.requests")
[ "$tokens" -ge 2 ] || { echo "# only $tokens token(s) fetched in a run longer than a token's life"; FAILED=$((FAILED + 1)); }

# A wrong client secret: the run fails and says why, without the secret.
printf 'wrong-%s\n' "$$" >"$T/client.secret"
rm -rf "$T/state"
run oauth
expect_same "exit code with a wrong client secret" 1 "$?"
grep -q "OAuth2 token from .*HTTP 401" "$T/oauth.err" ||
	{ echo "# the refused token is not reported:"; sed 's/^/#   /' "$T/oauth.err"; FAILED=$((FAILED + 1)); }

# --- HTTP basic, the password as a systemd credential ----------------------
mkdir "$T/creds"
printf 'basic-pw-%s\n' "$$" >"$T/creds/scim-password"
start_server basic --basic "svc:$(cat "$T/creds/scim-password")"
rm -rf "$T/state"
simple_config "$T/basic.yaml" "http://127.0.0.1:$SCIM_PORT/scim/v2" \
	"basic: { username: svc, password_credential: scim-password }"
sed -i '/^  token_file: token$/d' "$T/basic.yaml"
staff_csv 5 >"$T/staff.csv"
CREDENTIALS_DIRECTORY=$T/creds run basic
rc=$?
expect_same "basic auth run exit code" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/basic.err"
expect_same "basic auth users created" 5 "$(grep -c '^POST /scim/v2/Users 201' "$T/basic.requests")"

for secret in "$(cat "$T/client.secret")" "client-secret-$$" "basic-pw-$$"; do
	if grep -rqF "$secret" "$T"/*.out "$T"/*.err; then
		echo "# a secret appears in the output"
		FAILED=$((FAILED + 1))
	fi
done

[ "$FAILED" = 0 ] || { echo "# $FAILED checks failed (KEEP_TMP=1 keeps $T)"; exit 1; }
