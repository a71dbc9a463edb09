#!/usr/bin/python3
"""hostile.py URL DIR: every kind of bad input the relay must refuse, each with its status and error code.
DIR holds relay.pub and the agencies' secret keys made by the integration test."""
import os
import socket
import struct
import sys
import time
import urllib.request

import msgpack

import tbsc

URL, DIR = sys.argv[1], sys.argv[2]
relay_pk = tbsc.read_public(os.path.join(DIR, "relay.pub"))
key = {name: tbsc.read_secret(os.path.join(DIR, name + ".sec"))
       for name in ("unit-a", "unit-b", "unit-revoked", "unit-expired")}
failures = []


def expect(name, data, status, code):
    got, body = tbsc.post(URL, data)
    ok = got == status and (code is None or (b'"error":"%s"' % code.encode()) in body)
    if ok and status >= 400:
        ok = b'"reason":"' in body and b'"reason":""' not in body
    shown = body[:160].decode(errors="replace").strip() if got >= 400 else "(receipt, %d bytes)" % len(body)
    print("%-34s %s %s %s" % (name, "ok  " if ok else "FAIL", got, shown))
    if not ok:
        failures.append(name)


def raw_env(fields):
    return msgpack.packb(fields, use_bin_type=True)


good, _ = tbsc.envelope(key["unit-a"], "unit-a", relay_pk, tbsc.sample_report("H-GOOD"))
fields = msgpack.unpackb(good, raw=False)

# Size cap: 413 before anything is decoded.
expect("over the size cap", b"\x00" * (70 * 1024), 413, "too_large")
# Media type: 415.
req = urllib.request.Request(URL + "/v1/reports", data=good, method="POST", headers={"Content-Type": "text/plain"})
try:
    urllib.request.urlopen(req, timeout=5)
    failures.append("wrong media type")
except urllib.error.HTTPError as e:
    ok = e.code == 415 and b"media_type" in e.read()
    print("%-34s %s %s" % ("wrong media type", "ok  " if ok else "FAIL", e.code))
    if not ok:
        failures.append("wrong media type")
