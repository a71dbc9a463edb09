#!/bin/sh
# t_recipient.sh: the recipients' side: incident verify / open on every channel's notification, refusals
# with reasons, and incident serve receiving webhooks over HTTPS (test CA), deduplicating across a restart,
# checked independently by tests/python/v1a_check.py (python3-nacl).
. "$(dirname "$0")/lib.sh"

if ! "$BIN/incident" verify --help >/dev/null 2>&1; then
	echo "SKIP: $BIN/incident has no verify/open/serve subcommands yet (dispatcher rows missing)"
	exit 0
fi

SERVE_PID=""
stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID"
	rc=$?
	SERVE_PID=""
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/serve.log"; then
		grep -A30 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$T/serve.log" | head -60
		fail "sanitizer report in serve.log"
	fi
	[ "$rc" -eq 0 ] || { tail -20 "$T/serve.log"; fail "incident serve exited with $rc on SIGTERM"; }
}
trap '[ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null; cleanup' EXIT

NM="$ROOT/build/tools/notify_make"
make -s -C "$ROOT" build/tools/notify_make >/dev/null || fail "cannot build notify_make"

# Keys: the relay, a registered unit and recipient, and three that must not work.
keygen relay
keygen other-relay
keygen rogue
keygen stranger
enrol unit-a unit
enrol cong-an-xa commune_police
REG="$T/registry.ini"

# make DIR [notify_make options...]: what the relay would deliver to cong-an-xa
make_notifications() {
	dir="$T/$1"
	shift
	mkdir -p "$dir"
	"$NM" --relay-key "$T/relay.sec" --agency unit-a --agency-key "$T/unit-a.sec" --recipient cong-an-xa \
		--recipient-key "$T/cong-an-xa.pub" --report "$ROOT/tests/fixtures/mau03.txt" --templates "$ROOT/templates" \
		--agency-name "Trạm Y tế xã Thạch Quảng" --clear description,contact_name --out "$dir" "$@" \
		>"$T/nm.log" 2>&1 || { cat "$T/nm.log"; fail "notify_make $dir"; }
}

# run EXPECTED-RC OUTFILE incident ARGS...: the exit code must match
run() {
	want=$1
	out=$2
	shift 2
	"$BIN/incident" "$@" >"$out" 2>&1
	got=$?
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$out"; then
		cat "$out"
		fail "sanitizer report from incident $1"
	fi
	[ "$got" -eq "$want" ] || { cat "$out"; fail "incident $*: exit $got, expected $want"; }
}
expect_in() { grep -qF -- "$2" "$1" || { cat "$1"; fail "expected \"$2\" in $(basename "$1")"; }; }

make_notifications n
RID=$(cat "$T/n/report-id")
HID=$(cat "$T/n/webhook.id")
HTS=$(cat "$T/n/webhook.timestamp")
HSIG=$(cat "$T/n/webhook.signature")
V="--relay-key $T/relay.pub --registry $REG"
O="--key $T/cong-an-xa.sec --relay-key $T/relay.pub --registry $REG"

# ---- verify and open: every channel ----------------------------------------------------------------
run 0 "$T/o" verify $V --notification "$T/n/email.tbsc"
expect_in "$T/o" "$RID"
expect_in "$T/o" "registered"
run 0 "$T/o" verify $V --email "$T/n/mail.eml"
expect_in "$T/o" "only the attachment is signed"
run 0 "$T/o" verify $V --webhook-body "$T/n/webhook.json" --webhook-id "$HID" --webhook-timestamp "$HTS" \
	--webhook-signature "$HSIG"
expect_in "$T/o" "v1a"
run 0 "$T/o" verify $V --notification "$T/n/sms.tbsc" --sms "$(cat "$T/n/sms.txt")"
expect_in "$T/o" "SMS code matches"
ok "verify: notification, email, webhook, SMS"

