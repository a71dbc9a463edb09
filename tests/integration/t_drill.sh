#!/bin/sh
# t_drill.sh: a drill scenario runs through the same path, marked DIỄN TẬP on every channel and in the log,
# routed only to the drill's participants; drill-report gives each recipient's time to receive and to
# acknowledge, per channel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

make_ca
start_sink sink
keygen relay
enrol unit-a unit
enrol vp-ubnd commune_office
enrol ttanm national_centre
enrol ca-tinh provincial_police
SERVE_PORT=$(free_port)
write_config
cat >"$T/recipients.ini" <<RCPT
[recipient vp-ubnd]
role = commune_office
group = thach-quang
email = vp@thachquang.test
[recipient ttanm]
role = national_centre
webhook = https://localhost:$SERVE_PORT/hook
[recipient ca-tinh]
role = provincial_police
email = pa05@thanhhoa.test
drill = no
[route real]
to = *
channels = email, webhook
[route drills]
drill = yes
to = *
channels = email, webhook
RCPT
cat >>"$T/relay.ini" <<CONF
[relay]
recipients = recipients.ini
templates = $ROOT/templates
[smtp]
host = 127.0.0.1
port = $SINK_PORT
starttls = 0
[webhook]
ca_file = $T/tls/ca.crt
CONF
"$BIN/incident" serve --listen "127.0.0.1:$SERVE_PORT" --tls-cert "$T/tls/server.crt" --tls-key "$T/tls/server.key" \
	--key "$T/ttanm.sec" --relay-key "$T/relay.pub" --registry "$T/registry.ini" --store "$T/serve" \
	--ack --relay "$URL" >"$T/serve.log" 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
wait_port "$SERVE_PORT" || fail "incident serve did not start"
start_relay

client drill --scenario "$ROOT/tests/fixtures/dien-tap.ini" >"$T/out" 2>&1 || { cat "$T/out"; fail "incident drill"; }
INC=$(sed -n 's/^DIỄN TẬP \/ DRILL: sự cố \/ incident \([^,]*\),.*/\1/p' "$T/out")
[ -n "$INC" ] || { cat "$T/out"; fail "no incident id"; }
[ "$(grep -c "^Mã báo cáo / report id:.*DIỄN TẬP" "$T/out")" = 2 ] || { cat "$T/out"; fail "two drill reports"; }
client status --incident "$INC" | grep -q "DIỄN TẬP / drill" || fail "the timeline is not marked as a drill"
# wait for the 2 emails to vp-ubnd and the 2 webhooks
i=0
until [ "$(ls "$T/sink" | wc -l)" -ge 2 ] && [ "$(ls "$T/serve"/*.txt 2>/dev/null | wc -l)" -ge 2 ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "drill deliveries did not arrive"; sleep 0.1
done
sleep 0.5
grep -l "pa05@" "$T/sink"/* >/dev/null 2>&1 && fail "a non-participant received the drill"
$PY - "$T/sink" <<'PYEOF' || fail "a drill email's subject lacks DIỄN TẬP"
import email, email.header, os, sys
for f in os.listdir(sys.argv[1]):
    m = email.message_from_binary_file(open(os.path.join(sys.argv[1], f), "rb"))
    s = str(email.header.make_header(email.header.decode_header(m.get("Subject", ""))))
    if "DIỄN TẬP" not in s:
        print(s); sys.exit(1)
PYEOF
grep -l "DIỄN TẬP" "$T/serve"/*.txt | wc -l | grep -qx 2 || fail "webhook receiver: drill not marked"
ok "drill scenario: two reports, one incident, marked DIỄN TẬP by email and webhook; non-participants get nothing"

# vp-ubnd acknowledges the first report; the webhook receiver acknowledged both by itself.
FIRST=$(client status --incident "$INC" --json | $PY -c "import json,sys; print(json.load(sys.stdin)['reports'][0]['report_id'])")
"$BIN/incident" ack "$FIRST" --agency vp-ubnd --key "$T/vp-ubnd.sec" --relay "$URL" --relay-key "$T/relay.pub" >/dev/null ||
	fail "vp-ubnd ack"
sleep 0.5
client drill-report --incident "$INC" >"$T/report.out" || { cat "$T/report.out"; fail "drill-report"; }
cat "$T/report.out"
grep -q "^  email    nhận / received 2: .*xác nhận / acknowledged 1: .* chưa / missing 1" "$T/report.out" ||
	fail "drill-report email line"
grep -q "^  webhook  nhận / received 2: .*xác nhận / acknowledged 2: .* chưa / missing 0" "$T/report.out" ||
	fail "drill-report webhook line"
stop_relay
VKEY=$(sed -n 's/^relayd: vkey: //p' "$T/relayd.log" | head -1)
"$BIN/incident" audit --log "$T/log" --key "$VKEY" >/dev/null || fail "audit"
ok "drill-report: time to receive and to acknowledge per recipient and channel; the log verifies"
