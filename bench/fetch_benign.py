#!/usr/bin/env python3
"""Download the benign development set for detection benchmarks.

For each project name in the list (default: ../shared/datasets/benign-dev.txt),
fetch the project page from the upstream simple index (PEP 691 JSON), pick the
latest version that has an sdist, and download that sdist and one wheel of the
same version (pure-Python preferred, else a manylinux x86_64 one), checking each
file's sha256 against the index. Nothing is installed, built or executed.

The upstream index is configuration: pass --upstream or set AIRLOCK_UPSTREAM
(the simple index base URL, ending in /simple/).
"""
import argparse
import hashlib
import json
import os
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ACCEPT = "application/vnd.pypi.simple.v1+json"


def version_key(v):
    parts = []
    for p in re.split(r"[.+!-]", v):
        parts.append((0, int(p), "") if p.isdigit() else (1, 0, p))
    return parts


def is_prerelease(v):
    return bool(re.search(r"(a|b|rc|dev|alpha|beta)\d*", v))


def fetch_json(url):
    req = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "airlock-bench"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def sdist_version(name, filename):
    for suffix in (".tar.gz", ".zip", ".tar.bz2"):
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            return stem.rsplit("-", 1)[-1] if "-" in stem else None
    return None


def wheel_version(filename):
    parts = filename[:-4].split("-")
    return parts[1] if len(parts) in (5, 6) else None


def pick(page, name):
    files = [f for f in page["files"] if not f.get("yanked")]
    sdists = {}
    wheels = {}
    for f in files:
        fn = f["filename"]
        if fn.endswith(".whl"):
            v = wheel_version(fn)
            if v:
                wheels.setdefault(v, []).append(f)
        else:
            v = sdist_version(name, fn)
            if v:
                sdists.setdefault(v, []).append(f)
    versions = [v for v in sdists if not is_prerelease(v)] or list(sdists)
    if not versions:
        versions = [v for v in wheels if not is_prerelease(v)] or list(wheels)
    if not versions:
        return []
    latest = max(versions, key=version_key)
    chosen = sdists.get(latest, [])[:1]
    ws = wheels.get(latest, [])
    pure = [w for w in ws if w["filename"].endswith("-none-any.whl")]
    linux = [w for w in ws if "manylinux" in w["filename"] and "x86_64" in w["filename"]]
    if pure or linux or ws:
        chosen.append((pure or linux or ws)[0])
    return chosen


def download(f, out_dir):
    path = os.path.join(out_dir, f["filename"])
    want = f["hashes"]["sha256"]
    if os.path.exists(path):
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() == want:
                return path, "cached"
    with urllib.request.urlopen(f["url"], timeout=300) as r:
        data = r.read()
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise RuntimeError(f"sha256 mismatch for {f['filename']}: index {want}, got {got}")
    tmp = path + ".part"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return path, "downloaded"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", default=os.environ.get("AIRLOCK_UPSTREAM"))
    ap.add_argument("--names", default=os.path.join(here, "..", "..", "shared", "datasets", "benign-dev.txt"))
    ap.add_argument("--out", default=os.path.join(here, "..", "target", "bench-data", "benign"))
    args = ap.parse_args()
    if not args.upstream:
        sys.exit("set --upstream or AIRLOCK_UPSTREAM to the upstream simple index URL")
    base = args.upstream if args.upstream.endswith("/") else args.upstream + "/"
    os.makedirs(args.out, exist_ok=True)
    names = [n.strip() for n in open(args.names) if n.strip() and not n.startswith("#")]

    def one(name):
        norm = re.sub(r"[-_.]+", "-", name).lower()
        try:
            page = fetch_json(base + norm + "/")
            got = [download(f, args.out) for f in pick(page, norm)]
            return name, [os.path.basename(p) for p, _ in got], None
        except Exception as e:  # report and go on: one bad project must not stop the set
            return name, [], str(e)

    failures = 0
    with ThreadPoolExecutor(8) as pool:
        for name, files, err in pool.map(one, names):
            if err:
                failures += 1
                print(f"{name}: FAILED {err}", file=sys.stderr)
            else:
                print(f"{name}: {' '.join(files)}")
    print(f"{len(names) - failures}/{len(names)} projects fetched into {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
