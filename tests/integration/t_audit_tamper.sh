#!/bin/sh
# t_audit_tamper.sh: `incident audit` passes a good log and catches each kind of tampering, with its reason.
set -u
cd "$(dirname "$0")/../.."
: "${BIN:?BIN must name the directory holding relayd and incident}"
T=$(mktemp -d /tmp/tbsc-audit-XXXXXX)
SERVER_PID=""
FAILED=0
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	if [ "$FAILED" -eq 0 ]; then rm -rf "$T"; else echo "(kept $T)"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; FAILED=1; exit 1; }
ok() { echo "ok: $*"; }

# The generator is a test helper built from our sources (default flags, whatever BIN is).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s build/tools/tlog_gen ||
	fail "building tlog_gen"
GEN=build/tools/tlog_gen
AUDIT="$BIN/incident audit"
VKEY=$($GEN vkey)

# mklog NAME N [generator options]: a fresh log signed with the test key
mklog() {
	name=$1 n=$2
	shift 2
	rm -rf "$T/$name"
	$GEN gen "$T/$name" "$n" --batch 100 --checkpoint-every 300 "$@" >/dev/null || fail "generating $name"
}

# expect_fail WHAT PATTERN AUDIT-ARGS...: exit status 1 and the reason on stderr
expect_fail() {
	what=$1 pattern=$2
	shift 2
	$AUDIT "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 1 ] || { cat "$T/out" "$T/err"; fail "$what: exit $rc, expected 1"; }
	grep -q -- "$pattern" "$T/err" || { cat "$T/err"; fail "$what: reason lacks '$pattern'"; }
	ok "$what: $(sed -n 's/^KHÔNG ĐẠT \/ FAILED: //p' "$T/err" | head -1)"
}

expect_ok() {
	what=$1
	shift
	$AUDIT "$@" >"$T/out" 2>"$T/err" || { cat "$T/out" "$T/err"; fail "$what: exit $?"; }
	ok "$what"
}

# --- a good log -------------------------------------------------------------------------------
mklog good 1000
expect_ok "clean log verifies" --log "$T/good" --key "$VKEY" --state "$T/state"
grep -q "Nhật ký hợp lệ / log verified: 1000" "$T/out" || fail "summary line"
grep -q "^relay.test.example/log" "$T/state" || fail "state file not written"
echo "$VKEY" >"$T/vkey"
expect_ok "key from a file, state from the last run" --log "$T/good" --key "$T/vkey" --state "$T/state"
grep -q "consistent with the last audit (checkpoint 1000)" "$T/out" || fail "state consistency line"
ID=$($AUDIT --log "$T/good" --key "$VKEY" --deadline 0.001 2>/dev/null |
	sed -n 's/^  \([0-9a-f]\{32\}\) .*/\1/p' | head -1)
[ -n "$ID" ] || fail "no report id to look at"
expect_ok "report view with inclusion proofs" --log "$T/good" --key "$VKEY" --report "$ID"
grep -q "inclusion proofs verified" "$T/out" || fail "report view: no proofs line"
grep -q "đã giao / delivered" "$T/out" || fail "report view: no delivery"

# --- usage and system errors: exit 2 ------------------------------------------------------------
$AUDIT --log "$T/good" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing --key is not exit 2"
$AUDIT --log "$T/nowhere" --key "$VKEY" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing dir is not exit 2"
$AUDIT --log "$T/good" --key "$VKEY" --report XYZ >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad id is not exit 2"
$AUDIT --log "$T/good" --key "not-a-key" >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad key is not exit 2"
$AUDIT --help | grep -q "Cách dùng / usage: incident audit" || fail "--help"
ok "usage errors exit 2"

# --- deadlines ----------------------------------------------------------------------------------
mklog late 2000 --undelivered-every 10
expect_fail "undelivered reports listed" "were not delivered to every routed recipient within 60.000 s" \
	--log "$T/late" --key "$VKEY" --deadline 60
