#!/bin/sh
# t_summary.sh: the Mẫu 05 summary end to end: reports filed with the real client, GET /v1/summary on the
# real relayd, `incident summary` fetching and verifying, offline --verify, edits and other keys refused,
# who may see which group, and an independent check of the signed note in Python (PyNaCl).
. "$(dirname "$0")/lib.sh"

if ! "$BIN/incident" summary --help >/dev/null 2>&1; then
	echo "SKIP: incident summary is not wired into the incident dispatch table yet"
	exit 0
fi

# The current period in Asia/Ho_Chi_Minh: the relay stamps reports with its own clock.
YEAR=$(TZ=Asia/Ho_Chi_Minh date +%Y)
MONTH=$(TZ=Asia/Ho_Chi_Minh date +%m)
if [ "${MONTH#0}" -le 6 ]; then HALF=H1; else HALF=H2; fi
PERIOD="$YEAR$HALF"

keygen relay
enrol unit-a unit
enrol ubnd commune_office
keygen unit-x
"$BIN/incident" registry add --registry "$T/registry.ini" --id unit-x --name "Trường xã Khác" --role unit \
	--group xa-khac --pubkey "$T/unit-x.pub" --fingerprint "$(kid_of "$T/unit-x.pub")" >/dev/null || fail "enrol unit-x"
keygen cong-an-tinh
"$BIN/incident" registry add --registry "$T/registry.ini" --id cong-an-tinh --name "Công an tỉnh" \
	--role provincial_police --group tinh --pubkey "$T/cong-an-tinh.pub" \
	--fingerprint "$(kid_of "$T/cong-an-tinh.pub")" >/dev/null || fail "enrol cong-an-tinh"
write_config
sed -i "s|^\[relay\]\$|[relay]\ntemplates = $ROOT/templates|" "$T/relay.ini"
start_relay

# run_as AGENCY ARGS: the incident tool with that agency's key
run_as() {
	who=$1
	shift
	"$BIN/incident" "$@" --relay "$URL" --agency "$who" --key "$T/$who.sec" --relay-key "$T/relay.pub" \
		--outbox "$T/outbox-$who"
}
notify() { # AGENCY INCIDENT CATEGORY [extra options]
	who=$1 inc=$2 cat=$3
	shift 3
	run_as "$who" report --no-input --kind notification --incident-id "$inc" --category "$cat" \
		--reporter-name "Đơn vị $who" --reporter-address "xã Thạch Quảng" --system-name "Máy tính" \
		--detected "$YEAR-$MONTH-01 08:00" --description "Sự cố thử nghiệm" "$@" >"$T/out" 2>&1 ||
		{ cat "$T/out"; fail "notification $inc from $who"; }
}
closing() { # AGENCY INCIDENT CATEGORY [extra options]
	who=$1 inc=$2 cat=$3
	shift 3
	run_as "$who" report --no-input --kind closing --incident-id "$inc" --category "$cat" \
		--reporter-name "Đơn vị $who" --reporter-address "xã Thạch Quảng" --reporter-phone "0237 3870 123" \
		--reporter-email "don-vi@example.vn" --operator "Đơn vị $who" --detected "$YEAR-$MONTH-01 08:00" \
		--result "Đã khôi phục" --response-ended "$YEAR-$MONTH-01 12:00" "$@" >"$T/out" 2>&1 ||
		{ cat "$T/out"; fail "closing $inc from $who"; }
}

notify unit-a SC-1 phishing
closing unit-a SC-1 phishing --handling other_org --estimated-loss 1500000 \
	--supporters "Đội ứng cứu sự cố tỉnh, Công ty \"An Toàn\""
notify unit-a SC-2 malware
notify ubnd SC-3 ransomware
closing ubnd SC-3 ransomware --handling foreign_org --estimated-loss 20000000 --supporters "Kaspersky Lab"
notify unit-a SC-DRILL ransomware --drill
closing unit-a SC-DRILL ransomware --drill --handling coordinator --estimated-loss 999
notify unit-x SC-1 dos
ok "reports filed: two agencies of thach-quang, a drill, another commune"

