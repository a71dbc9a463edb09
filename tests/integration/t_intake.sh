#!/bin/sh
# t_intake.sh: the real relayd and the real incident client, end to end, with every bad input refused.
. "$(dirname "$0")/lib.sh"

# --- keys -------------------------------------------------------------------------------------
keygen relay
[ "$(stat -c %a "$T/relay.sec")" = 600 ] || fail "secret key mode is not 0600"
"$BIN/incident" keygen --out "$T/relay" --no-passphrase >/dev/null 2>"$T/err" && fail "keygen overwrote a key"
grep -q -- "--force" "$T/err" || fail "keygen refusal does not mention --force"
cp "$T/relay.sec" "$T/relay.sec.orig"
"$BIN/incident" keygen --out "$T/relay" --no-passphrase --force >/dev/null || fail "keygen --force"
cmp -s "$T/relay.sec" "$T/relay.sec.orig" && fail "keygen --force did not replace the key"
TBSC_PASSPHRASE="mật khẩu dài" "$BIN/incident" keygen --out "$T/protected" >/dev/null || fail "keygen with passphrase"
grep -q "TBSC secret key" "$T/protected.sec" || fail "protected key file"
ok "keygen: 0600, O_EXCL, --force, passphrase"

enrol unit-a unit
enrol unit-b unit
enrol unit-revoked unit
enrol unit-expired unit 2020-01-01 2021-01-01
"$BIN/incident" registry revoke --registry "$T/registry.ini" --id unit-revoked \
	--fingerprint "$(kid_of "$T/unit-revoked.pub")" >/dev/null || fail "revoke"
"$BIN/incident" registry add --registry "$T/registry.ini" --id unit-c --role unit --pubkey "$T/unit-b.pub" \
	--fingerprint 0000000000000000 >/dev/null 2>&1 && fail "registry accepted a wrong fingerprint"
"$BIN/incident" registry list --registry "$T/registry.ini" | grep -q "THU HỒI / REVOKED" || fail "registry list"
ok "registry: add, revoke, fingerprint check"

# --- configuration check ------------------------------------------------------------------------
write_config
"$BIN/relayd" --config "$T/relay.ini" --check >/dev/null || fail "--check on a good config"
printf '[relay]\nlisten = nowhere\n[limits]\nmax_body = 12\nbogus = 1\n' >"$T/bad.ini"
"$BIN/relayd" --config "$T/bad.ini" --check 2>"$T/err" && fail "--check passed a bad config"
grep -q "bad.ini:4: \[limits\] max_body" "$T/err" || { cat "$T/err"; fail "--check does not name file:line of max_body"; }
grep -q "bad.ini:5: \[limits\] bogus" "$T/err" || fail "--check does not name file:line of bogus"
printf '[agency x]\nrole = wizard\nkey = nonsense 2020-01-01 2021-01-01\n' >"$T/badreg.ini"
sed "s|registry = registry.ini|registry = badreg.ini|" "$T/relay.ini" >"$T/relay2.ini"
"$BIN/relayd" --config "$T/relay2.ini" --check 2>"$T/err" && fail "--check passed a bad registry"
grep -q "badreg.ini:2: role" "$T/err" && grep -q "badreg.ini:3: key" "$T/err" || { cat "$T/err"; fail "registry errors lack file:line"; }
ok "relayd --check names file and line of each error"

# --- outbox while the relay is down, then a report end to end -----------------------------------
client report --no-input --kind notification --category phishing --reporter-name "UBND xã Thạch Quảng" \
	--reporter-address "xã Thạch Quảng" --system-name "Cổng thông tin xã" \
	--detected "2026-11-25 08:30" --description "Thư giả mạo gửi tới cán bộ xã." >"$T/out" 2>&1
rc=$?
expect_eq "$rc" 2 "report with the relay down exits 2"
grep -q "hàng chờ" "$T/out" || fail "no outbox message"
[ "$(ls "$T/outbox-a"/*.env | wc -l)" -eq 1 ] || fail "the report is not in the outbox"
start_relay
client report --flush >"$T/out" 2>&1 || { cat "$T/out"; fail "flush"; }
grep -q "1 đã gửi / sent" "$T/out" || { cat "$T/out"; fail "flush did not send"; }
[ -z "$(ls "$T/outbox-a"/*.env 2>/dev/null)" ] || fail "outbox not empty after flush"
client report --flush >"$T/out" 2>&1 || fail "second flush"
grep -q "0 đã gửi / sent" "$T/out" || fail "second flush sent again"
expect_eq "$(db_count 'SELECT COUNT(*) FROM reports')" 1 "one report stored after retries"
ok "outbox: kept while down, sent once on flush"

client report --no-input --kind initial --file "$ROOT/tests/fixtures/mau03.txt" --drill >"$T/out" 2>&1 || { cat "$T/out"; fail "report from file"; }
grep -q "hợp lệ / valid" "$T/out" || fail "receipt not verified"
ID=$(sed -n 's/.*Mã báo cáo \/ report id: *\([0-9a-f]\{32\}\).*/\1/p' "$T/out" | head -1)
[ -n "$ID" ] || fail "no report id printed"
client status "$ID" >"$T/out" || fail "status"
grep -q "initial" "$T/out" && grep -q "true" "$T/out" || { cat "$T/out"; fail "status content"; }
"$BIN/incident" status "$ID" --relay "$URL" --agency unit-b --key "$T/unit-b.sec" --relay-key "$T/relay.pub" \
	>/dev/null 2>&1
