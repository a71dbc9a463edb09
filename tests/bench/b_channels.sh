#!/bin/sh
# b_channels.sh: throughput of the delivery channels on loopback.
#   BENCH email_per_s: 1,000 messages (4 KiB attachment) into smtp-sink, email_send in batches
#     of 100 (one SMTP session per batch);
#   BENCH webhook_deliveries_per_s: 2,000 webhook deliveries to a local HTTPS receiver
#     (tests/tools/webhook_sink: libmicrohttpd + GnuTLS; a Python receiver is ~100x slower),
#     TLS verified, keep-alive, per_endpoint_concurrency 8.
# Reports figures; fails only when a server cannot be run or deliveries fail, never on timings.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
cd "$(dirname "$0")/../.."
EMAILS=${BENCH_EMAILS:-1000}
EMAIL_BATCH=${BENCH_EMAIL_BATCH:-100}
WEBHOOKS=${BENCH_WEBHOOKS:-2000}
CONCURRENCY=${BENCH_WEBHOOK_CONCURRENCY:-8}
TOOL=build/tools/channel_send
SINK=build/tools/webhook_sink
make --no-print-directory -s "$TOOL" "$SINK" || exit 1

tmp=$(mktemp -d /tmp/tbsc-bench-channels-XXXXXX) || exit 1
chmod 755 "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# rate COUNT MS: deliveries per second
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }'; }
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$2"; }

fail=0

# --- email ------------------------------------------------------------------------------------
port=$(free_port)
smtp-sink -a -u nobody "127.0.0.1:$port" 256 >"$tmp/sink.log" 2>&1 &
pids="$pids $!"
if wait_port "$port"; then
	head -c 4096 /dev/urandom >"$tmp/att.bin"
	"$TOOL" email --port "$port" --attachment "$tmp/att.bin" --attachment-name thong-bao.tbsc \
		--subject "[TBSC] Sự cố nghiêm trọng tại Trạm Y tế xã" \
		--text "Đơn vị: Trạm Y tế xã Thạch Quảng. Mức độ: nghiêm trọng." \
		--repeat "$EMAILS" --batch "$EMAIL_BATCH" --quiet --summary bench=ops@test.example \
		>"$tmp/email.out" 2>&1
	ok=$(field ok "$tmp/email.out")
	ms=$(field ms "$tmp/email.out")
	if [ "${ok:-0}" = "$EMAILS" ]; then
		email_rate=$(rate "$EMAILS" "$ms")
		echo "BENCH email_per_s $email_rate messages/s"
	else
		echo "b_channels: email: $(cat "$tmp/email.out")" >&2
		fail=1
	fi
else
	echo "b_channels: smtp-sink did not start: $(cat "$tmp/sink.log")" >&2
	fail=1
fi

# --- webhook ----------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || { echo "b_channels: openssl failed" >&2; exit 1; }
port=$(free_port)
"$SINK" --port "$port" --cert "$tmp/cert.pem" --key "$tmp/key.pem" --threads 2 >"$tmp/wsink.out" 2>&1 &
sink_pid=$!
pids="$pids $sink_pid"
if wait_port "$port"; then
	printf '{"type":"incident.notification","timestamp":"2026-11-25T08:30:00Z","data":{"incident":"7f3a","kind":"initial","sealed":"%s"}}' \
		"$(head -c 1500 /dev/urandom | base64 -w0)" >"$tmp/body.json"
	"$TOOL" webhook --ca "$tmp/cert.pem" --concurrency "$CONCURRENCY" --max-connections 64 \
		--body-file "$tmp/body.json" --signature "v1a,$(head -c 64 /dev/urandom | base64 -w0)" \
		--repeat "$WEBHOOKS" --quiet --summary "msg_bench=https://127.0.0.1:$port/hook" \
		>"$tmp/webhook.out" 2>&1
	ok=$(field ok "$tmp/webhook.out")
	ms=$(field ms "$tmp/webhook.out")
	if [ "${ok:-0}" = "$WEBHOOKS" ]; then
		webhook_rate=$(rate "$WEBHOOKS" "$ms")
		echo "BENCH webhook_deliveries_per_s $webhook_rate deliveries/s"
	else
		echo "b_channels: webhook: $(cat "$tmp/webhook.out")" >&2
		fail=1
	fi
else
	echo "b_channels: webhook_sink did not start: $(cat "$tmp/wsink.out")" >&2
	fail=1
fi

echo
echo "  channel   deliveries   rate"
echo "  email     $EMAILS         ${email_rate:-?} messages/s (batches of $EMAIL_BATCH, smtp-sink)"
echo "  webhook   $WEBHOOKS         ${webhook_rate:-?} deliveries/s (HTTPS, keep-alive, $CONCURRENCY per endpoint)"
exit $fail
