//! Access rules: what code reaches for when it runs on install or import.
//! Processes and the network at install/import time, exfiltration
//! endpoints, credential stores, environment sweeps, persistence, and
//! surveillance libraries.

use crate::finding::{Finding, Severity};
use crate::python::Call;
use crate::rules::code::fetches::{
    connects_a_local_socket, fetches_a_release_asset, fetches_data_on_import, installs_a_fetched_artifact, names_no_host, reaches_only_this_machine,
};
use crate::rules::code::payload::is_process;
use crate::rules::code::{closing_bracket, lower, shell, PyFile, Role};

/// Commands that builds legitimately run from setup.py: compilers, build
/// systems, package managers of the build's own dependencies, and the
/// binary tools a build reads or fixes its libraries with (`otool -L`,
/// `install_name_tool`, `patchelf`).
const BUILD_TOOLS: [&str; 37] = [
    "git",
    "conan",
    "make",
    "cmake",
    "gcc",
    "g++",
    "cc",
    "clang",
    "pkg-config",
    "cython",
    "nvcc",
    "swig",
    "sphinx",
    "sphinx-build",
    "npm",
    "yarn",
    "cargo",
    "pip",
    "ninja",
    "meson",
    "autoreconf",
    "msgfmt",
    "protoc",
    "sbt",
    "mvn",
    "gradle",
    "ant",
    "go",
    "otool",
    "objdump",
    "install_name_tool",
    "patchelf",
    "strip",
    "lipo",
    "nm",
    "ldd",
    "dumpbin",
];

/// Calls that do network I/O (constructors of timeouts, limits and the like do not).
const NETWORK_IO: [&str; 30] = [
    "requests.get",
    "requests.post",
    "requests.put",
    "requests.patch",
    "requests.delete",
    "requests.head",
    "requests.request",
    "requests.Session().get",
    "requests.Session().post",
    "httpx.get",
    "httpx.post",
    "httpx.put",
    "httpx.request",
    "httpx.stream",
    "urllib.request.urlopen",
    "urllib.request.urlretrieve",
    "urllib.urlopen",
    "urllib.urlretrieve",
    "urllib2.urlopen",
    "urlopen",
    "urlretrieve",
    "socket.create_connection",
    "socket.socket().connect",
    "socket.socket().connect_ex",
    "smtplib.SMTP",
    "smtplib.SMTP_SSL",
    "ftplib.FTP",
    "http.client.HTTPConnection().request",
    "http.client.HTTPSConnection().request",
    "telnetlib.Telnet",
];

pub fn is_network(call: &Call) -> bool {
    call.is(&NETWORK_IO)
}

/// Programs that no build needs, matched as programs of the command line
/// (so `nc` is netcat, not the end of `sync`).
const SUSPICIOUS_PROGRAMS: [&str; 18] = [
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "powershell",
    "pwsh",
    "cmd",
    "start",
    "rundll32",
    "regsvr32",
    "wscript",
    "cscript",
    "schtasks",
    "mshta",
    "certutil",
    "bitsadmin",
];

/// Text in a command that no build needs: URLs, executables, reverse-shell and persistence idioms.
const SUSPICIOUS_TEXT: [&str; 11] = ["http://", "https://", ".exe", "bash -i", "/dev/tcp", "base64", "chmod +x", "reg add", ".vbs", "%temp%", "appdata"];

pub(super) fn is_suspicious_command(command: &str) -> bool {
    SUSPICIOUS_TEXT.iter().any(|t| command.contains(t)) || shell::programs(command).iter().any(|p| SUSPICIOUS_PROGRAMS.contains(&p.as_str()))
}

/// The command a process call runs looks like a build step.
fn is_build_step(call: &Call) -> bool {
    build_tool_of(call).is_some() || runs_this_interpreter(call)
}

/// The call writes some of its command in the file: a string with more than
/// format placeholders (`"%s %s" % (self.WX_CONFIG, flag)` has none) that
/// is not `os.popen`'s mode argument (`'r'`).
fn has_command_text(call: &Call) -> bool {
    call.strings.iter().any(|s| {
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    chars.next();
                }
                '{' => {
                    for inner in chars.by_ref() {
                        if inner == '}' {
                            break;
                        }
                    }
                }
                _ => text.push(c),
            }
        }
        let mode = call.callee.ends_with("popen") && matches!(s.as_str(), "r" | "w" | "rb" | "wb" | "rt" | "wt");
        !mode && text.contains(char::is_alphanumeric)
    })
}

/// `open(path, "w")` (or `"a"`, `"x"`, `"wb"`…), also through `io` or `codecs`.
fn opens_for_writing(call: &Call) -> bool {
    call.is(&["open", "io.open", "codecs.open"]) && call.strings.iter().any(|m| crate::capabilities::is_write_mode(m))
}

/// An install step (setup.py, a module its install override runs) that
/// writes a file or makes a folder in the user's home or profile
/// (`open(os.path.join(os.path.expanduser("~"), "x.txt"), "w")`,
/// `os.mkdir(f"C:\\Users\\{os.getlogin()}\\Desktop\\x")`): a build
/// writes its own tree, and pip cannot see or remove what it puts there.
/// Temporary files are the build's own (`tempfile`); autostart locations
/// are `access/persistence`.
fn writes_home_on_install(file: &PyFile, out: &mut Vec<Finding>) {
    const HOME: [&str; 6] = ["os.path.expanduser", "pathlib.Path.home", "Path.home", "os.getlogin", "getpass.getuser", "os.path.expandvars"];
    if !matches!(file.role, Role::SetupScript | Role::InstallHelper) {
        return;
    }
    let writes = |c: &Call| opens_for_writing(c) || c.is(&["os.mkdir", "os.makedirs", "shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.copytree"]);
    let home = |c: &Call| {
        c.inner_has(&HOME)
            || c.strings.iter().any(|s| {
                let s = s.to_ascii_lowercase();
                s.starts_with("~/") || s.starts_with("~\\") || s.starts_with("c:\\users\\") || s.starts_with("/home/") || s.starts_with("/users/")
            })
    };
    if let Some(call) = file.calls().find(|c| file.runs_now(c) && writes(c) && home(c)) {
        let what = if call.callee.contains("mkdir") || call.callee.contains("makedirs") { "makes a folder" } else { "writes a file" };
        out.push(file.finding(
            "access/writes-home-on-install",
            Severity::High,
            call.line,
            format!("{}() {what} in the user's home folder when the sdist is built", call.callee),
        ));
    }
}

/// The build tool (one of [`BUILD_TOOLS`]) the command starts, if it starts one.
fn build_tool_of(call: &Call) -> Option<&'static str> {
    let first = call.strings.first().map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
    let program = first.split_whitespace().next().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    BUILD_TOOLS.iter().copied().find(|tool| *tool == program)
}

/// The command starts the running interpreter (`[sys.executable, …]`,
/// written in the call or in the variable it is given).
fn runs_this_interpreter(call: &Call) -> bool {
    call.arg_texts.first().is_some_and(|a| a.contains("sys.executable")) || call.inner_has(&["sys.executable"])
}

/// The line of a file write, at build time, into a folder outside the
/// build: the user's home or application-data folder, or a system folder
/// (`open(os.getenv("APPDATA") + "\\x\\y.js", "w")`). A build writes its
/// own tree; a stealer or a browser-extension dropper writes the user's.
pub(super) fn writes_outside_the_build(file: &PyFile) -> Option<u32> {
    const OUTSIDE: [&str; 9] = [
        "os.getenv",
        "os.environ.get",
        "os.path.expanduser",
        "os.path.expandvars",
        "pathlib.Path.home",
        "Path.home",
        "os.environ",
        "tempfile.*",
        "os.getlogin",
    ];
    if !matches!(file.role, Role::SetupScript | Role::InstallHelper) {
        return None;
    }
    let writes = opens_for_writing;
    let outside = |c: &Call| {
        let home = c.strings.iter().any(|s| {
            let s = s.to_ascii_lowercase();
            s.starts_with('~') || s.contains("appdata") || s.starts_with("/etc/") || s.starts_with("c:\\")
        });
        home || c.inner_has(&OUTSIDE)
    };
    file.calls().find(|c| writes(c) && outside(c)).map(|c| c.line)
}

