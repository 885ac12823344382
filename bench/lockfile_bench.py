#!/usr/bin/env python3
"""A realistic application lockfile through an empty Airlock, against the
configured upstream index (issue #11's measure).

1. `uv pip compile --generate-hashes` of django, djangorestframework,
   celery[redis], requests, boto3 and pydantic for one target (this
   machine's CPython on linux x86_64).
2. A fresh Airlock (embedded SQLite, 2 in-process workers, targets set to
   that one target) imports the lockfile with its dependencies.
3. Reports: time until every release awaits review; closure resolution
   time (until every release's requirements are read and chosen); files
   and bytes mirrored with the target filter, and what the same releases
   list upstream (what a mirror without the filter would hold); the
   closure's audit size in lines; bulk approval of the low-risk members
   (the rest approved one by one, as an auditor would after reading);
   `pip install --require-hashes -r` of the export into a fresh venv.

The upstream is configuration, never written here:
    AIRLOCK_UPSTREAM=<simple index URL> AIRLOCK_UPSTREAM_FILE_HOSTS=<file host> \\
    [AIRLOCK_UPSTREAM_ALLOW_PRIVATE=true] python3 bench/lockfile_bench.py
Needs a built `target/release/airlock` (or --binary) and `uv` (the test
venv's, target/test-venv/bin/uv, or --uv).
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOTS = ["django", "djangorestframework", "celery[redis]", "requests", "boto3", "pydantic"]


def http(method, url, token=None, body=None, accept="application/json"):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Accept", accept)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=120) as resp:
        data = resp.read()
        return json.loads(data) if "json" in accept else data.decode()


def wait(what, check, timeout, every=0.5):
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return time.monotonic() - start, value
        if time.monotonic() - start > timeout:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(every)


def upstream_listing(upstream, name, version):
    """(files, bytes) the upstream lists for name==version."""
    page = http("GET", f"{upstream.rstrip('/')}/{name}/", accept="application/vnd.pypi.simple.v1+json")
    files = [f for f in page["files"] if f"-{version}" in f["filename"] and not f["filename"].endswith((".egg", ".exe", ".msi"))]
    picked = []
    for f in files:
        stem = f["filename"]
        for suffix in (".tar.gz", ".zip", ".whl", ".tar.bz2"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
        parts = stem.split("-")
        if len(parts) >= 2 and (parts[1] == version or stem.endswith(f"-{version}")):
            picked.append(f)
    return len(picked), sum(f.get("size") or 0 for f in picked)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/airlock")
    ap.add_argument("--uv", default="target/test-venv/bin/uv")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--port", type=int, default=18231)
    args = ap.parse_args()
    upstream = os.environ.get("AIRLOCK_UPSTREAM") or sys.exit("set AIRLOCK_UPSTREAM to the upstream simple index URL")
    pyver = subprocess.check_output([args.python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"], text=True).strip()

    work = tempfile.mkdtemp(prefix="airlock-lockbench-")
    roots = os.path.join(work, "roots.in")
    with open(roots, "w") as f:
        f.write("\n".join(ROOTS) + "\n")
    t = time.monotonic()
    lock = subprocess.run(
        [args.uv, "pip", "compile", roots, "--generate-hashes", "--quiet", "--no-header", "--python-version", pyver,
         "--python-platform", "x86_64-manylinux_2_28", "--index-url", upstream, "--no-config"],
        check=True, capture_output=True, text=True, env={**os.environ, "UV_CACHE_DIR": os.path.join(work, "uv-cache")},
    ).stdout
    pins = [l.split(" ")[0] for l in lock.splitlines() if "==" in l and not l.startswith((" ", "#"))]
    print(f"lockfile: {len(pins)} pins for CPython {pyver} on linux x86_64 (compiled in {time.monotonic() - t:.1f} s)")

    data = os.path.join(work, "data")
    os.makedirs(data)
    config = os.path.join(work, "airlock.toml")
    with open(config, "w") as f:
        f.write(f'target_pythons = ["{pyver}"]\ntarget_platforms = ["linux_x86_64"]\n')
    env = {**os.environ, "AIRLOCK_DATA_DIR": data, "AIRLOCK_CONFIG": config, "RUST_LOG": "warn"}
    cli = lambda *a, stdin=None: subprocess.run([args.binary, *a], env=env, input=stdin, capture_output=True, text=True, check=True).stdout
    cli("migrate")
    cli("user", "add", "bench", "--role", "admin", "--password-stdin", stdin="bench-password-123\n")
    token = cli("token", "create", "--user", "bench").strip().split()[-1]
    server = subprocess.Popen([args.binary, "serve", "--listen", f"127.0.0.1:{args.port}"], env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "serve.log"), "w"))
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait("the server", lambda: _up(base), 30)
        db = sqlite3.connect(f"file:{os.path.join(data, 'airlock.db')}?mode=ro", uri=True)
        q = lambda sql: db.execute(sql).fetchone()

        t0 = time.monotonic()
        report = http("POST", f"{base}/api/v1/imports", token, {"format": "requirements", "source": "requirements.txt", "content": lock, "with_dependencies": True})
        import_id = report["id"]

        # Every line checked against the upstream and requested (or refused).
        import_done = lambda: http("GET", f"{base}/api/v1/imports/{import_id}", token)["counts"]["checking"] == 0
        def resolved():
            pending, total = q("select sum(dependencies_at is null), count(*) from releases where with_dependencies")
            return total and pending == 0 and import_done() and total
        def reviewed():
            busy, total = q("select sum(status in ('requested','mirroring','inspecting')), count(*) from releases")
            return total and busy == 0 and import_done() and total
        t_resolved, releases_n = wait("the closure", resolved, 1800)
        t_review, _ = wait("every release awaiting review", reviewed, 1800)
        print(f"closure resolved: {releases_n} releases in {t_resolved:.1f} s after the import")
        print(f"every release awaiting review: {time.monotonic() - t0:.1f} s after the import")
        statuses = dict(db.execute("select status, count(*) from releases group by status").fetchall())
        print(f"statuses: {statuses}")
        failed = db.execute("select p.name, r.version, r.error from releases r join projects p on p.id = r.project_id where r.status = 'failed'").fetchall()
        for name, version, error in failed:
            print(f"  failed: {name} {version}: {error}")

        files, size = q("select count(*), coalesce(sum(size), 0) from files")
        rels = db.execute("select p.name, r.version from releases r join projects p on p.id = r.project_id").fetchall()
        up_files = up_bytes = 0
        for name, version in rels:
            n, b = upstream_listing(upstream, name, version)
            up_files += n
            up_bytes += b
        print(f"mirrored with the target filter: {files} files, {size / 1e6:.1f} MB; the same releases list {up_files} files, {up_bytes / 1e6:.1f} MB upstream (no filter)")

        def audited():
            lines = []
            for name, version in rels:
                r = http("GET", f"{base}/api/v1/releases/{name}/{version}", token)
                if r["status"] == "awaiting_review" and r["audit_lines"] is None:
                    return None
                lines.append(r["audit_lines"] or 0)
            return sum(lines) or None
        _, total_lines = wait("audit sizes", audited, 600, every=2)
        print(f"closure audit size: {total_lines:,} lines to read")

        t = time.monotonic()
        bulk = http("POST", f"{base}/api/v1/imports/{import_id}/approve", token, {"comment": "bench: low-risk members"})
        print(f"bulk approval: {len(bulk['approved'])} approved, {len(bulk['left'])} left for individual review ({(time.monotonic() - t) * 1000:.0f} ms)")
        for left in bulk["left"]:
            print(f"  left: {left['release']}: {left['reason']}")
            if "worst finding" not in left["reason"]:
                continue
            name, version = left["release"].split(" ", 1)
            http("POST", f"{base}/api/v1/releases/{name}/{version}/decision", token, {"decision": "approve", "comment": "bench: read by a person"})
        export = http("GET", f"{base}/api/v1/export?format=requirements", token, accept="text/plain")
        exported = os.path.join(work, "export.txt")
        with open(exported, "w") as f:
            f.write(export)
        venv = os.path.join(work, "venv")
        subprocess.run([args.python, "-m", "venv", venv], check=True)
        t = time.monotonic()
        pip = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "-q",
                              "--require-hashes", "--index-url", f"{base}/simple/", "-r", exported], capture_output=True, text=True)
        ok = pip.returncode == 0
        print(f"pip install --require-hashes -r export ({sum(1 for l in export.splitlines() if '==' in l and not l.startswith('#'))} pins): {'ok' if ok else 'FAILED'} in {time.monotonic() - t:.1f} s")
        if not ok:
            print(pip.stdout[-3000:], pip.stderr[-3000:])
            sys.exit(1)
        check = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import django, rest_framework, celery, redis, requests, boto3, pydantic; print(django.get_version())"], capture_output=True, text=True)
        print(f"imports in the venv: {'ok, django ' + check.stdout.strip() if check.returncode == 0 else 'FAILED ' + check.stderr[-500:]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"(work folder: {work})")


def _up(base):
    try:
        return http("GET", f"{base}/healthz", accept="text/plain") is not None
    except Exception:
        return False


if __name__ == "__main__":
    main()
