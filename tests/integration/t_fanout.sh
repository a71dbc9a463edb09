#!/bin/sh
# t_fanout.sh: an accepted report reaches every routed recipient by email (smtp-sink), SMS (Kannel with
# its fake SMSC) and HTTPS webhook (`incident serve` with a test CA); the recipient verifies and opens
# it; faults are retried; a SIGKILL mid fan-out loses nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

make_ca
start_sink sink
start_kannel

keygen relay
enrol unit-a unit
ROLES="chu-quan:system_owner vp-ubnd:commune_office vhxh:culture_society ca-xa:commune_police ucsc-xa:commune_irt ttanm:national_centre ucsc-tinh:provincial_irt ca-tinh:provincial_police"
for r in $ROLES; do enrol "${r%%:*}" "${r#*:}"; done

# The national centre receives by HTTPS webhook into `incident serve`.
SERVE_PORT=$(free_port)
"$BIN/incident" serve --listen "127.0.0.1:$SERVE_PORT" --tls-cert "$T/tls/server.crt" --tls-key "$T/tls/server.key" \
	--key "$T/ttanm.sec" --relay-key "$T/relay.pub" --registry "$T/registry.ini" --store "$T/serve" \
	>"$T/serve.log" 2>&1 &
SERVE_PID=$!
SERVER_PIDS="$SERVER_PIDS $SERVE_PID"
wait_port "$SERVE_PORT" || fail "incident serve did not start: $(cat "$T/serve.log")"

{
	for r in $ROLES; do
		id=${r%%:*}
		role=${r#*:}
		echo "[recipient $id]"
		echo "role = $role"
		echo "name = Người nhận $id"
		case $role in national_centre | provincial_irt | provincial_police) echo "group =" ;; *) echo "group = thach-quang" ;; esac
		echo "email = $id@thachquang.test"
		echo "clear = description, system_name, reporter_name"
	done
	echo "phone = +84900000002" # the provincial police also get SMS (GSM-7)
	echo "sms = gsm7"
	echo "[recipient vp-ubnd]"
	echo "phone = +84900000001"
	echo "[recipient ttanm]"
	echo "webhook = https://localhost:$SERVE_PORT/hook"
	echo "[route all]"
	echo "to = *"
	echo "channels = email, webhook"
	echo "[route serious-sms]"
	echo "severity = serious"
	echo "to = commune_office, provincial_police"
	echo "channels = sms"
} >"$T/recipients.ini"

write_config
cat >>"$T/relay.ini" <<CONF
[relay]
recipients = recipients.ini
templates = $ROOT/templates
public_url = http://127.0.0.1:$PORT
[delivery]
retry_floor = 1
retry_ceiling = 2
lifetime = 120
[smtp]
host = 127.0.0.1
port = $SINK_PORT
starttls = 0
from = relay@thachquang.test
[sms]
url = $SENDSMS_URL
username = relay
password = relaypw
from = TBSC
[webhook]
ca_file = $T/tls/ca.crt
CONF
"$BIN/relayd" --config "$T/relay.ini" --check >/dev/null || { "$BIN/relayd" --config "$T/relay.ini" --check; fail "--check"; }
start_relay

# wait_jobs ID N: until the report's N jobs are all delivered (60 s at most)
wait_jobs() {
	i=0
	while :; do
		client status "$1" --json >"$T/status.json" 2>/dev/null
		n=$($PY -c "import json,sys; d=json.load(open('$T/status.json'))['deliveries']; print(sum(j['state']=='delivered' for j in d), len(d))" 2>/dev/null)
		[ "${n%% *}" = "$2" ] && [ "${n#* }" = "$2" ] && return 0
		i=$((i + 1))
		[ $i -gt 600 ] && { cat "$T/status.json"; fail "report $1: deliveries $n, wanted $2"; }
		sleep 0.1
	done
}

