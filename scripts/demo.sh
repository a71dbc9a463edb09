#!/bin/sh
# demo.sh: the relay's main job on its embedded defaults, on this machine, for a demo commune.
# Keys for the eight recipients and three units of the Thạch Quảng plan, the relay started with no
# configuration file, a report in Vietnamese filed by a unit, its receipt, status and stored row, the
# transparency log checked; everything it starts is stopped at the end.
set -eu
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /tmp/tbsc-demo-XXXXXX)
PID=""
# The local servers the demo's notifications go to (helpers shared with the integration tests).
T=$D
PY=/usr/bin/python3
fail() { echo "demo: $*" >&2; exit 2; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	echo "(thư mục demo / demo directory: $D)"
}
. "$ROOT/tests/integration/servers.sh"
trap 'set +e; stop_servers; cleanup' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
kid_of() { sed -n 's/^untrusted comment: TBSC public key \([0-9a-f]*\).*/\1/p' "$1"; }

if curl -fsS -m 1 http://127.0.0.1:8470/healthz >/dev/null 2>&1 || ss -ltn 2>/dev/null | grep -q '127.0.0.1:8470 '; then
	echo "Cổng 8470 đang bận; dừng relay khác trước / port 8470 is busy: stop the other relay first" >&2
	exit 2
fi

say "1. Khóa của relay và của xã Thạch Quảng / keys for the relay and the commune (8 người nhận + 1 cán bộ trực, 3 đơn vị)"
cd "$D"
TBSC_PASSPHRASE= "$BIN/incident" keygen --out relay --no-passphrase --comment "relay tỉnh Thanh Hóa" | head -1
while IFS='|' read -r id role name; do
	TBSC_PASSPHRASE= "$BIN/incident" keygen --out "$id" --no-passphrase --comment "$name" >/dev/null
	"$BIN/incident" registry add --registry registry.ini --id "$id" --role "$role" --name "$name" \
		--group thach-quang --pubkey "$id.pub" --fingerprint "$(kid_of "$id.pub")" >/dev/null
done <<'AGENCIES'
chu-quan-httt|system_owner|Chủ quản hệ thống thông tin (UBND xã Thạch Quảng)
vp-hdnd-ubnd|commune_office|Văn phòng HĐND-UBND xã Thạch Quảng
phong-vhxh|culture_society|Phòng Văn hóa - Xã hội xã Thạch Quảng
cong-an-xa|commune_police|Công an xã Thạch Quảng
doi-ucsc-xa|commune_irt|Đội ứng cứu sự cố an ninh mạng xã Thạch Quảng
ttanm-quoc-gia|national_centre|Trung tâm An ninh mạng quốc gia
doi-ucsc-tinh|provincial_irt|Đội ứng cứu sự cố an ninh mạng tỉnh Thanh Hóa
doi-ucsc-tinh-truc|provincial_irt|Cán bộ trực, Đội ứng cứu sự cố tỉnh Thanh Hóa
cong-an-tinh|provincial_police|Công an tỉnh Thanh Hóa
tram-y-te|unit|Trạm Y tế xã Thạch Quảng
truong-th|unit|Trường Tiểu học Thạch Quảng
mot-cua|unit|Bộ phận Một cửa UBND xã Thạch Quảng
AGENCIES
"$BIN/incident" registry list --registry registry.ini | cut -c1-120

say "2. Máy chủ thư, cổng SMS và máy nhận webhook cục bộ / local mail server, SMS gateway and webhook receiver"
make_ca
start_sink mail
start_kannel
SERVE_PORT=$(free_port)
"$BIN/incident" serve --listen "127.0.0.1:$SERVE_PORT" --tls-cert tls/server.crt --tls-key tls/server.key \
	--key ttanm-quoc-gia.sec --relay-key relay.pub --registry registry.ini --store webhook-inbox \
	--ack --relay http://127.0.0.1:8470 >serve.log 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
