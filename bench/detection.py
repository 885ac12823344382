#!/usr/bin/env python3
"""Detection benchmark: recall on the malicious development set and the
false-positive rate on the benign set, with a per-rule breakdown and timing.

  bench/detection.py [--airlock target/release/airlock] [--malicious ZIP] [--benign DIR]

The malicious zip (password "infected") is unpacked into a temporary folder
and scanned as bytes by `airlock scan`; nothing in it is installed, imported
or executed, and the folder is deleted afterwards. The benign folder is what
bench/fetch_benign.py downloads. A release is flagged when its highest
finding is high or critical.
"""
import argparse
import collections
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def scan(airlock, path):
    started = time.time()
    out = subprocess.run([airlock, "scan", "--format", "json", path], check=True, capture_output=True, text=True).stdout
    wall = time.time() - started
    return [json.loads(line) for line in out.splitlines() if line.strip()], wall


def flagged_rules(result):
    return sorted({f["rule"] for f in result.get("findings", []) if f["severity"] in ("high", "critical")})


def campaign_key(path):
    """Cluster samples by their install script with names and versions blanked (read as bytes only)."""
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.name.count("/") == 1 and member.name.endswith("/setup.py") and member.isfile():
                    data = tar.extractfile(member).read()
                    top = member.name.split("/")[0]
                    name, _, version = top.rpartition("-")
                    for token in {top, name, version, name.replace("-", "_")} - {""}:
                        data = data.replace(token.encode(), b"@")
                    data = re.sub(rb"\s+", b"", data)
                    data = re.sub(rb"[\"'][^\"']{0,40}[\"']", b"''", data)
                    return hashlib.sha256(data).hexdigest()[:16]
    except Exception:
        pass
    return "no-setup:" + os.path.basename(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--airlock", default=os.path.join(ROOT, "target", "release", "airlock"))
    ap.add_argument("--malicious", default=os.path.join(ROOT, "..", "shared", "datasets", "malicious-dev.zip"))
    ap.add_argument("--benign", default=os.path.join(ROOT, "target", "bench-data", "benign"))
    ap.add_argument("--show-missed", type=int, default=0, help="print this many missed malicious samples")
    ap.add_argument("--show-fp", action="store_true", help="print the benign files that were flagged")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="airlock-malicious-")
    try:
        with zipfile.ZipFile(args.malicious) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                # Keep the original file name (rules compare it with the metadata).
                target = os.path.join(tmp, os.path.dirname(info.filename).replace("/", "__"), os.path.basename(info.filename))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as fh:
                    fh.write(z.read(info, pwd=b"infected"))
        mal, mal_wall = scan(args.airlock, tmp)
        campaigns = collections.defaultdict(list)
        for r in mal:
            campaigns[campaign_key(r["path"])].append(r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ben, ben_wall = scan(args.airlock, args.benign)

    mal_flagged = [r for r in mal if r["flagged"]]
    camp_flagged = [k for k, rs in campaigns.items() if any(r["flagged"] for r in rs)]
    by_project = collections.defaultdict(list)
    for r in ben:
        base = os.path.basename(r["path"])
        by_project[re.split(r"-\d", base, maxsplit=1)[0].lower().replace("_", "-")].append(r)
    ben_flagged_projects = [p for p, rs in by_project.items() if any(r["flagged"] for r in rs)]
    ben_flagged_files = [r for r in ben if r["flagged"]]

    print("## Detection")
    print(f"malicious archives: {len(mal)}, flagged {len(mal_flagged)}: recall {100 * len(mal_flagged) / max(1, len(mal)):.1f}%")
    print(f"malicious campaigns: {len(campaigns)}, flagged {len(camp_flagged)}: recall {100 * len(camp_flagged) / max(1, len(campaigns)):.1f}%")
    print(f"benign releases (projects): {len(by_project)}, flagged {len(ben_flagged_projects)}: false positives {100 * len(ben_flagged_projects) / max(1, len(by_project)):.1f}%")
    print(f"benign files: {len(ben)}, flagged {len(ben_flagged_files)} ({100 * len(ben_flagged_files) / max(1, len(ben)):.1f}%)")

    print("\n## Per rule (archives where the rule is high or critical)")
    mal_rules = collections.Counter(rule for r in mal for rule in flagged_rules(r))
    ben_rules = collections.Counter(rule for r in ben for rule in flagged_rules(r))
    print(f"{'rule':40} {'malicious':>10} {'benign':>8}")
    for rule in sorted(set(mal_rules) | set(ben_rules), key=lambda x: (-mal_rules[x], x)):
        print(f"{rule:40} {mal_rules[rule]:>10} {ben_rules[rule]:>8}")

    print("\n## Speed")
    times = sorted(r["elapsed_ms"] for r in ben + mal)
    small = sorted(r["elapsed_ms"] for r in ben + mal if r.get("uncompressed_bytes", 0) < 1_000_000)
    total_bytes = sum(r.get("uncompressed_bytes", 0) for r in ben)
    print(f"median per archive: {statistics.median(times):.1f} ms; median per small archive (<1 MB unpacked): {statistics.median(small):.1f} ms")
    print(f"slowest: " + ", ".join(f"{os.path.basename(r['path'])} {r['elapsed_ms']:.0f} ms" for r in sorted(ben + mal, key=lambda r: -r["elapsed_ms"])[:3]))
    print(f"benign set: {len(ben)} files, {total_bytes / 1e6:.0f} MB unpacked, wall {ben_wall:.1f} s: {total_bytes / 1e6 / ben_wall:.0f} MB/s")
    print(f"malicious set: {len(mal)} files, wall {mal_wall:.1f} s")

    if args.show_missed:
        print("\n## Missed malicious samples")
        for r in [r for r in mal if not r["flagged"]][: args.show_missed]:
            print(os.path.relpath(r["path"], tmp) if False else "/".join(r["path"].split("/")[-2:]), r["max_severity"], [f"{f['rule']}:{f['severity']}" for f in r["findings"]][:6])
    if args.show_fp:
        print("\n## Flagged benign files")
        for r in ben_flagged_files:
            print(os.path.basename(r["path"]), [(f["rule"], f["severity"], f.get("file"), f.get("line"), (f.get("snippet") or "")[:80]) for f in r["findings"] if f["severity"] in ("high", "critical")][:5])


if __name__ == "__main__":
    main()