# --- the unit's own group ------------------------------------------------------------------------
cd "$T" || fail "cd"
run_as unit-a summary --period "$PERIOD" >"$T/out" 2>&1 || { cat "$T/out"; fail "incident summary"; }
cd "$ROOT" || fail "cd"
for f in csv html sig; do
	[ -s "$T/mau05-$PERIOD-thach-quang.$f" ] || { cat "$T/out"; fail "default output mau05-$PERIOD-thach-quang.$f missing"; }
done
grep -q "chữ ký của relay hợp lệ" "$T/out" || { cat "$T/out"; fail "no verified message"; }
grep -q "Tấn công giả mạo" "$T/out" || { cat "$T/out"; fail "the table is not printed"; }

run_as unit-a summary --period "$PERIOD" --out "$T/s" >"$T/out" 2>&1 || { cat "$T/out"; fail "incident summary --out"; }
CSV="$T/s.csv"
grep -q "^$PERIOD,thach-quang,2,phishing,Tấn công giả mạo,Spoofing / phishing,1,0,1,0,0,0,0,1500000,\"Công ty \"\"An Toàn\"\"; Đội ứng cứu sự cố tỉnh\"" "$CSV" ||
	{ cat "$CSV"; fail "phishing row"; }
grep -q "^$PERIOD,thach-quang,3,malware,.*,1,0,0,0,0,0,1,0," "$CSV" || { cat "$CSV"; fail "malware row (not closed)"; }
grep -q "^$PERIOD,thach-quang,6,ransomware,.*,1,0,0,1,0,0,0,20000000,Kaspersky Lab" "$CSV" ||
	{ cat "$CSV"; fail "ransomware row: the drill must not count"; }
grep -q "^$PERIOD,thach-quang,1,dos,.*,0,0,0,0,0,0,0,0," "$CSV" || { cat "$CSV"; fail "another commune's incident counted"; }
grep -q "^$PERIOD,thach-quang,total,attack_total,Tổng số,Total,3,0,1,1,0,0,1,21500000," "$CSV" ||
	{ cat "$CSV"; fail "total row"; }
grep -q "BÁO CÁO TỔNG HỢP 06 THÁNG VỀ HOẠT ĐỘNG TIẾP NHẬN VÀ XỬ LÝ SỰ CỐ" "$T/s.html" || fail "HTML title"
grep -q "Tên cơ quan/tổ chức: <b>Đơn vị ubnd</b>" "$T/s.html" || fail "HTML names the commune office"
grep -q "Công ty &quot;An Toàn&quot;" "$T/s.html" || fail "HTML escaping"
grep -q "Không tính 1 sự cố diễn tập" "$T/s.html" || fail "HTML drill note"
head -1 "$T/s.sig" | grep -qx "tbsc-summary-v1" || fail "signature format"
ok "incident summary: CSV, HTML and signature verified and written; counts per incident, drill excluded"

