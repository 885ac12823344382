//! Payload rules: code that runs data. `exec`/`eval`/`compile` of decoded,
//! decompressed, downloaded or reversed data; exec reached through hidden
//! names; and shell commands that download and run.

use crate::finding::{Finding, Severity};
use crate::python::Call;
use crate::rules::code::{access, closing_bracket, lower, shell, PyFile, Role};

/// Callees that run a string or code object.
pub const EXEC: [&str; 6] = ["exec", "eval", "compile", "builtins.exec", "builtins.eval", "execfile"];

/// Callees that turn an opaque blob into code or text.
pub const DECODERS: [&str; 22] = [
    "base64.b64decode",
    "base64.b32decode",
    "base64.b16decode",
    "base64.b85decode",
    "base64.a85decode",
    "base64.decodebytes",
    "base64.urlsafe_b64decode",
    "base64.standard_b64decode",
    "codecs.decode",
    "zlib.decompress",
    "gzip.decompress",
    "bz2.decompress",
    "lzma.decompress",
    "marshal.loads",
    "pickle.loads",
    "binascii.unhexlify",
    "binascii.a2b_base64",
    "binascii.a2b_hex",
    "bytes.fromhex",
    "bytearray.fromhex",
    "cryptography.fernet.Fernet",
    "Fernet",
];

/// Callees that fetch from the network.
pub const FETCHERS: [&str; 14] = [
    "requests.get",
    "requests.post",
    "requests.request",
    "requests.Session",
    "urllib.request.urlopen",
    "urllib.urlopen",
    "urllib2.urlopen",
    "urlopen",
    "httpx.get",
    "http.client.HTTPSConnection",
    "http.client.HTTPConnection",
    "urllib.request.urlretrieve",
    "urlretrieve",
    "socket.socket",
];

/// Commands that download and run in one step: PowerShell download cradles,
/// encoded PowerShell, and Windows tools that fetch (certutil, bitsadmin, mshta).
const DOWNLOAD_CRADLES: [&str; 11] = [
    "downloadstring",
    "downloadfile",
    "start-bitstransfer",
    "certutil -urlcache",
    "certutil.exe -urlcache",
    "bitsadmin",
    "mshta ",
    "-encodedcommand",
    "powershell -e ",
    "powershell.exe -e",
    "frombase64string",
];

/// Functions of the codec modules that encode, compress or checksum: a
/// `.decode("ascii")` of what they return turns bytes into text (a token,
/// a base64 argument handed to another program), it unpacks no payload.
const ENCODERS: [&str; 19] = [
    "base64.b64encode",
    "base64.b32encode",
    "base64.b16encode",
    "base64.b85encode",
    "base64.a85encode",
    "base64.encodebytes",
    "base64.urlsafe_b64encode",
    "base64.standard_b64encode",
    "codecs.encode",
    "zlib.compress",
    "zlib.crc32",
    "bz2.compress",
    "lzma.compress",
    "marshal.dumps",
    "binascii.hexlify",
    "binascii.b2a_base64",
    "binascii.b2a_hex",
    "binascii.crc32",
    "binascii.b2a_uu",
];

/// True when data flowing into `call` is decoded first: a decoder, `chr`
/// codes, or a decoding method next to a codec module's function that is
/// not an encoder (`zlib.decompressobj().decompress`).
pub(super) fn decodes(call: &Call) -> bool {
    const CODEC_MODULES: [&str; 7] = ["base64.*", "zlib.*", "marshal.*", "codecs.*", "binascii.*", "lzma.*", "bz2.*"];
    let unpacking_codec = || {
        call.inner_calls
            .iter()
            .any(|c| CODEC_MODULES.iter().any(|m| crate::python::matches_name(c, m)) && !ENCODERS.iter().any(|e| crate::python::matches_name(c, e)))
    };
    call.inner_has(&DECODERS)
        || call.inner_has(&[crate::python::XOR_DECODE])
        || call.inner_has(&["chr"])
        || call.inner_has(&[".decode", ".decompress", ".b64decode", ".loads", ".unhexlify", ".fromhex"]) && unpacking_codec()
}

/// `subprocess.run(["gh", "api", f"repos/{repo}/commits/{sha}"])`, where
/// `sha` was decoded out of a signed statement: the program is a constant
/// named first in an argument list, and it is no shell, interpreter,
/// downloader or Windows launcher, so decoded data only fills its
/// arguments; it is not the command. (`os.system(b64decode(…))` and
/// `[sys.executable, "-c", …]` are commands; so is a list run with
/// `shell=True`, which the caller checks.)
fn decoded_only_into_arguments(call: &Call) -> bool {
    const LAUNCHERS: [&str; 11] = ["cmd", "start", "mshta", "rundll32", "regsvr32", "wscript", "cscript", "certutil", "bitsadmin", "schtasks", "osascript"];
    let Some(list) = call.arg_texts.first().and_then(|a| a.trim().strip_prefix('[')) else { return false };
    let first = list.split(',').next().unwrap_or("").trim();
    let unquoted = ['"', '\''].iter().find_map(|q| first.strip_prefix(*q).and_then(|p| p.strip_suffix(*q)));
    let Some(program) = unquoted.filter(|p| !p.is_empty() && !p.contains(char::is_whitespace)).map(shell::program_name) else { return false };
    let runs_code = shell::INTERPRETERS.contains(&program.as_str())
        || program.starts_with("python")
        || shell::DOWNLOADERS.contains(&program.as_str())
        || LAUNCHERS.contains(&program.as_str());
    !runs_code
}

