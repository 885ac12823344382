#!/usr/bin/env python3
"""Write small seed corpora for the fuzz targets (standard library only).

    python3 gen_seeds.py            # writes corpus/{upstream_html,upstream_json,highlight}/

corpus/ is git-ignored: the seeds are made, not committed. The upstream
seeds start with the mode byte the targets read: 0 for a page as it is
(the generated-page mode, 1, starts from libFuzzer's own inputs).
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
SHA = "a" * 64

HTML_PAGES = [
    f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for demo</title></head>
<body><h1>Links for demo</h1>
<a href="../../files/demo-1.0.tar.gz#sha256={SHA}" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a><br/>
<a href="https://files.test/demo-1.0-py3-none-any.whl#sha256={SHA}" data-dist-info-metadata="sha256={SHA}" data-yanked="">demo-1.0-py3-none-any.whl</a><br/>
<A data-yanked='撤回 &amp; 理由です' HREF='/f/demo-2.0.zip'>demo-2.0.zip</A>
</body></html>
""",
    "<a href=x>y</a><a href='z' data-yanked>&#x1F40D;&amp;🐍</a><a ",
    "<a href=\"/files/a&amp;b%2Bc+d-1.0.tar.gz#md5=00\">a</a>",
]

JSON_PAGES = [
    {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "versions": ["1.0"],
        "files": [
            {"filename": "demo-1.0.tar.gz", "url": "../../files/demo-1.0.tar.gz", "hashes": {"sha256": SHA},
             "requires-python": ">=3.8", "yanked": False, "size": 10, "upload-time": "2024-01-01T00:00:00.000000Z"},
            {"filename": "demo-1.0-py3-none-any.whl", "url": "https://files.test/demo-1.0-py3-none-any.whl",
             "hashes": {"sha256": SHA.upper(), "md5": "00"}, "yanked": "壊れた版 🐍", "core-metadata": {"sha256": SHA}},
        ],
    },
    {"files": []},
    {"files": [{"filename": "x", "url": "x", "yanked": True, "size": None}]},
]

PYTHON = [
    'GREETING = "café"\nx = \'日本語\' + "🐍"  # コメント\n',
    'def größe(naïve):\n    return f"{naïve!r} — \\é"\n',
    'doc = """résumé\nnaïve 東京 🐍"""\n@décor.ation\nclass Ü: pass\n',
    "s = '\\\ns = b'\\xff' rb\"\\\\\" '''\n\u202eevil = 1\n",
]


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    for i, page in enumerate(HTML_PAGES):
        write("upstream_html", f"page-{i}", b"\0" + page.encode())
    for i, page in enumerate(JSON_PAGES):
        write("upstream_json", f"page-{i}", b"\0" + json.dumps(page, ensure_ascii=i % 2 == 0).encode())
    for i, source in enumerate(PYTHON):
        write("highlight", f"source-{i}.py", source.encode())
    print(f"seeds written to {OUT}")


if __name__ == "__main__":
    main()
