//! False positives of issue #12, fourth round (bench/benign-dev4.txt): code
//! that the analysis placed on install or import although nothing there
//! runs it. Each benign look-alike sits next to the malicious form that
//! must stay high. The look-alikes imitate what popular projects ship: a
//! class body reading a file with the builtin `open` beside a `Device.open`
//! method, a decorator given a table of lambdas, a helper program written
//! in a function's body and started by it, and a maintainer's own setup.py
//! command (`setup.py update_data`).

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::High;

fn max(report: &airlock_inspect::Report, rule: &str) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == rule).map(|f| f.severity).max()
}

fn below_high(report: &airlock_inspect::Report, rule: &str) {
    let worst = max(report, rule);
    assert!(worst.is_none_or(|s| s < High), "{rule}: {:?}", report.findings);
}

// ---------------------------------------------------------------- a bare call is no method

const DEVICE: &str = r#"import socket
class Device:
    def open(self):
        self.probe()
    def probe(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect((self.host, 830))
"#;

#[test]
fn the_builtin_open_in_a_class_body_does_not_run_a_method_named_open() {
    let r = module(&format!("{DEVICE}class Settings:\n    with open('/etc/acme.conf') as f:\n        values = f.read()\n"));
    below_high(&r, "access/network-on-install");
}

#[test]
fn a_method_called_through_its_class_or_a_module_function_of_that_name_still_runs_on_import() {
    let r = module(&format!("{DEVICE}def start():\n    Device.open(None)\nstart()\n"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(7, High)]);
    let r = module(&format!("{DEVICE}def probe():\n    socket.create_connection(('collector.example.net', 443))\nprobe()\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a lambda runs when it is called

const DEPRECATED: &str = r#"import requests
from acme.compat import backwards_compatibility
def _deprecated_get(url):
    return requests.get(url, timeout=5, params={"client": "acme"})
"#;

#[test]
fn a_lambda_kept_by_a_decorator_does_not_run_on_import() {
    let r = module(&format!(
        "{DEPRECATED}@backwards_compatibility(\n    class_attrs=dict(get=lambda url: _deprecated_get(url)),\n)\nclass Connection:\n    pass\n"
    ));
    below_high(&r, "access/network-on-install");
    let r = module(&format!("{DEPRECATED}registry = {{}}\nregistry.setdefault('get', []).append(lambda: _deprecated_get('x'))\n"));
    below_high(&r, "access/network-on-install");
}

#[test]
fn a_lambda_given_to_a_thread_or_to_map_runs_on_import() {
    let r = module(&format!("{DEPRECATED}import threading\nthreading.Thread(target=lambda: _deprecated_get('https://collector.example.net/')).start()\n"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(4, High)]);
    let r = module(&format!("{DEPRECATED}list(map(lambda u: _deprecated_get(u), ['https://collector.example.net/']))\n"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(4, High)]);
    // Called where it is written, a lambda runs then too.
    let r = module(&format!("{DEPRECATED}_deprecated_get(str(lambda: 0))\n"));
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(4, High)]);
}

// ---------------------------------------------------------------- code in a string written in a function's body

const REFRESH: &str = r#"import subprocess, sys, textwrap
def schedule_refresh(url):
    helper = textwrap.dedent(
        """
        import sys, urllib.request
        urllib.request.urlopen(sys.argv[1], sys.argv[2].encode())
        """
    )
    subprocess.Popen([sys.executable, "-c", helper, url, "tool.json"])
"#;

#[test]
fn code_in_a_string_written_in_an_uncalled_function_does_not_run_on_import() {
    let r = module(REFRESH);
    below_high(&r, "access/network-on-install");
}

#[test]
fn code_in_a_string_written_in_a_function_the_top_level_calls_runs_on_import() {
    let r = module(&format!("{REFRESH}schedule_refresh('https://collector.example.net/x')\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    // The same string at the top level is code the import runs.
    let r = module("exec('''\nimport urllib.request\nurllib.request.urlopen('https://collector.example.net/x')\n''')\n");
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- setup.py's own commands run by hand

fn update_data(registration: &str) -> String {
    format!(
        r#"from setuptools import setup, Command
from urllib.request import urlopen
class update_data(Command):
    user_options = []
    def initialize_options(self):
        pass
    def finalize_options(self):
        pass
    def run(self):
        with open("acme/data.json", "wb") as out:
            out.write(urlopen("https://data.example.org/latest").read())
{registration}
"#
    )
}

#[test]
fn a_setup_command_only_a_person_runs_does_not_run_on_install() {
    let r = setup_py(&update_data("setup(name='acme', cmdclass={'update_data': update_data})"));
    below_high(&r, "access/network-on-install");
    let r = setup_py(&update_data("cmdclass = {}\ncmdclass['update_data'] = update_data\nsetup(name='acme', cmdclass=cmdclass)"));
    below_high(&r, "access/network-on-install");
}

#[test]
fn a_setup_command_stays_by_hand_when_other_commands_run_only_named_ones() {
    // Orange3's setup.py: a `lint` command beside build commands whose
    // sub_commands and run_command name other commands.
    for registration in [
        "from setuptools.command.build import build\nclass build_all(build):\n    sub_commands = build.sub_commands + [\n        ('build_htmlhelp', lambda self: True)\n    ]\nsetup(name='acme', cmdclass={'update_data': update_data, 'build': build_all})",
        "from setuptools.command.install import install\nclass install_all(install):\n    def run(self):\n        self.run_command('build_htmlhelp')\n        install.run(self)\nsetup(name='acme', cmdclass={'update_data': update_data, 'install': install_all})",
    ] {
        let r = setup_py(&update_data(registration));
        below_high(&r, "access/network-on-install");
    }
}

#[test]
fn a_setup_command_another_command_runs_by_name_or_by_a_variable_stays_high() {
    for registration in [
        "from setuptools.command.install import install\nclass install_all(install):\n    def run(self):\n        self.run_command('update_data')\n        install.run(self)\nsetup(name='acme', cmdclass={'update_data': update_data, 'install': install_all})",
        "from setuptools.command.install import install\nclass install_all(install):\n    def run(self):\n        for name in self.extra:\n            self.run_command(name)\nsetup(name='acme', cmdclass={'update_data': update_data, 'install': install_all})",
        "from setuptools.command.build import build\nstep = 'update_data'\nbuild.sub_commands.append((step, None))\nsetup(name='acme', cmdclass={'update_data': update_data})",
    ] {
        let r = setup_py(&update_data(registration));
        assert_eq!(max(&r, "access/network-on-install"), Some(High), "{registration}: {:?}", r.findings);
    }
}

#[test]
fn a_setup_command_that_a_build_runs_stays_high() {
    for registration in [
        "setup(name='acme', cmdclass={'install': update_data})",
        "setup(name='acme', cmdclass={\"build_py\" : update_data})",
        "setup(name='acme', cmdclass=dict(egg_info=update_data))",
        "cmdclass = {}\ncmdclass['develop'] = update_data\nsetup(name='acme', cmdclass=cmdclass)",
        // Run by another command, or called directly.
        "from setuptools.command.build import build\nbuild.sub_commands.append(('update_data', None))\nsetup(name='acme', cmdclass={'update_data': update_data})",
        "update_data(None).run()\nsetup(name='acme')",
    ] {
        let r = setup_py(&update_data(registration));
        assert_eq!(hits(&r, "access/network-on-install", SETUP), [(11, High)], "{registration}");
    }
    // A network call outside the command is setup.py's own.
    let r = setup_py(&update_data("urlopen('https://data.example.org/v')\nsetup(name='acme', cmdclass={'update_data': update_data})"));
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(12, High)]);
}