wait_port "$SERVE_PORT" || fail "incident serve did not start"
echo "   smtp-sink 127.0.0.1:$SINK_PORT, Kannel sendsms $SENDSMS_URL (fake SMSC), incident serve https://localhost:$SERVE_PORT"
while IFS='|' read -r id role group email phone; do
	printf '[recipient %s]\nrole = %s\ngroup = %s\nemail = %s\nclear = description, system_name, reporter_name, measures\n' \
		"$id" "$role" "$group" "$email"
	[ -n "$phone" ] && printf 'phone = %s\n' "$phone"
	[ "$id" = ttanm-quoc-gia ] && printf 'webhook = https://localhost:%s/hook\n' "$SERVE_PORT"
	:
done >recipients.ini <<'RECIPIENTS'
chu-quan-httt|system_owner|thach-quang|chuquan@thachquang.gov.vn|
vp-hdnd-ubnd|commune_office|thach-quang|vanphong@thachquang.gov.vn|+84912000001
phong-vhxh|culture_society|thach-quang|vhxh@thachquang.gov.vn|
cong-an-xa|commune_police|thach-quang|congan@thachquang.gov.vn|+84912000002
doi-ucsc-xa|commune_irt|thach-quang|ucsc@thachquang.gov.vn|
ttanm-quoc-gia|national_centre||ir@ttanm.gov.vn|
cong-an-tinh|provincial_police||pa05@thanhhoa.gov.vn|+84912000003
doi-ucsc-tinh|provincial_irt||ucsc@thanhhoa.gov.vn|+84912000004
RECIPIENTS
sed -i 's/^group = $/group =/' recipients.ini
# The provincial team's on-duty officer is only its backup: reached when the team does not acknowledge.
cat >>recipients.ini <<'STANDBY'
backup = doi-ucsc-tinh-truc
[recipient doi-ucsc-tinh-truc]
role = provincial_irt
name = Cán bộ trực, Đội ứng cứu sự cố tỉnh
email = truc.ucsc@thanhhoa.gov.vn
standby = yes
STANDBY
cat >>recipients.ini <<'ROUTES'
[route moi-bao-cao]
to = *
channels = email, webhook
[route nghiem-trong-sms]
severity = serious
to = commune_office, commune_police, provincial_police
channels = sms
ROUTES
ln -s "$ROOT/templates" templates
# The relay's embedded defaults, plus where this machine's local servers listen.
cat >relay.ini <<CONF
[relay]
recipients = recipients.ini
[smtp]
host = 127.0.0.1
port = $SINK_PORT
starttls = 0
from = tbsc-relay@thanhhoa.gov.vn
[sms]
url = $SENDSMS_URL
username = relay
password = relaypw
[webhook]
ca_file = tls/ca.crt
[escalation]
interval = 1
CONF
echo "   8 người nhận, 2 tuyến / 8 recipients, 2 routes (recipients.ini)"

say "3. Relay chạy với cấu hình nhúng sẵn và các máy chủ trên / the relay on its embedded defaults (127.0.0.1:8470)"
"$BIN/relayd" --config relay.ini --check
# The relay's clock can be moved forward to show escalation without waiting 15 minutes
# (libfaketime reads the offset from the file "clock"; it starts at +0, the real time).
echo "+0" >clock
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
FAKETIME_TIMESTAMP_FILE=$D/clock FAKETIME_NO_CACHE=1 LD_PRELOAD=$FAKETIME_LIB "$BIN/relayd" --config relay.ini >relayd.log 2>&1 &
PID=$!
i=0
until curl -fsS http://127.0.0.1:8470/healthz >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat relayd.log; exit 2; }
	sleep 0.1
done
head -3 relayd.log

say "4. Trạm Y tế gửi báo cáo ban đầu (Mẫu 03), mức nghiêm trọng / the health station files a serious initial report"
sed -n '2,12p' "$ROOT/tests/fixtures/mau03.txt"
echo "   ..."
"$BIN/incident" report --kind initial --file "$ROOT/tests/fixtures/mau03.txt" --severity serious --no-input \
	--agency tram-y-te --key tram-y-te.sec --relay-key relay.pub --outbox outbox | tee report.out