/// `pip.main([...])` installing from somewhere other than the index by
/// name: a URL, a VCS or local path, an extra index, or arguments the code
/// computes (a hidden package name).
fn pip_installs_from_elsewhere(call: &Call) -> bool {
    if !call.callee.starts_with("pip.") {
        return false;
    }
    let computed = call.arg_texts.iter().any(|a| !(a.starts_with('[') || a.starts_with('(')) || a.contains('+') || a.contains('{'));
    computed
        || call.strings.iter().any(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("://")
                || s.contains("git+")
                || s.contains("index-url")
                || s.starts_with('/')
                || s.starts_with('.')
                || s.contains('\\')
                || s.ends_with(".whl")
        })
}

/// The command a call through a local helper runs: the caller's part
/// (`get_version('node')`) and the helper's own (`os.popen(f'{tool} -v')`).
fn with_helper_template(file: &PyFile, call: &Call, command: &str) -> String {
    let Some(helper) = call.via_helper.as_deref() else { return command.to_string() };
    let template = file.calls().find(|c| c.function.as_deref() == Some(helper) && c.via_helper.is_none() && is_process(c));
    match template {
        Some(t) => format!("{command} {}", t.strings.join(" ").to_ascii_lowercase()),
        None => command.to_string(),
    }
}

/// A shell command whose every program only makes, copies, moves or
/// removes files (`mkdir`, `cp -r node_modules/ …`, `rm -r …`): what an
/// install override does to put built files in place.
fn only_moves_files(command: &str) -> bool {
    const FILE_UTILITIES: [&str; 7] = ["mkdir", "cp", "mv", "rm", "ln", "touch", "rmdir"];
    let programs = shell::programs(command);
    !programs.is_empty() && programs.iter().all(|p| FILE_UTILITIES.contains(&p.as_str())) && !command.contains(['`', '$', '|'])
}

/// `chmod +x bin/compile.sh` on files the archive ships: the build making
/// its own script runnable. Marking a downloaded or written file
/// executable names a file that is not here.
fn chmods_shipped_files(file: &PyFile, command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let [program, rest @ ..] = words.as_slice() else { return false };
    // Folder pieces of a path joined at run time (`"/bin/"`) and the
    // escapes it is cleaned with (`"\\("`) are not targets.
    let targets: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|w| !w.starts_with(['-', '+']) && !w.chars().all(|c| c.is_ascii_digit()) && !w.ends_with(['/', '\\']) && w.contains(char::is_alphanumeric))
        .collect();
    shell::program_name(program) == "chmod"
        && !targets.is_empty()
        && !command.contains(['`', '$', '|', ';', '&'])
        && targets.iter().all(|t| {
            let name = t.rsplit(['/', '\\']).next().unwrap_or(t);
            !name.is_empty() && shipped_files_named(file, name).next().is_some()
        })
}

/// The files of the distribution (under its root) whose file name is `name`, in any folder.
fn shipped_files_named<'a>(file: &'a PyFile, name: &'a str) -> impl Iterator<Item = &'a crate::archive::Member> {
    file.archive.members.iter().filter(move |m| m.path.starts_with(file.root) && m.path.rsplit('/').next() == Some(name))
}

/// A build tool that is not an installer (git, cmake, conan; not pip or
/// npm, which run what they fetch), given an https address, in one command
/// with no shell operators and nothing else a build would not do.
fn build_tool_given_an_address(call: &Call, command: &str) -> bool {
    const INSTALLERS: [&str; 5] = ["pip", "npm", "yarn", "cargo", "go"];
    let without_addresses: Vec<&str> = command.split_whitespace().filter(|w| !w.contains("https://")).collect();
    build_tool_of(call).is_some_and(|tool| !INSTALLERS.contains(&tool))
        && !command.contains(['|', ';', '&', '`', '$', '>', '<'])
        && !is_suspicious_command(&without_addresses.join(" "))
}

/// The process call in the body of a local helper that starts whatever
/// its callers pass it (`def runcmd(cmd, env): Popen(cmd, env=env)`), with
/// no text of its own: the file's calls of the helper are judged instead,
/// each with the command it passes.
fn runs_only_what_callers_pass(file: &PyFile, call: &Call) -> bool {
    let Some(function) = call.function.as_deref() else { return false };
    call.via_helper.is_none() && call.strings.is_empty() && file.calls().any(|c| c.via_helper.as_deref() == Some(function))
}

/// A command that only asks a program about itself and starts nothing
/// else: its version (`node -v`, `npm --version`, an f-string `{tool} -v`
/// whose program is a variable), its usage (`3to2 --help`, asked to see
/// whether it is installed), or, of a configuration program
/// (`gtk-config`, `pkg-config`, `pg_config`), its build flags
/// (`gtk-config --cflags`, `pkg-config --libs gtk+-3.0`).
fn is_probe(command: &str) -> bool {
    const VERSION_FLAGS: [&str; 5] = ["-v", "-V", "--version", "-version", "version"];
    const HELP_FLAGS: [&str; 4] = ["-h", "--help", "-help", "help"];
    if command.contains(['|', ';', '&', '>', '<', '`', '$']) {
        return false;
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    let (program, flags) = match words.as_slice() {
        [only] => (*only, std::slice::from_ref(only)),
        [program, rest @ ..] => (*program, rest),
        [] => return false,
    };
    let all_in = |set: &[&str]| flags.iter().all(|w| set.iter().any(|f| f.eq_ignore_ascii_case(w)));
    let program = shell::program_name(program);
    let configuration = program.ends_with("-config") || program.ends_with("_config");
    // Flags and package names: `--cflags`, `--libs`, `gtk+-3.0`, `--atleast-version=2.0`
    // (and popen's mode argument, `r`). No path, no URL, no script.
    let asks_configuration = || {
        flags.iter().any(|w| w.starts_with("--"))
            && flags.iter().all(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '=')))
    };
    all_in(&VERSION_FLAGS) || all_in(&HELP_FLAGS) && flags.len() == 1 || configuration && asks_configuration()
}

/// When a process call runs a script the archive ships with a shell or
/// interpreter (`check_call(["bash", "postBuild"], cwd=here)`), or as the
/// program itself (`check_call([here + "/convert.sh"])`): whether
/// that script itself downloads and runs, or pipes into a shell. None when
/// the call runs no shipped script.
fn own_script(file: &PyFile, call: &Call) -> Option<bool> {
    // An argument list (`["sh", os.path.join(here, "build.sh")]`) is its
    // words as written; only a command line is read as shell.
    let words: Vec<String> = if call.arg_texts.first().is_some_and(|a| a.trim_start().starts_with('[')) {
        call.strings.clone()
    } else {
        shell::commands(&call.strings.join(" ")).into_iter().next()?.words
    };
    let mut words = words.iter();
    let first = words.next()?;
    let program = shell::program_name(first);
    let script = if shell::INTERPRETERS.contains(&program.as_str()) {
        // A folder piece of a path joined at run time (`"/bin/"`), or the
        // escapes a path is cleaned with (`.replace("(", "\\(")`), names no script.
        words.find(|w| !w.starts_with('-') && !w.ends_with('/') && w.contains(char::is_alphanumeric))?
    } else if [".sh", ".bash", ".ps1", ".bat", ".cmd"].iter().any(|e| program.ends_with(e)) {
        // The script started as the program (`check_call([converter])`,
        // `converter = os.path.dirname(__file__) + "/convert_to_py2.sh"`):
        // a name joined to a folder found at run time reads `/name.sh`.
        first.strip_prefix('/').filter(|rest| !rest.contains('/')).unwrap_or(first)
    } else {
        return None;
    };
    // Windows spells the folder separator `\\` (`.\\build_extension.ps1`).
    let script = script.replace('\\', "/");
    let rel = script.trim_start_matches("./");
    if rel.is_empty() || rel.starts_with('/') || rel.contains("..") || rel.contains("://") {
        return None;
    }
    let folder = file.path.rsplit_once('/').map_or("", |(d, _)| d);
    // Found where the command says, or, for a path built at run time (`os.path.join(os.getcwd() + "/bin/", "build.sh")`), the one file of that name.
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let mut by_name = shipped_files_named(file, name);
    let only_of_its_name = match (by_name.next(), by_name.next()) {
        (Some(m), None) => Some(m),
        _ => None,
    };
    let member = file.archive.member(&format!("{}{rel}", file.root)).or_else(|| file.archive.member(&format!("{folder}/{rel}"))).or(only_of_its_name)?;
    let text = String::from_utf8_lossy(&member.content);
    let lower = text.to_ascii_lowercase();
    Some(
        lower.lines().any(|l| shell::pipes_into_interpreter(l) || shell::substitutes_download(l) || shell::runs_after_download(l) || is_suspicious_download(l)),
    )
}

