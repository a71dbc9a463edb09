# servers.sh: real peers on loopback for integration tests (source after lib.sh): a test CA, Postfix's
# smtp-sink, Kannel (bearerbox + smsbox + fake SMSC + fakesmsc), an HTTP logger. Each start_* records
# its PIDs in SERVER_PIDS; stop_servers (called on exit) stops them all.
SERVER_PIDS=""
stop_servers() {
	for p in $SERVER_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $SERVER_PIDS; do wait "$p" 2>/dev/null; done
	SERVER_PIDS=""
}
trap 'stop_servers; cleanup' EXIT
chmod 755 "$T" # smtp-sink and Postfix drop privileges and must traverse $T

wait_port() {
	$PY - "$1" <<'PYEOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

# make_ca: $T/tls/ca.crt and a server cert/key for localhost and 127.0.0.1
make_ca() {
	mkdir -p "$T/tls"
	(
		cd "$T/tls" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=TBSC Test CA" -keyout ca.key -out ca.crt \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile server.ext \
			-out server.crt
	) >"$T/tls.log" 2>&1 || fail "test CA"
}

# start_sink NAME [smtp-sink options]: messages land in $T/NAME/, port in SINK_PORT
start_sink() {
	name=$1
	shift
	mkdir -p "$T/$name"
	chown nobody "$T/$name"
	SINK_PORT=$(free_port)
	smtp-sink -u nobody -a -d "$T/$name/%Y%m%d%H%M%S." "$@" "127.0.0.1:$SINK_PORT" 100 >"$T/$name.log" 2>&1 &
	SINK_PID=$!
	SERVER_PIDS="$SERVER_PIDS $SINK_PID"
	wait_port "$SINK_PORT" || fail "smtp-sink did not start: $(cat "$T/$name.log")"
}

# start_kannel: bearerbox + smsbox + fakesmsc; SENDSMS_URL, KANNEL_DIR; phones' messages in $KANNEL_DIR/fakesmsc.out
start_kannel() {
	K="$T/kannel"
	KANNEL_DIR=$K
	mkdir -p "$K/store"
	chmod 755 "$K"
	ADMIN=$(free_port)
	SMSBOX=$(free_port)
	FAKE=$(free_port)
	SENDSMS=$(free_port)
	cat >"$K/kannel.conf" <<KCONF
group = core
admin-port = $ADMIN
admin-interface = 127.0.0.1
admin-password = adminpw
status-password = statuspw
admin-allow-ip = "127.0.0.1"
smsbox-port = $SMSBOX
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "$K/bearerbox.log"
log-level = 1
dlr-storage = internal
store-type = file
store-location = "$K/store/kannel.store"

group = smsc
smsc = fake
smsc-id = fake1
port = $FAKE
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $SMSBOX
sendsms-port = $SENDSMS
sendsms-interface = 127.0.0.1
log-file = "$K/smsbox.log"
log-level = 1

group = sendsms-user
username = relay
password = relaypw
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "${KANNEL_MO_URL:-http://127.0.0.1:9/unused}?from=%p&text=%a"
KCONF
	ST="http://127.0.0.1:$ADMIN/status.txt?password=statuspw"
	bearerbox "$K/kannel.conf" >"$K/bearerbox.out" 2>&1 &
	BB_PID=$!
	SERVER_PIDS="$SERVER_PIDS $BB_PID"
	i=0
	until curl -sf -o /dev/null "$ST"; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "bearerbox did not start"; sleep 0.1
	done
	start_smsbox
	/usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$FAKE" -m 0 "100 200 text unused" >"$K/fakesmsc.out" 2>&1 &
	FAKESMSC_PID=$!
	SERVER_PIDS="$SERVER_PIDS $FAKESMSC_PID"
	i=0
	until curl -s "$ST" | grep -q "FAKE:$FAKE (online"; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "fakesmsc did not connect"; sleep 0.1
	done
	SENDSMS_URL="http://127.0.0.1:$SENDSMS/cgi-bin/sendsms"
}

# fakesmsc_send FROM TEXT: a phone sends an SMS to the gateway (a second fakesmsc replaces the first)
fakesmsc_send() {
	kill -TERM "$FAKESMSC_PID" 2>/dev/null
	wait "$FAKESMSC_PID" 2>/dev/null
	/usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$FAKE" -i 0.1 -m 1 "$1 1234 text $2" >>"$KANNEL_DIR/fakesmsc.out" 2>&1 &
	FAKESMSC_PID=$!
	SERVER_PIDS="$SERVER_PIDS $FAKESMSC_PID"
}

start_smsbox() {
	smsbox "$KANNEL_DIR/kannel.conf" >"$KANNEL_DIR/smsbox.out" 2>&1 &
	SB_PID=$!
	SERVER_PIDS="$SERVER_PIDS $SB_PID"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$SENDSMS/"; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "smsbox did not start"; sleep 0.1
	done
}

# fakesmsc_texts: what the phones received, one "receiver<TAB>text" line per message, decoded
fakesmsc_texts() {
	$PY - "$KANNEL_DIR/fakesmsc.out" <<'PYEOF'
import re, sys, urllib.parse
parts = {}
def dec(d):
    return urllib.parse.unquote_to_bytes(d.replace("+", " "))
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"Got message \d+: <(\S+) (\S+) (text|ucs-2|udh (\S+) data) (.*)>$", line.rstrip("\n"))
    if not m:
        continue
    to, kind, udh, data = m.group(2), m.group(3), m.group(4), m.group(5)
    if kind == "text":
        print("%s\t%s" % (to, data))
    elif kind == "ucs-2":
        print("%s\t%s" % (to, dec(data).decode("utf-16-be")))
    else:  # one part of a concatenated UCS-2 message: UDH 05 00 03 ref total seq
        h = dec(udh)
        ref, total, seq = h[3], h[4], h[5]
        parts.setdefault((to, ref), {})[seq] = dec(data)
        got = parts[(to, ref)]
        if len(got) == total:
            raw = b"".join(got[i] for i in sorted(got))
            ucs2 = len(raw) % 2 == 0 and raw[0::2].count(0) * 4 >= len(raw) // 2
            print("%s\t%s" % (to, raw.decode("utf-16-be") if ucs2 else raw.decode("utf-8", "replace")))
PYEOF
}
