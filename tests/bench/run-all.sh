#!/bin/sh
# Runs every benchmark tests/bench/b_*.sh; each prints "BENCH <name> <value> <unit>" lines.
set -u
cd "$(dirname "$0")/../.."
: "${BIN:?BIN must name the directory holding relayd and incident}"
export BIN
for b in tests/bench/b_*.sh; do
	echo "== $b"
	sh "$b" || echo "benchmark failed: $b"
done