/// The Python script a process call of an install step runs with the
/// interpreter (`os.system(f'{sys.executable} "{here}/x.py"')`,
/// `Popen(["python3", "x.py"])`) when the archive ships no file of that
/// name: what runs on install is not here to be read (it comes from elsewhere, or is a
/// trigger for something planted before).
fn unshipped_script(file: &PyFile, call: &Call) -> Option<Unshipped> {
    let interpreter = runs_this_interpreter(call)
        || call.strings.first().and_then(|s| s.split_whitespace().next()).is_some_and(|p| shell::program_name(p).starts_with("python"));
    if !interpreter {
        return None;
    }
    let path = call
        .strings
        .iter()
        .flat_map(|s| s.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']')))
        .find(|w| w.len() > 3 && w.ends_with(".py") && !w.starts_with('-') && w.rsplit(['/', '\\']).next().is_some_and(|n| n.len() > 3))?;
    let script = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if file.archive.members.iter().any(|m| m.path.rsplit('/').next() == Some(script)) {
        return None;
    }
    if runs_only_if_present(file, call) {
        return Some(Unshipped::OnlyIfPresent(script.to_string()));
    }
    // `os.path.join(here, "tools", "cythonize.py")`: the folders are the literals before the script.
    let joined = joined_folder(call, script);
    let path = match &joined {
        Some(folder) if !path.contains(['/', '\\']) => format!("{folder}/{script}"),
        _ => path.to_string(),
    };
    // `./tools/gen/generate.py`, `.misc/bump.py`: a relative path into a
    // folder of which the archive ships nothing at all. The sdist left a
    // folder of the repository out, and the step fails where it runs; a
    // payload is put where the step will find it, not in a missing folder.
    let relative = path.trim_start_matches("./").replace('\\', "/");
    let missing_folder = relative.rsplit_once('/').map(|(folder, _)| folder).filter(|folder| {
        !relative.starts_with('/')
            && !folder.is_empty()
            && !folder.contains(['~', '$', '{', '%', ':'])
            && !folder.split('/').any(|piece| piece == "..")
            && !file.archive.members.iter().any(|m| m.path.strip_prefix(file.root).is_some_and(|p| p.starts_with(&format!("{folder}/"))))
    });
    Some(match missing_folder {
        Some(folder) => Unshipped::FolderMissing { script: script.to_string(), folder: folder.to_string() },
        None => Unshipped::Script(script.to_string()),
    })
}

/// The folder an `os.path.join(…)` argument puts `script` in, from the
/// literal names joined before it (`os.path.join(cwd, "tools", "x.py")` is
/// `tools`); None when no literal folder precedes it.
fn joined_folder(call: &Call, script: &str) -> Option<String> {
    let text = call.arg_texts.iter().find(|t| t.contains("os.path.join(") && t.contains(script))?;
    let inside = text.split_once("os.path.join(")?.1;
    let mut folders = Vec::new();
    for piece in inside.split(',') {
        let piece = piece.trim().trim_end_matches(')').trim();
        let literal = piece.strip_prefix(['"', '\'']).and_then(|p| p.strip_suffix(['"', '\'']));
        match literal {
            Some(name) if name == script => break,
            Some(name) if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) && name != ".." => {
                folders.push(name.to_string())
            }
            Some(_) => return None,
            None => folders.clear(),
        }
    }
    (!folders.is_empty()).then(|| folders.join("/"))
}

/// The process runs only when its script is there: a line just above
/// asks `os.path.exists(x)` (or `isfile`, `.exists()`, `.is_file()`) of
/// a name the call is given. A step for a repository checkout, which an
/// sdist skips.
fn runs_only_if_present(file: &PyFile, call: &Call) -> bool {
    const ABOVE: u32 = 3;
    let names: Vec<&str> = call
        .arg_texts
        .iter()
        .flat_map(|a| a.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|w| {
            w.len() > 2
                && !w.starts_with(|c: char| c.is_ascii_digit())
                && !matches!(*w, "sys" | "executable" | "python" | "check" | "False" | "True" | "path" | "join" | "str")
        })
        .collect();
    // The name itself, not a longer one it starts (`path_to_x` is not `path`).
    let names_it = |rest: &str, name: &str| rest.strip_prefix(name).is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'));
    (call.line.saturating_sub(ABOVE)..call.line).any(|n| {
        let line = file.line(n).trim_start();
        let condition = (line.starts_with("if ") || line.starts_with("elif ")) && !line.contains(" not ");
        let asks_a_function =
            ["exists(", "isfile("].iter().any(|probe| line.split_once(probe).is_some_and(|(_, rest)| names.iter().any(|n| names_it(rest.trim_start(), n))));
        let asks_the_path = [".exists()", ".is_file()"].iter().any(|probe| names.iter().any(|n| line.contains(&format!("{n}{probe}"))));
        condition && (asks_a_function || asks_the_path)
    })
}

/// What [`unshipped_script`] found missing.
enum Unshipped {
    /// No file of the script's name, and the step runs only when it is there (`if os.path.exists(script):`).
    OnlyIfPresent(String),
    /// No file of the script's name anywhere in the archive.
    Script(String),
    /// The script, and the whole folder its relative path names.
    FolderMissing { script: String, folder: String },
}

impl Unshipped {
    /// The severity, and what the finding says after the call's name.
    fn judged(&self, when: &str) -> (Severity, String) {
        match self {
            Unshipped::Script(script) => (
                Severity::High,
                format!("runs the Python script {script} {when}, and the archive ships no file of that name: what runs is not here to read"),
            ),
            Unshipped::OnlyIfPresent(script) => (
                Severity::Medium,
                format!(
                    "runs the Python script {script} {when} if it exists, and the archive ships no file of that name: a step for a checkout of the repository, which this sdist skips"
                ),
            ),
            Unshipped::FolderMissing { script, folder } => (
                Severity::Medium,
                format!(
                    "runs the Python script {script} from the folder {folder}/ {when}, and the archive ships nothing of that folder: a step of the repository the sdist left out, which fails where it runs"
                ),
            ),
        }
    }
}

/// A process that runs a Python program given on its command line
/// (`Popen(["python3", "-c", "import helper"])`): from a module's import,
/// a second interpreter doing work apart from the program that imported
/// it. Builds run such probes from setup.py, not from the package.
fn starts_python_program(call: &Call) -> bool {
    let mut words = call.strings.iter().flat_map(|s| s.split_whitespace());
    let Some(program) = words.next() else { return false };
    let program = shell::program_name(program);
    let python = program.starts_with("python") && program[6..].chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'w');
    python && words.any(|w| w == "-c")
}

/// A line of a script that fetches a program and starts it, PowerShell style.
fn is_suspicious_download(line: &str) -> bool {
    ["downloadstring", "downloadfile", "invoke-webrequest", "start-process", "certutil -urlcache", "/dev/tcp"].iter().any(|t| line.contains(t))
}

