#!/usr/bin/env python3
"""One watch sync pass over many watched projects against a local upstream
(issue #13's measure): wall time and upstream requests of a pass when
nothing changed upstream, and when a few projects published a release.

A small threaded http.server stands in for the upstream index: PEP 691 JSON
project pages with an ETag (a digest of the page) and Last-Modified, a 304
to a matching If-None-Match, and a count of answers by status. Airlock is
the real binary on an embedded SQLite in a temporary folder; the passes are
`airlock sync` (the same pass the periodic sync runs), each printing its
report. Releases the pass requests are queued, not mirrored (no worker runs):
the pass is what is timed.

    python3 bench/watch_bench.py [--projects 1000] [--changed 10] [--binary target/release/airlock]
"""

import argparse
import concurrent.futures
import hashlib
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class Upstream:
    def __init__(self, projects):
        self.versions = {f"bench-proj-{i:04d}": ["1.0"] for i in range(projects)}
        self.lock = threading.Lock()
        self.counts = {}

    def page(self, name):
        files = [
            {
                "filename": f"{name.replace('-', '_')}-{v}-py3-none-any.whl",
                "url": f"/files/{name}-{v}.whl",
                "hashes": {"sha256": hashlib.sha256(f"{name}{v}".encode()).hexdigest()},
                "upload-time": "2024-01-01T00:00:00Z",
                "yanked": False,
            }
            for v in self.versions[name]
        ]
        return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()

    def count(self, status):
        with self.lock:
            self.counts[status] = self.counts.get(status, 0) + 1

    def take_counts(self):
        with self.lock:
            counts, self.counts = self.counts, {}
        return counts


def handler_for(up):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != "simple" or parts[1] not in up.versions:
                up.count(404)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = up.page(parts[1])
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                up.count(304)
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            up.count(200)
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=1000)
    ap.add_argument("--changed", type=int, default=10)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "airlock"))
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rate", type=float, default=0, help="watch_rate_per_sec (0: no limit)")
    args = ap.parse_args()

    up = Upstream(args.projects)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(up))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/simple/"

    with tempfile.TemporaryDirectory() as data:
        config = os.path.join(data, "airlock.toml")
        with open(config, "w") as f:
            f.write(f"watch_concurrency = {args.concurrency}\nwatch_rate_per_sec = {args.rate}\n")
        cli = [args.binary, "--data-dir", data, "--config", config, "--upstream", base]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_") and k != "DATABASE_URL"}
        subprocess.run(cli + ["migrate"], check=True, env=env, capture_output=True)
        started = time.monotonic()
        def watch(name):
            out = subprocess.run(cli + ["watch", name], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"airlock watch {name} failed: {out.stderr}")

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            list(pool.map(watch, up.versions))
        print(f"watched {args.projects} projects in {time.monotonic() - started:.1f} s (one `airlock watch` process each)", file=sys.stderr)

        def sync_pass(label):
            up.take_counts()
            t = time.monotonic()
            out = subprocess.run(cli + ["sync"], env=env, capture_output=True, text=True)
            wall = time.monotonic() - t
            if out.returncode != 0:
                sys.exit(f"airlock sync failed: {out.stderr}")
            report = json.loads(out.stdout)
            counts = up.take_counts()
            requests = sum(counts.values())
            row = (label, wall, report["millis"] / 1000, requests, counts.get(200, 0), counts.get(304, 0), len(report["requested"]))
            print("| {} | {:.2f} | {:.2f} | {} | {} | {} | {} |".format(*row))
            return report

        print(f"\n{args.projects} watched projects, watch_concurrency = {args.concurrency}, watch_rate_per_sec = {args.rate}\n")
        print("| pass | wall (s, process) | pass (s) | upstream requests | 200 | 304 | releases requested |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        sync_pass("first (no validators yet: every page read)")
        sync_pass("nothing changed")
        for name in list(up.versions)[: args.changed]:
            up.versions[name].append("1.1")
        report = sync_pass(f"{args.changed} changed")
        assert len(report["requested"]) == args.changed, report
        sync_pass("nothing changed again")
    server.shutdown()


if __name__ == "__main__":
    main()
