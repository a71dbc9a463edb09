"""tbsc.py: an independent client for the relay, written from docs/protocol.md alone.

Uses only python3-nacl (libsodium through PyNaCl) and python3-msgpack, never the C code.
"""
import base64
import hashlib
import os
import struct
import time
import urllib.error
import urllib.request

import msgpack
import nacl.bindings
import nacl.public
import nacl.signing

CTX_ENVELOPE = b"tbsc-envelope-v1"
CTX_REPORT = b"tbsc-report-v1"
CTX_RECEIPT = b"tbsc-receipt-v1"


def key_id(pk):
    return hashlib.sha256(pk).digest()[:8]


def public_line(pk):
    return base64.b64encode(b"TP\x01" + key_id(pk) + pk).decode()


def write_keypair(prefix, seed=None):
    sk = nacl.signing.SigningKey(seed or os.urandom(32))
    pk = bytes(sk.verify_key)
    secret = b"TS\x01\x00" + key_id(pk) + bytes(sk) + pk
    with open(prefix + ".sec", "w") as f:
        f.write("untrusted comment: TBSC secret key %s\n%s\n" % (key_id(pk).hex(), base64.b64encode(secret).decode()))
    os.chmod(prefix + ".sec", 0o600)
    with open(prefix + ".pub", "w") as f:
        f.write("untrusted comment: TBSC public key %s\n%s\n" % (key_id(pk).hex(), public_line(pk)))
    return sk


def read_public(path):
    line = open(path).read().splitlines()[-1]
    blob = base64.b64decode(line, validate=True)
    assert blob[:3] == b"TP\x01" and len(blob) == 43
    pk = blob[11:]
    assert key_id(pk) == blob[3:11]
    return pk


def u8str(s):
    b = s.encode()
    return bytes([len(b)]) + b


def signed_report(sk, agency, report_bytes):
    pk = bytes(sk.verify_key)
    msg = CTX_REPORT + u8str(agency) + key_id(pk) + struct.pack(">I", len(report_bytes)) + report_bytes
    sig = sk.sign(msg).signature
    return msgpack.packb({"v": 1, "agency": agency, "kid": key_id(pk), "report": report_bytes, "sig": sig},
                         use_bin_type=True)


def envelope(sk, agency, relay_pk, report, ts=None, nonce=None):
    report_bytes = msgpack.packb(report, use_bin_type=True)
    relay_xpk = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(relay_pk)
    body = nacl.public.SealedBox(nacl.public.PublicKey(relay_xpk)).encrypt(signed_report(sk, agency, report_bytes))
    pk = bytes(sk.verify_key)
    ts = int(time.time()) if ts is None else ts
    nonce = os.urandom(16) if nonce is None else nonce
    signed = (CTX_ENVELOPE + u8str(agency) + key_id(pk) + struct.pack(">Q", ts) + nonce +
              struct.pack(">I", len(body)) + body)
    sig = sk.sign(signed).signature
    env = msgpack.packb({"v": 1, "agency": agency, "kid": key_id(pk), "ts": ts, "nonce": nonce,
                         "body": body, "sig": sig}, use_bin_type=True)
    return env, hashlib.sha256(signed).digest()


def verify_receipt(raw, relay_pk, expect_hash):
    r = msgpack.unpackb(raw, raw=False)
    assert r["v"] == 1
    assert r["hash"] == expect_hash, "receipt names another envelope"
    assert r["report_id"] == expect_hash[:16].hex()
    assert r["relay_kid"] == key_id(relay_pk)
    msg = (CTX_RECEIPT + r["hash"] + u8str(r["agency"]) + u8str(r["incident_id"]) +
           struct.pack(">QQ", r["received_ms"], r["log_index"]))
    nacl.signing.VerifyKey(relay_pk).verify(msg, r["sig"])
    return r


def post(url, data):
    req = urllib.request.Request(url + "/v1/reports", data=data, method="POST",
                                 headers={"Content-Type": "application/msgpack"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def read_secret(path):
    """Signing key from an unprotected TBSC secret key file."""
    line = open(path).read().splitlines()[-1]
    blob = base64.b64decode(line, validate=True)
    assert blob[:4] == b"TS\x01\x00" and len(blob) == 76, "not an unprotected TBSC secret key"
    sk = nacl.signing.SigningKey(blob[12:44])
    assert key_id(bytes(sk.verify_key)) == blob[4:12]
    return sk


def sample_report(incident="PY-1", kind="notification", pad=0):
    return {
        "v": 1, "kind": kind, "drill": False,
        "incident_id": incident, "category": "malware", "severity": "normal",
        "created": int(time.time()), "detected": int(time.time()) - 600,
        "reporter_name": "Trạm Y tế xã Thạch Quảng", "reporter_address": "xã Thạch Quảng, Thanh Hóa",
        "system_name": "Máy tính tiếp đón",
        "description": "Phát hiện mã độc trên máy tính tiếp đón." + " " * pad,
    }
