#!/usr/bin/env python3
"""http_sink.py - a webhook stand-in for the Slack relay test.

Listens on 127.0.0.1 (a free port unless --port is given), writes the port
to --port-file once it is listening, and appends one JSON line per POST to
--out: {"n": attempt number, "path": ..., "status": answer, "body": ...}.
It answers 500 to the first --fail-first requests and to every request
whose body contains --fail-match, 200 "ok" (as Slack does) otherwise.
Runs until killed.
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-match", default=None)
    args = ap.parse_args()

    lock = threading.Lock()
    state = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            with lock:
                state["n"] += 1
                n = state["n"]
                fail = n <= args.fail_first or (
                    args.fail_match is not None and args.fail_match in body)
                status = 500 if fail else 200
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"n": n, "path": self.path,
                                        "status": status, "body": body,
                                        "content_type":
                                        self.headers.get("Content-Type")})
                            + "\n")
            reply = b"ok" if status == 200 else b"internal_error"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *a):
            pass

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