ID=$(sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' report.out | head -1)

say "5. Chuyển tới 8 người nhận / fan-out to the eight recipients"
i=0
until "$BIN/incident" status "$ID" --json --agency tram-y-te --key tram-y-te.sec --relay-key relay.pub 2>/dev/null |
	$PY -c 'import json,sys; d=json.load(sys.stdin)["deliveries"]; sys.exit(0 if d and all(j["state"]=="delivered" for j in d) else 1)'; do
	i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
done
"$BIN/incident" status "$ID" --agency tram-y-te --key tram-y-te.sec --relay-key relay.pub | grep -v "^        "
echo
echo "   Thư trong smtp-sink / mail received: $(ls mail | wc -l)"
grep -h "^Subject:" mail/* | head -1 | $PY -c 'import sys, email.header; print("   Subject:", str(email.header.make_header(email.header.decode_header(sys.stdin.read()[8:].strip()))))'
echo "   SMS điện thoại nhận được / what the phones received (fakesmsc):"
fakesmsc_texts | sed 's/^/     /'
echo "   Webhook đã lưu / webhook receiver stored: $(ls webhook-inbox | wc -l) tệp / files"

say "6. Người nhận kiểm tra và mở thông báo / a recipient verifies and opens its notification"
MAIL=$(grep -l "^X-Rcpt-Args: <pa05@thanhhoa.gov.vn>" mail/* | head -1)
"$BIN/incident" verify --relay-key relay.pub --registry registry.ini --email "$MAIL"
"$BIN/incident" open --key cong-an-tinh.sec --relay-key relay.pub --registry registry.ini --email "$MAIL" | sed -n "1,2p;/Mô tả/,/^  [A-ZĐ]/p"

say "7. Xác nhận đã nhận / acknowledgements"
echo "   Máy nhận webhook của TTANM tự xác nhận / the national centre's webhook receiver acknowledged by itself."
for who in chu-quan-httt vp-hdnd-ubnd phong-vhxh cong-an-xa doi-ucsc-xa cong-an-tinh; do
	"$BIN/incident" ack "$ID" --agency "$who" --key "$who.sec" --relay-key relay.pub | sed 's/^/   /'
done
echo "   doi-ucsc-tinh (Đội ứng cứu tỉnh) không xác nhận / never acknowledges."

say "8. Leo thang khi không xác nhận / escalation when no acknowledgement comes (serious: 15 min)"
for step in 16 31 46; do
	echo "+${step}m" >clock
	echo "   -- đồng hồ relay +$step phút / relay clock +$step min"
	i=0
	until grep -q "bước / step $(( (step - 1) / 15 ))" relayd.log 2>/dev/null || [ $i -gt 50 ]; do i=$((i + 1)); sleep 0.1; done
	grep "leo thang / escalated" relayd.log | tail -1 | sed 's/^relayd: /   /'
done
sleep 1
echo "+0" >clock
"$BIN/incident" status "$ID" --agency tram-y-te --key tram-y-te.sec --relay-key relay.pub | grep -E "^    [a-z]" | sed 's/lần thử \/ attempts [0-9]*, //'

say "9. Báo cáo đã lưu bền vững (nội dung vẫn niêm phong) / the stored report (content still sealed)"
/usr/bin/python3 - "$D/relay.db" "$ID" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
row = c.execute("SELECT id, agency, incident_id, kind, category, severity, drill, received_ms, log_index,"
                " length(envelope) FROM reports WHERE id=?", (sys.argv[2],)).fetchone()
for k, v in zip(("id", "agency", "incident_id", "kind", "category", "severity", "drill", "received_ms",
                 "log_index", "envelope_bytes (sealed)"), row):
    print("   %-24s %s" % (k, v))
PY

say "10. Nhật ký minh bạch: kiểm toán độc lập / the transparency log, audited"
sleep 1.2
cat log/checkpoint
if "$BIN/incident" audit --help >/dev/null 2>&1; then
	VKEY=$(sed -n 's/^relayd: vkey: //p' relayd.log | head -1)
	if [ -n "$VKEY" ]; then "$BIN/incident" audit --log http://127.0.0.1:8470 --key "$VKEY" --report "$ID" || true; fi
fi

say "11. Dừng mọi thứ / stopping everything"
kill -TERM "$PID"
wait "$PID" || true
PID=""
tail -1 relayd.log
echo "Xong / done."