fn fetches(call: &Call) -> bool {
    call.inner_has(&FETCHERS)
        || call.inner_calls.iter().any(|c| c.contains("urlopen") || c.starts_with("requests.") || c.starts_with("httpx."))
        || downloads_through_a_process(call)
}

/// `exec(subprocess.getoutput("curl -s https://…"))`: the argument is the
/// output of a process whose command downloads (curl, wget) from a URL.
fn downloads_through_a_process(call: &Call) -> bool {
    if !call.inner_calls.iter().any(|c| crate::python::is_process_callee(c)) {
        return false;
    }
    call.strings.iter().any(|s| {
        let lower = s.to_ascii_lowercase();
        lower.contains("://") && shell::programs(&lower).iter().any(|p| shell::DOWNLOADERS.contains(&p.as_str()))
    })
}

pub use crate::python::PROCESS;

pub fn is_process(call: &Call) -> bool {
    crate::python::is_process_callee(&call.callee)
}

const BUILTINS: [&str; 5] = ["__builtins__", "builtins", "__builtin__", "__import__('builtins')", "__import__(\"builtins\")"];

/// A builtin's name computed in a way only obfuscation needs: built from
/// pieces (`+`, joins, `chr`), cut out of a string constant (`"cexe"[::-1]`,
/// `"xexec"[1:]`), or folding to a dangerous builtin. A lookup by a name
/// read from data (`getattr(builtins, name)`, `parts[1]`,
/// `spec["type"]`: a deserializer finding `int` or `list`) is ordinary.
fn computed_name(text: &str, call: &Call) -> bool {
    if plain_literal(text) {
        return call.strings.iter().any(|s| matches!(s.as_str(), "exec" | "eval" | "compile" | "__import__" | "execfile"));
    }
    let cut_from_constant = text.contains("\"[") || text.contains("'[") || text.contains("[::-1]");
    text.contains('+') || cut_from_constant || text.contains("join(") || text.contains("chr(") || text.contains("__str__") || text.contains("__doc__")
}

/// A plain string literal, as written (no concatenation or calls).
pub(super) fn plain_literal(text: &str) -> bool {
    let t = text.trim();
    let quoted = |q: char| t.len() >= 2 && t.starts_with(q) && t.ends_with(q) && !t[1..t.len() - 1].contains(q);
    quoted('"') || quoted('\'')
}

pub fn run(file: &PyFile, out: &mut Vec<Finding>) {
    for call in file.calls() {
        if call.is(&EXEC) || (call.hidden && call.is(&["__import__"])) || call.callee == "__builtins__.?" {
            exec_rules(file, call, out);
        }
        if access::is_network(call) {
            hidden_download(file, call, out);
        }
        if unpickles_a_constant(call) {
            out.push(file.finding(
                "payload/exec-decoded",
                file.weigh(Severity::Critical),
                call.line,
                format!("{}() unpickles a blob kept in the code: unpickling runs whatever code the blob names", call.callee),
            ));
        }
        if is_process(call) {
            if decodes(call) || call.reversed {
                let (severity, what) = if decoded_only_into_arguments(call) && !file.has_keyword(call, "shell", Some("True")) {
                    (Severity::Medium, "gives a program named in the code arguments that are decoded first")
                } else {
                    (Severity::Critical, "runs a command that is decoded first: a hidden payload")
                };
                out.push(file.finding("payload/exec-decoded", file.weigh(severity), call.line, format!("{}() {what}", call.callee)));
            }
            shell_download(file, call, out);
        }
        if call.is(&["getattr"])
            && call.arg_texts.first().is_some_and(|a| BUILTINS.contains(&a.as_str()))
            && call.arg_texts.get(1).is_some_and(|n| computed_name(n, call))
        {
            // `getattr(builtins, 'exec')` spells the name for every reader to
            // see: the Python 2/3 compatible way to name exec, a statement in
            // Python 2. What it then runs is judged where it is called.
            let plain = call.arg_texts.get(1).is_some_and(|n| plain_literal(n));
            let (severity, message) = if plain {
                (Severity::Medium, "looks up exec or eval on builtins by its plain name (as Python 2/3 compatible code does)")
            } else {
                (Severity::Critical, "looks up a builtin through a computed name, a way to hide exec, eval or chr from readers and scanners")
            };
            out.push(file.finding("payload/exec-hidden", file.weigh(severity), call.line, message.into()));
        }
        let data_file = |s: &String| s.contains('.') && ![".zip", ".whl", ".egg", ".pyz", ".jar"].iter().any(|x| s.ends_with(x));
        if call.is(&["zipimport.zipimporter"]) && !call.strings.is_empty() && call.strings.iter().all(data_file) {
            out.push(file.finding(
                "payload/disguised-module",
                file.weigh(Severity::Critical),
                call.line,
                "imports code from a file that is not named like a zip archive (a module hidden in a data file)".into(),
            ));
        } else if call.is(&["zipimport.zipimporter"]) && matches!(file.role, Role::SetupScript | Role::InstallHelper) {
            // The build runs code packed in an archive of the sdist, out of a reviewer's sight.
            out.push(file.finding(
                "payload/disguised-module",
                Severity::High,
                call.line,
                "imports code out of an archive when the sdist is built: code packed away from review runs on install".into(),
            ));
        }
    }
    reverse_shell(file, out);
    download_and_run(file, out);
    interpreter_fed_on_stdin(file, out);
    runs_the_decoded_file_it_wrote(file, out);
}