# --- offline verification ------------------------------------------------------------------------
"$BIN/incident" summary --verify "$T/s" --relay-key "$T/relay.pub" >"$T/out" 2>&1 || { cat "$T/out"; fail "--verify"; }
grep -q "$T/s.csv *hợp lệ / valid" "$T/out" && grep -q "$T/s.html *hợp lệ / valid" "$T/out" || { cat "$T/out"; fail "--verify output"; }
cp "$T/s.csv" "$T/s.csv.orig"
sed -i 's/1500000/1600000/' "$T/s.csv"
"$BIN/incident" summary --verify "$T/s" --relay-key "$T/relay.pub" >"$T/out" 2>&1
expect_eq $? 1 "--verify of an edited CSV"
grep -q "KHÔNG HỢP LỆ" "$T/out" || { cat "$T/out"; fail "no NOT VALID line"; }
cp "$T/s.csv.orig" "$T/s.csv"
printf ' ' >>"$T/s.html"
"$BIN/incident" summary --verify "$T/s" --relay-key "$T/relay.pub" >/dev/null 2>&1
expect_eq $? 1 "--verify of an edited HTML"
"$BIN/incident" summary --verify "$T/mau05-$PERIOD-thach-quang" --relay-key "$T/unit-a.pub" >/dev/null 2>&1
expect_eq $? 1 "--verify with another key"
rm "$T/mau05-$PERIOD-thach-quang.html"
"$BIN/incident" summary --verify "$T/mau05-$PERIOD-thach-quang" --relay-key "$T/relay.pub" >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "--verify with the HTML absent"; }
grep -q "không có / absent" "$T/out" || fail "absent file not reported"
ok "--verify offline: valid files pass; an edited CSV or HTML, or another key, is refused"

# --- an independent check of the signed note (C2SP signed note, Ed25519) -----------------------------
$PY - "$T/relay.pub" "$T/s.sig" "$T/s.csv" <<'EOF' || fail "independent signature check"
import base64, hashlib, struct, sys
import nacl.signing
blob = base64.b64decode(open(sys.argv[1]).read().splitlines()[-1])
pk = blob[11:43]
note = open(sys.argv[2], "rb").read()
text, sigs = note.rsplit(b"\n\n", 1)
text += b"\n"
name = b"tbsc-summary"
keyid = hashlib.sha256(name + b"\n\x01" + pk).digest()[:4]
line = [l for l in sigs.decode().splitlines() if l.startswith("\u2014 tbsc-summary ")][0]
raw = base64.b64decode(line.split(" ")[2])
assert raw[:4] == keyid, "key id"
nacl.signing.VerifyKey(pk).verify(text, raw[4:])
fields = dict(l.split(" ", 1) for l in text.decode().splitlines()[1:])
assert fields["csv"] == hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest(), "csv hash"
print("python: signed note verified, CSV hash matches")
EOF
ok "the signature checks with PyNaCl from the documented format"

# --- who may see what ----------------------------------------------------------------------------
run_as unit-a summary --period "$PERIOD" --group xa-khac --out "$T/other" >"$T/out" 2>&1
expect_eq $? 1 "a unit asking for another commune"
grep -q "403" "$T/out" || { cat "$T/out"; fail "not a 403"; }
run_as unit-a summary --period "$PERIOD" --group unit-a --out "$T/self" >/dev/null 2>&1 || fail "a unit asking for itself"
grep -q "^$PERIOD,unit-a,total,attack_total,Tổng số,Total,2," "$T/self.csv" || { cat "$T/self.csv"; fail "the unit's own summary"; }
run_as cong-an-tinh summary --period "$PERIOD" --out "$T/all" >/dev/null 2>&1 || fail "provincial police, every agency"
grep -q "^$PERIOD,\*,1,dos,.*,1,0,0,0,0,0,1,0," "$T/all.csv" || { cat "$T/all.csv"; fail "the province sees every commune"; }
grep -q "^$PERIOD,\*,total,attack_total,Tổng số,Total,4," "$T/all.csv" || { cat "$T/all.csv"; fail "province total"; }
run_as cong-an-tinh summary --period "$PERIOD" --group xa-khac --out "$T/xk" >/dev/null 2>&1 || fail "provincial police, one group"
grep -q "^$PERIOD,xa-khac,total,attack_total,Tổng số,Total,1," "$T/xk.csv" || { cat "$T/xk.csv"; fail "group xa-khac"; }
run_as unit-a summary --period "${YEAR}H3" >/dev/null 2>&1
expect_eq $? 2 "a malformed period"
code=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/v1/summary?period=$PERIOD&format=csv")
expect_eq "$code" 401 "GET /v1/summary without Authorization"
grep -q '"error":"no_auth"' "$T/body" || fail "401 body"
ok "a unit sees its own group or itself, the province any group or all; unsigned requests refused"

