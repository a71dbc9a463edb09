#!/bin/sh
# b_fanout.sh: fan-out through the real bin/relayd, each figure on a fresh relay and store:
#   burst    1,000 pre-signed reports, each routed to the 8 recipients of the commune plan by HTTPS
#            webhook (TLS verified against a test CA, keep-alive, one origin per recipient) into
#            the receiver of build/tools/fanout_load: 8,000 deliveries / the time from the first
#            submission until the last delivery lands;
#   latency  200 reports, one every 50 ms, to one webhook recipient: from just before the POST
#            until the receiver has the whole request (one process, one clock, matched by the
#            report_id of the webhook body);
#   email    500 reports to the 8 recipients by email into Postfix's smtp-sink: time until
#            smtp-sink holds all 4,000 messages;
#   rss      relayd's peak RSS (VmHWM) once 1,000 jobs, then once 100,000 jobs (12,500 reports x 8)
#            wait for a webhook endpoint that is down, every job attempted at least once.
# Reports figures; fails only when a server cannot be run or reports are refused, never on timings.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${BIN:-$(pwd)/bin}
BURST=${BENCH_FANOUT_BURST:-1000}
LIGHT=${BENCH_FANOUT_LIGHT:-200}
LIGHT_MS=${BENCH_FANOUT_LIGHT_MS:-50}
EMAILS=${BENCH_FANOUT_EMAIL_REPORTS:-500}
BACKLOG=${BENCH_FANOUT_BACKLOG_REPORTS:-12500}
IDLE=${BENCH_FANOUT_IDLE_REPORTS:-125}
LOADGEN=build/tools/loadgen
LOAD=build/tools/fanout_load

make --no-print-directory -s all "$LOADGEN" "$LOAD" || exit 1

tmp=$(mktemp -d /tmp/tbsc-bench-fanout-XXXXXX) || exit 1
chmod 755 "$tmp" # smtp-sink drops privileges to nobody and must reach its directory
relay_pid=
pids=""
cleanup() {
	[ -n "$relay_pid" ] && kill -TERM "$relay_pid" 2>/dev/null
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	[ -n "$relay_pid" ] && wait "$relay_pid" 2>/dev/null
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "b_fanout: $*" >&2
	exit 1
}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}
kid_of() { sed -n 's/^untrusted comment: TBSC public key \([0-9a-f]*\).*/\1/p' "$1"; }
# field KEY FILE: the value of a "key value" line written by fanout_load
field() { sed -n "s/^$1 //p" "$2"; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }
jobs_where() { sqlite3 "file:$1/relay.db?mode=ro" "SELECT COUNT(*) FROM jobs WHERE $2" 2>/dev/null; }

# --- keys, registry and test CA, shared by every relay below -------------------------------------
# 100 reporting agencies (group "bench") from loadgen, then the 8 recipients of the commune plan.
keys=$tmp/keys
"$LOADGEN" setup "$keys" --agencies 100 --threads 2 >/dev/null || die "loadgen setup failed"
RECIPIENTS="chu-quan-httt:system_owner vp-hdnd-ubnd:commune_office phong-vhxh:culture_society
cong-an-xa:commune_police doi-ucsc-xa:commune_irt ttanm-quoc-gia:national_centre
doi-ucsc-tinh:provincial_irt cong-an-tinh:provincial_police"
mkdir -p "$keys/recipients"
for r in $RECIPIENTS; do
	id=${r%%:*}
	TBSC_PASSPHRASE= "$BIN/incident" keygen --out "$keys/recipients/$id" --no-passphrase >/dev/null ||
		die "keygen $id"
	"$BIN/incident" registry add --registry "$keys/registry.ini" --id "$id" --role "${r#*:}" \
		--name "Người nhận $id" --group thach-quang --pubkey "$keys/recipients/$id.pub" \
		--fingerprint "$(kid_of "$keys/recipients/$id.pub")" >/dev/null || die "registry add $id"
