#!/usr/bin/python3
"""flood.py URL DIR AGENCY N: N valid reports as fast as possible; prints counts by status; exit 0 when
some were refused with 429 and a Retry-After, and none with anything but 202/429."""
import os
import sys
import urllib.error
import urllib.request

import tbsc

URL, DIR, AGENCY, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
relay_pk = tbsc.read_public(os.path.join(DIR, "relay.pub"))
sk = tbsc.read_secret(os.path.join(DIR, AGENCY + ".sec"))
counts = {}
retry_after = None
for i in range(N):
    env, _ = tbsc.envelope(sk, AGENCY, relay_pk, tbsc.sample_report("FLOOD-%d" % i))
    req = urllib.request.Request(URL + "/v1/reports", data=env, method="POST", headers={"Content-Type": "application/msgpack"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            counts[r.status] = counts.get(r.status, 0) + 1
    except urllib.error.HTTPError as e:
        counts[e.code] = counts.get(e.code, 0) + 1
        if e.code == 429:
            retry_after = e.headers.get("Retry-After")
print("flood:", counts, "Retry-After:", retry_after)
ok = counts.get(429, 0) > 0 and retry_after is not None and set(counts) <= {202, 429}
sys.exit(0 if ok else 1)
