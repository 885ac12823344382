#!/usr/bin/env python3
"""Airlock beyond one machine: what more processes buy.

Runs the real `airlock` binary against PostgreSQL and (when AIRLOCK_TEST_S3
names a bucket, e.g. after `eval "$(scripts/s3-test-server)"`) the S3 blob
store, with a local upstream index started here on 127.0.0.1, and prints
three tables:

1. workers: 1, 2 and 4 `airlock worker` processes mirror and inspect N small
   releases (default 500) queued beforehand: releases per minute and the
   ratio to one process.
2. parallel downloads: one release of 90 wheels, each answered after 0.3 s
   (a realistic upstream's latency), mirrored with upstream_concurrency 1
   (one file at a time, as before) and 4 (the default).
3. coherence: two `airlock serve` processes on one database; the time from
   an approval made through the first until the second's index lists the
   release (median of several).

Usage: bench/scale_bench.py [--releases 500] [--binary target/debug/airlock]
Needs: psql and a PostgreSQL server (AIRLOCK_TEST_POSTGRES, default
postgres://postgres@127.0.0.1:5432/test). Every process it starts is stopped
at the end; every schema and bucket prefix it makes is its own.
"""

import argparse
import base64
import hashlib
import http.server
import io
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(name, version, build=None):
    """A small valid wheel: one module, METADATA, WHEEL, RECORD."""
    dist = name.replace("-", "_")
    tag = f"{build}-py3-none-any" if build else "py3-none-any"
    filename = f"{dist}-{version}-{tag}.whl"
    info = f"{dist}-{version}.dist-info"
    members = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n\ndef hello():\n    return 'hello from {name}'\n".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: bench package\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: scale_bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        + (f"Build: {build}\n".encode() if build else b""),
    }
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in members.items()) + f"{info}/RECORD,,\n"
    members[f"{info}/RECORD"] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in members.items():
            z.writestr(path, data)
    return filename, buf.getvalue()


