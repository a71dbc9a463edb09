# lib.sh: helpers for integration tests: temp dirs, free ports, keys, a relay started and stopped here.
# Source it; it sets T (a temp dir removed on exit) and stops every relay it started.
set -u
: "${BIN:?BIN must name the directory holding relayd and incident}"
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/tbsc-it-XXXXXX)
RELAY_PID=""
FAILED=0

cleanup() {
	[ -n "$RELAY_PID" ] && kill -9 "$RELAY_PID" 2>/dev/null
	if [ "$FAILED" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "(kept $T)"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILED=1; exit 1; }
ok() { echo "ok: $*"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

kid_of() { sed -n 's/^untrusted comment: TBSC public key \([0-9a-f]*\).*/\1/p' "$1"; }

# keygen NAME: unprotected keypair $T/NAME.sec / .pub
keygen() { TBSC_PASSPHRASE= "$BIN/incident" keygen --out "$T/$1" --no-passphrase >/dev/null || fail "keygen $1"; }

# enrol NAME ROLE [FROM UNTIL]
enrol() {
	keygen "$1"
	"$BIN/incident" registry add --registry "$T/registry.ini" --id "$1" --name "Đơn vị $1" --role "$2" \
		--group thach-quang --pubkey "$T/$1.pub" --fingerprint "$(kid_of "$T/$1.pub")" \
		${3:+--from "$3"} ${4:+--until "$4"} >/dev/null || fail "enrol $1"
}

# write_config [extra INI lines...]: relay config on a free port
write_config() {
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	{
		echo "[relay]"
		echo "listen = 127.0.0.1:$PORT"
		echo "store = relay.db"
		echo "log_dir = log"
		echo "secret_key = relay.sec"
		echo "registry = registry.ini"
		echo "[limits]"
		echo "connection_timeout = ${CONN_TIMEOUT:-3}"
		echo "rate_per_minute = ${RATE:-6000}"
		echo "rate_burst = ${BURST:-1000}"
	} >"$T/relay.ini"
}

start_relay() {
	"$BIN/relayd" --config "$T/relay.ini" >>"$T/relayd.log" 2>&1 &
	RELAY_PID=$!
	i=0
	until curl -fsS "$URL/healthz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$T/relayd.log"; fail "relayd did not come up"; }
		kill -0 "$RELAY_PID" 2>/dev/null || { cat "$T/relayd.log"; fail "relayd exited"; }
		sleep 0.1
	done
}

# stop_relay: SIGTERM, wait, and fail on any sanitizer report.
stop_relay() {
	[ -n "$RELAY_PID" ] || return 0
	kill -TERM "$RELAY_PID"
	wait "$RELAY_PID"
	rc=$?
	RELAY_PID=""
	check_sanitizers
	[ "$rc" -eq 0 ] || { tail -20 "$T/relayd.log"; fail "relayd exited with $rc on SIGTERM"; }
}

kill_relay() {
	kill -9 "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=""
}

check_sanitizers() {
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer" "$T/relayd.log"; then
		grep -A30 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$T/relayd.log" | head -60
		fail "sanitizer report in relayd.log"
	fi
}

db_count() { $PY -c "import sqlite3,sys; c=sqlite3.connect('file:$T/relay.db?mode=ro',uri=True); print(c.execute(\"$1\").fetchone()[0])"; }

# client: the incident tool as unit-a
client() {
	"$BIN/incident" "$@" --relay "$URL" --agency unit-a --key "$T/unit-a.sec" --relay-key "$T/relay.pub" \
		--outbox "$T/outbox-a"
}
