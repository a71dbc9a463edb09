#!/bin/sh
# t_escalation.sh: a recipient that never acknowledges is escalated: its other channel, then its backup
# contact, then the commune office, each step logged; a recipient that acknowledges is not. The relay
# and the clients run on an injected clock (libfaketime reading a file), so no test sleeps for minutes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

CLOCK="$T/clock"
echo "+0" >"$CLOCK"
# Every program below runs with its clock read from $CLOCK (re-read at each call).
export FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 ASAN_OPTIONS=verify_asan_link_order=0
FAKETIME_LIB=$(ls /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 2>/dev/null || ls /usr/lib/*/faketime/libfaketimeMT.so.1 | head -1)
[ -n "$FAKETIME_LIB" ] || fail "libfaketime not found (package faketime)"
advance() { echo "+$1" >"$CLOCK"; }

start_sink sink
start_kannel
keygen relay
enrol unit-a unit
enrol ca-xa commune_police
enrol ca-xa-truc commune_police
enrol vp-ubnd commune_office
cat >"$T/recipients.ini" <<RCPT
[recipient ca-xa]
role = commune_police
group = thach-quang
email = ca@thachquang.test
phone = +84900000002
backup = ca-xa-truc
[recipient ca-xa-truc]
role = commune_police
group = thach-quang
email = truc@thachquang.test
drill = no
[recipient vp-ubnd]
role = commune_office
group = thach-quang
email = vp@thachquang.test
phone = +84900000001
[route all]
to = commune_police, commune_office
channels = email
RCPT
write_config
cat >>"$T/relay.ini" <<CONF
[relay]
recipients = recipients.ini
templates = $ROOT/templates
[smtp]
host = 127.0.0.1
port = $SINK_PORT
starttls = 0
[sms]
url = $SENDSMS_URL
username = relay
password = relaypw
[escalation]
serious_minutes = 15
normal_minutes = 240
interval = 1
CONF
# ca-xa-truc is only the backup: it is not routed directly (no route names it... it has role
# commune_police, so make the route skip it by giving it another role).
sed -i '/^\[recipient ca-xa-truc\]/,/^\[/ s/^role = commune_police/role = system_owner/' "$T/recipients.ini"
LD_PRELOAD="$FAKETIME_LIB" start_relay

LD_PRELOAD="$FAKETIME_LIB" client report --no-input --category intrusion --severity serious --reporter-name A \
	--reporter-address A --system-name S --detected 2026-11-25 --description "chiếm quyền" >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail report; }
ID=$(sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' "$T/out" | head -1)
LD_PRELOAD="$FAKETIME_LIB" "$BIN/incident" ack "$ID" --agency vp-ubnd --key "$T/vp-ubnd.sec" --relay "$URL" \
	--relay-key "$T/relay.pub" >/dev/null || fail "vp-ubnd ack"
jobs_of() { LD_PRELOAD="$FAKETIME_LIB" client status "$ID" --json | $PY -c "import json,sys; print(' '.join(sorted(j['recipient']+'/'+j['channel'] for j in json.load(sys.stdin)['deliveries'])))"; }
wait_jobs_like() {
	i=0
	until jobs_of | grep -q "$1"; do i=$((i + 1)); [ $i -gt 60 ] && { jobs_of; fail "$2"; }; sleep 0.1; done
}
expect_eq "$(jobs_of)" "ca-xa/email vp-ubnd/email" "jobs before any escalation"

advance 10m
sleep 2
expect_eq "$(jobs_of)" "ca-xa/email vp-ubnd/email" "no escalation before 15 minutes"
advance 16m
wait_jobs_like "ca-xa/sms" "step 1: ca-xa's other channel (SMS)"
ok "15 min without acknowledgement (serious): repeated on ca-xa's other channel"
advance 31m
wait_jobs_like "ca-xa-truc/email" "step 2: the backup contact"
ok "30 min: ca-xa's backup contact ca-xa-truc"
advance 46m
wait_jobs_like "vp-ubnd/sms" "step 3: the commune office"
ok "45 min: the commune office"
advance 120m
sleep 2
n=$(db_count "SELECT COUNT(*) FROM escalations WHERE report_id='$ID'")
expect_eq "$n" 3 "three escalation steps, no more"
expect_eq "$(db_count "SELECT COUNT(*) FROM escalations WHERE recipient='vp-ubnd'")" 0 "vp-ubnd acknowledged: never escalated"
LD_PRELOAD="$FAKETIME_LIB" client status "$ID" | grep -q "escalated from ca-xa" || fail "status does not show the escalation"
stop_relay
VKEY=$(sed -n 's/^relayd: vkey: //p' "$T/relayd.log" | head -1)
unset LD_PRELOAD
"$BIN/incident" audit --log "$T/log" --key "$VKEY" --report "$ID" >"$T/audit.out" || { cat "$T/audit.out"; fail audit; }
grep -c "escalation step" "$T/audit.out" | grep -qx 3 || { cat "$T/audit.out"; fail "audit does not show 3 steps"; }
ok "each step is in the transparency log; the audit verifies and shows them"