grep -q "chưa giao / not delivered (undeliverable)" "$T/out" || fail "overdue list"
expect_ok "everything delivered within 60 s" --log "$T/good" --key "$VKEY" --deadline 60
expect_fail "deferred deliveries miss a 10 s deadline" "within 10.000 s" --log "$T/good" --key "$VKEY" \
	--deadline 10

# --- tampering with stored bytes ----------------------------------------------------------------
mklog t 1000
$GEN tamper "$T/t" flip-entry 17 || fail "tamper"
expect_fail "one byte of an entry" "entry 17: leaf hash does not match tile 0/000" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" flip-byte tile/0/001 $((32 * 5 + 3)) || fail "tamper"
expect_fail "one byte of a level-0 tile" "entry 261: leaf hash does not match tile 0/001" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" flip-byte tile/1/000.p/3 40 || fail "tamper"
expect_fail "one byte of a level-1 tile" "tile 1/000.p/3: hash 1 does not match" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" flip-byte checkpoint 25 || fail "tamper"
expect_fail "one byte of the checkpoint" "checkpoint signature does not verify" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" flip-byte checkpoints/600 30 || fail "tamper"
expect_fail "one byte of a kept checkpoint" "checkpoints/600: invalid signature" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" drop-entry 40 || fail "tamper"
expect_fail "an entry dropped" "holds fewer than 256 entries\|255 entries, 256 expected" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" drop-entry 990 || fail "tamper"
expect_fail "the last entry but ten dropped" "231 entries, 232 expected" --log "$T/t" --key "$VKEY"

mklog t 1000
$GEN tamper "$T/t" swap-entries 50 51 || fail "tamper"
expect_fail "two entries reordered" "entry 50: leaf hash does not match tile 0/000" --log "$T/t" --key "$VKEY"

mklog t 1000
rm "$T/t/tile/0/002"
expect_fail "a tile removed" "tile 0/002 is missing" --log "$T/t" --key "$VKEY"

expect_fail "another log's key" "no signature by key" --log "$T/good" --key "$($GEN vkey --key-seed other)"

# --- rollback -----------------------------------------------------------------------------------
mklog old 600 # the same log, as it was at 600 entries
expect_fail "rolled back below the state file" \
	"checkpoint 600 is not consistent with state file checkpoint 1000: the log was rolled back" \
	--log "$T/old" --key "$VKEY" --state "$T/state"
mklog t 1000
cp "$T/t/checkpoints/600" "$T/t/checkpoint"
expect_fail "checkpoint rolled back below a kept one" \
	"checkpoint 600 is older than kept checkpoint 1000: the log was rolled back" --log "$T/t" --key "$VKEY"

# --- a fork signed with the same key ------------------------------------------------------------
mklog fork 1200 --fork-at 500 --variant 1
expect_ok "the fork alone looks fine" --log "$T/fork" --key "$VKEY"
expect_fail "a fork against the state file" \
	"checkpoint 1200 is not consistent with state file checkpoint 1000: .*forked" \
	--log "$T/fork" --key "$VKEY" --state "$T/state"
cp "$T/good/checkpoints/900" "$T/fork/checkpoints/900"
expect_fail "a fork among the kept checkpoints" \
	"kept checkpoint 900 does not match the entries (root differs): the log was rewritten or forked" \
	--log "$T/fork" --key "$VKEY"
mklog fork 1000 --fork-at 500 --variant 1
cp "$T/good/checkpoints/1000" "$T/fork/checkpoints/1000"
expect_fail "two checkpoints of one size" "have different roots: the log was forked" --log "$T/fork" --key "$VKEY"

# --- entries that say impossible things, properly signed --------------------------------------
for kind in backwards unaccepted unrouted twice; do
	mklog s 1000
	$GEN tamper "$T/s" bad-entry 1000 "$kind" || fail "bad-entry $kind"
	case $kind in
	backwards) pat="entry 1000: time goes backwards" ;;
	unaccepted) pat="entry 1000: attempt for report 0123456789abcdef0123456789abcdef, which was not accepted" ;;
	unrouted) pat="entry 1000: attempt names nobody-routed-this/" ;;
	twice) pat="entry 1000: report [0-9a-f]* was already accepted at entry" ;;
	esac
	expect_fail "semantics: $kind" "$pat" --log "$T/s" --key "$VKEY"