pub fn run(file: &PyFile, out: &mut Vec<Finding>) {
    for call in file.calls() {
        if !file.runs_now(call) {
            continue;
        }
        let when = match file.role {
            Role::SetupScript => "when the sdist is built",
            Role::InstallHelper => "when the sdist is built (setup.py's install command runs it)",
            Role::StartupHook => "at every interpreter start",
            _ if !file.runs_on_install_or_import(call.scope) => "when the package is imported (its top level calls the function this is in)",
            _ => "when the package is imported",
        };
        if is_process(call) || call.is(&["pip.main", "pip._internal.main", "pip._internal.cli.main.main"]) {
            if runs_only_what_callers_pass(file, call) {
                // `def runcmd(cmd, env): Popen(cmd, …)`: each call of the helper is judged with its command.
                continue;
            }
            let command = call.strings.join(" ").to_ascii_lowercase();
            let overrides_install = file.role == Role::InstallHelper
                || file.role == Role::SetupScript
                    && file.facts.command_classes.iter().any(|(c, _)| ["(install)", "(develop)", "(egg_info)"].iter().any(|b| c.ends_with(b)));
            let own_script = own_script(file, call);
            let hidden_python = file.role == Role::Module && starts_python_program(call);
            // Only an install step is expected to find its script in the
            // archive; a module's top level may run the project it works on
            // (a migration tool running the current folder's setup.py).
            let unshipped = if file.role == Role::Module { None } else { unshipped_script(file, call) };
            let marks_own_file_executable = chmods_shipped_files(file, &command);
            // A shell or PowerShell running the project's own script, which does nothing high
            // itself, is judged by the rest of its command line, not by the program's name.
            let suspicious = match own_script {
                Some(false) => {
                    let rest = command.split_once(char::is_whitespace).map_or("", |(_, rest)| rest);
                    is_suspicious_command(rest) || rest.contains("hidden") || rest.contains("-enc")
                }
                _ => is_suspicious_command(&command),
            };
            let build_tool_given_an_address = suspicious && build_tool_given_an_address(call, &command);
            let suspicious = suspicious && !build_tool_given_an_address;
            let severity = if suspicious && !marks_own_file_executable || own_script == Some(true) || pip_installs_from_elsewhere(call) || hidden_python {
                Severity::High
            } else if let Some(unshipped) = unshipped {
                let (severity, why) = unshipped.judged(when);
                out.push(file.finding("access/process-on-install", severity, call.line, format!("{}() {why}", call.callee)));
                continue;
            } else if call.callee.starts_with("pip.") && writes_outside_the_build(file).is_some() {
                // Software installed by the build of a file that also writes into the user's folders.
                Severity::High
            } else if call.callee.starts_with("pip.") {
                // pip run in-process to install named packages from the index: what a
                // `pip install` build step does, behind the resolver's back.
                Severity::Medium
            } else if build_tool_given_an_address {
                // `git clone https://…`, `conan remote update … --url=https://…`: the build fetches over https, as a download step does.
                Severity::Medium
            } else if only_moves_files(&command) || marks_own_file_executable {
                // mkdir, cp, rm of the project's own files: a copy step to read, not a payload.
                Severity::Medium
            } else if is_probe(&with_helper_template(file, call, &command)) {
                // `node -v`, `{tool} --version`, `3to2 --help`, `gtk-config --cflags`: asks a tool about itself and starts nothing else.
                Severity::Low
            } else if own_script == Some(false) {
                // The project's own script, which does nothing high itself: a build step to read.
                Severity::Medium
            } else if overrides_install && !is_build_step(call) && has_command_text(call) {
                // (A command with no text at all in the file, `Popen(self.cmd + args)`, is one its callers choose: medium below.)
                // An install command replaced by code that starts a process: GuardDog's cmd-overwrite pattern.
                Severity::High
            } else if is_build_step(call) {
                Severity::Low
            } else {
                Severity::Medium
            };
            if let (Some(project), Severity::Medium, Role::Module) = (file.shadows, severity, file.role) {
                // The import of a popular project, taken over: every program that imports it runs this.
                out.push(file.finding(
                    "access/process-on-install",
                    Severity::High,
                    call.line,
                    format!(
                        "{}() starts a process {when}, in a package named {project:?}: the import name of another popular project, which this distribution replaces",
                        call.callee
                    ),
                ));
                continue;
            }
            out.push(file.finding("access/process-on-install", severity, call.line, format!("{}() starts a process {when}", call.callee)));
        } else if call.is(&["webbrowser.open", "webbrowser.open_new", "webbrowser.open_new_tab", "webbrowser.get().open"]) {
            // A page opened in the user's browser by an install step: the build
            // sends the person somewhere (a form, a download); no build needs it.
            let install = matches!(file.role, Role::SetupScript | Role::InstallHelper);
            let severity = if install { Severity::High } else { Severity::Medium };
            out.push(file.finding(
                "access/process-on-install",
                severity,
                call.line,
                format!("{}() opens a web page in the user's browser {when}", call.callee),
            ));
        } else if is_network(call) {
            if names_no_host(call) {
                // `urlopen('')` at import warms the library up; it reaches no host.
                continue;
            }
            let on_this_machine = if connects_a_local_socket(file, call) {
                Some(format!("connects a Unix domain socket {when}: a process on this machine, no host"))
            } else if reaches_only_this_machine(call) {
                Some(format!("talks to a server on this machine {when}; it reaches no other host"))
            } else {
                None
            };
            if let Some(what) = on_this_machine {
                out.push(file.finding("access/network-on-install", Severity::Low, call.line, format!("{}() {what}", call.callee)));
                continue;
            }
            if fetches_data_on_import(file, call) {
                out.push(file.finding(
                    "access/network-on-install",
                    Severity::Medium,
                    call.line,
                    format!("{}() downloads data over https {when}, sending nothing; the file starts and runs nothing", call.callee),
                ));
            } else if fetches_a_release_asset(file, call) {
                out.push(file.finding(
                    "access/network-on-install",
                    Severity::Medium,
                    call.line,
                    format!("{}() downloads a prebuilt artifact (a release asset or wheel) {when}: what it installs is not in this archive", call.callee),
                ));
            } else if installs_a_fetched_artifact(file, call) {
                out.push(file.finding(
                    "access/network-on-install",
                    Severity::Medium,
                    call.line,
                    format!(
                        "{}() downloads an artifact over https {when} and checks or unpacks it, sending nothing: what it builds or installs is not in this archive",
                        call.callee
                    ),
                ));
            } else {
                out.push(file.finding("access/network-on-install", Severity::High, call.line, format!("{}() reaches the network {when}", call.callee)));
            }
        } else if call.is(&["os.environ.items", "os.environ.copy", "os.environ.keys", "os.environ.values", "dict", "json.dumps", "str"])
            && call.arg_texts.iter().any(|a| a == "os.environ")
            || call.is(&["os.environ.items", "os.environ.copy"])
        {
            // High when the same function (or the top level) also uses the
            // network: the copy can leave with the request. A network call
            // elsewhere in a large module is no flow (a constants class
            // filled from the environment, a child process's `env=`).
            let sends = file.calls().any(|c| is_network(c) && c.function == call.function);
            let severity = if sends { Severity::High } else { Severity::Medium };
            out.push(file.finding("access/env-sweep", severity, call.line, format!("reads the whole environment (secrets included) {when}")));
        }
    }
    literal_rules(file, out);
    exfil_flows(file, out);
    surveillance(file, out);
    writes_home_on_install(file, out);
    for call in file.calls().filter(|c| c.callee.ends_with("connect") || c.callee.ends_with("create_connection")) {
        // A UDP "connect" to a public resolver is the usual way to learn the local address.
        const RESOLVERS: [&str; 5] = ["8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9"];
        if learns_the_local_address(file, call) {
            continue;
        }
        if let Some(ip) = call.strings.iter().find(|s| is_public_ipv4(s) && !RESOLVERS.contains(&s.as_str())) {
            out.push(file.finding("access/raw-ip-url", file.weigh(Severity::High), call.line, format!("connects to the raw IP address {ip}")));
        }
    }
}

/// A datagram socket "connected" to an address only to read back which
/// local address the route to it leaves from (`s.connect(("1.255.255.255",
/// 1))` then `s.getsockname()[0]` in the same function): connecting a UDP
/// socket sends no packet, so whatever address it names is reached by
/// nothing, as long as the function sends nothing on it either.
fn learns_the_local_address(file: &PyFile, connect: &Call) -> bool {
    let here = || file.calls().filter(|c| c.function == connect.function);
    file.text.contains("SOCK_DGRAM")
        && here().any(|c| c.callee.ends_with(".getsockname"))
        && !here().any(|c| c.is(&[".send", ".sendto", ".sendall", ".sendmsg"]))
}

