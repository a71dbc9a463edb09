#!/bin/sh
# t_ack.sh: acknowledgements: signed (`incident ack`), automatic (`incident serve --ack`), by the link in
# an email, by an SMS reply through Kannel; forged ones refused; status shows who has acknowledged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

write_config # picks PORT and URL first: the gateway needs the relay's SMS-in URL
KANNEL_MO_URL="$URL/v1/sms-in"
make_ca
start_sink sink
start_kannel
keygen relay
enrol unit-a unit
enrol vp-ubnd commune_office
enrol ca-xa commune_police
enrol ttanm national_centre
enrol outsider unit
SERVE_PORT=$(free_port)
cat >"$T/recipients.ini" <<RCPT
[recipient vp-ubnd]
role = commune_office
group = thach-quang
email = vp@thachquang.test
phone = +84900000001
[recipient ca-xa]
role = commune_police
group = thach-quang
email = ca@thachquang.test
[recipient ttanm]
role = national_centre
webhook = https://localhost:$SERVE_PORT/hook
[route all]
to = *
channels = email, webhook, sms
RCPT
cat >>"$T/relay.ini" <<CONF
[relay]
recipients = recipients.ini
templates = $ROOT/templates
public_url = $URL
[smtp]
host = 127.0.0.1
port = $SINK_PORT
starttls = 0
[sms]
url = $SENDSMS_URL
username = relay
password = relaypw
[webhook]
ca_file = $T/tls/ca.crt
CONF
"$BIN/incident" serve --listen "127.0.0.1:$SERVE_PORT" --tls-cert "$T/tls/server.crt" --tls-key "$T/tls/server.key" \
	--key "$T/ttanm.sec" --relay-key "$T/relay.pub" --registry "$T/registry.ini" --store "$T/serve" \
	--ack --relay "$URL" >"$T/serve.log" 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
wait_port "$SERVE_PORT" || fail "incident serve did not start"
start_relay

client report --no-input --category phishing --reporter-name A --reporter-address A --system-name S \
	--detected 2026-11-25 --description "thư giả mạo" >"$T/out" 2>&1 || { cat "$T/out"; fail report; }