run 0 "$T/o" open $O --notification "$T/n/email.tbsc"
expect_in "$T/o" "Nguyễn Thị Hà"
expect_in "$T/o" "signed the report"
run 0 "$T/o" open $O --email "$T/n/mail.eml"
expect_in "$T/o" "Sáng 25/11 máy tính tiếp đón"
run 0 "$T/o" open $O --webhook-body "$T/n/webhook.json" --webhook-id "$HID" --webhook-timestamp "$HTS" \
	--webhook-signature "$HSIG"
expect_in "$T/o" "$RID"
ok "open: end to end on email, attachment, webhook"

make_notifications drill --drill
run 0 "$T/o" open $O --notification "$T/drill/email.tbsc"
expect_in "$T/o" "DIỄN TẬP"
expect_in "$T/drill/mail.eml" "Subject: =?UTF-8?B?"
expect_in "$T/drill/mail.txt" "DIỄN TẬP"
expect_in "$T/drill/sms.txt" "DIỄN TẬP"
expect_in "$T/drill/webhook.json" '"drill":true'
ok "drill marked DIỄN TẬP in open, email, SMS, webhook"

# SMS never carries the report's confidential detail, whatever the clear-field configuration.
make_notifications allclear --clear incident_id,category,severity,reporter_name,reporter_phone,contact_name,contact_phone,description,ips
for secret in "Nguyễn" "0912" "0237" "tiền chuộc" "203.0.113"; do
	grep -qF "$secret" "$T/allclear/sms.txt" && fail "SMS carries \"$secret\": $(cat "$T/allclear/sms.txt")"
done
# mau03.txt is marked confidential: email and webhook keep only the non-confidential fields.
grep -qF "Nguyễn" "$T/allclear/mail.txt" && fail "confidential report: contact name in the email text"
grep -qF "Nguyễn" "$T/allclear/webhook.json" && fail "confidential report: contact name in the webhook body"
ok "no confidential field in SMS; confidential report keeps email and webhook to public fields"