/// A file written with decoded data (`open(f, "w").write(b64decode(…))`)
/// and started by a process in the same function (`powershell -F f`): a
/// payload dropped from the code itself.
fn runs_the_decoded_file_it_wrote(file: &PyFile, out: &mut Vec<Finding>) {
    let words = |t: &str| t.split(|c: char| !(c.is_alphanumeric() || c == '_')).map(str::to_string).collect::<Vec<String>>();
    for open in file.calls().filter(|c| c.is(&["open", "io.open"]) && c.strings.iter().any(|m| crate::capabilities::is_write_mode(m))) {
        let Some(path) = open.arg_texts.first().map(|t| t.trim()).filter(|t| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_')) else {
            continue;
        };
        let decoded =
            file.calls().any(|w| w.function == open.function && w.is(&[".write"]) && (w.line == open.line || w.callee.starts_with(path)) && decodes(w));
        if !decoded {
            continue;
        }
        let start =
            file.calls().find(|c| c.function == open.function && is_process(c) && c.arg_texts.first().is_some_and(|a| words(a).iter().any(|w| w == path)));
        if let Some(start) = start {
            out.push(file.finding(
                "payload/exec-decoded",
                file.weigh(Severity::Critical),
                start.line,
                format!("{}() starts the file `{path}` that line {} wrote with decoded data: a dropped payload", start.callee, open.line),
            ));
            return;
        }
    }
}

/// An interpreter started to read its program from stdin (`[sys.executable,
/// "-"]`) and fed, in the same function, data that was downloaded or
/// decoded: exec by another name.
fn interpreter_fed_on_stdin(file: &PyFile, out: &mut Vec<Finding>) {
    let reads_stdin = |c: &Call| {
        let interpreter = c.arg_texts.first().is_some_and(|a| a.contains("sys.executable") || a.contains("python"));
        is_process(c) && interpreter && c.strings.iter().any(|s| s == "-")
    };
    for start in file.calls().filter(|c| reads_stdin(c)) {
        let feeds = file.calls().filter(|c| {
            c.function == start.function && c.is(&[".write", ".communicate"]) && c.callee.contains("stdin")
                || c.function == start.function && c.is(&[".communicate"])
        });
        for feed in feeds {
            let (rule, what) = if fetches(feed) {
                ("payload/download-exec", "code downloaded from the network")
            } else if decodes(feed) {
                ("payload/exec-decoded", "decoded data")
            } else {
                continue;
            };
            out.push(file.finding(
                rule,
                file.weigh(Severity::Critical),
                feed.line,
                format!("feeds {what} to a Python interpreter reading its program from stdin (line {})", start.line),
            ));
            return;
        }
    }
}

/// Fetch, write to disk, start: a dropper, even when the three steps sit in
/// separate helper functions.
fn download_and_run(file: &PyFile, out: &mut Vec<Finding>) {
    /// The three steps must sit close together, as a dropper's do; big
    /// utility modules have all three far apart.
    const WINDOW: u32 = 30;
    let dropper = runs_the_file_it_wrote(file).map(|start| (start, "downloads a file, writes it to disk and starts that same file: a dropper")).or_else(|| {
        runs_a_file_its_helper_wrote(file)
            .map(|start| (start, "starts an interpreter on the file a helper function downloaded, wrote and returned: a dropper split across functions"))
    });
    if let Some((start, message)) = dropper {
        out.push(file.finding("payload/download-exec", file.weigh(Severity::High), start.line, message.into()));
        return;
    }
    let executable = file.facts.literals.iter().any(|l| {
        let v = l.value.to_ascii_lowercase();
        v.ends_with(".exe") || v.ends_with(".scr") || v.ends_with(".bat") || v.ends_with(".ps1") || v.contains("chmod +x")
    }) || file.calls().any(|c| c.is(&["os.chmod"]))
        // An f-string path (`f"{temp}\\Bin.exe"`) is no literal; its closing text still names the program.
        || [".exe\"", ".exe'", ".bat\"", ".bat'", ".ps1\"", ".ps1'", ".scr\"", ".scr'"].iter().any(|end| file.text.contains(end));
    if !executable {
        return;
    }
    let near = |a: u32, b: u32| a.abs_diff(b) <= WINDOW;
    let start = file.calls().filter(|c| (is_process(c) || c.is(&["os.startfile"])) && !saves_with_a_downloader(c)).find(|start| {
        let fetch = file.calls().any(|c| crate::rules::code::access::is_network(c) && near(c.line, start.line));
        let write = file.calls().any(|c| {
            near(c.line, start.line)
                && (c.is(&["open", "io.open"]) && c.strings.iter().any(|m| m.contains('w') && m.contains('b') && m.len() <= 3) || saves_with_a_downloader(c))
        });
        fetch && write
    });
    if let Some(start) = start {
        out.push(file.finding(
            "payload/download-exec",
            file.weigh(Severity::High),
            start.line,
            "downloads a file, writes it to disk and starts it: a dropper".into(),
        ));
    }
}

