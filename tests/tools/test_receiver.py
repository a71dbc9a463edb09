#!/usr/bin/python3
"""test_receiver.py: HTTP(S) receiver for the channel tests.

usage: test_receiver.py PORT DIR [--tls CERT KEY]

Logs one JSON line per request to DIR/requests.log (method, path, headers, body in base64,
connection number), keeps DIR/stats.json (TCP connections accepted, most requests in flight at
once) and answers by path:
  /ok, anything else  200        /fail  500        /busy  429 + Retry-After: 7
  /busydate  503 + Retry-After as an HTTP-date 30 s ahead       /gone  410
  /redirect  302 to /ok          /bad  400         /slow  200 after 5 s
  /hold?ms=N  200 after N ms     /down  503 "Temporal failure, try again later."
HTTP/1.1 with keep-alive. With --tls, the TLS handshake runs in the connection's thread, so a
client that refuses the certificate only ends that connection.
"""
import base64
import email.utils
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

port, outdir = int(sys.argv[1]), sys.argv[2]
tls = None
if len(sys.argv) >= 6 and sys.argv[3] == "--tls":
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[4], sys.argv[5])

lock = threading.Lock()
stats = {"connections": 0, "in_flight": 0, "max_in_flight": 0, "requests": 0, "handled": 0}
log = open(os.path.join(outdir, "requests.log"), "a", encoding="utf-8")


def save_stats():
    tmp = os.path.join(outdir, "stats.json.tmp")
    with open(tmp, "w") as f:
        json.dump(stats, f)
    os.replace(tmp, os.path.join(outdir, "stats.json"))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def get_request(self):
        sock, addr = self.socket.accept()
        with lock:
            stats["connections"] += 1
            save_stats()
        if tls is not None:
            sock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # clients that time out or refuse our certificate are part of the tests


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        if tls is not None:
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        with lock:
            stats["handled"] += 1
            self.conn = stats["handled"]

    def answer(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urlsplit(self.path)
        with lock:
            stats["requests"] += 1
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
            save_stats()
            log.write(json.dumps({"t": round(time.time(), 3), "method": self.command,
                                  "path": self.path, "conn": self.conn,
                                  "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                                  "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body_b64": base64.b64encode(body).decode()},
                                 ensure_ascii=False) + "\n")
            log.flush()
        try:
            p = url.path
            if p == "/fail":
                self.answer(500, b"internal error")
            elif p == "/busy":
                self.answer(429, b"slow down", [("Retry-After", "7")])
            elif p == "/busydate":
                when = email.utils.formatdate(time.time() + 30, usegmt=True)
                self.answer(503, b"maintenance", [("Retry-After", when)])
            elif p == "/gone":
                self.answer(410, b"endpoint disabled")
            elif p == "/redirect":
                self.answer(302, b"", [("Location", "/ok")])
            elif p == "/bad":
                self.answer(400, b"bad request")
            elif p == "/down":
                self.answer(503, b"Temporal failure, try again later.")
            elif p == "/slow":
                time.sleep(5)
                self.answer(200, b"late")
            elif p == "/hold":
                time.sleep(int(parse_qs(url.query).get("ms", ["200"])[0]) / 1000)
                self.answer(200, b"ok")
            else:
                self.answer(200, b"ok")
        finally:
            with lock:
                stats["in_flight"] -= 1
                save_stats()

    do_GET = do_POST = handle_one

    def log_message(self, *args):
        pass


save_stats()
Server(("127.0.0.1", port), Handler).serve_forever()