# ---- refusals, each with its reason -------------------------------------------------------------
$PY -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[len(b)//2]^=1; open(sys.argv[2],'wb').write(b)" \
	"$T/n/email.tbsc" "$T/tampered.tbsc"
run 1 "$T/o" verify $V --notification "$T/tampered.tbsc"
expect_in "$T/o" "bad relay signature"
run 1 "$T/o" open $O --notification "$T/tampered.tbsc"
ok "tampered notification refused"

run 1 "$T/o" verify --relay-key "$T/other-relay.pub" --notification "$T/n/email.tbsc"
expect_in "$T/o" "not the relay key"
run 1 "$T/o" verify --relay-key "$T/other-relay.pub" --webhook-body "$T/n/webhook.json" --webhook-id "$HID" \
	--webhook-timestamp "$HTS" --webhook-signature "$HSIG"
expect_in "$T/o" "bad v1a webhook signature"
ok "wrong relay key refused"

run 1 "$T/o" open --key "$T/stranger.sec" --relay-key "$T/relay.pub" --registry "$REG" --notification "$T/n/email.tbsc"
expect_in "$T/o" "cannot open the sealed part"
ok "wrong recipient key refused"

mkdir -p "$T/rogue"
"$NM" --relay-key "$T/relay.sec" --agency rogue --agency-key "$T/rogue.sec" --recipient cong-an-xa \
	--recipient-key "$T/cong-an-xa.pub" --report "$ROOT/tests/fixtures/mau03.txt" --templates "$ROOT/templates" \
	--out "$T/rogue" >"$T/nm.log" 2>&1 || { cat "$T/nm.log"; fail "notify_make rogue"; }
run 1 "$T/o" open $O --notification "$T/rogue/email.tbsc"
expect_in "$T/o" "unknown agency"
run 1 "$T/o" verify $V --notification "$T/rogue/email.tbsc"
expect_in "$T/o" "is not in the registry"
# A unit that is registered but signs with a key the registry does not list.
mkdir -p "$T/badkey"
"$NM" --relay-key "$T/relay.sec" --agency unit-a --agency-key "$T/rogue.sec" --recipient cong-an-xa \
	--recipient-key "$T/cong-an-xa.pub" --report "$ROOT/tests/fixtures/mau03.txt" --templates "$ROOT/templates" \
	--out "$T/badkey" >"$T/nm.log" 2>&1 || { cat "$T/nm.log"; fail "notify_make badkey"; }
run 1 "$T/o" open $O --notification "$T/badkey/email.tbsc"
expect_in "$T/o" "unknown key id"
ok "report signed by an unregistered agency or key refused"

sed 's/"log_index":7/"log_index":8/' "$T/n/webhook.json" >"$T/webhook-edited.json"
run 1 "$T/o" verify $V --webhook-body "$T/webhook-edited.json" --webhook-id "$HID" --webhook-timestamp "$HTS" \
	--webhook-signature "$HSIG"
expect_in "$T/o" "v1a"
run 1 "$T/o" verify $V --webhook-body "$T/n/webhook.json" --webhook-id "$HID" --webhook-timestamp "$((HTS + 1))" \
	--webhook-signature "$HSIG"
run 1 "$T/o" verify $V --notification "$T/n/sms.tbsc" --sms "[TBSC] Sự cố SC-20261125-TYT01. Mã kiểm tra AAAAAAAAAA"
expect_in "$T/o" "does not match"
run 2 "$T/o" verify $V --notification "$T/n/email.tbsc" --sms "$(cat "$T/n/sms.txt")"
printf 'From: a@b\r\nSubject: [TBSC] x\r\n\r\nno attachment\r\n' >"$T/empty.eml"
run 1 "$T/o" verify $V --email "$T/empty.eml"
expect_in "$T/o" "no .tbsc notification"
run 2 "$T/o" verify $V --notification "$T/does-not-exist"
run 2 "$T/o" verify $V
ok "edited webhook, wrong timestamp, wrong SMS code, bare email refused; usage errors exit 2"

# ---- the independent receiver check --------------------------------------------------------------
$PY "$ROOT/tests/python/v1a_check.py" "$T/relay.pub" "$T/n/webhook.json" "$HID" "$HTS" "$HSIG" >"$T/o" 2>&1 ||
	{ cat "$T/o"; fail "python v1a check of a good webhook"; }
$PY "$ROOT/tests/python/v1a_check.py" "$T/relay.pub" "$T/webhook-edited.json" "$HID" "$HTS" "$HSIG" >"$T/o" 2>&1 &&
	fail "python v1a check accepted an edited body"
$PY "$ROOT/tests/python/v1a_check.py" "$T/other-relay.pub" "$T/n/webhook.json" "$HID" "$HTS" "$HSIG" >"$T/o" 2>&1 &&
	fail "python v1a check accepted the wrong key"
ok "python3-nacl agrees on v1a"

# ---- incident serve over HTTPS ---------------------------------------------------------------------
cd "$T" || fail "cd"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj "/CN=TBSC test CA" >/dev/null 2>&1 || fail "test CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr \
	-subj "/CN=127.0.0.1" >/dev/null 2>&1 || fail "server key"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile srv.ext \
	>/dev/null 2>&1 || fail "server certificate"
cd "$ROOT" || fail "cd"
SPORT=$(free_port)
SURL="https://127.0.0.1:$SPORT/webhook"
STORE="$T/inbox"

start_serve() {
	"$BIN/incident" serve --listen "127.0.0.1:$SPORT" --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" \
		--key "$T/cong-an-xa.sec" --relay-key "$T/relay.pub" --registry "$REG" --store "$STORE" --ack \
		>>"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" "$SURL")" = 405 ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$T/serve.log"; fail "incident serve did not come up"; }
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.log"; fail "incident serve exited"; }
		sleep 0.1
	done
}

# post DIR [ID TS SIG]: delivers DIR/webhook.json with its headers (or the ones given); prints the status
post() {
	id=${2:-$(cat "$T/$1/webhook.id")}
	ts=${3:-$(cat "$T/$1/webhook.timestamp")}
	sig=${4:-$(cat "$T/$1/webhook.signature")}
	curl -sS -o "$T/resp" -w '%{http_code}' --cacert "$T/ca.pem" -H "Content-Type: application/json" \
		-H "webhook-id: $id" -H "webhook-timestamp: $ts" -H "webhook-signature: $sig" \
		--data-binary @"$T/$1/webhook.json" "$SURL"
}
files() { find "$STORE" -type f | wc -l; }

start_serve
make_notifications live
LID=$(cat "$T/live/webhook.id")
expect_eq "$(post live)" 200 "first delivery"
expect_in "$T/resp" '"status":"stored"'
[ -f "$STORE/$LID.tbsc" ] && [ -f "$STORE/$LID.report" ] && [ -f "$STORE/seen/$LID" ] || fail "stored files missing"
expect_in "$STORE/$LID.txt" "Nguyễn Thị Hà"
expect_in "$STORE/$LID.txt" "$(cat "$T/live/report-id")"
# What was stored verifies and opens offline too.
run 0 "$T/o" open $O --notification "$STORE/$LID.tbsc"
$PY "$ROOT/tests/python/v1a_check.py" "$T/relay.pub" "$T/live/webhook.json" "$LID" \
	"$(cat "$T/live/webhook.timestamp")" "$(cat "$T/live/webhook.signature")" --max-age 300 >"$T/o" 2>&1 ||
	{ cat "$T/o"; fail "python v1a check of the delivered webhook"; }
ok "serve: delivery over HTTPS verified, opened and stored before 200"

N=$(files)
expect_eq "$(post live)" 200 "repeated delivery"
expect_in "$T/resp" '"status":"duplicate"'
expect_eq "$(files)" "$N" "files after a duplicate"
stop_serve
start_serve
expect_eq "$(post live)" 200 "delivery after restart"
expect_in "$T/resp" '"status":"duplicate"'
expect_eq "$(files)" "$N" "files after a duplicate across a restart"
ok "serve: duplicate dropped by webhook-id, also after a restart"

expect_eq "$(post live "$LID" "$(cat "$T/live/webhook.timestamp")" "$(cat "$T/n/webhook.signature")")" 401 "bad signature"
expect_in "$T/resp" "bad_signature"
make_notifications fresh
expect_eq "$(post fresh "" "" "v1a,$(cat "$T/fresh/webhook.signature" | cut -c5- | tr 'A-Za-z' 'B-ZAb-za')")" 401 "altered signature"
make_notifications stale --timestamp "$(($(date +%s) - 3600))"
expect_eq "$(post stale)" 401 "stale timestamp"
expect_in "$T/resp" "bad_timestamp"
expect_eq "$(post fresh "not-an-id")" 400 "malformed webhook-id"
code=$(curl -sS -o "$T/resp" -w '%{http_code}' --cacert "$T/ca.pem" --data-binary @"$T/fresh/webhook.json" "$SURL")
expect_eq "$code" 400 "missing headers"
expect_eq "$(post fresh)" 200 "fresh delivery after the refusals"
mkdir -p "$T/rogue-live"
"$NM" --relay-key "$T/relay.sec" --agency rogue --agency-key "$T/rogue.sec" --recipient cong-an-xa \
	--recipient-key "$T/cong-an-xa.pub" --report "$ROOT/tests/fixtures/mau03.txt" --templates "$ROOT/templates" \
	--out "$T/rogue-live" >"$T/nm.log" 2>&1 || { cat "$T/nm.log"; fail "notify_make rogue-live"; }
expect_eq "$(post rogue-live)" 403 "report of an unregistered agency"
[ -f "$STORE/quarantine/$(cat "$T/rogue-live/webhook.id")".tbsc ] || fail "refused notification not kept in quarantine"
[ -f "$STORE/seen/$(cat "$T/rogue-live/webhook.id")" ] && fail "refused notification marked as seen"
head -c 600000 /dev/zero >"$T/big"
code=$(curl -sS -o "$T/resp" -w '%{http_code}' --cacert "$T/ca.pem" -H "Expect: 100-continue" -H "webhook-id: $LID" \
	--data-binary @"$T/big" "$SURL")
expect_eq "$code" 413 "oversized body"
stop_serve
ok "serve: 401 bad signature or timestamp, 400 malformed, 403 unregistered agency (quarantined), 413, clean SIGTERM"

echo "t_recipient: all passed"
