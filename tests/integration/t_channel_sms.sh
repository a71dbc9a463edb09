#!/bin/sh
# t_channel_sms.sh: the SMS channel against a real Kannel (bearerbox + smsbox, smsc = fake) with
# fakesmsc printing what the phones receive: Vietnamese UCS-2 and unaccented GSM-7 text intact,
# delivery reports reaching a local HTTP listener, the gateway down (TEMPORARY) and back (OK),
# a wrong password (PERMANENT); and the generic HTTP profile against the same listener.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/channel_lib.sh"

FAKESMSC=/usr/lib/kannel/test/fakesmsc
command -v bearerbox >/dev/null && command -v smsbox >/dev/null && [ -x "$FAKESMSC" ] ||
	fail "kannel and kannel-extras are needed (bearerbox, smsbox, $FAKESMSC)"

K=$T/kannel
mkdir -p "$K/store" "$T/listener"
ADMIN=$(free_port)
SMSBOX=$(free_port)
FAKE=$(free_port)
SENDSMS=$(free_port)
LISTEN=$(free_port)
cat >"$K/kannel.conf" <<EOF
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
access-log = "$K/bearerbox-access.log"
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
access-log = "$K/smsbox-access.log"

group = sendsms-user
username = relay
password = relay-pw
max-messages = 10
concatenation = true
EOF
ST="http://127.0.0.1:$ADMIN/status.txt?password=statuspw"

$PY "$ROOT/tests/tools/test_receiver.py" "$LISTEN" "$T/listener" >"$T/listener.log" 2>&1 &
track $!
wait_port "$LISTEN" || fail "DLR listener did not start"

bearerbox "$K/kannel.conf" >"$K/bearerbox.out" 2>&1 &
BB_PID=$!
track $BB_PID
for _ in $(seq 100); do
	curl -sf -o /dev/null "$ST" && break
	kill -0 $BB_PID 2>/dev/null || break
	sleep 0.1
done
curl -sf -o /dev/null "$ST" || { tail "$K/bearerbox.out"; fail "bearerbox did not start"; }

start_smsbox() {
	smsbox "$K/kannel.conf" >>"$K/smsbox.out" 2>&1 &
	SB_PID=$!
	track $SB_PID
	for _ in $(seq 100); do
		curl -s "$ST" | grep -q '^    smsbox' && curl -s -o /dev/null "http://127.0.0.1:$SENDSMS/" && return 0
		kill -0 $SB_PID 2>/dev/null || break
		sleep 0.1
	done
	tail "$K/smsbox.out"
	fail "smsbox did not start"
}
start_smsbox

$FAKESMSC -H 127.0.0.1 -r "$FAKE" -m 0 "100 200 text unused" >"$K/fakesmsc.out" 2>&1 &
track $!
for _ in $(seq 100); do
	curl -s "$ST" | grep -q "FAKE:$FAKE (online" && break
	sleep 0.1
done
curl -s "$ST" | grep -q "FAKE:$FAKE (online" || fail "fakesmsc did not connect"

UCS_TEXT="Sự cố nghiêm trọng tại Trạm Y tế xã"
GSM_TEXT="Su co nghiem trong tai Tram Y te xa: mat dien, ma xac minh 4821"
SMS="sms --profile kannel --url http://127.0.0.1:$SENDSMS/cgi-bin/sendsms --user relay --password relay-pw --from 1234 --dlr-mask 31"
DLR="http://127.0.0.1:$LISTEN/dlr?ref={id}&type=%d"

send s1.out $SMS --ucs2 --text "$UCS_TEXT" --dlr-url "$DLR" ucs1=+84900000001
expect s1.out 0 OK 202
grep -q "Accepted for delivery" "$T/s1.out" || fail "kannel reply: $(cat "$T/s1.out")"
send s2.out $SMS --text "$GSM_TEXT" --dlr-url "$DLR" gsm1=+84900000002
expect s2.out 0 OK 202

# What the phones received (fakesmsc logs "Got message N: <sender receiver type data>").
for _ in $(seq 50); do
	[ "$(grep -c 'Got message' "$K/fakesmsc.out")" -ge 2 ] && break
	sleep 0.1
