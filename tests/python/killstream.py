#!/usr/bin/python3
"""killstream.py submit URL DIR OUT | verify DB OUT
submit: 4 threads send fresh reports until the relay stops answering; records each envelope's report id
with the outcome (receipt verified, or refused / no answer) in OUT.
verify: every report that got a verified receipt is in the store DB, with the receipt's log index; the
log indexes in the store are dense from 0; no report is stored twice."""
import json
import os
import sqlite3
import sys
import threading
import urllib.error
import urllib.request

import tbsc


def submit(url, d, out):
    relay_pk = tbsc.read_public(os.path.join(d, "relay.pub"))
    sks = [(a, tbsc.read_secret(os.path.join(d, a + ".sec"))) for a in ("unit-a", "unit-b")]
    results, lock = [], threading.Lock()

    def worker(n):
        name, sk = sks[n % 2]
        i = 0
        while True:
            env, h = tbsc.envelope(sk, name, relay_pk, tbsc.sample_report("KILL-%d-%d" % (n, i)))
            i += 1
            rid = h[:16].hex()
            try:
                req = urllib.request.Request(url + "/v1/reports", data=env, method="POST", headers={"Content-Type": "application/msgpack"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    body = r.read()
                rec = tbsc.verify_receipt(body, relay_pk, h)
                res = {"id": rid, "receipt": True, "log_index": rec["log_index"]}
            except urllib.error.HTTPError as e:
                res = {"id": rid, "receipt": False, "status": e.code}
            except Exception as e:  # connection refused/reset: the relay is gone
                with lock:
                    results.append({"id": rid, "receipt": False, "error": str(e)[:80]})
                return
            with lock:
                results.append(res)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(results, open(out, "w"))
    print("submitted %d, %d with receipts" % (len(results), sum(r["receipt"] for r in results)))


def verify(db, out):
    results = json.load(open(out))
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    stored = dict(con.execute("SELECT id, log_index FROM reports").fetchall())
    idx = [r[0] for r in con.execute("SELECT idx FROM log_entries ORDER BY idx")]
    bad = 0
    for r in results:
        if r["receipt"] and stored.get(r["id"]) != r["log_index"]:
            print("LOST: receipt for", r["id"], "but the store has", stored.get(r["id"]))
            bad += 1
        if not r["receipt"] and "status" in r and r["id"] in stored:
            print("STORED although refused:", r)
            bad += 1
    if idx != list(range(len(idx))):
        print("log indexes are not dense")
        bad += 1
    got = sum(r["receipt"] for r in results)
    print("receipts %d, stored %d, log entries %d, problems %d" % (got, len(stored), len(idx), bad))
    if got == 0:
        print("no receipt at all: the test did not exercise anything")
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if sys.argv[1] == "submit":
        submit(*sys.argv[2:5])
    else:
        verify(*sys.argv[2:4])
