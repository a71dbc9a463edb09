#!/bin/sh
# b_intake.sh: durable intake rate, accept latency and peak RSS of bin/relayd under 16 keep-alive
# clients submitting pre-signed 1 KiB reports from 100 agencies, next to the crypto-only ceiling.
# Reports figures; fails only when the relay cannot be run or refuses reports, never on timings.
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-$(pwd)/bin}
REPORTS=${BENCH_INTAKE_REPORTS:-50000}
CLIENTS=${BENCH_INTAKE_CLIENTS:-16}
CEILING=${BENCH_INTAKE_CEILING:-10000}
LOADGEN=build/tools/loadgen

# bin/incident is not needed here, so only what this benchmark runs is built.
make --no-print-directory -s bin/relayd "$LOADGEN" || exit 1

tmp=$(mktemp -d /tmp/tbsc-bench-intake-XXXXXX) || exit 1
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The port is picked free by setup; should another process take it first, set up again.
started=no
for attempt in 1 2 3; do
	rm -rf "$tmp/bench"
	port=$("$LOADGEN" setup "$tmp/bench" --agencies 100 --threads 2) || exit 1
	"$BIN/relayd" --config "$tmp/bench/relay.ini" 2>"$tmp/relayd.log" &
	pid=$!
	if "$LOADGEN" wait --port "$port" --timeout 10 && kill -0 "$pid" 2>/dev/null; then
		started=yes
		break
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
done
if [ "$started" != yes ]; then
	echo "b_intake: relayd did not start:" >&2
	tail -5 "$tmp/relayd.log" >&2
	exit 1
fi

"$LOADGEN" run "$tmp/bench" --port "$port" --reports "$REPORTS" --clients "$CLIENTS" \
	--ceiling "$CEILING" >"$tmp/out" 2>"$tmp/err"
status=$?

hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
# CPU seconds per relayd thread (utime + stime): shows where the relay spent its time, and how
# evenly libmicrohttpd spread the keep-alive connections over its workers.
threads=$(for t in /proc/"$pid"/task/*; do
	printf '%s %s\n' "$(cat "$t/comm")" "$(awk '{ print ($14 + $15) / 100 }' "$t/stat")"
done 2>/dev/null | sort | awk '{ total += $2; s = s sprintf(" %s %.2f s,", $1, $2) }
	END { printf "%.2f|%s", total, s }')
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=

cat "$tmp/err" >&2
echo "intake: $REPORTS pre-signed reports, $CLIENTS keep-alive clients, relayd threads = 2"
grep -v '^BENCH ' "$tmp/out"
if [ -n "$threads" ]; then
	echo "$threads" | awk -F'|' -v n="$REPORTS" '{ sub(/,$/, "", $2);
		printf "  relayd CPU              %.0f us per report;%s\n", $1 * 1e6 / n, $2 }'
fi
if [ -n "$hwm_kib" ]; then
	rss=$(awk -v k="$hwm_kib" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "  relayd peak RSS         $rss MiB"
fi
grep -e '^BENCH intake_reports_per_s ' -e '^BENCH intake_latency_' "$tmp/out"
[ -n "$hwm_kib" ] && echo "BENCH intake_relay_peak_rss_mib $rss MiB"
grep '^BENCH crypto_ceiling_' "$tmp/out"
if [ "$status" -ne 0 ]; then
	echo "b_intake: some reports were not accepted with a valid receipt (see above)" >&2
	exit 1
fi
exit 0
