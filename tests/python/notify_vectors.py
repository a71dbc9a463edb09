#!/usr/bin/python3
"""notify_vectors.py: computes, independently of the C code (python3-nacl, hashlib), the vectors
tests/unit/test_notify.c checks: a Standard Webhooks v1a signature, an SMS code, a notification id.

The committed copy of its output is tests/fixtures/notify_vectors.txt; run it again to compare."""
import base64
import hashlib

import nacl.signing

SEED = bytes(range(32))
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
TIMESTAMP = 1674087231
BODY = '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}'


def main():
    sk = nacl.signing.SigningKey(SEED)
    signed = f"{MSG_ID}.{TIMESTAMP}.{BODY}".encode()
    sig = sk.sign(signed).signature
    print("seed_hex =", SEED.hex())
    print("public_key_hex =", sk.verify_key.encode().hex())
    print("webhook_id =", MSG_ID)
    print("webhook_timestamp =", TIMESTAMP)
    print("body =", BODY)
    print("webhook_signature = v1a," + base64.b64encode(sig).decode())
    # SMS code: the first 10 characters of base32(SHA-256("tbsc-sms-v1" || notification bytes)).
    sms_input = b"hello notification"
    code = base64.b32encode(hashlib.sha256(b"tbsc-sms-v1" + sms_input).digest())[:10].decode()
    print("sms_input =", sms_input.decode())
    print("sms_code =", code)
    # Notification id: hex of the first 16 bytes of SHA-256(report_id "/" recipient "/" channel).
    rid, rcpt, chan = "0123456789abcdef0123456789abcdef", "cong-an-xa", "webhook"
    print("nid_input =", f"{rid}/{rcpt}/{chan}")
    print("nid =", hashlib.sha256(f"{rid}/{rcpt}/{chan}".encode()).hexdigest()[:32])


if __name__ == "__main__":
    main()
