#!/bin/sh
# b_tlog.sh: transparency log benchmarks: durable appends, auditing 1,000,000 entries, proofs.
set -u
cd "$(dirname "$0")/../.."
: "${BIN:?BIN must name the directory holding relayd and incident}"
T=$(mktemp -d /tmp/tbsc-bench-tlog-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s build/tools/tlog_gen build/tools/tlog_bench ||
	exit 1

# appends through the logwriter (batches of 1000, fsync per batch, a checkpoint a second),
# then 20,000 inclusion proofs at random indexes generated from the tiles and verified
build/tools/tlog_bench "$T/bench" 500000 || exit 1
rm -rf "$T/bench"

# `incident audit` of a freshly written 1,000,000-entry log, from scratch (no state file)
vkey=$(build/tools/tlog_gen gen "$T/audit" 1000000 --batch 2000 --checkpoint-every 50000) || exit 1
start=$(date +%s.%N)
"$BIN/incident" audit --log "$T/audit" --key "$vkey" >"$T/out" || { cat "$T/out"; exit 1; }
end=$(date +%s.%N)
grep -q "log verified: 1000000" "$T/out" || { cat "$T/out"; exit 1; }
awk -v s="$start" -v e="$end" 'BEGIN { printf "BENCH tlog_audit_1m_entries_s %.2f s\n", e - s }'
