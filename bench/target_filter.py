#!/usr/bin/env python3
"""How much the target filter saves: files and bytes Airlock keeps for the
configured targets vs. everything the upstream lists, for a few real
multi-platform releases and a pure-Python one.

For each release, the project's PEP 691 JSON page is read from the upstream
(AIRLOCK_UPSTREAM, the simple index base URL) and handed to
`airlock select-files NAME==VERSION --json`: the same choice the mirror job
makes (resolve/src/file_selection.rs), so nothing is reimplemented here.
Targets come from Airlock's usual configuration (defaults: CPython
3.10-3.13 on linux_x86_64, macos_arm64, windows_amd64); pass more flags
after `--`, e.g. `-- --target-platforms linux_x86_64`.

Usage: AIRLOCK_UPSTREAM=https://<upstream>/simple/ bench/target_filter.py [-- airlock flags]
The binary is $AIRLOCK_BIN, else target/release/airlock, else target/debug/airlock.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ACCEPT = "application/vnd.pypi.simple.v1+json"
# (project, version); None: the newest final release the page lists.
RELEASES = [("markupsafe", "3.0.2"), ("charset-normalizer", "3.4.1"), ("numpy", None), ("requests", "2.32.3")]


def fetch_page(upstream, project):
    url = upstream.rstrip("/") + "/" + project + "/"
    req = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "airlock-bench"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def newest_final(page):
    from pip._vendor.packaging.version import InvalidVersion, Version

    versions = []
    for v in json.loads(page).get("versions", []):
        try:
            parsed = Version(v)
        except InvalidVersion:
            continue
        if not parsed.is_prerelease:
            versions.append((parsed, v))
    return max(versions)[1]


def airlock_binary():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in [os.environ.get("AIRLOCK_BIN"), f"{root}/target/release/airlock", f"{root}/target/debug/airlock"]:
        if candidate and os.path.exists(candidate):
            return candidate
    sys.exit("no airlock binary: build it (cargo build --release) or set AIRLOCK_BIN")


def mib(n):
    return f"{n / 1048576:.1f}"


def main():
    upstream = os.environ.get("AIRLOCK_UPSTREAM")
    if not upstream:
        sys.exit("set AIRLOCK_UPSTREAM to the upstream simple index (ending in /simple/)")
    extra = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    binary = airlock_binary()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for project, version in RELEASES:
            page = fetch_page(upstream, project)
            version = version or newest_final(page)
            path = os.path.join(tmp, project + ".json")
            with open(path, "wb") as f:
                f.write(page)
            # No database is touched: the config is only read for the targets.
            cmd = [binary, "--data-dir", tmp, *extra, "select-files", f"{project}=={version}", path, "--json"]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode not in (0, 1) or not out.stdout:
                sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
            rows.append(json.loads(out.stdout))
    targets = rows[0]["targets"]
    print(f"targets: {targets}\n")
    header = f"{'release':<28} {'listed':>7} {'MiB':>8} {'kept':>5} {'MiB':>7} {'bytes kept':>10}"
    print(header)
    print("-" * len(header))
    total = [0, 0, 0, 0]
    for r in rows:
        lf, lb, kf, kb = r["listed"]["files"], r["listed"]["bytes"], r["kept"]["files"], r["kept"]["bytes"]
        total = [total[0] + lf, total[1] + lb, total[2] + kf, total[3] + kb]
        share = f"{100 * kb / lb:.0f}%" if lb else "-"
        print(f"{r['project'] + ' ' + r['version']:<28} {lf:>7} {mib(lb):>8} {kf:>5} {mib(kb):>7} {share:>10}")
        if r.get("gap"):
            print(f"  warning: {r['gap']}")
    share = f"{100 * total[3] / total[1]:.0f}%" if total[1] else "-"
    print("-" * len(header))
    print(f"{'total':<28} {total[0]:>7} {mib(total[1]):>8} {total[2]:>5} {mib(total[3]):>7} {share:>10}")


if __name__ == "__main__":
    main()