done

# --- accept entries as relays before 7cbe929 wrote them (map header 0x88, docs/protocol.md §15) ---
ACC_TAIL=a174a6616363657074a169d92030346262373538356666633333613832343063383135613035393039616633\
65a168c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa161a6756e69742d61a3\
696e63b053432d32303235313132342d30303031a16bac6e6f74696669636174696f6ea164c2a26174cf0000019ab6\
97ecd2a6726f7574657390
rm -rf "$T/legacy"
$GEN append "$T/legacy" "88$ACC_TAIL" >/dev/null || fail "append legacy entry"
expect_ok "a legacy 0x88 accept entry is read" --log "$T/legacy" --key "$VKEY"
grep -q "1 mục tiếp nhận kiểu cũ" "$T/out" || fail "legacy entry not reported"
rm -rf "$T/legacy"
$GEN append "$T/legacy" "87$ACC_TAIL" >/dev/null || fail "append bad header"
expect_fail "a wrong map header" "entry 0: not a msgpack entry" --log "$T/legacy" --key "$VKEY"
# "at" as uint64 although it fits in 32 bits: not the canonical encoding
rm -rf "$T/legacy"
$GEN append "$T/legacy" "$(echo "89$ACC_TAIL" | sed 's/a26174cf0000019ab697ecd2/a26174cf000000000000ecd2/')" >/dev/null ||
	fail "append non-canonical"
expect_fail "a non-canonical encoding" "entry 0: not in canonical msgpack encoding" --log "$T/legacy" --key "$VKEY"

# --- over HTTP, from a loopback server publishing the directory under /log/ ----------------------
PORT_FILE="$T/port"
/usr/bin/python3 - "$T/good" "$PORT_FILE" <<'EOF' &
import http.server, os, sys
root, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        p = self.path
        if not p.startswith("/log/") or ".." in p:
            return self.send_error(404)
        rel = p[len("/log/"):]
        if rel == "checkpoints/" and os.path.exists(root + "/../nolist"):
            return self.send_error(404)  # as relayd: no listing
        if rel == "checkpoints/":
            body = "".join(n + "\n" for n in os.listdir(os.path.join(root, "checkpoints")) if n.isdigit()).encode()
        else:
            f = os.path.join(root, rel)
            if not os.path.isfile(f):
                return self.send_error(404)
            body = open(f, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
EOF
SERVER_PID=$!
i=0
while [ ! -s "$PORT_FILE" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "test HTTP server did not start"
	sleep 0.05
done
URL="http://127.0.0.1:$(cat "$PORT_FILE")"
expect_ok "over HTTP" --log "$URL" --key "$VKEY" --state "$T/state" --report "$ID"
grep -q "inclusion proofs verified" "$T/out" || fail "HTTP report view"
grep -q "4 checkpoint được lưu" "$T/out" || fail "HTTP listing of kept checkpoints"
touch "$T/nolist"
expect_ok "over HTTP without a listing, as relayd serves it" --log "$URL" --key "$VKEY" --state "$T/state"
grep -q "1 checkpoint được lưu.*no listing" "$T/out" || fail "HTTP without listing: state checkpoint not checked"
mv "$T/good/checkpoints/1000" "$T/cp1000"
expect_fail "the checkpoint seen last time is no longer kept" \
	"checkpoints/1000, the state file's checkpoint, is no longer kept" --log "$URL" --key "$VKEY" --state "$T/state"
mv "$T/cp1000" "$T/good/checkpoints/1000"
rm "$T/good/tile/0/003.p/232"
expect_fail "a partial tile removed" "tile 0/003.p/232 is missing" --log "$URL" --key "$VKEY"
echo "audit tamper tests: all passed"