expect_eq $? 1 "another agency asking for the report"
ok "report from a file (Mẫu 03, drill), receipt verified, status for the reporting agency only"

# --- at a terminal, the client asks for the mandatory fields in Vietnamese ------------------------------
$PY "$ROOT/tests/python/interactive.py" "$BIN/incident" report --kind notification --category defacement \
	--relay "$URL" --agency unit-a --key "$T/unit-a.sec" --relay-key "$T/relay.pub" --outbox "$T/outbox-tty" \
	>"$T/out" 2>&1 || { cat "$T/out"; fail "interactive report"; }
ok "at a terminal the client asks, in Vietnamese, for each mandatory field it lacks"

# --- a unit whose clock is wrong --------------------------------------------------------------------
before=$(db_count 'SELECT COUNT(*) FROM reports')
ASAN_OPTIONS=verify_asan_link_order=0 faketime -f "-1h" "$BIN/incident" report --no-input --relay "$URL" --agency unit-a --key "$T/unit-a.sec" \
	--relay-key "$T/relay.pub" --outbox "$T/outbox-slow" --category malware --reporter-name A \
	--reporter-address A --system-name S --detected 2026-11-25 --description "đồng hồ chậm" >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "a unit with a slow clock could not report"; }
grep -q "rewrapping" "$T/out" || { cat "$T/out"; fail "no rewrap on a stale clock"; }
expect_eq "$(db_count 'SELECT COUNT(*) FROM reports')" $((before + 1)) "one report from the slow clock"
ASAN_OPTIONS=verify_asan_link_order=0 faketime -f "+1h" "$BIN/incident" report --no-input --relay "$URL" --agency unit-a --key "$T/unit-a.sec" \
	--relay-key "$T/relay.pub" --outbox "$T/outbox-fast" --category malware --reporter-name A \
	--reporter-address A --system-name S --detected 2026-11-25 --description "đồng hồ nhanh" >"$T/out" 2>&1
expect_eq $? 2 "a unit with a fast clock keeps its report"
grep -q "ahead" "$T/out" || { cat "$T/out"; fail "no clock advice"; }
[ "$(ls "$T/outbox-fast"/*.env | wc -l)" -eq 1 ] || fail "the fast-clock report left the outbox"
expect_eq "$(db_count 'SELECT COUNT(*) FROM reports')" $((before + 1)) "nothing stored from the fast clock"
ok "clock behind: rewrapped on the relay's clock once; clock ahead: kept, never doubled"

# --- hostile inputs -------------------------------------------------------------------------------
before=$(db_count 'SELECT COUNT(*) FROM reports')
$PY "$ROOT/tests/python/hostile.py" "$URL" "$T" || fail "hostile inputs"
after=$(db_count 'SELECT COUNT(*) FROM reports')
# hostile.py files exactly two good reports (the nonce's first use and the one during the stall).
expect_eq "$after" $((before + 2)) "refused requests wrote nothing"
ok "every bad input refused with its reason; nothing written"

# --- the independent Python client ------------------------------------------------------------------
$PY -c "import sys; sys.path.insert(0,'$ROOT/tests/python'); import tbsc; print(bytes(tbsc.read_secret('$T/unit-b.sec')).hex())" >"$T/unit-b.seed"
(cd "$ROOT/tests/python" && $PY crosscheck.py "$URL" "$T/relay.pub" "$T/unit-b.seed" unit-b) || fail "python cross-check"
ok "a report built by python3-msgpack + python3-nacl from the protocol document is accepted"

# --- registry reload on SIGHUP ---------------------------------------------------------------------
"$BIN/incident" registry revoke --registry "$T/registry.ini" --id unit-b >/dev/null || fail "revoke unit-b"
kill -HUP "$RELAY_PID"
sleep 0.5
grep -q "registry reloaded" "$T/relayd.log" || fail "no reload on SIGHUP"
"$BIN/incident" report --no-input --relay "$URL" --agency unit-b --key "$T/unit-b.sec" --relay-key "$T/relay.pub" \
	--outbox "$T/outbox-b" --category malware --reporter-name B --reporter-address B --system-name S \
	--detected 2026-11-25 --description "sau khi thu hồi" >"$T/out" 2>&1
expect_eq $? 1 "report from a revoked agency"
grep -q "agency_revoked" "$T/out" || { cat "$T/out"; fail "revocation reason"; }
ok "SIGHUP reloads the registry; a revoked agency is refused"
stop_relay

# --- rate limit ----------------------------------------------------------------------------------
RATE=60 BURST=5 write_config
start_relay
$PY "$ROOT/tests/python/flood.py" "$URL" "$T" unit-a 20 || fail "flood not limited"
stop_relay
ok "a flood from one agency gets 429 with Retry-After"
