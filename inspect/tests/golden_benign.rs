//! Golden tests: packages built here that imitate what popular, benign
//! projects really do (version read by exec in setup.py, git describe,
//! configuration from the environment, HTTP clients used inside functions,
//! scary strings in tests). Each must come out unflagged, with exactly the
//! findings listed.

use std::io::Write;

use airlock_inspect::{inspect_archive, Capability, Limits, Severity};

fn sdist(name: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{name}/{path}"), content.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

const PKG_INFO: &str = "Metadata-Version: 2.1\nName: webclient\nVersion: 2.3.0\nSummary: An HTTP client\nAuthor: Jo Maintainer\n";

const SETUP_PY: &str = r#"
import os
import subprocess
from setuptools import setup, find_packages

here = os.path.abspath(os.path.dirname(__file__))
about = {}
with open(os.path.join(here, "webclient", "__version__.py")) as f:
    exec(f.read(), about)

def git_version():
    try:
        return subprocess.check_output(["git", "describe", "--tags"]).decode().strip()
    except Exception:
        return about["__version__"]

setup(name="webclient", version=git_version(), packages=find_packages())
"#;

const CLIENT_PY: &str = r#"
import os
import requests

TIMEOUT = float(os.environ.get("WEBCLIENT_TIMEOUT", "10"))

def fetch(url):
    return requests.get(url, timeout=TIMEOUT).json()

def save(path, data):
    with open(path, "w") as f:
        f.write(data)
"#;

const TEST_PY: &str = r#"
import subprocess

def test_cleanup(tmp_path):
    subprocess.run(["rm", "-rf", str(tmp_path)])
    assert open("/etc/passwd").read()
"#;

#[test]
fn a_typical_http_client_sdist_is_not_flagged() {
    let bytes = sdist(
        "webclient-2.3.0",
        &[
            ("PKG-INFO", PKG_INFO),
            ("setup.py", SETUP_PY),
            ("webclient/__init__.py", "from .client import fetch\n"),
            ("webclient/__version__.py", "__version__ = '2.3.0'\n"),
            ("webclient/client.py", CLIENT_PY),
            ("tests/test_client.py", TEST_PY),
        ],
    );
    let report = inspect_archive("webclient-2.3.0.tar.gz", &bytes, &Limits::default());
    let mut seen: Vec<(String, Severity)> = report.findings.iter().map(|f| (f.rule.clone(), f.severity)).collect();
    seen.sort();
    assert_eq!(
        seen,
        [("access/process-on-install".to_string(), Severity::Low), ("install-hook/setup-py".to_string(), Severity::Medium),],
        "{:#?}",
        report.findings
    );
    assert!(report.max_severity < Severity::High);
    let caps: Vec<Capability> = report.capabilities.iter().copied().collect();
    assert_eq!(
        caps,
        [Capability::Network, Capability::Subprocess, Capability::Exec, Capability::FilesystemWrite, Capability::EnvAccess, Capability::InstallHooks]
    );
}

#[test]
fn a_pure_python_wheel_with_a_clean_record_has_no_findings() {
    let files: [(&str, &[u8]); 3] = [
        ("webclient/__init__.py", b"from .client import fetch\n"),
        ("webclient/client.py", CLIENT_PY.as_bytes()),
        ("webclient-2.3.0.dist-info/METADATA", PKG_INFO.as_bytes()),
    ];
    let mut record = String::new();
    for (path, content) in &files {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(content);
        record.push_str(&format!("{path},sha256={},{}\n", b64(&digest), content.len()));
    }
    record.push_str("webclient-2.3.0.dist-info/RECORD,,\n");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, content) in files.iter().chain([("webclient-2.3.0.dist-info/RECORD", record.as_bytes())].iter()) {
        zip.start_file(*path, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let report = inspect_archive("webclient-2.3.0-py3-none-any.whl", &bytes, &Limits::default());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.risk_score, 0);
}

fn b64(bytes: &[u8]) -> String {
    // The base64 crate, not a copy of the encoder under test.
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