/// Exfiltration endpoints: where stolen data goes. Matched as host names
/// (see [`names_endpoint`]); the severity is that of a mention, and a flow
/// of secrets to any of them is `access/exfil-flow`.
const EXFIL: [(&str, Severity); 44] = [
    ("discord.com/api/webhooks", Severity::High),
    ("discordapp.com/api/webhooks", Severity::High),
    ("canary.discord.com/api/webhooks", Severity::High),
    ("api.telegram.org/bot", Severity::Medium),
    ("hooks.slack.com/services", Severity::Medium),
    ("pastebin.com", Severity::Medium),
    ("paste.ee", Severity::Medium),
    ("hastebin", Severity::Medium),
    // File-drop hosts: downloaders and gallery tools name them too.
    ("transfer.sh", Severity::Medium),
    ("ngrok.io", Severity::High),
    ("ngrok-free.app", Severity::High),
    ("ngrok.app", Severity::High),
    ("ngrok-free.dev", Severity::High),
    ("ngrok.dev", Severity::High),
    ("ngrok.pizza", Severity::High),
    ("ngrok-free.pizza", Severity::High),
    ("requestbin", Severity::High),
    ("pipedream.net", Severity::High),
    ("webhook.site", Severity::High),
    ("interact.sh", Severity::High),
    (".oast.fun", Severity::High),
    ("burpcollaborator", Severity::High),
    ("trycloudflare.com", Severity::High),
    ("serveo.net", Severity::High),
    ("anonfiles", Severity::Medium),
    ("gofile.io", Severity::Medium),
    // Out-of-band interaction (OAST) hosts: nothing but a probe reports to them.
    ("oastify.com", Severity::High),
    (".oast.pro", Severity::High),
    (".oast.live", Severity::High),
    (".oast.site", Severity::High),
    (".oast.online", Severity::High),
    (".oast.me", Severity::High),
    ("dnslog.cn", Severity::High),
    ("ceye.io", Severity::High),
    ("canarytokens.com", Severity::High),
    // Request collectors, mock APIs and tunnels with legitimate uses: a
    // mention is worth a look, a flow of secrets to them is theft.
    ("requestcatcher.com", Severity::Medium),
    ("hookbin.com", Severity::Medium),
    ("beeceptor.com", Severity::Medium),
    ("mockbin.org", Severity::Medium),
    ("mocky.io", Severity::Medium),
    ("mockapi.io", Severity::Medium),
    ("loca.lt", Severity::Medium),
    ("localtunnel.me", Severity::Medium),
    ("bore.pub", Severity::Medium),
];

/// The host names in a lower-cased string, each with the text after it:
/// every run of host characters (letters, digits, `.` and `-`) holding a
/// dot. `authnrequestbinding` has none; `https://x.requestbin.net/a` has
/// `x.requestbin.net` (followed by `/a`). Underscores end a run, so a
/// module path like `weight_transfer.sharded_engine` is no host of
/// `transfer.sh`.
fn hosts(lower: &str) -> impl Iterator<Item = (&str, &str)> {
    let is_host = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < lower.len() {
            let start = at + lower[at..].find(is_host)?;
            let end = lower[start..].find(|c: char| !is_host(c)).map_or(lower.len(), |n| start + n);
            at = end;
            let host = lower[start..end].trim_matches(['.', '-']);
            if host.contains('.') {
                return Some((host, &lower[end..]));
            }
        }
        None
    })
}

/// True when `lower` names `endpoint` as a host: the host itself or a
/// subdomain of it (`x.transfer.sh`), a host ending in it when it starts
/// with a dot (`.oast.fun`), a host with it as one label when it has no
/// dot (`requestbin` in `x.requestbin.net`), and with the path it names
/// when it has one (`discord.com/api/webhooks`).
fn names_endpoint(host: &str, rest: &str, endpoint: &str) -> bool {
    let (host_part, path) = match endpoint.split_once('/') {
        Some((h, p)) => (h, Some(p)),
        None => (endpoint, None),
    };
    let host_ok = if !host_part.contains('.') {
        host.split('.').any(|label| label == host_part)
    } else if host_part.starts_with('.') {
        host.ends_with(host_part)
    } else {
        host == host_part || host.strip_suffix(host_part).is_some_and(|sub| sub.ends_with('.'))
    };
    host_ok && path.is_none_or(|p| rest.strip_prefix('/').is_some_and(|r| r.starts_with(p)))
}

/// The exfiltration endpoint a lower-cased string names (the first host
/// that is one), with the severity of its mention.
pub(crate) fn exfil_endpoint(lower: &str) -> Option<(&'static str, Severity)> {
    if !lower.contains('.') {
        return None;
    }
    hosts(lower).find_map(|(host, rest)| EXFIL.iter().find(|(e, _)| names_endpoint(host, rest, e)).copied())
}

/// Substrings naming stores that only a stealer reads: browsers' saved
/// logins, Discord tokens, wallets, messenger sessions (high).
const STOLEN_STORES: [&str; 16] = [
    "login data",
    "\\local state",
    "/local state",
    "local storage\\leveldb",
    "local storage/leveldb",
    "discord\\local",
    "discordcanary",
    "discordptb",
    "wallet.dat",
    "\\exodus",
    "electrum\\wallets",
    "cookies.sqlite",
    "key4.db",
    "logins.json",
    "telegram desktop\\tdata",
    "metamask",
];

/// Credential files that tools also read legitimately (medium). SSH
/// private keys are recognised by [`ssh_private_key`].
const CREDENTIAL_FILES: [&str; 3] = [".aws/credentials", ".aws\\credentials", ".git-credentials"];

/// The SSH private key a lower-cased string names: `.ssh/id_<type>` for any
/// key type (rsa, ecdsa, ed25519, the `_sk` ones, a `*` glob), but not the
/// public half (`.pub`).
fn ssh_private_key(lower: &str) -> Option<&str> {
    for sep in ["/", "\\"] {
        let marker = format!(".ssh{sep}id_");
        for (at, _) in lower.match_indices(&marker) {
            let rest = &lower[at + marker.len()..];
            let key_type = rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '*')).next().unwrap_or("");
            if !key_type.is_empty() && !rest[key_type.len()..].starts_with(".pub") {
                return Some(&lower[at..at + marker.len() + key_type.len()]);
            }
        }
    }
    None
}

/// Substrings of autostart and persistence locations.
const PERSISTENCE: [&str; 15] = [
    "currentversion\\run",
    "currentversion/run",
    "start menu\\programs\\startup",
    "start menu/programs/startup",
    "schtasks",
    "/etc/cron",
    "crontab -",
    "launchagents",
    "systemd/user",
    "/etc/rc.local",
    "/etc/init.d",
    // Shell start-up files: every new shell runs what they hold.
    "/.bashrc",
    "/.zshrc",
    "/.bash_profile",
    "/.profile",
];

/// Calls that send data out of the machine, beyond [`NETWORK_IO`]:
/// methods of clients and sockets the walk cannot name.
fn sends(call: &Call) -> bool {
    const SENDS: [&str; 11] =
        [".post", ".put", ".send", ".sendall", ".sendto", ".urlopen", ".request", ".sendMessage", ".upload", ".files_upload", ".upload_file"];
    // A request object built with data or headers is one made to be sent; `Request(url)` alone
    // (yt-dlp computing the cookie header for an address) sends nothing.
    is_network(call) || call.is(&SENDS) || call.is(&["urllib.request.Request", "Request"]) && call.arg_texts.len() >= 2
}

/// True when the file sends something out (a network call, a send on a
/// client) or names a webhook or file-drop host: a credential store it
/// names can leave the machine.
fn file_sends(file: &PyFile) -> bool {
    file.calls().any(sends) || file.facts.literals.iter().any(|l| !l.doc && exfil_endpoint(&l.value.to_ascii_lowercase()).is_some())
}

/// True when the file reads files or folders (opens, lists, globs, copies,
/// queries a database file): what a stealer does with the store it names.
fn reads_files(file: &PyFile) -> bool {
    const READS: [&str; 24] = [
        "open",
        "io.open",
        "codecs.open",
        "os.open",
        "os.listdir",
        "os.scandir",
        "os.walk",
        "glob.glob",
        "glob.iglob",
        "sqlite3.connect",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.make_archive",
        "zipfile.ZipFile",
        ".read_bytes",
        ".read_text",
        ".iterdir",
        ".glob",
        ".rglob",
        ".listdir",
        ".walk",
        "plyvel.DB",
    ];
    file.calls().any(|c| c.is(&READS))
}

/// Calls that write a file, set a registry value, or start a process:
/// what makes a named autostart location an act of persistence.
fn writes_or_starts(file: &PyFile, call: &Call) -> bool {
    const WRITERS: [&str; 9] = [
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.move",
        "winreg.SetValueEx",
        "winreg.SetValue",
        "_winreg.SetValueEx",
        "os.rename",
        "os.symlink",
    ];
    is_process(call)
        || call.is(&WRITERS)
        || call.is(&["open", "io.open", "codecs.open"]) && call.strings.iter().any(|m| crate::capabilities::is_write_mode(m))
        || file.facts.calls.iter().any(|w| w.line == call.line && w.is(&[".write", ".write_text", ".write_bytes"]))
}