/// A process that downloads to a file (`curl -o PATH URL`, `wget -O PATH`).
fn saves_with_a_downloader(call: &Call) -> bool {
    is_process(call)
        && shell::commands(&call.strings.join(" ").to_ascii_lowercase()).iter().any(|command| {
            let mut words = command.words.iter();
            let downloader = words.next().is_some_and(|w| matches!(shell::program_name(w).as_str(), "curl" | "wget"));
            downloader && words.any(|w| matches!(w.as_str(), "-o" | "--output" | "--output-document") || w.starts_with("-o"))
        })
}

/// A process started on the very path (as its program, not as data for
/// another program) that a binary write in the same function filled, in a function that also fetches from the network:
/// `open(path, "wb").write(requests.get(url).content)` then
/// `subprocess.run([path])`. Returns the process start.
fn runs_the_file_it_wrote<'a>(file: &'a PyFile<'a>) -> Option<&'a Call> {
    let is_identifier =
        |t: &str| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') && !t.starts_with(|c: char| c.is_ascii_digit());
    let opened = file
        .calls()
        .filter(|c| c.is(&["open", "io.open"]) && c.strings.iter().any(|m| m.contains('w') && m.contains('b') && m.len() <= 3))
        .filter_map(|c| c.arg_texts.first().map(|t| (&c.function, t.trim())));
    // `urlretrieve(url, path)` downloads and writes in one call.
    let retrieved = file
        .calls()
        .filter(|c| c.is(&["urllib.request.urlretrieve", "urllib.urlretrieve", "urlretrieve"]))
        .filter_map(|c| c.arg_texts.get(1).map(|t| (&c.function, t.trim())));
    // A variable, or a path built in place (`startup + "\\s.py"`): the same text names the same file.
    let written: Vec<(&Option<String>, &str)> = opened.chain(retrieved).filter(|(_, t)| is_identifier(t) || is_path_expression(t)).collect();
    if written.is_empty() {
        return None;
    }
    file.calls().filter(|c| is_process(c) || c.is(&["os.startfile"])).find(|start| {
        let fetches_here = file.calls().any(|c| c.function == start.function && access::is_network(c));
        let runs = |program: &str| {
            written.iter().any(|(function, path)| *function == &start.function && (names_path(program, path) || interpreter_command_on(program, path)))
        };
        fetches_here && (program_of(start).is_some_and(runs) || script_of(start).is_some_and(runs))
    })
}

/// The dropper of [`runs_the_file_it_wrote`] split at a function boundary:
/// a helper fetches from the network, writes a file and returns the path it
/// wrote (`open(path, "w").write(r.text)` … `return path`); another
/// function takes that path from it (`path = _fetch()`) and starts an
/// interpreter on it (`Popen([sys.executable, path])`). Running a program
/// (not a script) a helper fetched is left to the single-function rule:
/// driver managers download a browser driver and run it to read its version.
fn runs_a_file_its_helper_wrote<'a>(file: &'a PyFile<'a>) -> Option<&'a Call> {
    /// How far below its write the helper returns the path.
    const RETURN_WITHIN: u32 = 30;
    let fetches_in = |function: &str| file.calls().any(|c| c.function.as_deref() == Some(function) && access::is_network(c));
    let returns = |after: u32, path: &str| {
        let wanted = format!("return {path}");
        (after + 1..=after + RETURN_WITHIN).any(|n| file.line(n).trim() == wanted)
    };
    let helpers: Vec<(&str, &str)> = file
        .calls()
        .filter(|c| c.is(&["open", "io.open"]) && c.strings.iter().any(|m| m.contains('w') && m.len() <= 3))
        .filter_map(|c| Some((c.function.as_deref()?, c.arg_texts.first()?.trim(), c.line)))
        .filter(|(function, path, line)| is_plain_name(path) && fetches_in(function) && returns(*line, path))
        .map(|(function, path, _)| (function, path))
        .collect();
    if helpers.is_empty() {
        return None;
    }
    // `path = helper()` (or `self.helper()`) in the function that starts the process.
    let takes_from_helper = |start: &Call, path: &str| {
        file.calls().any(|c| {
            c.function == start.function
                && helpers.iter().any(|(helper, _)| c.function.as_deref() != Some(*helper) && c.callee.rsplit('.').next() == Some(*helper))
                && file
                    .line(c.line)
                    .trim_start()
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("=="))
        })
    };
    file.calls().filter(|c| is_process(c)).find(|start| script_of(start).is_some_and(|path| is_plain_name(path) && takes_from_helper(start, path)))
}

/// A path joined in place from a variable and a literal (`folder + "\\x.py"`,
/// `os.path.join(folder, "x.py")`): the text of a path, not a value to compare.
fn is_path_expression(text: &str) -> bool {
    let joined = text.contains(" + ") || text.starts_with("os.path.join(");
    joined && text.contains(['"', '\'']) && text.len() <= 120 && !text.contains('\n')
}

