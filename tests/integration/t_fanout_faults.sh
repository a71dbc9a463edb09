#!/bin/sh
# t_fanout_faults.sh: how the relay treats each fault of a real peer: webhook 500 / 429 + Retry-After /
# 410 / 400 / timeout, and an SMTP server answering 550 or 450: retried, honoured, stopped or disabled.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

make_ca
RECV_PORT=$(free_port)
mkdir -p "$T/recv"
$PY "$ROOT/tests/tools/test_receiver.py" "$RECV_PORT" "$T/recv" --tls "$T/tls/server.crt" "$T/tls/server.key" \
	>"$T/recv.log" 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
wait_port "$RECV_PORT" || fail "test receiver did not start"
start_sink sink550 -f rcpt -B "550 5.1.1 Mailbox unavailable"
SINK550=$SINK_PORT

keygen relay
enrol unit-a unit
{
	for p in fail busy gone bad slow; do
		enrol "hook-$p" provincial_irt
		printf '[recipient hook-%s]\nrole = provincial_irt\nwebhook = https://localhost:%s/%s\n' "$p" "$RECV_PORT" "$p"
	done
	enrol mail-550 provincial_police
	printf '[recipient mail-550]\nrole = provincial_police\nemail = x@thachquang.test\n'
	printf '[route all]\nto = *\nchannels = email, webhook\n'
} >"$T/recipients.ini"
write_config
cat >>"$T/relay.ini" <<CONF
[relay]
recipients = recipients.ini
templates = $ROOT/templates
[delivery]
retry_floor = 1
retry_ceiling = 2
lifetime = 600
[smtp]
host = 127.0.0.1
port = $SINK550
starttls = 0
[webhook]
ca_file = $T/tls/ca.crt
timeout = 2
CONF
start_relay

report() {
	client report --no-input --category dos --reporter-name A --reporter-address A --system-name S \
		--detected 2026-11-25 --description "kiểm thử lỗi / fault test" >"$T/out" 2>&1 || { cat "$T/out"; fail "report"; }
	sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' "$T/out" | head -1
}
# job ID RECIPIENT FIELD: one field of one job from the relay's status reply
job() {
	client status "$1" --json | $PY -c "import json,sys; print([j for j in json.load(sys.stdin)['deliveries'] if j['recipient']=='$2'][0]['$3'])"
}

ID=$(report)
sleep 5
expect_eq "$(job "$ID" hook-bad state)" failed "400: stops at once"
expect_eq "$(job "$ID" hook-bad attempts)" 1 "400: one attempt"
expect_eq "$(job "$ID" mail-550 state)" failed "SMTP 550: stops at once"
expect_eq "$(job "$ID" hook-gone state)" failed "410: stops"
[ "$(job "$ID" hook-fail attempts)" -ge 2 ] || fail "500: not retried"
expect_eq "$(job "$ID" hook-fail state)" deferred "500: deferred"
[ "$(job "$ID" hook-slow attempts)" -ge 1 ] && expect_eq "$(job "$ID" hook-slow state)" deferred "timeout: deferred"
# 429 with Retry-After: 7 beats the 2 s ceiling: the next try is at least ~6 s after the last one.
expect_eq "$(job "$ID" hook-busy state)" deferred "429: deferred"
expect_eq "$(job "$ID" hook-busy attempts)" 1 "429: Retry-After honoured (no second try within 5 s)"
ok "webhook 400/410 and SMTP 550 stop; 500 and timeouts retry with backoff; 429 waits for Retry-After"

# 410 disabled the endpoint: the next report's job fails without a request reaching it.
before=$(grep -c '"/gone"' "$T/recv/requests.log")
ID2=$(report)
sleep 2
expect_eq "$(job "$ID2" hook-gone state)" failed "disabled endpoint"
expect_eq "$(grep -c '"/gone"' "$T/recv/requests.log")" "$before" "requests to a disabled endpoint"
client status "$ID2" | grep -q "410" || fail "status does not say why"
ok "410 disables the endpoint for later reports"
stop_relay

# SMTP 450: the same relay against a sink that answers 4xx defers.
stop_servers
start_sink sink450 -r rcpt -b "450 4.2.0 Mailbox busy"
sed -i "s/^port = $SINK550/port = $SINK_PORT/" "$T/relay.ini"
start_relay
ID3=$(report)
sleep 3
expect_eq "$(job "$ID3" mail-550 state)" deferred "SMTP 450: deferred"
stop_relay
ok "SMTP 450 defers"