fn literal_rules(file: &PyFile, out: &mut Vec<Finding>) {
    // Documentation (help texts, EXAMPLES constants) is information: two levels less.
    let weigh = |lit: &crate::python::Literal, s: Severity| if lit.doc { lower(file.weigh(s), 2) } else { file.weigh(s) };
    let mut leaves: Option<bool> = None;
    let mut file_sends_once = || *leaves.get_or_insert_with(|| file_sends(file));
    for lit in &file.facts.literals {
        let lower_value = lit.value.to_ascii_lowercase();
        let lower = lower_value.as_str();
        if let Some((endpoint, severity)) = exfil_endpoint(lower) {
            // `"https://discord.com/api/webhooks"` and nothing after it: the
            // API's address in a notification library, not a channel of the
            // author's (which needs its id and token: `…/webhooks/123/abc`).
            // The same address with the id and token left as holes of an f-string
            // (`f"https://discord.com/api/webhooks/{id}/{token}"`) is the API's shape too.
            let api_base_only = endpoint.ends_with("/webhooks")
                && lower.split_once(endpoint).is_some_and(|(_, rest)| {
                    rest.trim().is_empty() || rest.contains("{}") && rest.replace("{}", "").trim().trim_matches(['/', '?']).is_empty()
                });
            // `"webhook.site"` alone, given to no call, in a file that sends
            // nothing: an entry of a list of hosts (a disposable-address
            // blocklist), not an address used.
            let is_host_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
            let bare = lower.trim();
            let listed_host = bare.contains('.')
                && bare.chars().all(is_host_char)
                && !file.calls().any(|c| sends(c) || c.strings.iter().any(|s| s.to_ascii_lowercase().contains(bare)));
            let (severity, what) = if api_base_only {
                (Severity::Medium, "the API's address alone (no webhook id or token)")
            } else if listed_host {
                (Severity::Medium, "a host name alone, given to no call, in a file that sends nothing (an entry of a list of hosts)")
            } else {
                (severity, "a common exfiltration endpoint")
            };
            out.push(file.finding("access/exfil-endpoint", weigh(lit, severity), lit.line, format!("names {endpoint}, {what}")));
        } else if let Some(ip_url) = raw_ip_url(lower) {
            // High when a call is given the address (directly or through a
            // name the analysis follows), or when an install step writes it.
            // An address in a table (a download tool's list of mirrors, an
            // extractor's test data) is information.
            // A message that shows the address (`print("data from http://1.2.3.4/")`) contacts nothing.
            let used = file.calls().any(|c| !only_shows_text(c) && c.strings.iter().any(|s| s.contains(ip_url.as_str())));
            let written_where_it_runs = lit.function.is_none() && matches!(file.role, Role::SetupScript | Role::InstallHelper | Role::StartupHook);
            let (severity, what) = if used || written_where_it_runs {
                (Severity::High, format!("contacts a raw IP address ({ip_url}) instead of a host name"))
            } else {
                (Severity::Medium, format!("names a raw IP address ({ip_url}); no call seen here is given it"))
            };
            out.push(file.finding("access/raw-ip-url", weigh(lit, severity), lit.line, what));
        }
        // A credential store named in a file that reads files and sends data
        // out is theft; named alone (a cookie importer, prose) it is
        // information, and so it is in a file that reads nothing (a client
        // looking for the app's socket folder, `app/com.discordapp.DiscordCanary`).
        if let Some(store) = STOLEN_STORES.iter().find(|c| names_store(lower, c)) {
            let (severity, how) = if !file_sends_once() {
                (Severity::Low, "")
            } else if reads_files(file) {
                (Severity::High, ", and the file reads files and sends data out")
            } else {
                (Severity::Medium, ", and the file sends data out but reads no file")
            };
            out.push(file.finding("access/credentials", weigh(lit, severity), lit.line, format!("refers to a credential store stealers read ({store}){how}")));
        } else if let Some(store) = CREDENTIAL_FILES.iter().copied().find(|c| lower.contains(*c)).or_else(|| ssh_private_key(lower)) {
            let severity = if file_sends_once() { Severity::Medium } else { Severity::Low };
            out.push(file.finding("access/credentials", weigh(lit, severity), lit.line, format!("refers to a credential file ({store})")));
        }
        if is_bot_token(&lit.value) {
            out.push(file.finding(
                "access/hardcoded-bot-token",
                weigh(lit, Severity::High),
                lit.line,
                "a chat-bot token is written into the code: a channel the author controls".into(),
            ));
        }
        if let Some(place) = PERSISTENCE.iter().find(|p| lower.contains(*p)) {
            // High only when the place flows into a write, a registry value or a process on install or import.
            let act = file
                .calls()
                .filter(|c| c.strings.iter().any(|s| s.to_ascii_lowercase().contains(place)) && writes_or_starts(file, c))
                .max_by_key(|c| file.runs_on_install_or_import(c.scope));
            // What is written there downloads and runs a program: a dropper made to start again and again.
            let plants_a_download = act.is_some_and(|c| {
                file.calls().any(|w| w.function == c.function && w.is(&[".write", ".writelines"]) && w.strings.iter().any(|t| runs_a_download(t)))
            });
            let (severity, how) = match act {
                Some(_) if plants_a_download => (Severity::High, " and writes a command there that downloads and runs a program"),
                Some(c) if file.runs_now(c) => (Severity::High, " and writes there on install or import"),
                Some(_) => (Severity::Medium, " and writes there"),
                None => (Severity::Low, ""),
            };
            out.push(file.finding("access/persistence", weigh(lit, severity), lit.line, format!("refers to an autostart location ({place}){how}")));
        }
    }
}

/// Calls that show text to a person (print it, log it, warn with it) and
/// do nothing else with it.
fn only_shows_text(call: &Call) -> bool {
    const SHOWS: [&str; 14] = [
        "print",
        "logging.*",
        "warnings.warn",
        "sys.stdout.write",
        "sys.stderr.write",
        "click.echo",
        "click.secho",
        ".debug",
        ".info",
        ".warning",
        ".warn",
        ".error",
        ".exception",
        ".critical",
    ];
    call.is(&SHOWS)
}

/// A command line that downloads a program and runs it, also when it is
/// nested in another shell's quoted program (`bash -c '… wget URL -O /tmp/p
/// && chmod +x /tmp/p && /tmp/p'`).
fn runs_a_download(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let downloads = lower.contains("://") && shell::DOWNLOADERS.iter().any(|d| lower.contains(&format!("{d} ")));
    downloads
        && (shell::runs_after_download(&lower) || shell::pipes_into_interpreter(&lower) || shell::substitutes_download(&lower) || lower.contains("chmod +x"))
}

/// True when `lower` names the credential store `store` as a path does: a
/// store with a space in its name (`login data`) must sit in a path or be
/// the whole string, not in a sentence.
fn names_store(lower: &str, store: &str) -> bool {
    // A folder's name, not a part of a longer name: `com.discordapp.discordcanary`
    // is a Flatpak app id (where a Discord client finds the app's socket).
    // (A store spelled from its separator on, `\\exodus`, carries its own boundary.)
    let bounded = !store.starts_with(|c: char| c.is_ascii_alphanumeric());
    let as_a_name = lower.match_indices(store).any(|(at, _)| bounded || !lower[..at].ends_with(|c: char| c == '.' || c.is_ascii_alphanumeric()));
    if !as_a_name {
        return false;
    }
    !store.contains(' ') || store.contains(['/', '\\']) || lower.trim() == store || lower.contains(['/', '\\']) && !lower.contains(". ")
}

/// Names of parameters and variables that hold secrets.
const SECRET_NAMES: [&str; 14] = [
    "private_key",
    "privatekey",
    "priv_key",
    "mnemonic",
    "seed_phrase",
    "seed",
    "secret_key",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "access_token",
    "secret",
    "wallet",
];

/// Calls that read the environment or facts about the host and its user.
const HOST_FACTS: [&str; 13] = [
    "os.getlogin",
    "getpass.getuser",
    "socket.gethostname",
    "socket.getfqdn",
    "platform.node",
    "platform.uname",
    "os.uname",
    "os.environ.items",
    "os.environ.copy",
    "os.getcwd",
    "os.environ.get",
    "os.getenv",
    "uuid.getnode",
];