class Upstream:
    """PEP 691 JSON pages and files on 127.0.0.1, each file answered after `latency` s."""

    def __init__(self):
        self.projects = {}  # normalized name -> [(filename, bytes)]
        self.files = {}
        self.latency = 0.0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urllib.parse.unquote(self.path.split("?")[0])
                if path.startswith("/simple/"):
                    name = path[len("/simple/"):].strip("/")
                    files = upstream.projects.get(name)
                    if files is None:
                        return self.answer(404, "text/plain", b"no such project")
                    page = {
                        "meta": {"api-version": "1.1"},
                        "name": name,
                        "files": [
                            {"filename": f, "url": f"/files/{f}", "hashes": {"sha256": hashlib.sha256(b).hexdigest()}, "size": len(b)}
                            for f, b in files
                        ],
                    }
                    return self.answer(200, JSON_TYPE, json.dumps(page).encode())
                if path.startswith("/files/"):
                    data = upstream.files.get(path[len("/files/"):])
                    if data is None:
                        return self.answer(404, "text/plain", b"no such file")
                    time.sleep(upstream.latency)
                    return self.answer(200, "application/octet-stream", data)
                self.answer(404, "text/plain", b"not found")

            def answer(self, status, ctype, body):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def publish(self, name, files):
        self.projects[name] = files
        for f, b in files:
            self.files[f] = b


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """One Airlock installation: a PostgreSQL schema, a blob store, its processes."""

    def __init__(self, args, upstream, label, settings=""):
        self.args = args
        self.schema = f"bench_{label}_{secrets.token_hex(4)}"
        self.admin_url = args.postgres
        psql(self.admin_url, f"CREATE SCHEMA {self.schema}")
        sep = "&" if "?" in self.admin_url else "?"
        self.db_url = f"{self.admin_url}{sep}options=-c%20search_path%3D{self.schema}"
        self.tmp = tempfile.TemporaryDirectory(prefix="airlock-scale-")
        self.config = os.path.join(self.tmp.name, "airlock.toml")
        with open(self.config, "w") as f:
            f.write("upstream_sync_secs = 0\nwatch_sync_secs = 0\nretry_base_ms = 200\n" + settings)
        self.env = dict(os.environ, DATABASE_URL=self.db_url, AIRLOCK_UPSTREAM=upstream.base, AIRLOCK_CONFIG=self.config, RUST_LOG="warn")
        if args.s3:
            url = urllib.parse.urlparse(args.s3)
            self.env.update(
                AIRLOCK_BLOB_STORE=f"s3://{url.path.strip('/')}/{self.schema}/",
                AWS_ENDPOINT_URL=f"{url.scheme}://{url.netloc}",
                AWS_ALLOW_HTTP="true",
                AWS_ACCESS_KEY_ID="test",
                AWS_SECRET_ACCESS_KEY="test",
                AWS_REGION="us-east-1",
            )
        self.procs = []
        self.run("migrate")
        self.run("user", "add", "bench", "--role", "admin", "--password-stdin", stdin="bench password 1\n")
        self.token = self.run("token", "create", "--user", "bench").strip()

    def node_env(self, node):
        return dict(self.env, AIRLOCK_DATA_DIR=os.path.join(self.tmp.name, f"node-{node}"))

    def run(self, *argv, stdin=None):
        out = subprocess.run([self.args.binary, *argv], env=self.node_env(0), input=stdin, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"airlock {' '.join(argv)} failed: {out.stderr}")
        return out.stdout

    def spawn(self, node, *argv):
        log = open(os.path.join(self.tmp.name, f"node-{node}.log"), "ab")
        proc = subprocess.Popen([self.args.binary, *argv], env=self.node_env(node), stdout=subprocess.DEVNULL, stderr=log)
        self.procs.append(proc)
        return proc

    def serve(self, node, workers=0):
        port = free_port()
        self.spawn(node, "serve", "--listen", f"127.0.0.1:{port}", "--workers", str(workers))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return base
            except OSError:
                time.sleep(0.1)
        sys.exit(f"airlock serve on {base} never became ready")

    def api(self, base, method, path, body=None):
        req = urllib.request.Request(f"{base}{path}", method=method, data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def statuses(self):
        rows = psql(self.db_url, "SELECT status, count(*) FROM releases GROUP BY status")
        return {s: int(n) for s, n in (line.split("|") for line in rows.splitlines() if line)}

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        psql(self.admin_url, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.tmp.cleanup()


def psql(url, sql):
    out = subprocess.run(["psql", url, "-qAtc", sql], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql: {out.stderr}")
    return out.stdout


def wait_until(check, bound, what):
    started = time.time()
    while time.time() - started < bound:
        if check():
            return time.time() - started
        time.sleep(0.05)
    sys.exit(f"timed out after {bound} s: {what}")


def bench_workers(args, upstream):
    names = [f"scale-bench-{i:04d}" for i in range(args.releases)]
    for n in names:
        upstream.publish(n, [wheel(n, "1.0")])
    rows = []
    for processes in (1, 2, 4):
        inst = Instance(args, upstream, f"w{processes}")
        try:
            base = inst.serve(0)
            for n in names:
                inst.api(base, "POST", "/api/v1/requests", {"requirement": f"{n}==1.0"})
            started = time.time()
            for i in range(processes):
                inst.spawn(i + 1, "worker", "--workers", "1")
            done = lambda: sum(v for k, v in inst.statuses().items() if k in ("awaiting_review", "failed", "approved")) >= len(names)
            took = wait_until(done, 3600, f"{len(names)} releases with {processes} worker processes")
            failed = inst.statuses().get("failed", 0)
            rows.append((processes, took, len(names) / took * 60, failed))
            print(f"  {processes} worker process(es): {len(names)} releases in {took:.1f} s ({failed} failed)", file=sys.stderr)
        finally:
            inst.stop()
    print(f"\n## Mirror + inspect of {len(names)} one-wheel releases (PostgreSQL, {'S3 via ' + args.s3 if args.s3 else 'local folder'} blobs)\n")
    print("| worker processes | seconds | releases/min | vs 1 process | failed |")
    print("|---|---|---|---|---|")
    for processes, took, rate, failed in rows:
        print(f"| {processes} | {took:.1f} | {rate:.0f} | {rate / rows[0][2]:.2f}x | {failed} |")


def bench_parallel_downloads(args, upstream):
    name = "scale-bench-wide"
    upstream.publish(name, [wheel(name, "1.0", build=str(b)) for b in range(1, 91)])
    rows = []
    for concurrency in (1, 4):
        upstream.latency = 0.3
        inst = Instance(args, upstream, f"c{concurrency}", settings=f"upstream_concurrency = {concurrency}\n")
        try:
            base = inst.serve(0, workers=1)
            started = time.time()
            inst.api(base, "POST", "/api/v1/requests", {"requirement": f"{name}==1.0"})
            mirrored = lambda: not ({"requested", "mirroring"} & set(inst.statuses()))
            took = wait_until(mirrored, 600, "the 90-file release to be mirrored")
            files = int(psql(inst.db_url, "SELECT count(*) FROM files").strip())
            rows.append((concurrency, files, took))
            print(f"  upstream_concurrency {concurrency}: {files} files in {took:.1f} s", file=sys.stderr)
        finally:
            upstream.latency = 0.0
            inst.stop()
    print("\n## One release of 90 wheels, 0.3 s upstream latency per file\n")
    print("| upstream_concurrency | files mirrored | seconds to mirror |")
    print("|---|---|---|")
    for concurrency, files, took in rows:
        print(f"| {concurrency}{' (one at a time, as before)' if concurrency == 1 else ' (default)'} | {files} | {took:.1f} |")


def bench_coherence(args, upstream, rounds=5):
    inst = Instance(args, upstream, "coherence")
    names = [f"scale-bench-co-{i}" for i in range(rounds)]
    for n in names:
        upstream.publish(n, [wheel(n, "1.0")])
    try:
        first, second = inst.serve(1, workers=2), inst.serve(2)
        times = []
        for n in names:
            inst.api(first, "POST", "/api/v1/requests", {"requirement": f"{n}==1.0"})
            wait_until(lambda: inst.api(first, "GET", f"/api/v1/releases/{n}/1.0")["status"] == "awaiting_review", 120, f"{n} to await review")

            def listed():
                req = urllib.request.Request(f"{second}/simple/{n}/", headers={"Accept": JSON_TYPE})
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        return "1.0" in json.loads(r.read()).get("versions", [])
                except urllib.error.HTTPError:
                    return False

            listed()  # the second process now has the page (without 1.0) cached
            started = time.time()
            inst.api(first, "POST", f"/api/v1/releases/{n}/1.0/decision", {"decision": "approve", "comment": "bench"})
            while not listed():
                time.sleep(0.005)
            times.append(time.time() - started)
    finally:
        inst.stop()
    print("\n## Two server processes, one database: approval on one until the other's index lists it\n")
    print(f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {len(times)} approvals")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--releases", type=int, default=500)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/debug/airlock"))
    p.add_argument("--postgres", default=os.environ.get("AIRLOCK_TEST_POSTGRES") or "postgres://postgres@127.0.0.1:5432/test")
    p.add_argument("--s3", default=os.environ.get("AIRLOCK_TEST_S3") or None, help="http://host:port/bucket (default: AIRLOCK_TEST_S3)")
    p.add_argument("--only", choices=["workers", "downloads", "coherence"])
    args = p.parse_args()
    upstream = Upstream()
    print(f"binary {args.binary}; {os.cpu_count()} CPUs; blobs on {args.s3 or 'local folders'}", file=sys.stderr)
    if args.only in (None, "downloads"):
        bench_parallel_downloads(args, upstream)
    if args.only in (None, "coherence"):
        bench_coherence(args, upstream)
    if args.only in (None, "workers"):
        bench_workers(args, upstream)


if __name__ == "__main__":
    main()
