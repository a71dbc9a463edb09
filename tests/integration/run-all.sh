#!/bin/sh
# Runs every integration test tests/integration/t_*.sh with BIN pointing at the binaries under test.
set -u
cd "$(dirname "$0")/../.."
: "${BIN:?BIN must name the directory holding relayd and incident}"
export BIN
fail=0
for t in tests/integration/t_*.sh; do
	echo "== $t"
	if ! sh "$t"; then
		echo "FAIL: $t"
		fail=1
	fi
done
[ "$fail" -eq 0 ] && echo "integration: all passed"
exit "$fail"