done
mkdir -p "$tmp/tls"
(
	cd "$tmp/tls" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=TBSC Bench CA" -keyout ca.key -out ca.crt \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
			-out server.crt
) >"$tmp/tls.log" 2>&1 || die "test CA: $(tail -3 "$tmp/tls.log")"

# new_relay NAME: a fresh relay directory $tmp/NAME on a free port (RELAY_DIR, RELAY_PORT); the
# caller writes recipients.ini and appends channel sections to relay.ini before start_relay.
new_relay() {
	RELAY_DIR=$tmp/$1
	RELAY_PORT=$(free_port)
	mkdir -p "$RELAY_DIR"
	cp -r "$keys/relay.sec" "$keys/relay.pub" "$keys/registry.ini" "$keys/agencies" "$RELAY_DIR/"
	cat >"$RELAY_DIR/relay.ini" <<CONF
[relay]
listen = 127.0.0.1:$RELAY_PORT
store = relay.db
log_dir = log
secret_key = relay.sec
registry = registry.ini
recipients = recipients.ini
templates = $(pwd)/templates
public_url = http://127.0.0.1:$RELAY_PORT
[limits]
rate_per_minute = 10000000
rate_burst = 10000000
timestamp_window = 3600
max_connections = 1024
per_ip_connections = 1024
threads = 2
CONF
}

# recipient ID ROLE CHANNEL-LINE: one [recipient] section on stdout
recipient() {
	printf '[recipient %s]\nrole = %s\nname = Người nhận %s\ngroup =\nclear = description, system_name, reporter_name\n%s\n' \
		"$1" "$2" "$1" "$3"
}

start_relay() {
	"$BIN/relayd" --config "$RELAY_DIR/relay.ini" 2>"$RELAY_DIR/relayd.log" &
	relay_pid=$!
	"$LOADGEN" wait --port "$RELAY_PORT" --timeout 10 2>/dev/null && kill -0 "$relay_pid" 2>/dev/null ||
		die "relayd did not start: $(tail -5 "$RELAY_DIR/relayd.log")"
}

stop_relay() {
	kill -TERM "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=
}

# check_run OUT WHAT: the run accepted every report and saw every delivery
check_run() {
	[ "$(field accepted "$1")" = "$(field reports "$1")" ] ||
		die "$2: $(field accepted "$1") of $(field reports "$1") reports accepted (first other status $(field first_other_status "$1"))"
	[ -n "$(field last_delivery_s "$1")" ] ||
		die "$2: $(field delivered "$1") of $(field expected "$1") deliveries arrived in time (relayd log: $(grep -v ' delivered ' "$RELAY_DIR/relayd.log" | tail -3))"
}

# --- burst: 1,000 reports x 8 webhook recipients ---------------------------------------------------
new_relay burst
sink_ports=""
for r in $RECIPIENTS; do
	p=$(free_port)
	sink_ports="$sink_ports${sink_ports:+,}$p"
	recipient "${r%%:*}" "${r#*:}" "webhook = https://127.0.0.1:$p/hook/${r%%:*}"
done >"$RELAY_DIR/recipients.ini"
printf '[route all]\nto = *\nchannels = webhook\n' >>"$RELAY_DIR/recipients.ini"
printf '[webhook]\nca_file = %s\n' "$tmp/tls/ca.crt" >>"$RELAY_DIR/relay.ini"
start_relay
"$LOAD" run "$RELAY_DIR" --port "$RELAY_PORT" --reports "$BURST" --clients 8 --sink-ports "$sink_ports" \
	--cert "$tmp/tls/server.crt" --key "$tmp/tls/server.key" --expect $((BURST * 8)) --timeout 120 \
	>"$tmp/burst.out" 2>"$tmp/burst.err"
burst_hwm=$(hwm_mib "$relay_pid")
stop_relay
check_run "$tmp/burst.out" burst
burst_rate=$(field deliveries_per_s "$tmp/burst.out")
burst_s=$(field last_delivery_s "$tmp/burst.out")

