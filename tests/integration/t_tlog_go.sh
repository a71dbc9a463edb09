#!/bin/sh
# t_tlog_go.sh: Go's golang.org/x/mod sumdb/note and sumdb/tlog independently verify logs our C code wrote.
set -u
cd "$(dirname "$0")/../.."
: "${BIN:?BIN must name the directory holding relayd and incident}"
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then
	echo "SKIP: go or golang-golang-x-mod-dev not installed"
	exit 0
fi
T=$(mktemp -d /tmp/tbsc-tlog-go-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; exit 1; }

# Both helpers are built here from our sources and tests/go (GOPATH mode, offline).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s build/tools/tlog_gen build/tools/tlogcheck ||
	fail "building tlog_gen and tlogcheck"
GEN=build/tools/tlog_gen
CHECK=build/tools/tlogcheck

# check N BATCH INDEX... : a log of N entries written in batches, checked with proofs
check() {
	n=$1 batch=$2
	shift 2
	rm -rf "$T/log"
	vkey=$($GEN gen "$T/log" "$n" --batch "$batch" --checkpoint-every 5000) || fail "gen $n"
	: >"$T/proofs"
	for i in "$@"; do
		old=$(((i + 1) / 2 + 1))
		$GEN proofs "$T/log" "$i" "$n" "$old" >>"$T/proofs" || fail "proofs $i $n"
		[ "$n" -gt 1 ] && { $GEN proofs "$T/log" "$i" "$n" "$n" >>"$T/proofs" || fail "proofs $i $n"; }
	done
	out=$($CHECK "$T/log" "$vkey" "$T/proofs") || fail "Go rejects the log of $n entries: $out"
	echo "ok: $out"
	# and the Go verdict agrees with ours
	"$BIN/incident" audit --log "$T/log" --key "$vkey" >/dev/null || fail "incident audit rejects $n"
}

check 0 1
check 1 1 0
check 2 1 0 1
check 7 3 0 3 6
check 256 100 0 128 255
check 257 256 0 255 256
check 1000 333 0 17 512 999
check 70000 997 0 255 256 12345 65535 65536 69999

# a signature by another key, or a changed byte, is refused by Go too
rm -rf "$T/log"
vkey=$($GEN gen "$T/log" 300 --batch 100) || fail gen
other=$($GEN vkey --key-seed other)
$CHECK "$T/log" "$other" >/dev/null 2>&1 && fail "Go accepted a checkpoint under another key"
$GEN tamper "$T/log" flip-entry 5 || fail tamper
$CHECK "$T/log" "$vkey" >/dev/null 2>&1 && fail "Go accepted a changed entry"
echo "ok: Go refuses another key and a changed entry"
echo "tlog Go cross-check: all passed"