done
UCS_TEXT="$UCS_TEXT" GSM_TEXT="$GSM_TEXT" $PY - "$K/fakesmsc.out" <<'EOF' || fail "text did not arrive intact at the phone"
import os, re, sys, urllib.parse
got = re.findall(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>", open(sys.argv[1], errors="replace").read())
by_to = {m[1]: m for m in got}
ucs = [m for m in got if m[1].endswith("900000001")]
gsm = [m for m in got if m[1].endswith("900000002")]
assert len(ucs) == 1 and len(gsm) == 1, got
assert ucs[0][2] == "ucs-2", ucs[0]
text = urllib.parse.unquote_to_bytes(ucs[0][3].replace("+", " ")).decode("utf-16-be")
assert text == os.environ["UCS_TEXT"], repr(text)
assert gsm[0][2] == "text", gsm[0]
assert gsm[0][3] == os.environ["GSM_TEXT"], repr(gsm[0][3])
assert ucs[0][0] == "1234", ucs[0]
EOF
ok "kannel: Vietnamese UCS-2 and unaccented GSM-7 texts reach the phone intact"

for _ in $(seq 50); do
	n=$($PY -c "
import json
refs = set()
for l in open('$T/listener/requests.log'):
    r = json.loads(l)
    if r['path'].startswith('/dlr'): refs.add((r['query'].get('ref'), r['query'].get('type')))
print(len([x for x in refs if x[1] in ('1', '8')]))" 2>/dev/null)
	[ "${n:-0}" -ge 4 ] && break
	sleep 0.1
done
$PY - "$T/listener/requests.log" <<'EOF' || fail "delivery reports missing"
import json, sys
seen = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"].startswith("/dlr"):
        seen.setdefault(r["query"]["ref"], set()).add(r["query"]["type"])
for ref in ("ucs1", "gsm1"):
    assert {"1", "8"} <= seen.get(ref, set()), (ref, seen)
EOF
ok "kannel: DLRs (type 8 and 1) reach the listener with our reference"

# --- gateway down, then back -------------------------------------------------------------------
stop_pid $SB_PID
send s3.out $SMS --text "$GSM_TEXT" down1=+84900000003
expect s3.out 0 TEMPORARY 0 0
grep -qi "refused\|connect" "$T/s3.out" || fail "gateway-down detail: $(cat "$T/s3.out")"
start_smsbox
send s4.out $SMS --text "$GSM_TEXT" back1=+84900000003
expect s4.out 0 OK 202
ok "kannel: smsbox down → TEMPORARY (connection refused), back → OK"

send s5.out sms --profile kannel --url "http://127.0.0.1:$SENDSMS/cgi-bin/sendsms" --user relay \
	--password wrong --text "$GSM_TEXT" pw1=+84900000004
expect s5.out 0 PERMANENT 403
send s6.out $SMS --text "$GSM_TEXT" bad1=not-a-number
expect s6.out 0 PERMANENT 0
ok "kannel: wrong password 403 PERMANENT; invalid number refused before sending"

# --- generic HTTP profile ------------------------------------------------------------------------
TMPL='{"to":"{to}","message":"{text}","reference":"{id}","callback":"{dlr_url}"}'
HTTP=(sms --profile http --method POST --header "X-Api-Key: k3y" --body-template "$TMPL")
QUOTED='Báo "khẩn" \ dòng 2'
send h1.out "${HTTP[@]}" --url "http://127.0.0.1:$LISTEN/send" --text "$QUOTED" --dlr-url "$DLR" g1=+84900000005
expect h1.out 0 OK 200
send h2.out "${HTTP[@]}" --url "http://127.0.0.1:$LISTEN/busy" --text x g2=+84900000005
expect h2.out 0 TEMPORARY 429 7
send h3.out "${HTTP[@]}" --url "http://127.0.0.1:$LISTEN/down" --text x g3=+84900000005
expect h3.out 0 TEMPORARY 503 0
send h4.out "${HTTP[@]}" --url "http://127.0.0.1:$LISTEN/bad" --text x g4=+84900000005
expect h4.out 0 PERMANENT 400 0
send h5.out sms --profile http --method GET --url "http://127.0.0.1:$LISTEN/get?to={to}&msg={text}" \
	--text "$UCS_TEXT" g5=+84900000006
expect h5.out 0 OK 200
QUOTED="$QUOTED" UCS_TEXT="$UCS_TEXT" DLR="$DLR" $PY - "$T/listener/requests.log" <<'EOF' || fail "generic profile request"
import base64, json, os, sys
reqs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
post = [r for r in reqs if r["path"] == "/send"]
assert len(post) == 1, post
r = post[0]
assert r["method"] == "POST" and r["headers"]["x-api-key"] == "k3y", r["headers"]
assert r["headers"]["content-type"].startswith("application/json"), r["headers"]
body = json.loads(base64.b64decode(r["body_b64"]))
assert body == {"to": "+84900000005", "message": os.environ["QUOTED"], "reference": "g1",
                "callback": os.environ["DLR"].replace("{id}", "g1")}, body
get = [r for r in reqs if r["path"].startswith("/get")]
assert len(get) == 1 and get[0]["method"] == "GET"
assert get[0]["query"] == {"to": "+84900000006", "msg": os.environ["UCS_TEXT"]}, get[0]["query"]
EOF
ok "http profile: JSON-escaped POST body with headers, URL-encoded GET, 429 Retry-After, 503, 400"
exit 0