/// A command string that starts an interpreter on the path: `"py " + path`,
/// `"python3 -u " + folder + "\\x.py"`, `f"python {path}"`. The literal
/// holds the interpreter and its flags only; what follows is the path's text.
fn interpreter_command_on(command: &str, path: &str) -> bool {
    let starts_interpreter = |literal: &str| {
        let mut words = literal.split_whitespace();
        let program = words.next().map(shell::program_name).unwrap_or_default();
        let runs = shell::INTERPRETERS.contains(&program.as_str()) || matches!(program.as_str(), "py" | "pythonw" | "start" | "cmd" | "wscript" | "cscript");
        runs && literal.ends_with(' ') && words.all(|w| w.starts_with(['-', '/']))
    };
    let command = command.trim();
    // `"py " + path`
    if let Some(quote) = command.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        if let Some(close) = command[1..].find(quote) {
            let (literal, rest) = (&command[1..=close], command[close + 2..].trim_start());
            return starts_interpreter(literal) && rest.strip_prefix('+').is_some_and(|p| p.trim() == path);
        }
        return false;
    }
    // `f"py {path}"`
    let Some(inner) = command.strip_prefix("f\"").and_then(|c| c.strip_suffix('"')).or_else(|| command.strip_prefix("f'").and_then(|c| c.strip_suffix('\'')))
    else {
        return false;
    };
    inner
        .strip_suffix('}')
        .and_then(|i| i.rsplit_once('{'))
        .is_some_and(|(literal, name)| is_plain_name(path) && name.trim() == path && starts_interpreter(literal))
}

/// True for a plain variable name (`path`, not `dirs[0]` or `"x.py"`).
fn is_plain_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_') && !text.starts_with(|c: char| c.is_ascii_digit())
}

/// True when the program a process runs, as source text, is the path
/// variable `path`, or that path made absolute (`os.path.abspath(path)`).
fn names_path(program: &str, path: &str) -> bool {
    program == path
        || ["os.path.abspath(", "os.path.realpath(", "Path("].iter().any(|f| program.strip_prefix(f).and_then(|r| r.strip_suffix(')')) == Some(path))
}

/// The program a process start runs, as source text: its first argument,
/// or the first element of an argument list (`[path, "--quiet"]`).
fn program_of(start: &Call) -> Option<&str> {
    let first = start.arg_texts.first()?.trim();
    let inner = first.strip_prefix(['[', '(']).unwrap_or(first);
    Some(inner.split(',').next()?.trim().trim_end_matches([']', ')']).trim())
}

/// The script an interpreter is started on, as source text: the second
/// element of an argument list whose first is a shell or Python
/// (`["/bin/bash", path, "--restore"]`, `[sys.executable, path]`).
fn script_of(start: &Call) -> Option<&str> {
    let first = start.arg_texts.first()?.trim();
    let inner = first.strip_prefix('[')?;
    let mut items = inner.split(',').map(|i| i.trim().trim_end_matches(']').trim());
    let program = items.next()?.trim_matches(['"', '\'']);
    (program == "sys.executable" || shell::INTERPRETERS.contains(&shell::program_name(program).as_str())).then_some(())?;
    items.next()
}

/// A socket wired to a shell: `os.dup2` of a socket's descriptor plus a
/// shell process. Redirecting to /dev/null or a log file (daemons do) is not
/// a socket, so the dup2 must take a socket's `fileno()`.
fn reverse_shell(file: &PyFile, out: &mut Vec<Finding>) {
    let dup2_of_socket = file.calls().any(|c| c.is(&["os.dup2"]) && duplicates_a_socket(file, c));
    let shell = file.calls().find(|c| {
        (is_process(c) || c.is(&["pty.spawn"])) && c.strings.iter().any(|s| s.contains("/bin/sh") || s.contains("/bin/bash") || s.contains("cmd.exe"))
    });
    if let (true, Some(shell)) = (dup2_of_socket, shell) {
        out.push(file.finding(
            "payload/reverse-shell",
            file.weigh(Severity::Critical),
            shell.line,
            "connects a shell to a socket (os.dup2 of a socket + a shell process): a reverse shell".into(),
        ));
    }
}

/// True when an `os.dup2` call's descriptor comes from a socket: a
/// `fileno()` of something made by the socket module (`s = socket.socket()`,
/// `socket.create_connection()`, an accepted connection), or a `fileno()`
/// of an object the walk cannot name (a parameter) in a file that imports socket.
fn duplicates_a_socket(file: &PyFile, dup2: &Call) -> bool {
    let filenos: Vec<&String> = dup2.inner_calls.iter().filter(|c| c.ends_with(".fileno")).collect();
    let from_socket = filenos.iter().any(|c| c.starts_with("socket.") || c.contains("socket()") || c.contains("create_connection()") || c.contains("accept()"));
    let from_unknown = filenos.iter().any(|c| !c.contains('(') && !c.starts_with("sys.") && !c.starts_with("os.") && !c.starts_with("open"));
    from_socket || (from_unknown && (file.facts.imports_module("socket") || file.facts.imports_module("ssl")))
}