# --- latency at light load: one report every 50 ms, one webhook recipient ---------------------------
new_relay light
p=$(free_port)
{
	recipient ttanm-quoc-gia national_centre "webhook = https://127.0.0.1:$p/hook"
	printf '[route all]\nto = *\nchannels = webhook\n'
} >"$RELAY_DIR/recipients.ini"
printf '[webhook]\nca_file = %s\n' "$tmp/tls/ca.crt" >>"$RELAY_DIR/relay.ini"
start_relay
"$LOAD" run "$RELAY_DIR" --port "$RELAY_PORT" --reports "$LIGHT" --interval-ms "$LIGHT_MS" --sink-ports "$p" \
	--cert "$tmp/tls/server.crt" --key "$tmp/tls/server.key" --expect "$LIGHT" --timeout 60 \
	>"$tmp/light.out" 2>"$tmp/light.err"
stop_relay
check_run "$tmp/light.out" latency

# --- email: 500 reports x 8 email recipients into smtp-sink ----------------------------------------
new_relay email
mkdir -p "$RELAY_DIR/mail"
chown nobody "$RELAY_DIR/mail" 2>/dev/null
sink_port=$(free_port)
smtp-sink -u nobody -a -d "$RELAY_DIR/mail/%Y%m%d%H%M%S." "127.0.0.1:$sink_port" 256 >"$tmp/smtp-sink.log" 2>&1 &
pids="$pids $!"
wait_port "$sink_port" || die "smtp-sink did not start: $(cat "$tmp/smtp-sink.log")"
for r in $RECIPIENTS; do
	recipient "${r%%:*}" "${r#*:}" "email = ${r%%:*}@thachquang.test"
done >"$RELAY_DIR/recipients.ini"
printf '[route all]\nto = *\nchannels = email\n' >>"$RELAY_DIR/recipients.ini"
printf '[smtp]\nhost = 127.0.0.1\nport = %s\nstarttls = 0\nfrom = relay@thachquang.test\n' "$sink_port" \
	>>"$RELAY_DIR/relay.ini"
start_relay
"$LOAD" run "$RELAY_DIR" --port "$RELAY_PORT" --reports "$EMAILS" --clients 8 --maildir "$RELAY_DIR/mail" \
	--expect $((EMAILS * 8)) --timeout 120 >"$tmp/email.out" 2>"$tmp/email.err"
stop_relay
check_run "$tmp/email.out" email
email_rate=$(field deliveries_per_s "$tmp/email.out")

# --- RSS: 1,000 then 100,000 jobs waiting for a webhook endpoint that is down ----------------------
new_relay backlog
down=$(free_port) # nothing listens there: every attempt is refused and deferred
for r in $RECIPIENTS; do
	recipient "${r%%:*}" "${r#*:}" "webhook = https://127.0.0.1:$down/hook/${r%%:*}"
done >"$RELAY_DIR/recipients.ini"
printf '[route all]\nto = *\nchannels = webhook\n' >>"$RELAY_DIR/recipients.ini"
printf '[webhook]\nca_file = %s\n' "$tmp/tls/ca.crt" >>"$RELAY_DIR/relay.ini"
start_relay
# wait_attempted N S: until N jobs have been attempted at least once (S seconds at most)
wait_attempted() {
	end=$(($(date +%s) + $2))
	while [ "$(jobs_where "$RELAY_DIR" "attempts>0")" != "$1" ] && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.5
	done
	attempted=$(jobs_where "$RELAY_DIR" "attempts>0")
}
"$LOAD" run "$RELAY_DIR" --port "$RELAY_PORT" --reports "$IDLE" --clients 8 >"$tmp/idle.out" 2>"$tmp/idle.err"
[ "$(field accepted "$tmp/idle.out")" = "$IDLE" ] || die "backlog: reports refused: $(cat "$tmp/idle.out" "$tmp/idle.err")"
wait_attempted $((IDLE * 8)) 30
idle_jobs=$attempted
idle_hwm=$(hwm_mib "$relay_pid")
t0=$(date +%s)
"$LOAD" run "$RELAY_DIR" --port "$RELAY_PORT" --reports $((BACKLOG - IDLE)) --clients 8 --first "$IDLE" \
	>"$tmp/backlog.out" 2>"$tmp/backlog.err"
