#!/bin/sh
# Install the Debian/Ubuntu packages staffsync needs to build (and, with
# --test, the test peers: slapd, Samba, an SMTP sink, valgrind), only those
# that are missing. Runs apt-get as root (or through sudo).
set -eu
PACKAGES="build-essential autoconf automake libtool pkg-config
libyaml-dev libsqlite3-dev libcsv-dev libcmocka-dev libjansson-dev libsystemd-dev
libcurl4-openssl-dev libldap-dev sqlite3"
if [ "${1:-}" = --test ]; then
	PACKAGES="$PACKAGES valgrind python3 time slapd ldap-utils samba smbclient
python3-aiosmtpd iproute2 util-linux samba-ad-provision ldb-tools bash-completion
nghttp2-proxy"
fi
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node.js runs the SCIM test server; the base image may ship its own build.
[ "${1:-}" != --test ] || command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Where apt starts services, the system slapd is not ours: the tests start their own.
if command -v service >/dev/null 2>&1; then $SUDO service slapd stop >/dev/null 2>&1 || true; fi
