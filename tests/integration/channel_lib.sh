# channel_lib.sh: helpers for the channel tests (bash): the channel_send tool, servers started in
# the background and always stopped, free ports, readiness waits, a test CA.
# Source it after lib.sh; it makes $T traversable (smtp-sink and Postfix drop root).
set -u
chmod 755 "$T"
SERVER_PIDS=""

channel_cleanup() {
	for p in $SERVER_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $SERVER_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SERVER_PIDS=""
	cleanup
}
trap channel_cleanup EXIT

# track PID: stop it at exit
track() { SERVER_PIDS="$SERVER_PIDS $1"; }

# stop PID: TERM, wait until gone, forget it
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	local keep=""
	for p in $SERVER_PIDS; do [ "$p" = "$1" ] || keep="$keep $p"; done
	SERVER_PIDS=$keep
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s)
wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# The driver: the sanitizer build when the binaries under test are the sanitizer ones.
case "$BIN" in
*/san/*) TOOL="$ROOT/build/san/tools/channel_send" ;;
*) TOOL="$ROOT/build/tools/channel_send" ;;
esac
(cd "$ROOT" && make --no-print-directory -s "${TOOL#"$ROOT"/}") || fail "cannot build $TOOL"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1

# send OUT ARGS...: run the driver, stdout to $T/OUT, stderr to $T/OUT.err; fails on a
# sanitizer report or a usage/set-up error (exit 2). Exit 0/1 (all OK / not all) is the caller's.
send() {
	local out=$1
	shift
	"$TOOL" "$@" >"$T/$out" 2>"$T/$out.err"
	local rc=$?
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/$out.err"; then
		head -60 "$T/$out.err"
		fail "sanitizer report from channel_send ($out)"
	fi
	[ $rc -le 1 ] || { cat "$T/$out.err"; fail "channel_send $out exited $rc"; }
	return 0
}

# line OUT INDEX: the result line of delivery INDEX in $T/OUT
line() { sed -n "s/^$2 //p" "$T/$1"; }

# expect OUT INDEX OUTCOME [CODE [RETRY]]: check a result line
expect() {
	local l
	l=$(line "$1" "$2")
	set -- "$1" "$2" "$3" "${4:-}" "${5:-}" "$l"
	local got_outcome got_code got_retry
	got_outcome=$(echo "$6" | cut -d' ' -f1)
	got_code=$(echo "$6" | cut -d' ' -f2)
	got_retry=$(echo "$6" | cut -d' ' -f3)
	[ "$got_outcome" = "$3" ] || fail "$1[$2]: expected $3, got: $6"
	[ -z "$4" ] || [ "$got_code" = "$4" ] || fail "$1[$2]: expected code $4, got: $6"
	[ -z "$5" ] || [ "$got_retry" = "$5" ] || fail "$1[$2]: expected retry_after $5, got: $6"
	return 0
}

# make_ca DIR NAME: a CA (DIR/NAME-ca.crt/.key) and a server certificate for localhost and
# 127.0.0.1 signed by it (DIR/NAME-server.crt/.key)
make_ca() {
	local d=$1 n=$2
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=TBSC test CA $n" \
		-keyout "$d/$n-ca.key" -out "$d/$n-ca.crt" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/$n-server.key" \
		-out "$d/$n-server.csr" >/dev/null 2>&1 || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$d/$n-server.ext"
	openssl x509 -req -in "$d/$n-server.csr" -CA "$d/$n-ca.crt" -CAkey "$d/$n-ca.key" \
		-CAcreateserial -days 30 -extfile "$d/$n-server.ext" -out "$d/$n-server.crt" \
		>/dev/null 2>&1 || return 1
}