fn exec_rules(file: &PyFile, call: &Call, out: &mut Vec<Finding>) {
    let what = call.callee.as_str();
    if fetches(call) {
        let (severity, message) = if evaluates_an_answer_as_data(file, call) {
            (Severity::Medium, "evaluates a downloaded answer as a Python expression and reads the value as data: a parser that runs whatever the server sends")
        } else {
            (Severity::Critical, "runs code downloaded from the network")
        };
        out.push(file.finding("payload/download-exec", file.weigh(severity), call.line, format!("{what}() {message}")));
    } else if runs_downloaded_file(file, call) {
        out.push(file.finding("payload/download-exec", file.weigh(Severity::Critical), call.line, format!("{what}() runs a file that this code downloaded")));
    } else if decodes(call) && decodes_input_given_at_run_time(file, call) {
        out.push(file.finding(
            "payload/exec-decoded",
            file.weigh(Severity::Medium),
            call.line,
            format!("{what}() runs data decoded at run time from what its caller passes in (no encoded payload is in the code)"),
        ));
    } else if decodes(call) && decodes_a_template_slot(call) {
        out.push(file.finding(
            "payload/exec-decoded",
            file.weigh(Severity::Medium),
            call.line,
            format!("{what}() decodes a template slot (`{{{{NAME}}}}`) that code elsewhere fills in: no encoded payload is in the code"),
        ));
    } else if runs_bytecode_it_cached(file, call) {
        out.push(file.finding(
            "payload/exec-decoded",
            file.weigh(Severity::Medium),
            call.line,
            format!("{what}() runs bytecode loaded with marshal that this module itself compiles and saves with marshal.dumps (a code cache; no encoded payload is in the code)"),
        ));
    } else if decodes(call)
        || decodes_through_local_function(file, call)
        || call.reversed
        || call.strings.iter().any(|s| looks_encoded(s))
        || call.arg_texts.iter().any(|a| escaped_source(a) || char_code_source(a))
    {
        out.push(file.finding(
            "payload/exec-decoded",
            file.weigh(Severity::Critical),
            call.line,
            format!("{what}() runs data that is decoded, decompressed or reversed first: a hidden payload"),
        ));
    } else if call.hidden {
        out.push(file.finding(
            "payload/exec-hidden",
            file.weigh(Severity::Critical),
            call.line,
            format!("{what}() is reached through a computed name (getattr, __import__ or a namespace lookup), hiding the call from readers"),
        ));
    } else if call.dynamic && !reads_local_file(call) {
        let base = if file.runs_on_install_or_import(call.scope) { Severity::Medium } else { Severity::Low };
        let severity = if file.role == Role::Auxiliary { Severity::Info } else { base };
        out.push(file.finding("payload/exec-dynamic", severity, call.line, format!("{what}() runs code built at run time")));
    }
}

/// `pickle.loads(zlib.decompress(b'x\xda…'))`: a pickle written into the
/// code as a long bytes constant. Loading a pickle calls what it names, so
/// a pickle kept as a constant is code kept out of sight; caches and data
/// files load pickles from variables, not from literals.
fn unpickles_a_constant(call: &Call) -> bool {
    const UNPICKLERS: [&str; 5] = ["pickle.loads", "cPickle.loads", "_pickle.loads", "dill.loads", "cloudpickle.loads"];
    call.is(&UNPICKLERS)
        && call.arg_texts.first().is_some_and(|a| {
            let literal = a.find("b'").or_else(|| a.find("b\"")).map_or("", |at| &a[at..]);
            literal.len() >= 100
        })
}

/// Strings this long flowing into an exec are a payload kept in the code.
const PAYLOAD_CHARS: usize = 24;

/// True when what an exec decodes is input, not a payload the code carries:
/// no long constant flows into it, and either the only decoding is
/// `pickle.loads` (objects, not source: a template engine's pickled syntax
/// tree) or every decoder in the enclosing function decodes one of its
/// parameters and no caller in the file passes that function a constant
/// string (a deserializer: `def load(serialized): exec(b64decode(serialized))`).
fn decodes_input_given_at_run_time(file: &PyFile, call: &Call) -> bool {
    if call.strings.iter().any(|s| s.len() >= PAYLOAD_CHARS) || call.reversed {
        return false;
    }
    let mut without_pickle = call.clone();
    without_pickle.inner_calls.retain(|c| !c.starts_with("pickle.") && !c.starts_with("cPickle."));
    if !decodes(&without_pickle) {
        return true;
    }
    let Some(function) = call.function.as_deref().filter(|_| call.scope == crate::python::Scope::Function) else {
        return false;
    };
    let Some(parameters) = file.facts.parameters.get(function).filter(|p| !p.is_empty()) else {
        return false;
    };
    let names_parameter =
        |c: &Call| c.arg_texts.iter().flat_map(|a| a.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))).any(|w| parameters.iter().any(|p| p == w));
    let decoder = |c: &Call| c.is(&DECODERS) || c.is(&[".b64decode", ".decompress", ".unhexlify", ".fromhex"]);
    let mut decoders = file.calls().filter(|c| c.function.as_deref() == Some(function) && decoder(c)).peekable();
    if decoders.peek().is_none() || !decoders.all(|d| names_parameter(d) && !d.strings.iter().any(|s| s.len() >= PAYLOAD_CHARS)) {
        return false;
    }
    // A caller passing a constant (a blob, a data file's name) hands it the code's own payload.
    let called_with_a_constant = file.calls().any(|c| c.callee.rsplit('.').next() == Some(function) && !c.strings.is_empty());
    !called_with_a_constant
}

