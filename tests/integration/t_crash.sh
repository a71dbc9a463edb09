#!/bin/sh
# t_crash.sh: SIGKILL during a stream of submissions; after a restart every report that got a receipt is
# there with its log index, none that was refused is, and the transparency log catches up.
. "$(dirname "$0")/lib.sh"

keygen relay
enrol unit-a unit
enrol unit-b unit
write_config
for round in 1 2 3; do
	start_relay
	$PY "$ROOT/tests/python/killstream.py" submit "$URL" "$T" "$T/results-$round.json" >"$T/submit-$round.log" 2>&1 &
	SUB=$!
	sleep 1.5
	kill_relay
	wait "$SUB"
	cat "$T/submit-$round.log"
	$PY "$ROOT/tests/python/killstream.py" verify "$T/relay.db" "$T/results-$round.json" || fail "round $round: reports lost or stored wrongly"
done
check_sanitizers

# SIGTERM while clients are still submitting: a clean exit (0, no sanitizer report), nothing lost.
start_relay
$PY "$ROOT/tests/python/killstream.py" submit "$URL" "$T" "$T/results-term.json" >"$T/submit-term.log" 2>&1 &
SUB=$!
sleep 1.5
stop_relay
wait "$SUB"
$PY "$ROOT/tests/python/killstream.py" verify "$T/relay.db" "$T/results-term.json" || fail "SIGTERM under load: reports lost"
ok "SIGTERM under load: clean exit, every receipted report kept"

# After the crashes the relay starts, mirrors every committed entry into the tiles and signs a checkpoint.
start_relay
entries=$(db_count 'SELECT COUNT(*) FROM log_entries')
i=0
until [ "$(sed -n 2p "$T/log/checkpoint")" = "$entries" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "checkpoint size $(sed -n 2p "$T/log/checkpoint") never reached $entries entries"
	sleep 0.1
done
stop_relay
ok "SIGKILL x3 mid-stream: every receipted report kept, log checkpoint covers all $entries entries"