/// What secret or host fact flows into `call`, if any: a host-fact call in
/// its arguments (through variables too), the environment, a parameter or
/// variable named like a secret, or a `whoami`/`hostname` command's output.
pub(super) fn secret_in(call: &Call) -> Option<String> {
    if let Some(fact) = call.inner_calls.iter().find(|c| HOST_FACTS.iter().any(|h| crate::python::matches_name(c, h))) {
        return Some(format!("{fact}()"));
    }
    if call.arg_texts.iter().any(|a| a.contains("os.environ")) {
        return Some("os.environ".into());
    }
    let word = call
        .arg_texts
        .iter()
        .flat_map(|a| a.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .find(|w| SECRET_NAMES.contains(&w.to_ascii_lowercase().as_str()));
    if let Some(word) = word {
        return Some(word.to_string());
    }
    if !call.inner_calls.iter().any(|c| crate::python::is_process_callee(c)) {
        return None;
    }
    let command = call.strings.iter().find(|s| matches!(s.trim(), "whoami" | "hostname" | "id -un"))?;
    Some(format!("the output of `{}`", command.trim()))
}

/// Host facts (user, host name, working folder) gathered by code that runs
/// at build time and a send in the same file (a DNS query to the author's
/// name server, a post): what a dependency-confusion probe does on install.
fn install_time_host_facts(file: &PyFile, out: &mut Vec<Finding>) {
    const WHO: [&str; 6] = ["getpass.getuser", "os.getlogin", "socket.gethostname", "platform.node", "socket.getfqdn", "os.uname"];
    /// Programs that send what they are given out as DNS or HTTP queries.
    const QUERIERS: [&str; 6] = ["dig", "nslookup", "host", "curl", "wget", "ping"];
    let whoami = |c: &Call| is_process(c) && c.strings.iter().any(|s| matches!(s.trim(), "whoami" | "hostname"));
    // A fact only compared (`os.uname()[0] == "SunOS"`) decides a branch; it is not collected.
    let facts: Vec<&Call> = file.calls().filter(|c| (c.is(&WHO) && !only_compared(file.line(c.line), c)) || whoami(c)).collect();
    if facts.is_empty() {
        return;
    }
    let build_time = matches!(file.role, Role::SetupScript | Role::InstallHelper);
    // A function called at the file's top level runs on import too.
    let runs_now = |c: &Call| {
        file.runs_now(c)
            || build_time
            || file.role == Role::Module && c.function.as_ref().is_some_and(|f| file.calls().any(|m| m.scope == crate::python::Scope::Module && m.callee == *f))
    };
    let queries = |c: &Call| {
        is_process(c) && c.strings.first().is_some_and(|p| QUERIERS.contains(&shell::program_name(p.split_whitespace().next().unwrap_or("")).as_str()))
    };
    let send = file.calls().find(|c| {
        (sends(c) || c.is(&[".sendto", ".sendall", ".send"]) || queries(c)) && runs_now(c) && facts.iter().any(|f| build_time || f.function == c.function)
    });
    let Some(send) = send else { return };
    let fact = facts[0];
    let when = if build_time { "when the sdist is built" } else { "when the package is imported" };
    out.push(file.finding(
        "access/exfil-flow",
        file.weigh(Severity::High),
        send.line,
        format!(
            "{}() sends data out {when}, from code that collects {}",
            send.callee,
            if whoami(fact) { "the output of whoami".to_string() } else { format!("{}()", fact.callee) }
        ),
    ));
}

/// True when every use of the call `fact` on `line` is compared with
/// something (`os.uname()[0] == "SunOS"`, `platform.node().startswith("ci-")`,
/// `getpass.getuser() in ("root", "admin")`): the value picks a branch and
/// goes nowhere.
fn only_compared(line: &str, fact: &Call) -> bool {
    let name = fact.callee.rsplit('.').next().unwrap_or(&fact.callee);
    let opening = format!("{name}(");
    let mut uses = line.match_indices(&opening).peekable();
    if uses.peek().is_none() {
        return false;
    }
    uses.all(|(at, _)| {
        let before = line[..at].trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '.').trim_end();
        let mut rest = &line[at + opening.len() - 1..];
        // The call's own brackets, then any subscripts and string methods on its value.
        loop {
            let Some(end) = closing_bracket(rest) else { return false };
            rest = rest[end + 1..].trim_start();
            let method = [".lower()", ".upper()", ".strip()", ".casefold()"].iter().find(|m| rest.starts_with(**m));
            if let Some(m) = method {
                rest = &rest[m.len() - 2..];
                continue;
            }
            if !rest.starts_with('[') {
                break;
            }
        }
        let compared_after = ["==", "!=", "in ", "not in ", ".startswith(", ".endswith("].iter().any(|op| rest.starts_with(op));
        let compared_before = before.ends_with("==") || before.ends_with("!=") || before.ends_with(" in");
        compared_after || compared_before
    })
}

/// Secrets, the environment or host facts sent to an exfiltration, OAST,
/// tunnel or request-capture host, wherever the code runs: a library
/// function that posts its `private_key` parameter to a collector steals at
/// run time, with nothing to see at install.
fn exfil_flows(file: &PyFile, out: &mut Vec<Finding>) {
    for call in file.calls().filter(|c| sends(c)) {
        let Some((endpoint, _)) = call.strings.iter().find_map(|s| exfil_endpoint(&s.to_ascii_lowercase())) else {
            wallet_secret_to_a_hidden_address(file, call, out);
            continue;
        };
        // The data may be gathered in the same function before the send, or
        // be what the function was given (`def perm(private_key): …`).
        let source = secret_in(call).or_else(|| {
            let function = call.function.as_ref()?;
            let parameter = file.facts.parameters.get(function).and_then(|ps| ps.iter().find(|p| SECRET_NAMES.contains(&p.to_ascii_lowercase().as_str())));
            parameter
                .map(|p| format!("its `{p}` parameter"))
                .or_else(|| file.calls().filter(|c| c.function == call.function).find_map(|c| c.is(&HOST_FACTS).then(|| format!("{}()", c.callee))))
        });
        let Some(source) = source else { continue };
        let severity = if file.runs_now(call) { Severity::Critical } else { Severity::High };
        out.push(file.finding(
            "access/exfil-flow",
            file.weigh(severity),
            call.line,
            format!("{}() sends {source} to {endpoint}, a host that collects data for someone else", call.callee),
        ));
    }
    // After the flows to known collectors, which say more (one finding per line is kept).
    install_time_host_facts(file, out);
    dns_beacon(file, out);
}

/// A name lookup, on install or import, of a constant host whose answer is
/// thrown away (`socket.gethostbyname("acme.probe.example.net")` as a
/// statement): the query itself is the message, telling the name server's
/// owner that the package was installed, where and when. Code that needs an
/// address keeps the answer.
fn dns_beacon(file: &PyFile, out: &mut Vec<Finding>) {
    const LOOKUPS: [&str; 6] = [
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.getaddrinfo",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "dns.resolver.Resolver().resolve",
    ];
    let runs_now = |c: &Call| {
        file.runs_now(c)
            || file.role == Role::Module && c.function.as_ref().is_some_and(|f| file.calls().any(|m| m.scope == crate::python::Scope::Module && m.callee == *f))
    };
    let beacon = file.calls().filter(|c| c.is(&LOOKUPS) && runs_now(c)).find(|c| {
        // A variable holding the constant (`host = "x.probe.example"`) counts as the constant.
        let plain_variable = c.arg_texts.len() == 1 && c.arg_texts[0].chars().all(|ch| ch.is_alphanumeric() || ch == '_') && c.inner_calls.is_empty();
        let constant_host = c.strings.first().is_some_and(|h| h.split('.').filter(|l| !l.is_empty()).count() >= 3) && (!c.dynamic || plain_variable);
        let line = file.line(c.line).trim_start();
        let discarded = line.starts_with(c.callee.as_str()) || line.starts_with(&format!("{}(", c.callee.rsplit('.').next().unwrap_or("")));
        constant_host && discarded
    });
    if let Some(c) = beacon {
        let host = c.strings.first().map(String::as_str).unwrap_or("");
        out.push(file.finding(
            "access/exfil-flow",
            file.weigh(Severity::High),
            c.line,
            format!("{}() looks up {host} on install or import and throws the answer away: the query is a beacon to that name server", c.callee),
        ));
    }
}