[ "$(field accepted "$tmp/backlog.out")" = $((BACKLOG - IDLE)) ] ||
	die "backlog: reports refused: $(cat "$tmp/backlog.out" "$tmp/backlog.err")"
backlog_submit=$(field submit_s "$tmp/backlog.out")
wait_attempted $((BACKLOG * 8)) 150
backlog_sweep=$(($(date +%s) - t0))
backlog_hwm=$(hwm_mib "$relay_pid")
backlog_rss=$(rss_mib "$relay_pid")
pending=$(jobs_where "$RELAY_DIR" "state IN (0,1,3)")
stop_relay

echo "fan-out through bin/relayd (2 HTTP threads, one delivery worker per channel, default [delivery] and [webhook])"
printf '  %-44s %s\n' "burst: reports x webhook recipients" "$BURST x 8 (one HTTPS origin each, test CA, keep-alive)"
printf '  %-44s %s s (submitted in %s s)\n' "  first submission -> last delivery" "$burst_s" "$(field submit_s "$tmp/burst.out")"
printf '  %-44s %s deliveries/s\n' "  deliveries" "$burst_rate"
printf '  %-44s %s / %s / %s ms\n' "  per-delivery latency p50 / p99 / max" "$(field latency_p50_ms "$tmp/burst.out")" \
	"$(field latency_p99_ms "$tmp/burst.out")" "$(field latency_max_ms "$tmp/burst.out")"
printf '  %-44s %s requests, %s duplicates\n' "  at the receiver" "$(field requests "$tmp/burst.out")" \
	"$(field duplicates "$tmp/burst.out")"
printf '  %-44s %s MiB\n' "  relayd peak RSS" "$burst_hwm"
printf '  %-44s %s / %s / %s / %s ms\n' "light load ($LIGHT reports, 1 per $LIGHT_MS ms) p50/p90/p99/max" \
	"$(field latency_p50_ms "$tmp/light.out")" "$(field latency_p90_ms "$tmp/light.out")" \
	"$(field latency_p99_ms "$tmp/light.out")" "$(field latency_max_ms "$tmp/light.out")"
printf '  %-44s %s messages in %s s: %s messages/s\n' "email: $EMAILS reports x 8 into smtp-sink" $((EMAILS * 8)) \
	"$(field last_delivery_s "$tmp/email.out")" "$email_rate"
printf '  %-44s %s jobs attempted: peak RSS %s MiB\n' "backlog, endpoint down: few jobs" "$idle_jobs" "$idle_hwm"
printf '  %-44s %s jobs attempted (%s waiting): peak RSS %s MiB, now %s MiB\n' \
	"  $BACKLOG reports x 8" "$attempted" "$pending" "$backlog_hwm" "$backlog_rss"
printf '  %-44s submitted in %s s, all attempted %s s after the first submission\n' "" "$backlog_submit" \
	"$backlog_sweep"
echo "BENCH fanout_webhook_deliveries_per_s $burst_rate deliveries/s"
echo "BENCH fanout_burst_last_delivery_s $burst_s s"
echo "BENCH fanout_e2e_latency_p50_ms $(field latency_p50_ms "$tmp/light.out") ms"
echo "BENCH fanout_e2e_latency_p99_ms $(field latency_p99_ms "$tmp/light.out") ms"
echo "BENCH fanout_emails_per_s $email_rate messages/s"
echo "BENCH fanout_rss_pending_100k_mib $backlog_hwm MiB"
echo "BENCH fanout_rss_idle_mib $idle_hwm MiB"
exit 0
