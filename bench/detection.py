#!/usr/bin/env python3
"""Detection benchmark: recall on the malicious development sets and the
false-positive rate on the benign sets, with a per-rule breakdown and timing,
each reported separately for the development part and the validation split.

  bench/detection.py [--airlock target/release/airlock]
                     [--malicious ZIP ...] [--benign DIR ...]
                     [--held-out] [--show-missed N] [--show-fp] [--save FILE]

The validation split: a sample or project is held out when the sha256 of its
normalized name (PEP 503: lower case, runs of `-`, `_` and `.` as one `-`,
UTF-8 encoded, hex digest) starts with 0, 1, 2 or 3 (a quarter of the
names). A malicious sample's name is its folder in the dataset zip (the
dataset groups samples by package name); a benign file's name is the project
its file name starts with. Held-out samples are not scanned, counted or
shown unless `--held-out` is given, and even then misses and false positives
are listed for the development part only: rules are written without looking
at the validation split, which is measured once, at the end.

Each malicious zip (password "infected") is unpacked into a temporary folder
and scanned as bytes by `airlock scan`; nothing in it is installed, imported
or executed, and the folder is deleted afterwards. The benign folders are
what bench/fetch_benign.py downloads. A release is flagged when its highest
finding is high or critical.
"""
import argparse
import collections
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATASETS = os.path.join(ROOT, "..", "shared", "datasets")