/// Names of a crypto wallet's secrets: whoever holds them holds the funds,
/// and no service but the wallet's owner needs them.
const WALLET_SECRETS: [&str; 6] = ["private_key", "privatekey", "priv_key", "mnemonic", "mnemonic_phrase", "seed_phrase"];

/// A wallet secret (`mnemonic`, `private_key`) sent where the code hides the
/// address: the destination is decoded (base64 and the like) just before
/// the send, directly or through a local helper. A wallet library has no
/// reason to hide where it posts a seed phrase.
fn wallet_secret_to_a_hidden_address(file: &PyFile, call: &Call, out: &mut Vec<Finding>) {
    let hidden_address = call.inner_has(&crate::rules::code::payload::DECODERS) || call.inner_has(&[".b64decode"]);
    if !hidden_address {
        wallet_secret_posted(file, call, out);
        return;
    }
    let secret = call
        .arg_texts
        .iter()
        .flat_map(|a| a.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .find(|w| WALLET_SECRETS.contains(&w.to_ascii_lowercase().as_str()));
    let Some(secret) = secret else {
        uploads_to_a_hidden_address(file, call, out);
        return;
    };
    out.push(file.finding(
        "access/exfil-flow",
        file.weigh(Severity::High),
        call.line,
        format!("{}() sends `{secret}` (a wallet secret) to an address the code decodes first, hiding where it goes", call.callee),
    ));
}

/// A wallet secret posted in a request body to a fixed address
/// (`requests.post("https://h/tron", json=[{"private_key": private_key}])`):
/// the secret leaves the machine, named as such. A wallet signs with its key
/// where it is; no service needs the key or the seed phrase itself.
fn wallet_secret_posted(file: &PyFile, call: &Call, out: &mut Vec<Finding>) {
    let carries_data = call.callee.ends_with("post") || call.callee.ends_with("put");
    let fixed_address = call.strings.first().is_some_and(|u| {
        let u = u.to_ascii_lowercase();
        (u.starts_with("https://") || u.starts_with("http://")) && !u.contains("://localhost") && !u.contains("://127.0.0.1")
    });
    if !(carries_data && fixed_address && call.arg_texts.len() >= 2) {
        return;
    }
    let is_secret = |w: &str| WALLET_SECRETS.contains(&w.to_ascii_lowercase().as_str());
    let in_arguments = call.arg_texts.iter().skip(1).flat_map(|a| a.split(|c: char| !(c.is_alphanumeric() || c == '_'))).find(|w| is_secret(w));
    // A payload built beforehand (`data = {"mnemonic": m}`) brings its keys along.
    let secret = in_arguments.map(str::to_string).or_else(|| call.strings.iter().skip(1).find(|s| is_secret(s)).cloned());
    let Some(secret) = secret else { return };
    out.push(file.finding(
        "access/exfil-flow",
        file.weigh(Severity::High),
        call.line,
        format!("{}() posts `{secret}` (a wallet secret) to {}: the key itself leaves the machine", call.callee, call.strings[0]),
    ));
}

/// Data posted to an address decoded in the send itself
/// (`session.post(base64.b64decode(ADDR).decode(), data=files)`): the
/// destination is hidden from readers, and something goes with it. Code
/// that fetches from a decoded address sends nothing but the request.
fn uploads_to_a_hidden_address(file: &PyFile, call: &Call, out: &mut Vec<Finding>) {
    let decoded_address = call.arg_texts.first().is_some_and(|a| a.contains("b64decode(") || a.contains("unhexlify(") || a.contains("fromhex("));
    let carries_data = call.callee.ends_with("post") || call.callee.ends_with("put") || call.callee.ends_with(".upload");
    if !(decoded_address && carries_data && call.arg_texts.len() >= 2) {
        return;
    }
    out.push(file.finding(
        "access/exfil-flow",
        file.weigh(Severity::High),
        call.line,
        format!("{}() sends data to an address the code decodes first, hiding where it goes", call.callee),
    ));
}

/// A Telegram (`123456789:AA…`) or Discord (`M….….…`) bot token.
pub(crate) fn is_bot_token(s: &str) -> bool {
    let s = s.trim();
    if let Some((id, secret)) = s.split_once(':') {
        if (8..=10).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) && secret.len() == 35 && secret.starts_with("AA") {
            return secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        }
    }
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && (23..=28).contains(&parts[0].len())
        && matches!(parts[0].as_bytes()[0], b'M' | b'N' | b'O')
        && parts[1].len() == 6
        && parts[2].len() >= 27
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// `http://1.2.3.4…` for a public IPv4 address.
pub(super) fn raw_ip_url(s: &str) -> Option<String> {
    for scheme in ["http://", "https://", "tcp://"] {
        let mut rest = s;
        while let Some(at) = rest.find(scheme) {
            let host_part = &rest[at + scheme.len()..];
            let host: String = host_part.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let octets: Vec<u8> = host.split('.').filter_map(|o| o.parse().ok()).collect();
            if octets.len() == 4 && host.split('.').count() == 4 && !is_private(&octets) {
                return Some(host);
            }
            rest = &rest[at + scheme.len()..];
        }
    }
    None
}

pub(super) fn is_public_ipv4(s: &str) -> bool {
    let octets: Vec<u8> = s.split('.').filter_map(|o| o.parse().ok()).collect();
    octets.len() == 4 && s.split('.').count() == 4 && !is_private(&octets)
}

/// Loopback, private (RFC 1918), link-local (cloud metadata at
/// 169.254.169.254), shared address space (RFC 6598, 100.64.0.0/10: carrier
/// NAT and some clouds' metadata service) and broadcast: not a host on the
/// internet.
fn is_private(o: &[u8]) -> bool {
    matches!(o, [127, ..] | [10, ..] | [0, ..] | [192, 168, ..] | [169, 254, ..] | [255, ..])
        || (o[0] == 172 && (16..32).contains(&o[1]))
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || is_documentation_ip(o)
}

/// Addresses that stand for an address in documentation and examples:
/// RFC 5737's ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and
/// placeholders of one-digit octets written as a run (`1.2.3.4`,
/// `4.3.2.1`) or a repeat (`2.2.2.2`, and the public resolvers `1.1.1.1`
/// and `8.8.8.8` that connectivity checks name).
fn is_documentation_ip(o: &[u8]) -> bool {
    let small = o.iter().all(|x| *x < 10);
    let run = small && (o.windows(2).all(|w| w[1] == w[0].wrapping_add(1)) || o.windows(2).all(|w| w[0] == w[1].wrapping_add(1)));
    let repeat = small && o.iter().all(|x| *x == o[0]);
    matches!(o, [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]) || run || repeat
}

const SURVEILLANCE: [&str; 8] = ["pynput", "keyboard", "pyautogui", "PIL.ImageGrab", "pyperclip", "win32clipboard", "mss", "pyscreenshot"];

/// Calls that capture keystrokes: a listener on the keyboard, or a hook on its events.
const KEY_CAPTURE: [&str; 7] = [
    "pynput.keyboard.Listener",
    "pynput.keyboard.Events",
    "keyboard.on_press",
    "keyboard.on_release",
    "keyboard.hook",
    "keyboard.record",
    "keyboard.read_event",
];

fn surveillance(file: &PyFile, out: &mut Vec<Finding>) {
    // Keystrokes captured by a file that also sends data out (mail, a post, a socket): a keylogger reporting home.
    if let Some(capture) = file.calls().find(|c| c.is(&KEY_CAPTURE)) {
        if let Some(send) = file.calls().find(|c| sends(c) || c.is(&[".sendmail", ".send_message"])) {
            out.push(file.finding(
                "access/surveillance",
                file.weigh(Severity::High),
                capture.line,
                format!("{}() captures keystrokes, and the file sends data out ({}() at line {})", capture.callee, send.callee, send.line),
            ));
            return;
        }
    }
    for (module, line) in &file.facts.imports {
        if SURVEILLANCE.iter().any(|s| module == s || module.starts_with(&format!("{s}."))) {
            out.push(file.finding(
                "access/surveillance",
                file.weigh(Severity::Medium),
                *line,
                format!("imports {module}: keyboard, clipboard or screen capture"),
            ));
        }
    }
}
