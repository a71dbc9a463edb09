#!/usr/bin/python3
"""v1a_check.py RELAY_PUB BODY_FILE WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE [--max-age S]

An independent Standard Webhooks receiver check (python3-nacl, no project code): verifies the
asymmetric v1a signature over "{id}.{timestamp}.{body}" with the relay's Ed25519 key, the way a
third-party receiver would, then checks that the body is JSON of the documented shape.
Exit 0 valid, 1 invalid (reason on stderr), 2 usage."""
import base64
import json
import sys
import time

import nacl.exceptions
import nacl.signing


def relay_key(path):
    # The key file's last line: base64("TP" 0x01 || key id (8) || Ed25519 public key (32)).
    blob = base64.b64decode(open(path).read().splitlines()[-1], validate=True)
    if blob[:3] != b"TP\x01" or len(blob) != 43:
        raise ValueError("not a TBSC public key")
    return nacl.signing.VerifyKey(blob[11:])


def main():
    args = sys.argv[1:]
    max_age = None
    if "--max-age" in args:
        i = args.index("--max-age")
        max_age = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    pub, body_file, msg_id, timestamp, header = args
    key = relay_key(pub)
    body = open(body_file, "rb").read()
    if "." in msg_id or not timestamp.isdigit():
        print("malformed webhook-id or webhook-timestamp", file=sys.stderr)
        return 1
    if max_age is not None and abs(time.time() - int(timestamp)) > max_age:
        print("timestamp outside tolerance", file=sys.stderr)
        return 1
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    ok = False
    for entry in header.split(" "):
        version, _, sig = entry.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(signed, base64.b64decode(sig, validate=True))
            ok = True
            break
        except (nacl.exceptions.BadSignatureError, ValueError):
            continue
    if not ok:
        print("no valid v1a signature", file=sys.stderr)
        return 1
    doc = json.loads(body.decode("utf-8"))
    data = doc["data"]
    assert doc["type"] == "incident.report", doc["type"]
    assert data["notification_id"] == msg_id, "webhook-id is not the notification id"
    for k in ("report_id", "incident_id", "agency", "kind", "drill", "log_index", "notification"):
        assert k in data, k
    base64.b64decode(data["notification"], validate=True)
    print("v1a ok: %s report %s incident %s%s" % (msg_id, data["report_id"], data["incident_id"],
                                                  " (DIỄN TẬP)" if data["drill"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