def normalize(name):
    """PEP 503 normalization of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def held_out(name):
    """True for names in the validation split: sha256 of the normalized name starts with 0-3."""
    return hashlib.sha256(normalize(name).encode()).hexdigest()[0] in "0123"


def benign_project(filename):
    """The project a benign file belongs to, from its file name (`Foo_Bar-1.0.tar.gz` -> `foo-bar`)."""
    return normalize(re.split(r"-\d", os.path.basename(filename), maxsplit=1)[0])


def scan(airlock, paths):
    started = time.time()
    out = subprocess.run([airlock, "scan", "--format", "json", *paths], check=True, capture_output=True, text=True).stdout
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


def scan_malicious(airlock, zip_path, with_held_out):
    """Scan one malicious zip; returns (results, wall); each result gains `split` and `campaign`."""
    tmp = tempfile.mkdtemp(prefix="airlock-malicious-")
    try:
        split = {}
        with zipfile.ZipFile(zip_path) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                name = info.filename.split("/")[0]
                part = "held-out" if held_out(name) else "dev"
                if part == "held-out" and not with_held_out:
                    continue
                # Keep the original file name (rules compare it with the metadata).
                target = os.path.join(tmp, os.path.dirname(info.filename).replace("/", "__"), os.path.basename(info.filename))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as fh:
                    fh.write(z.read(info, pwd=b"infected"))
                split[target] = part
        results, wall = scan(airlock, [tmp])
        for r in results:
            r["split"] = split.get(r["path"], "dev")
            r["campaign"] = campaign_key(r["path"])
            r["sample"] = "/".join(r["path"].split("/")[-2:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results, wall


def scan_benign(airlock, folder, with_held_out):
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith("."))
    files = [f for f in files if with_held_out or not held_out(benign_project(f))]
    results, wall = scan(airlock, files) if files else ([], 0.0)
    for r in results:
        r["project"] = benign_project(r["path"])
        r["split"] = "held-out" if held_out(r["project"]) else "dev"
    return results, wall


def print_table(sets, parts, group, headers):
    """One row per set and part: the share of results flagged, and of groups (campaigns, projects) with one flagged."""
    print(f"{'set':28} {'part':9} {headers[0]:>22} {headers[1]:>22}")
    for name, results, _ in sets:
        for part in parts:
            rs = [r for r in results if part == "all" or r["split"] == part]
            groups = collections.defaultdict(list)
            for r in rs:
                groups[r[group]].append(r)
            flagged_groups = sum(1 for g in groups.values() if any(r["flagged"] for r in g))
            print(f"{name:28} {part:9} {pct(sum(r['flagged'] for r in rs), len(rs)):>22} {pct(flagged_groups, len(groups)):>22}")


def pct(n, d):
    return f"{n} / {d}: {100 * n / max(1, d):.1f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--airlock", default=os.path.join(ROOT, "target", "release", "airlock"))
    ap.add_argument("--malicious", action="append", help="a malicious zip (repeatable; default: malicious-dev.zip and malicious-dev2.zip)")
    ap.add_argument("--benign", action="append", help="a folder of benign files (repeatable; default: target/bench-data/benign and benign2)")
    ap.add_argument("--held-out", action="store_true", help="also scan the validation split and report its figures (never its samples)")
    ap.add_argument("--show-missed", type=int, default=0, help="print this many missed malicious samples (development part only)")
    ap.add_argument("--show-fp", action="store_true", help="print the benign files that were flagged (development part only)")
    ap.add_argument("--save", help="write every development-part result to this JSON-lines file")
    args = ap.parse_args()
    malicious = args.malicious or [os.path.join(DATASETS, "malicious-dev.zip"), os.path.join(DATASETS, "malicious-dev2.zip")]
    benign = args.benign or [d for d in (os.path.join(ROOT, "target", "bench-data", b) for b in ("benign", "benign2")) if os.path.isdir(d)]
    parts = ["dev", "held-out"] if args.held_out else ["dev"]

    mal_sets = [(os.path.basename(z), *scan_malicious(args.airlock, z, args.held_out)) for z in malicious]
    ben_sets = [(os.path.basename(os.path.normpath(d)), *scan_benign(args.airlock, d, args.held_out)) for d in benign]

    print("## Detection (validation split: sha256 of the normalized name starts with 0-3)")
    shown_parts = parts + (["all"] if args.held_out else [])
    print_table(mal_sets, shown_parts, "campaign", ("per archive", "per campaign"))
    print()
    print_table(ben_sets, shown_parts, "project", ("files flagged", "projects flagged"))

    mal = [r for _, rs, _ in mal_sets for r in rs]
    ben = [r for _, rs, _ in ben_sets for r in rs]
    for part in parts:
        print(f"\n## Per rule, {part} part (archives where the rule is high or critical)")
        mal_rules = collections.Counter(rule for r in mal if r["split"] == part for rule in flagged_rules(r))
        ben_rules = collections.Counter(rule for r in ben if r["split"] == part for rule in flagged_rules(r))
        print(f"{'rule':40} {'malicious':>10} {'benign':>8}")
        for rule in sorted(set(mal_rules) | set(ben_rules), key=lambda x: (-mal_rules[x], x)):
            print(f"{rule:40} {mal_rules[rule]:>10} {ben_rules[rule]:>8}")

    print("\n## Speed")
    everything = ben + mal
    times = sorted(r["elapsed_ms"] for r in everything)
    small = sorted(r["elapsed_ms"] for r in everything if r.get("uncompressed_bytes", 0) < 1_000_000)
    print(f"median per archive: {statistics.median(times):.1f} ms; median per small archive (<1 MB unpacked): {statistics.median(small):.1f} ms")
    print("ten slowest:")
    for r in sorted(everything, key=lambda r: -r["elapsed_ms"])[:10]:
        label = r.get("sample") if "sample" in r else os.path.basename(r["path"])
        shown = label if r["split"] == "dev" or "project" in r else "(a held-out malicious sample)"
        print(f"  {shown}: {r['elapsed_ms']:.0f} ms, {r.get('uncompressed_bytes', 0) / 1e6:.1f} MB unpacked")
    over = [r for r in ben if r["elapsed_ms"] > 5000]
    print(f"benign files over 5 s: {len(over)}")
    for name, results, wall in ben_sets:
        total = sum(r.get("uncompressed_bytes", 0) for r in results)
        print(f"{name}: {len(results)} files, {total / 1e6:.0f} MB unpacked, wall {wall:.1f} s: {total / 1e6 / max(wall, 1e-9):.0f} MB/s")
    for name, results, wall in mal_sets:
        print(f"{name}: {len(results)} files, wall {wall:.1f} s")

    dev_mal = [r for r in mal if r["split"] == "dev"]
    dev_ben = [r for r in ben if r["split"] == "dev"]
    if args.save:
        with open(args.save, "w") as fh:
            for r in dev_mal + dev_ben:
                fh.write(json.dumps(r) + "\n")
    if args.show_missed:
        print("\n## Missed malicious samples (development part)")
        for r in [r for r in dev_mal if not r["flagged"]][: args.show_missed]:
            print(r["sample"], r["campaign"], r["max_severity"], [f"{f['rule']}:{f['severity']}" for f in r["findings"]][:6])
    if args.show_fp:
        print("\n## Flagged benign files (development part)")
        for r in [r for r in dev_ben if r["flagged"]]:
            print(os.path.basename(r["path"]), [(f["rule"], f["severity"], f.get("file"), f.get("line"), (f.get("snippet") or "")[:80]) for f in r["findings"] if f["severity"] in ("high", "critical")][:5])


if __name__ == "__main__":
    main()
