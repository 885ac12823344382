#!/usr/bin/env python3
"""Set up and drive the mixed-load bench (bench/load_bench.sh).

  load_setup.py upstream DIR COUNT      build COUNT small wheels and a PEP 503
                                        upstream tree for them under DIR
  load_setup.py prepare BASE TOKEN COUNT DIR
                                        request every release, wait for review,
                                        approve the first half, write wrk's URL
                                        list to DIR/paths.txt
  load_setup.py storm BASE TOKEN COUNT SECONDS
                                        during the load: approve the second half,
                                        then yank and unyank approved releases
                                        until SECONDS pass; prints what it did

Standard library only; nothing here touches a network beyond 127.0.0.1.
"""
import base64
import hashlib
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
import zipfile


def name(i):
    return f"load-pkg-{i}"


def wheel(i):
    dist = f"load_pkg_{i}"
    files = {
        f"{dist}/__init__.py": f"VALUE = {i}\n" + "# padding\n" * 200,
        f"{dist}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name(i)}\nVersion: 1.0\n",
        f"{dist}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}-1.0.dist-info/RECORD,,")
    files[f"{dist}-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in files.items():
            z.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), text)
    return f"{dist}-1.0-py3-none-any.whl", buf.getvalue()


def upstream(root, count):
    os.makedirs(os.path.join(root, "simple"), exist_ok=True)
    os.makedirs(os.path.join(root, "files"), exist_ok=True)
    for i in range(count):
        filename, data = wheel(i)
        with open(os.path.join(root, "files", filename), "wb") as f:
            f.write(data)
        sha = hashlib.sha256(data).hexdigest()
        page = os.path.join(root, "simple", name(i))
        os.makedirs(page, exist_ok=True)
        with open(os.path.join(page, "index.html"), "w") as f:
            f.write(f'<!DOCTYPE html><html><body><a href="/files/{filename}#sha256={sha}">{filename}</a></body></html>\n')


def call(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def prepare(base, token, count, out):
    for i in range(count):
        status, body = call(base, token, "POST", "/api/v1/requests", {"requirement": f"{name(i)}==1.0"})
        assert status == 202, (status, body)
    deadline = time.time() + 900
    for i in range(count):
        while True:
            status, body = call(base, token, "GET", f"/api/v1/releases/{name(i)}/1.0")
            if status == 200 and body["status"] in ("awaiting_review", "failed"):
                assert body["status"] == "awaiting_review", body
                break
            assert time.time() < deadline, f"{name(i)} never reached review"
            time.sleep(0.2)
    paths = []
    for i in range(count // 2):
        status, body = call(base, token, "POST", f"/api/v1/releases/{name(i)}/1.0/decision", {"decision": "approve", "comment": "bench"})
        assert status == 200, (status, body)
        status, body = call(base, token, "GET", f"/api/v1/releases/{name(i)}/1.0")
        f = body["files"][0]
        paths += [f"/simple/{name(i)}/", f"/files/{f['sha256']}/{f['filename']}", f"/api/v1/releases/{name(i)}/1.0", f"/releases/{name(i)}/1.0"]
    paths += ["/simple/", "/queue", "/overview", "/audit"]
    with open(os.path.join(out, "paths.txt"), "w") as f:
        f.write("\n".join(paths) + "\n")


def storm(base, token, count, seconds):
    started = time.time()
    decisions = 0
    for i in range(count // 2, count):
        status, body = call(base, token, "POST", f"/api/v1/releases/{name(i)}/1.0/decision", {"decision": "approve", "comment": "storm"})
        assert status == 200, (status, body)
        decisions += 1
    yanks = 0
    while time.time() - started < seconds:
        i = count // 2 + yanks % (count - count // 2)
        status, _ = call(base, token, "POST", f"/api/v1/releases/{name(i)}/1.0/yank", {"reason": "storm"})
        assert status == 200, status
        status, _ = call(base, token, "DELETE", f"/api/v1/releases/{name(i)}/1.0/yank")
        assert status == 200, status
        yanks += 1
        time.sleep(0.5)
    print(f"storm: {decisions} approvals, {yanks} yank/unyank pairs of approved releases during the load")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "upstream":
        upstream(sys.argv[2], int(sys.argv[3]))
    elif cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "storm":
        storm(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
