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
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	echo "(thư mục demo / demo directory: $D)"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
kid_of() { sed -n 's/^untrusted comment: TBSC public key \([0-9a-f]*\).*/\1/p' "$1"; }

if curl -fsS -m 1 http://127.0.0.1:8470/healthz >/dev/null 2>&1 || ss -ltn 2>/dev/null | grep -q '127.0.0.1:8470 '; then
	echo "Cổng 8470 đang bận; dừng relay khác trước / port 8470 is busy: stop the other relay first" >&2
	exit 2
fi

say "1. Khóa của relay và của xã Thạch Quảng / keys for the relay and the commune"
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
cong-an-tinh|provincial_police|Công an tỉnh Thanh Hóa
tram-y-te|unit|Trạm Y tế xã Thạch Quảng
truong-th|unit|Trường Tiểu học Thạch Quảng
mot-cua|unit|Bộ phận Một cửa UBND xã Thạch Quảng
AGENCIES
"$BIN/incident" registry list --registry registry.ini | cut -c1-120

say "2. Relay chạy với cấu hình nhúng sẵn / the relay on its embedded defaults (127.0.0.1:8470)"
"$BIN/relayd" --check
"$BIN/relayd" >relayd.log 2>&1 &
PID=$!
i=0
until curl -fsS http://127.0.0.1:8470/healthz >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat relayd.log; exit 2; }
	sleep 0.1
done
head -3 relayd.log

say "3. Trạm Y tế gửi báo cáo ban đầu (Mẫu 03) / the health station files an initial report"
sed -n '2,12p' "$ROOT/tests/fixtures/mau03.txt"
echo "   ..."
"$BIN/incident" report --kind initial --file "$ROOT/tests/fixtures/mau03.txt" --no-input \
	--agency tram-y-te --key tram-y-te.sec --relay-key relay.pub --outbox outbox | tee report.out
ID=$(sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' report.out | head -1)

say "4. Tình trạng báo cáo (hỏi có chữ ký) / report status (signed request)"
"$BIN/incident" status "$ID" --agency tram-y-te --key tram-y-te.sec --relay-key relay.pub

say "5. Báo cáo đã lưu bền vững (nội dung vẫn niêm phong) / the stored report (content still sealed)"
/usr/bin/python3 - "$D/relay.db" "$ID" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
row = c.execute("SELECT id, agency, incident_id, kind, category, severity, drill, received_ms, log_index,"
                " length(envelope) FROM reports WHERE id=?", (sys.argv[2],)).fetchone()
for k, v in zip(("id", "agency", "incident_id", "kind", "category", "severity", "drill", "received_ms",
                 "log_index", "envelope_bytes (sealed)"), row):
    print("   %-24s %s" % (k, v))
PY

say "6. Nhật ký minh bạch / the transparency log"
sleep 1.2
cat log/checkpoint
if "$BIN/incident" audit --help >/dev/null 2>&1; then
	VKEY=$(sed -n 's/^relayd: vkey: //p' relayd.log | head -1)
	if [ -n "$VKEY" ]; then "$BIN/incident" audit --log http://127.0.0.1:8470 --key "$VKEY" --report "$ID" || true; fi
fi

say "7. Dừng relay / stopping the relay"
kill -TERM "$PID"
wait "$PID" || true
PID=""
tail -1 relayd.log
echo "Xong / done."
