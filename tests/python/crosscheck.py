#!/usr/bin/python3
"""crosscheck.py RELAY_URL RELAY_PUB AGENCY_SEC_SEED_FILE AGENCY_ID: files a report built by Python; exit 0 when
the relay accepts it with a receipt that verifies, and refuses the tampered variants."""
import sys

import nacl.signing

import tbsc


def main():
    url, relay_pub, seed_file, agency = sys.argv[1:5]
    relay_pk = tbsc.read_public(relay_pub)
    sk = nacl.signing.SigningKey(bytes.fromhex(open(seed_file).read().strip()))
    report = {
        "v": 1, "kind": "notification", "drill": False,
        "incident_id": "PY-CROSSCHECK-1", "category": "phishing", "severity": "normal",
        "created": 1764000000, "detected": 1763999000,
        "reporter_name": "Trường Tiểu học Thạch Quảng", "reporter_address": "xã Thạch Quảng, Thanh Hóa",
        "system_name": "Hộp thư điện tử của trường",
        "description": "Giáo viên nhận thư giả mạo yêu cầu đăng nhập; đã đổi mật khẩu.",
    }
    env, h = tbsc.envelope(sk, agency, relay_pk, report)
    status, body = tbsc.post(url, env)
    assert status == 202, (status, body)
    r = tbsc.verify_receipt(body, relay_pk, h)
    print("accepted", r["report_id"], "log index", r["log_index"])
    # The same envelope again: the same receipt, not a second report.
    status, again = tbsc.post(url, env)
    assert status == 200 and again == body, (status, again)
    # A report field the protocol does not define: refused with a reason.
    bad = dict(report, extra="x")
    env2, _ = tbsc.envelope(sk, agency, relay_pk, bad)
    status, body = tbsc.post(url, env2)
    assert status == 400 and b"extra" in body, (status, body)
    # A stale timestamp: refused with 409 and the relay's time.
    env3, _ = tbsc.envelope(sk, agency, relay_pk, report, ts=1000)
    status, body = tbsc.post(url, env3)
    assert status == 409 and b"relay_time" in body, (status, body)
    print("python cross-check: ok")


if __name__ == "__main__":
    main()
