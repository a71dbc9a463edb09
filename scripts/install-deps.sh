#!/bin/sh
# Installs the Debian 12 packages the project needs to build, test, fuzz and demo.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu

PACKAGES="build-essential pkg-config clang libfuzzer-14-dev libclang-rt-14-dev \
libsodium-dev libcurl4-openssl-dev libesmtp-dev libmsgpack-dev libsqlite3-dev \
libmicrohttpd-dev libinih-dev libutf8proc-dev libjson-c-dev check curl openssl \
python3 python3-nacl python3-msgpack golang-go golang-golang-x-mod-dev \
postfix sasl2-bin libsasl2-modules libsasl2-modules-db kannel kannel-extras swaks valgrind sqlite3 \
faketime"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "Thiếu gói / missing packages:$missing" >&2
	echo "Chạy / run: sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive $cmd" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# Package installs must not start system services (postfix, kannel) on this host:
# the tests start their own instances on loopback.
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
if [ "$had_policy" -eq 0 ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections || true
apt-get update -q || true
$cmd
[ "$had_policy" -eq 0 ] && rm -f /usr/sbin/policy-rc.d
exit 0