# --- the HTTP API from docs/summary.md, with an independent client --------------------------------
$PY - "$URL" "$T/unit-a.sec" "$PERIOD" "$ROOT/tests/python" <<'EOF' || fail "GET /v1/summary from the documentation"
import json, struct, sys, time, urllib.error, urllib.request
sys.path.insert(0, sys.argv[4])
import tbsc
url, sk, period = sys.argv[1], tbsc.read_secret(sys.argv[2]), sys.argv[3]
kid = tbsc.key_id(bytes(sk.verify_key))

def get(query, signed=None):
    path = "/v1/summary?" + query
    ts = int(time.time())
    msg = (b"tbsc-request-v1" + tbsc.u8str("unit-a") + kid + tbsc.u8str("GET")
           + struct.pack(">I", len((signed or path).encode())) + (signed or path).encode() + struct.pack(">Q", ts))
    auth = "TBSC agency=unit-a,kid=%s,ts=%d,sig=%s" % (kid.hex(), ts, tbsc.base64.b64encode(sk.sign(msg).signature).decode())
    req = urllib.request.Request(url + path, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

st, h, body = get("period=%s&format=csv" % period)
assert st == 200 and h["Content-Type"].startswith("text/csv"), (st, body)
assert body.startswith(b"\xef\xbb\xbfperiod,scope,row,") and body.count(b"\r\n") == 16, body[:80]
assert 'filename="mau05-%s-thach-quang.csv"' % period in h["Content-Disposition"], h["Content-Disposition"]
now_ms = int(time.time() * 1000)
st, _, body = get("period=%s&format=csv&as_of=%d" % (period, now_ms + 3600 * 1000))
assert st == 400 and json.loads(body)["error"] == "bad_request", (st, body)
st, _, body = get("period=%s&format=csv&as_of=1" % period)
assert st == 200 and (",total,attack_total,Tổng số,Total,0,".encode() in body), body
st, _, body = get("period=%s&format=pdf" % period)
assert st == 400, (st, body)
st, _, body = get("period=%sH3&format=csv" % period[:4])
assert st == 400, (st, body)
st, _, body = get("format=csv&period=%s" % period)
assert st == 401 and json.loads(body)["error"] == "bad_signature", (st, body)
st, _, body = get("period=%s&format=csv&x=1" % period)
assert st == 401, (st, body)
st, _, body = get("period=%s&format=html" % period, signed="/v1/summary?period=%s&format=csv" % period)
assert st == 401, (st, body)
st, h, body = get("period=%s&format=sig" % period)
assert st == 200 and body.startswith(b"tbsc-summary-v1\nperiod %s\nscope thach-quang\nas-of " % period.encode()), body
print("python: GET /v1/summary as documented: 200, 400 (as_of ahead, format, period), 401 (order, extra, wrong path)")
EOF
ok "GET /v1/summary as docs/summary.md describes it (independent client)"

# --- the annual summary and the other half-year ---------------------------------------------------
run_as unit-a summary --period "$YEAR" --out "$T/year" >/dev/null 2>&1 || fail "annual summary"
grep -q "BÁO CÁO TỔNG HỢP 01 NĂM" "$T/year.html" || fail "annual title"
grep -q "^$YEAR,thach-quang,total,attack_total,Tổng số,Total,3," "$T/year.csv" || { cat "$T/year.csv"; fail "annual total"; }
if [ "$HALF" = H1 ]; then OTHER="${YEAR}H2"; else OTHER="${YEAR}H1"; fi
run_as unit-a summary --period "$OTHER" --out "$T/other-half" >/dev/null 2>&1 || fail "the other half-year"
grep -q "^$OTHER,thach-quang,total,attack_total,Tổng số,Total,0," "$T/other-half.csv" || fail "the other half-year is empty"
ok "annual summary (01 NĂM) and the other half-year"

stop_relay