ID=$(sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' "$T/out" | head -1)
client report --no-input --category malware --reporter-name A --reporter-address A --system-name S \
	--detected 2026-11-25 --description "mã độc" >"$T/out" 2>&1 || { cat "$T/out"; fail report; }
ID2=$(sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' "$T/out" | head -1)
acked() { client status "$ID" --json | $PY -c "import json,sys; print(' '.join(sorted({j['recipient']+':'+j.get('acked_via','-') for j in json.load(sys.stdin)['deliveries']})))"; }

# incident serve acknowledges by itself once it has stored the webhook.
i=0
until acked | grep -q "ttanm:signed"; do i=$((i + 1)); [ $i -gt 100 ] && { acked; fail "serve --ack"; }; sleep 0.1; done
ok "incident serve --ack acknowledges after storing"

# A signed acknowledgement with the recipient's own key; again: already acknowledged.
ackas() { "$BIN/incident" ack "$@" --relay "$URL" --relay-key "$T/relay.pub"; }
ackas "$ID" --agency ca-xa --key "$T/ca-xa.sec" >"$T/out" || { cat "$T/out"; fail "incident ack"; }
grep -q "acknowledged" "$T/out" || fail "ack output"
ackas "$ID" --agency ca-xa --key "$T/ca-xa.sec" >"$T/out" || fail "second ack"
grep -q "already acknowledged" "$T/out" || fail "second ack not idempotent"
ok "incident ack: recorded once, idempotent"

# Forged acknowledgements.
ackas "$ID" --agency outsider --key "$T/outsider.sec" --recipient vp-ubnd >"$T/out" 2>&1
expect_eq $? 1 "another agency acknowledging for vp-ubnd"
grep -q "not_recipient\|không thuộc" "$T/out" || { cat "$T/out"; fail "reason for a wrong key"; }
ackas "$ID" --agency vp-ubnd --key "$T/ca-xa.sec" >"$T/out" 2>&1
expect_eq $? 1 "vp-ubnd's name with ca-xa's key"
ackas 00000000000000000000000000000000 --agency ca-xa --key "$T/ca-xa.sec" >"$T/out" 2>&1
expect_eq $? 1 "an acknowledgement for a report never sent to it"
grep -q "not sent to that recipient" "$T/out" || { cat "$T/out"; fail "reason for another report"; }
ASAN_OPTIONS=verify_asan_link_order=0 faketime -f "-1h" "$BIN/incident" ack "$ID" --agency vp-ubnd --key "$T/vp-ubnd.sec" \
	--relay "$URL" --relay-key "$T/relay.pub" >"$T/out" 2>&1
expect_eq $? 1 "a stale (replayed) acknowledgement"
ok "forged acknowledgements refused: wrong key, another agency, report not routed to it, stale"

# An SMS reply "ACK <code>" from the phone, through Kannel's fake SMSC, back to the relay.
PREFIX=$(echo "$ID" | cut -c1-8)
CODE=$(fakesmsc_texts | grep "^+84900000001	.*$PREFIX" | sed -n 's/.*ACK \([0-9a-f]\{8\}\).*/\1/p' | head -1)
[ -n "$CODE" ] || { fakesmsc_texts; fail "no ACK code in the SMS"; }
fakesmsc_send +84900000001 "ACK $CODE"
i=0
until acked | grep -q "vp-ubnd:sms"; do i=$((i + 1)); [ $i -gt 100 ] && { acked; fail "SMS ack"; }; sleep 0.1; done
ok "an SMS reply through Kannel acknowledges"

# The link in vp-ubnd's email acknowledges.
LINK=$($PY - "$T/sink" "$ID2" <<'PYEOF'
import email, os, re, sys
for f in sorted(os.listdir(sys.argv[1])):
    m = email.message_from_binary_file(open(os.path.join(sys.argv[1], f), "rb"))
    if "vp@thachquang.test" not in m.get("X-Rcpt-Args", ""):
        continue
    for part in m.walk():
        if part.get_content_type() == "text/plain":
            t = part.get_payload(decode=True).decode("utf-8")
            m2 = re.search(r"(http://\S+/v1/ack\?r=%s\S+)" % sys.argv[2], t)
            if m2:
                print(m2.group(1))
                sys.exit(0)
PYEOF
)
[ -n "$LINK" ] || fail "no acknowledgement link in the email"
curl -fsS "$LINK" | grep -q "<form method=\"post\"" || fail "the link does not show the acknowledge button"
client status "$ID2" --json | grep -q '"acked_via":"link"' && fail "a plain GET of the link acknowledged (mail scanners would)"
curl -fsS -X POST "$LINK" | grep -q "Đã ghi nhận" || fail "the link's button did not acknowledge"
client status "$ID2" --json | grep -q '"acked_via":"link"' || fail "the link's acknowledgement is not recorded"
curl -fsS "$(echo "$LINK" | sed 's/k=\(.\)/k=0\1/; s/k=\(.\{32\}\).*/k=\1/')" >/dev/null 2>&1 && fail "a forged link token was accepted"
ok "the email's link acknowledges; a wrong token does not"

client status "$ID" >"$T/out"
grep -q "đã xác nhận / acknowledged (signed)" "$T/out" || { cat "$T/out"; fail "status does not show who acknowledged"; }
stop_relay
VKEY=$(sed -n 's/^relayd: vkey: //p' "$T/relayd.log" | head -1)
"$BIN/incident" audit --log "$T/log" --key "$VKEY" --report "$ID" >"$T/audit.out" || { cat "$T/audit.out"; fail "audit with acks"; }
grep -qi "ack" "$T/audit.out" || { cat "$T/audit.out"; fail "audit does not show the acknowledgements"; }
ok "status and the audited log show every acknowledgement"