/// `eval` of a downloaded answer whose value the code goes on to read as
/// data: subscripted or read at once (`eval(response.content)["error"]`),
/// handed to another call (`pd.DataFrame(eval(rsp.text)["data"])`), or
/// evaluated in a namespace of its own and kept (`text = eval(text,
/// Lookup())`, the trick that reads a JavaScript object literal). A
/// payload is run for its effect: `exec`, or an `eval` whose value is
/// thrown away.
fn evaluates_an_answer_as_data(file: &PyFile, call: &Call) -> bool {
    if call.callee != "eval" {
        return false;
    }
    // The call's line and what follows it, for a call written over several lines.
    let start: usize = file.text.split_inclusive('\n').take(call.line.saturating_sub(1) as usize).map(str::len).sum();
    let rest = &file.text[start.min(file.text.len())..];
    let line = &rest[..rest.char_indices().nth(2000).map_or(rest.len(), |(i, _)| i)];
    let Some(at) = line
        .find("eval(")
        .filter(|at| *at == 0 || !line.as_bytes()[at - 1].is_ascii_alphanumeric() && line.as_bytes()[at - 1] != b'_' && line.as_bytes()[at - 1] != b'.')
    else {
        return false;
    };
    let Some(close) = closing_bracket(&line[at + 4..]).map(|c| at + 4 + c) else { return false };
    let after = line[close + 1..].trim_start();
    let before = line[..at].trim_end();
    let read_at_once = after.starts_with('[') || after.starts_with(".get(") || after.starts_with(".items(") || after.starts_with(".keys(");
    let handed_on = before.ends_with('(') || before.ends_with(',');
    let kept_from_a_namespace = before.ends_with('=') && !before.ends_with("==") && call.arg_texts.len() >= 2;
    read_at_once || handed_on || kept_from_a_namespace
}

/// `exec(base64.b64decode("""{{SSH_PY_CODE}}"""))` in a template of code a
/// tool sends to another machine: what is decoded is a slot the tool fills
/// in, not a blob. At least one string is a placeholder and every other
/// string is short (an encoding's name).
fn decodes_a_template_slot(call: &Call) -> bool {
    let placeholder = |s: &str| {
        let t = s.trim();
        let inner = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).or_else(|| t.strip_prefix("${").and_then(|r| r.strip_suffix('}')));
        inner.is_some_and(|n| !n.is_empty() && n.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    };
    call.strings.iter().any(|s| placeholder(s)) && call.strings.iter().all(|s| placeholder(s) || s.len() < 12) && !call.reversed
}

/// `exec(marshal.loads(data))` in a module that also writes bytecode with
/// `marshal.dumps`: a cache of code the module compiled itself (a schema
/// validator, a template engine), read back on the next run. The bytes come
/// from a file the module made, not from a blob in the code: no decoder
/// but marshal's is in the call, and no long literal.
fn runs_bytecode_it_cached(file: &PyFile, call: &Call) -> bool {
    const OTHER_DECODERS: [&str; 8] = ["base64.*", "zlib.*", "codecs.*", "binascii.*", "lzma.*", "bz2.*", "gzip.*", "chr"];
    call.inner_has(&["marshal.loads"])
        && !call.inner_calls.iter().any(|c| OTHER_DECODERS.iter().any(|d| crate::python::matches_name(c, d)))
        && !DECODERS.iter().filter(|d| **d != "marshal.loads").any(|d| call.inner_has(&[d]))
        && !call.inner_has(&[crate::python::XOR_DECODE, ".b64decode", ".decompress", ".unhexlify", ".fromhex"])
        && !call.reversed
        && !call.strings.iter().any(|s| s.len() >= PAYLOAD_CHARS || looks_encoded(s))
        && file.calls().any(|c| c.is(&["marshal.dumps", "marshal.dump"]))
}

/// True when an argument of `call` calls a function or method of this file
/// (`self.decode(blob)`) whose body decodes, wherever in the file it is
/// defined: a method defined below the one that uses it is still its helper.
fn decodes_through_local_function(file: &PyFile, call: &Call) -> bool {
    call.inner_calls
        .iter()
        .filter_map(|c| Some(c.strip_prefix("self.").unwrap_or(c)).filter(|n| !n.contains('.')))
        .any(|name| file.calls().any(|c| c.function.as_deref() == Some(name) && (c.is(&DECODERS) || c.is(&[".b64decode", ".decompress", ".unhexlify"]))))
}

/// Calls whose result is the text of a file.
const FILE_READS: [&str; 6] = ["open", "io.open", "codecs.open", "open().read", "io.open().read", "codecs.open().read"];

/// Calls that point outside the project: temporary folders, the home folder, the environment.
const OUTSIDE_PROJECT: [&str; 7] = ["tempfile.*", "os.path.expanduser", "os.getenv", "os.environ.get", "pathlib.Path.home", "Path.home", "os.path.expandvars"];

/// `exec(open("pkg/version.py").read())`, the classic version read in
/// setup.py: a file read by a relative path inside the project. A file in
/// /tmp, the home folder or a folder named by the environment is not the
/// project's own.
pub(super) fn reads_local_file(call: &Call) -> bool {
    let outside = |s: &String| {
        let s = s.to_ascii_lowercase();
        s.starts_with('/') || s.starts_with('~') || s.starts_with('\\') || s.starts_with('%') || s.get(1..3) == Some(":\\") || s.contains("://")
    };
    call.inner_has(&FILE_READS) && !call.inner_has(&DECODERS) && !call.inner_has(&OUTSIDE_PROJECT) && !call.strings.iter().any(outside)
}