# Decoding: 400.
expect("not msgpack", b"hello, relay", 400, "bad_envelope")
expect("truncated msgpack", good[: len(good) // 2], 400, "bad_envelope")
expect("trailing bytes", good + b"\x00", 400, "bad_envelope")
expect("wrong type (ts as string)", raw_env(dict(fields, ts="now")), 400, "bad_envelope")
expect("wrong type (top-level array)", msgpack.packb([1, 2, 3]), 400, "bad_envelope")
expect("length prefix claims 4 GiB", b"\x87\xa1v\x01\xa6agency\xdb\xff\xff\xff\xf0abc", 400, "bad_envelope")
expect("array claims 2^31 elements", b"\xdd\x7f\xff\xff\xff\x01\x02", 400, "bad_envelope")
expect("deep nesting", b"\x91" * 5000 + b"\x01", 400, "bad_envelope")
expect("invalid UTF-8 in agency", raw_env(dict(fields, agency=b"\xc3\x28")).replace(b"\xc4\x02\xc3\x28", b"\xa2\xc3\x28"), 400, "bad_envelope")
expect("unknown version", raw_env(dict(fields, v=9)), 400, "bad_envelope")
expect("missing signature", raw_env({k: v for k, v in fields.items() if k != "sig"}), 400, "bad_envelope")
# Identity: 401 / 403.
env, _ = tbsc.envelope(key["unit-a"], "nobody", relay_pk, tbsc.sample_report())
expect("unknown agency", env, 401, "unknown_agency")
env, _ = tbsc.envelope(key["unit-b"], "unit-a", relay_pk, tbsc.sample_report())
expect("another agency's key (kid)", env, 401, "unknown_key")
forged = dict(fields, kid=tbsc.key_id(bytes(key["unit-a"].verify_key)))
forged["sig"] = key["unit-b"].sign(b"x").signature
expect("bad signature", raw_env(forged), 401, "bad_signature")
tampered = dict(fields, ts=fields["ts"] + 1)
expect("signed bytes altered (ts+1)", raw_env(tampered), 401, "bad_signature")
env, _ = tbsc.envelope(key["unit-revoked"], "unit-revoked", relay_pk, tbsc.sample_report())
expect("revoked key", env, 403, "key_revoked")
env, _ = tbsc.envelope(key["unit-expired"], "unit-expired", relay_pk, tbsc.sample_report())
expect("expired key", env, 403, "key_expired")
# The envelope from unit-a wraps a report signed by unit-b: the signer must be the sender.
rep = msgpack.packb(tbsc.sample_report("H-MISMATCH"), use_bin_type=True)
inner = tbsc.signed_report(key["unit-b"], "unit-b", rep)
import nacl.bindings, nacl.public  # noqa: E402
xpk = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(relay_pk)
body = nacl.public.SealedBox(nacl.public.PublicKey(xpk)).encrypt(inner)
pk_a = bytes(key["unit-a"].verify_key)
nonce, ts = os.urandom(16), int(time.time())
signed = (tbsc.CTX_ENVELOPE + tbsc.u8str("unit-a") + tbsc.key_id(pk_a) + struct.pack(">Q", ts) + nonce +
          struct.pack(">I", len(body)) + body)
env = raw_env({"v": 1, "agency": "unit-a", "kid": tbsc.key_id(pk_a), "ts": ts, "nonce": nonce, "body": body,
               "sig": key["unit-a"].sign(signed).signature})
expect("report signed by another agency", env, 403, "signer_mismatch")
# Body sealed to some other key: the relay cannot open it.
other_xpk = nacl.public.PrivateKey.generate().public_key
body = nacl.public.SealedBox(other_xpk).encrypt(tbsc.signed_report(key["unit-a"], "unit-a", rep))
signed = (tbsc.CTX_ENVELOPE + tbsc.u8str("unit-a") + tbsc.key_id(pk_a) + struct.pack(">Q", ts) + nonce +
          struct.pack(">I", len(body)) + body)
env = raw_env({"v": 1, "agency": "unit-a", "kid": tbsc.key_id(pk_a), "ts": ts, "nonce": os.urandom(16),
               "body": body, "sig": b"\x00" * 64})
expect("zero signature", env, 401, "bad_signature")
# Freshness: 409 with the relay's time.
env, _ = tbsc.envelope(key["unit-a"], "unit-a", relay_pk, tbsc.sample_report(), ts=int(time.time()) - 3600)
expect("stale timestamp", env, 409, "stale")
env, _ = tbsc.envelope(key["unit-a"], "unit-a", relay_pk, tbsc.sample_report(), ts=int(time.time()) + 3600)
expect("future timestamp", env, 409, "future")
# Report content: 400 with the field named.
bad = tbsc.sample_report()
del bad["description"]
env, _ = tbsc.envelope(key["unit-a"], "unit-a", relay_pk, bad)
expect("report missing a required field", env, 400, "bad_report")
env, _ = tbsc.envelope(key["unit-a"], "unit-a", relay_pk, dict(tbsc.sample_report(), severity="apocalyptic"))
expect("report enum out of range", env, 400, "bad_report")
# Replay: one good report, then the same nonce with another body.
nonce = os.urandom(16)
env1, _ = tbsc.envelope(key["unit-b"], "unit-b", relay_pk, tbsc.sample_report("H-REPLAY"), nonce=nonce)
expect("first use of a nonce", env1, 202, None)
expect("identical resubmission", env1, 200, None)
env2, _ = tbsc.envelope(key["unit-b"], "unit-b", relay_pk, tbsc.sample_report("H-REPLAY-2"), nonce=nonce)
expect("replayed nonce, different body", env2, 409, "replay")
# Wrong method and path.
req = urllib.request.Request(URL + "/v1/reports", method="GET")
try:
    urllib.request.urlopen(req, timeout=5)
    failures.append("GET /v1/reports")
except urllib.error.HTTPError as e:
    print("%-34s %s %s" % ("GET /v1/reports", "ok  " if e.code == 405 else "FAIL", e.code))
    if e.code != 405:
        failures.append("GET /v1/reports")

# Slow clients: connections that never finish a request do not stop the relay serving others.
host, port = URL.split("//")[1].split(":")
slow = []
for i in range(20):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
    slow.append(s)
t0 = time.time()
env, _ = tbsc.envelope(key["unit-a"], "unit-a", relay_pk, tbsc.sample_report("H-SLOW"))
expect("served while 20 clients stall", env, 202, None)
print("  answered in %.3f s" % (time.time() - t0))
# The relay closes the stalled connections after its connection timeout.
deadline = time.time() + 15
closed = 0
for s in slow:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        if s.recv(100) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
print("%-34s %s %d/20 closed by the relay" % ("slow clients timed out", "ok  " if closed == 20 else "FAIL", closed))
if closed != 20:
    failures.append("slow clients")

if failures:
    print("FAILED:", ", ".join(failures))
    sys.exit(1)
print("hostile inputs: all refused as expected")
