#!/bin/sh
# t_channel_webhook.sh: the webhook channel against a real HTTPS receiver with a test CA: outcomes
# per status (200/500/429/503/410/302/400/timeout), Retry-After, the body and the Standard
# Webhooks headers byte for byte, a certificate from another CA refused, keep-alive across
# calls, and the per-endpoint concurrency cap.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/channel_lib.sh"

make_ca "$T/tls" good || fail "openssl: test CA"
make_ca "$T/tls" other || fail "openssl: second test CA"

# receiver NAME: HTTPS test receiver logging into $T/NAME/; sets RPORT and URL
receiver() {
	mkdir -p "$T/$1"
	for _ in 1 2 3; do
		RPORT=$(free_port)
		$PY "$ROOT/tests/tools/test_receiver.py" "$RPORT" "$T/$1" \
			--tls "$T/tls/good-server.crt" "$T/tls/good-server.key" >"$T/$1.log" 2>&1 &
		local pid=$!
		track $pid
		if wait_port "$RPORT" && kill -0 $pid 2>/dev/null; then
			URL="https://127.0.0.1:$RPORT"
			return 0
		fi
		stop_pid $pid
	done
	cat "$T/$1.log"
	fail "receiver $1 did not start"
}
stat_of() { $PY -c "import json,sys; print(json.load(open('$T/$1/stats.json'))['$2'])"; }

receiver r1
printf '{"type":"incident.notification","data":{"id":"7f3a","title":"Sự cố \\"nghiêm trọng\\" tại Trạm Y tế xã","note":"tab\\tend"}}' >"$T/body.json"
SIG="v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== v1a,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
send w1.out webhook --ca "$T/tls/good-ca.crt" --timeout 2 --body-file "$T/body.json" \
	--signature "$SIG" --timestamp 1795642376 \
	msg_ok="$URL/ok" msg_fail="$URL/fail" msg_busy="$URL/busy" msg_busydate="$URL/busydate" \
	msg_gone="$URL/gone" msg_redirect="$URL/redirect" msg_bad="$URL/bad" msg_slow="$URL/slow" \
	msg_http=http://127.0.0.1:$RPORT/ok
expect w1.out 0 OK 200 0
expect w1.out 1 TEMPORARY 500 0
expect w1.out 2 TEMPORARY 429 7
expect w1.out 3 TEMPORARY 503
expect w1.out 4 GONE 410 0
expect w1.out 5 PERMANENT 302 0
expect w1.out 6 PERMANENT 400 0
expect w1.out 7 TEMPORARY 0 0
expect w1.out 8 PERMANENT 0 0
RA=$(line w1.out 3 | cut -d' ' -f3)
[ "$RA" -ge 25 ] && [ "$RA" -le 31 ] || fail "Retry-After as HTTP-date: expected ~30 s, got $RA"
grep -q "^5 PERMANENT 302 0 .*redirect not followed" "$T/w1.out" || fail "302 detail: $(line w1.out 5)"
grep -q "^7 TEMPORARY 0 0 timeout" "$T/w1.out" || fail "timeout detail: $(line w1.out 7)"
$PY - "$T/r1/requests.log" "$T/body.json" "$SIG" <<'EOF' || fail "body or headers changed on the way"
import base64, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
body, sig = open(sys.argv[2], "rb").read(), sys.argv[3]
ok = [r for r in reqs if r["path"] == "/ok"]
assert len(ok) == 1, "expected one request on /ok, got %d" % len(ok)
r = ok[0]
assert r["method"] == "POST"
assert base64.b64decode(r["body_b64"]) == body, "body differs"
h = r["headers"]
assert h["webhook-id"] == "msg_ok", h["webhook-id"]
assert h["webhook-timestamp"] == "1795642376", h["webhook-timestamp"]
assert h["webhook-signature"] == sig, h["webhook-signature"]
assert h["content-type"] == "application/json", h["content-type"]
assert not [x for x in reqs if x["path"] == "/ok" and x["conn"] != r["conn"]]
redirected = [x for x in reqs if x["path"] == "/redirect"]
assert len(redirected) == 1 and len(ok) == 1, "redirect was followed"
for x in reqs:
    assert x["headers"]["webhook-id"] == "msg_" + x["path"].strip("/"), x
EOF
ok "outcomes: 200 OK, 500/429/503/timeout TEMPORARY (Retry-After 7 and HTTP-date), 410 GONE, 302/400/http PERMANENT"
ok "body and webhook-id/-timestamp/-signature arrive byte for byte"

# --- a certificate from another CA ---------------------------------------------------------------
send w2.out webhook --ca "$T/tls/other-ca.crt" --timeout 3 m1="$URL/ok"
expect w2.out 0 TEMPORARY 0 0
grep -q "^0 TEMPORARY 0 0 TLS: .*certificate" "$T/w2.out" || fail "TLS refusal detail: $(line w2.out 0)"
send w3.out webhook --timeout 3 m1="$URL/ok" # system store: the test CA is not in it
expect w3.out 0 TEMPORARY 0 0
ok "server certificate from another CA refused (TEMPORARY, TLS error)"

# --- keep-alive across two webhook_send calls --------------------------------------------------
receiver r2
C0=$(stat_of r2 connections) # the readiness probe
send w4.out webhook --ca "$T/tls/good-ca.crt" --rounds 3 m1="$URL/ok" m2="$URL/ok"
for i in 0 1 2 3 4 5; do expect w4.out $i OK 200; done
C=$(($(stat_of r2 connections) - C0))
[ "$C" -eq 1 ] || [ "$C" -eq 2 ] || fail "3 calls of 2 deliveries used $C connections (want reuse)"
[ "$(stat_of r2 requests)" -eq 6 ] || fail "expected 6 requests"
send w5.out webhook --ca "$T/tls/good-ca.crt" --rounds 2 --concurrency 1 m1="$URL/ok"
C2=$(($(stat_of r2 connections) - C0 - C))
[ "$C2" -eq 1 ] || fail "two calls with one delivery each opened $C2 connections, want 1"
ok "connections reused across calls ($C for 6 deliveries in 3 calls; 1 for 2 calls)"

# --- per-endpoint concurrency ----------------------------------------------------------------------
receiver r3
ARGS=""
for i in $(seq 1 12); do ARGS="$ARGS h$i=$URL/hold?ms=150"; done
send w6.out webhook --ca "$T/tls/good-ca.crt" --concurrency 3 $ARGS
for i in $(seq 0 11); do expect w6.out $i OK 200; done
M=$(stat_of r3 max_in_flight)
[ "$M" -le 3 ] && [ "$M" -ge 2 ] || fail "max in flight $M with per_endpoint_concurrency 3"
C3=$(($(stat_of r3 connections) - 1))
[ "$C3" -le 3 ] || fail "$C3 connections to one endpoint with per_endpoint_concurrency 3"
ok "per-endpoint concurrency: at most 3 in flight (saw $M), $C3 connections for 12 deliveries"
exit 0