/// `urlretrieve(url, "/tmp/x.py")` then `exec(open("/tmp/x.py").read())`:
/// code read from a file that a download in the same file wrote, either
/// directly (urlretrieve and the like) or by writing fetched bytes with
/// `open(path, "wb")` in a function that fetches.
fn runs_downloaded_file(file: &PyFile, call: &Call) -> bool {
    if !call.inner_has(&FILE_READS) {
        return false;
    }
    let paths: Vec<&String> = call.strings.iter().filter(|s| s.len() > 3 && (s.contains(['/', '\\']) || s.ends_with(".py"))).collect();
    if paths.is_empty() {
        return false;
    }
    let fetching_functions: Vec<&Option<String>> = file.calls().filter(|c| access::is_network(c)).map(|c| &c.function).collect();
    file.calls().any(|c| {
        let downloads = access::is_network(c) || c.is(&FETCHERS);
        let saves_download =
            c.is(&["open", "io.open"]) && c.strings.iter().any(|m| crate::capabilities::is_write_mode(m)) && fetching_functions.contains(&&c.function);
        (downloads || saves_download) && c.strings.iter().any(|s| paths.contains(&s))
    })
}

/// Source text written mostly as escape sequences (`"\x69\x6d\160…"`):
/// code spelled so that no reader sees it. At least 16 escapes, and most
/// of the text.
fn escaped_source(text: &str) -> bool {
    let bytes = text.as_bytes();
    let escapes = bytes
        .windows(4)
        .filter(|w| w[0] == b'\\' && (w[1] == b'x' && w[2].is_ascii_hexdigit() || (b'0'..=b'7').contains(&w[1]) && (b'0'..=b'7').contains(&w[2])))
        .count();
    escapes >= 16 && escapes * 4 * 10 >= text.len() * 6
}

/// Source built from character codes (`"".join(map(chr, [102, 114, …]))`,
/// `chr(105) + chr(109) + …`, `bytes([105, 109, …]).decode()`): code spelled
/// so that no reader sees it.
fn char_code_source(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let numbers = compact.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).count();
    (compact.contains("map(chr,") && numbers >= 8) || compact.matches("chr(").count() >= 8 || (compact.contains("bytes([") && numbers >= 16)
}

/// A long string that is mostly base64 or hex: an encoded blob.
pub fn looks_encoded(s: &str) -> bool {
    if s.len() < 200 {
        return false;
    }
    let b64 = s.bytes().filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'\n')).count();
    let hex_escape = s.matches("\\x").count() * 4;
    (b64 as f64 / s.len() as f64 > 0.97 && !s.contains(' ')) || hex_escape as f64 / s.len() as f64 > 0.8
}

/// A download from an address the code decodes first (`url =
/// base64.b64decode(ENCODED).decode()`, then `urlopen(url)`), saved to a
/// file by the same function: a dropper that hides where its payload comes
/// from. A program that fetches from a plain address has nothing to hide;
/// one that decodes data it fetched decodes after the call, not before.
fn hidden_download(file: &PyFile, call: &Call, out: &mut Vec<Finding>) {
    let decoded_address = call.inner_has(&DECODERS) && call.arg_texts.first().is_some_and(|a| !a.contains("://"));
    if !decoded_address {
        return;
    }
    let saves = |c: &Call| {
        c.function == call.function
            && (c.is(&["shutil.copyfileobj", ".write_bytes", "urllib.request.urlretrieve", "urlretrieve"])
                || c.is(&["open", "io.open"]) && c.strings.iter().any(|m| crate::capabilities::is_write_mode(m)))
    };
    let Some(save) = file.calls().find(|c| saves(c)) else { return };
    out.push(file.finding(
        "payload/hidden-download",
        file.weigh(Severity::High),
        call.line,
        format!("{}() downloads from an address the code decodes first, and {}() at line {} saves what comes down", call.callee, save.callee, save.line),
    ));
}

fn shell_download(file: &PyFile, call: &Call, out: &mut Vec<Finding>) {
    let joined = call.strings.join(" ").to_ascii_lowercase();
    let cradle = DOWNLOAD_CRADLES.iter().any(|p| joined.contains(p)) && (joined.contains("http") || joined.contains("-e") || joined.contains("frombase64"));
    let fetches = shell::programs(&joined).iter().any(|p| shell::DOWNLOADERS.contains(&p.as_str())) && joined.contains("://");
    let runs_fetched = fetches && (shell::substitutes_download(&joined) || shell::runs_after_download(&joined));
    // Piping into a shell runs whatever comes down the pipe: a download, or a decoded blob.
    let pipes_to_shell = shell::pipes_into_interpreter(&joined);
    let downloads = cradle || runs_fetched;
    if downloads || pipes_to_shell {
        out.push(file.finding(
            "payload/shell-download",
            file.weigh(Severity::Critical),
            call.line,
            format!("{}() runs a shell command that downloads and executes: {}", call.callee, crate::finding::snippet(&joined)),
        ));
    } else if call.hidden {
        out.push(file.finding(
            "payload/exec-hidden",
            lower(file.weigh(Severity::Critical), 0),
            call.line,
            format!("{}() is reached through a computed name", call.callee),
        ));
    }
}