report() {
	client report --no-input --kind notification --category ransomware --severity "$1" \
		--reporter-name "Trạm Y tế xã Thạch Quảng" --reporter-address "xã Thạch Quảng" \
		--system-name "Máy tính tiếp đón" --detected "2026-11-25 07:45" --incident-id "$2" \
		--description "Dữ liệu bị mã hóa, có yêu cầu tiền chuộc \"khẩn\"." >"$T/out" 2>&1 || { cat "$T/out"; fail "report"; }
	sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' "$T/out" | head -1
}

# --- one serious report: 8 emails, 1 webhook, 2 SMS --------------------------------------------------
ID=$(report serious SC-FANOUT-1)
wait_jobs "$ID" 11
expect_eq "$(ls "$T/sink" | wc -l)" 8 "emails in smtp-sink"
grep -l "^Subject: =?UTF-8?" "$T/sink"/* | wc -l | grep -qx 8 || fail "subjects not RFC 2047 encoded"
fakesmsc_texts >"$T/sms.txt"
grep -q "^+84900000001	.*Sự cố SC-FANOUT-1" "$T/sms.txt" || { cat "$T/sms.txt"; fail "UCS-2 SMS to the commune office"; }
grep -q "^+84900000002	.*Su co SC-FANOUT-1" "$T/sms.txt" || { cat "$T/sms.txt"; fail "GSM-7 SMS to the provincial police"; }
grep -q "tiền chuộc" "$T/sms.txt" && fail "SMS carries the confidential description"
ls "$T/serve" | grep -q . || fail "incident serve stored nothing"
ok "serious report: 8 emails, 2 SMS (UCS-2 and GSM-7), 1 webhook, all delivered"

# DLRs from the fake SMSC come back and land in the job history and the log.
i=0
until client status "$ID" --json | grep -q "dlr:delivered_to_phone"; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "no DLR recorded"; sleep 0.1
done
ok "SMS delivery reports recorded"

# A person holding only the SMS checks its code: the relay gives the recipient what it sent by SMS.
SMS=$(grep "^+84900000001	" "$T/sms.txt" | head -1 | cut -f2-)
"$BIN/incident" verify --sms "$SMS" --fetch --relay "$URL" --agency vp-ubnd --key "$T/vp-ubnd.sec" \
	--relay-key "$T/relay.pub" >"$T/out" 2>&1 || { cat "$T/out"; fail "SMS code check"; }
FORGED=$(echo "$SMS" | sed 's/\(Mã kiểm tra \)[A-Z2-7]\{10\}/\1AAAAAAAAAA/')
"$BIN/incident" verify --sms "$FORGED" --fetch --relay "$URL" --agency vp-ubnd --key "$T/vp-ubnd.sec" \
	--relay-key "$T/relay.pub" >"$T/out" 2>&1 && fail "a forged SMS code passed"
"$BIN/incident" verify --sms "$SMS" --fetch --relay "$URL" --agency ca-xa --key "$T/ca-xa.sec" \
	--relay-key "$T/relay.pub" >"$T/out" 2>&1 && fail "another recipient fetched vp-ubnd's SMS notification"
ok "the SMS code checks out against the relay-signed notification; a forged code and another recipient do not"

# The recipient's side: verify and open an email; the agency signature is checked end to end.
MAIL=$(grep -l "^X-Rcpt-Args: <ca-tinh@" "$T/sink"/* | head -1)
"$BIN/incident" verify --relay-key "$T/relay.pub" --registry "$T/registry.ini" --email "$MAIL" >"$T/out" ||
	{ cat "$T/out"; fail "incident verify on an email"; }
"$BIN/incident" open --key "$T/ca-tinh.sec" --relay-key "$T/relay.pub" --registry "$T/registry.ini" --email "$MAIL" \
	>"$T/out" || { cat "$T/out"; fail "incident open"; }
grep -q "tiền chuộc" "$T/out" || fail "opened report lacks its description"
"$BIN/incident" open --key "$T/ca-xa.sec" --relay-key "$T/relay.pub" --registry "$T/registry.ini" --email "$MAIL" \
	>/dev/null 2>&1 && fail "another recipient's key opened the notification"
ok "recipient verifies and opens its email; another recipient's key cannot"

# --- an update threads under the first email -----------------------------------------------------------
rm -f "$T/sink"/*
ID2=$(report normal SC-FANOUT-1)
wait_jobs "$ID2" 9
grep -q "^In-Reply-To: <" "$(ls "$T/sink"/* | head -1)" || fail "update not threaded (In-Reply-To)"
ok "an update of the same incident carries In-Reply-To / References"

# --- faults: the mail server down, then back ----------------------------------------------------------
kill -TERM "$SINK_PID"; wait "$SINK_PID" 2>/dev/null
OLD_SINK_PORT=$SINK_PORT
ID3=$(report normal SC-FANOUT-3)
sleep 2
client status "$ID3" --json | grep -q '"state":"deferred"' || fail "no deferral while the mail server is down"
smtp-sink -u nobody -a -d "$T/sink/%Y%m%d%H%M%S." "127.0.0.1:$OLD_SINK_PORT" 100 >"$T/sink2.log" 2>&1 &
SINK_PID=$!
SERVER_PIDS="$SERVER_PIDS $SINK_PID"
wait_jobs "$ID3" 9
ok "mail server down: deferred with backoff, delivered when it is back"

# --- SIGKILL in the middle of a fan-out -------------------------------------------------------------------
for n in 1 2 3 4 5; do report normal "SC-KILL-$n" >>"$T/kill-ids"; done
kill_relay
start_relay
for id in $(cat "$T/kill-ids"); do wait_jobs "$id" 9; done
# At-least-once: the receiver may have been sent one notification twice across the crash, but only
# under the same notification id. It stores each id once: one per report routed to it, no more.
stored=$(ls "$T/serve"/*.tbsc | wc -l)
expect_eq "$stored" "$(db_count "SELECT COUNT(*) FROM jobs WHERE channel='webhook'")" "notifications stored by the webhook receiver"
dropped=$(grep -c "duplicate\|đã nhận trước đó" "$T/serve.log" || true)
ok "SIGKILL mid fan-out: every job completed after restart; $stored notifications stored once each ($dropped duplicates dropped by id)"
stop_relay

# --- a recipient that stays unreachable: undeliverable at the end of its lifetime, the office is told -----
DEAD=$(free_port)
sed -i "s|^webhook = https://localhost:$SERVE_PORT/hook|webhook = https://localhost:$DEAD/hook|" "$T/recipients.ini"
sed -i "s/^lifetime = 120/lifetime = 3/" "$T/relay.ini"
start_relay
rm -f "$T/sink"/*
ID4=$(report normal SC-FANOUT-DEAD)
i=0
until client status "$ID4" --json | $PY -c "import json,sys; d=json.load(sys.stdin)['deliveries']; sys.exit(0 if any(j['channel']=='webhook' and j['state']=='undeliverable' for j in d) else 1)"; do
	i=$((i + 1)); [ $i -gt 150 ] && { client status "$ID4"; fail "the dead webhook never became undeliverable"; }
	sleep 0.1
done
i=0
until $PY - "$T/sink" <<'PYEOF'
import email, email.header, os, sys
d = sys.argv[1]
for f in os.listdir(d):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"))
    subject = str(email.header.make_header(email.header.decode_header(m.get("Subject", ""))))
    if "vp-ubnd@" in m.get("X-Rcpt-Args", "") and "undeliverable" in subject:
        sys.exit(0)
sys.exit(1)
PYEOF
do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the commune office was not told"; sleep 0.1
done
client status "$ID4" | grep -q "undeliverable-notice" || fail "the notice is not in the job history"
stop_relay
ok "an unreachable webhook becomes undeliverable after its lifetime; the commune office is told by email"

# --- the audit sees every delivery ------------------------------------------------------------------
VKEY=$(sed -n 's/^relayd: vkey: //p' "$T/relayd.log" | head -1)
"$BIN/incident" audit --log "$T/log" --key "$VKEY" --report "$ID" >"$T/audit.out" || { cat "$T/audit.out"; fail "audit"; }
grep -c "delivered" "$T/audit.out" | grep -q . || fail "audit shows no delivery"
ok "incident audit verifies the log and shows the report's deliveries"
