#!/bin/sh
# Install the Debian/Ubuntu packages staffsync needs to build and test,
# only those that are missing. Runs apt-get as root (or through sudo).
set -eu
PACKAGES="build-essential autoconf automake libtool pkg-config
libyaml-dev libsqlite3-dev libcsv-dev libcmocka-dev libjansson-dev libsystemd-dev
libcurl4-openssl-dev libldap-dev sqlite3 valgrind python3 time"
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
