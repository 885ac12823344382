//! Network use on install or import that only fetches: the exceptions to
//! `access/network-on-install`'s high. A download is judged by what the
//! code does with it: data a module keeps, an artifact a build checks or
//! unpacks, the project's own prebuilt release, a server on this machine.
//! What all of them share is [`only_fetches_over_https`]: nothing sent,
//! nothing learned about the machine, an https address of no collector.

use crate::python::Call;
use crate::rules::code::access::{exfil_endpoint, is_suspicious_command, raw_ip_url, secret_in, writes_outside_the_build};
use crate::rules::code::payload::{decodes, is_process, plain_literal};
use crate::rules::code::{PyFile, Role};

/// A build step that fetches a prebuilt artifact of the project: a wheel or
/// a release asset (`…/releases/download/{tag}/{name}.whl`) named by a URL
/// constant of the file, an https download that sends nothing (no data, no
/// secrets, no raw IP or collector host), in a file that starts no suspicious
/// process (a dropper runs what it fetched). CUDA extensions fetch their
/// compiled wheel this way instead of building it for an hour.
pub(super) fn fetches_a_release_asset(file: &PyFile, call: &Call) -> bool {
    if !matches!(file.role, Role::SetupScript | Role::InstallHelper) {
        return false;
    }
    let project = project_words(file.root);
    // The project's own releases: its repository shares a word with its name (`causal-conv1d` for causal_conv1d).
    let own_release_url = |s: &str| {
        let s = s.to_ascii_lowercase();
        let release = s.contains("/releases/download/") || s.contains("/-/releases/") || s.trim_end_matches(['/', '}', '{']).ends_with(".whl");
        let repository = s.strip_prefix("https://").map(|rest| rest.split('/').skip(1).take(2).collect::<Vec<&str>>().join("/")).unwrap_or_default();
        release && project_words(&repository).iter().any(|w| project.contains(w))
    };
    // The call's own URL, when it has one, must be such an asset; a URL built elsewhere must be named in the file.
    let urls: Vec<&String> = call.strings.iter().filter(|s| s.contains("://")).collect();
    let names_release = if urls.is_empty() { file.facts.literals.iter().any(|l| own_release_url(&l.value)) } else { urls.iter().all(|u| own_release_url(u)) };
    let sends = call.callee.ends_with(".post") || call.callee.ends_with(".put") || secret_in(call).is_some();
    let bad_host = call.strings.iter().any(|s| {
        let lower = s.to_ascii_lowercase();
        raw_ip_url(&lower).is_some() || exfil_endpoint(&lower).is_some() || lower.starts_with("http://")
    });
    names_release && !sends && !bad_host && !starts_a_suspicious_process(file)
}

/// The file starts a suspicious process (a shell, a downloader, a
/// launcher) or opens a file with `os.startfile`: a dropper runs what it fetched.
fn starts_a_suspicious_process(file: &PyFile) -> bool {
    file.calls().any(|c| (is_process(c) && is_suspicious_command(&c.strings.join(" ").to_ascii_lowercase())) || c.is(&["os.startfile"]))
}

/// A network call whose address is an empty string constant, or that is
/// given no argument at all: it fails
/// before reaching any host.
pub(super) fn names_no_host(call: &Call) -> bool {
    // No argument at all (`urlretrieve()`, a broken line `urlretrieve(, )`): no address either.
    call.arg_texts.first().is_none_or(|a| matches!(a.trim(), "''" | "\"\"" | ""))
}

/// Calls that fetch a resource by GET.
const GETS: [&str; 10] = [
    "requests.get",
    "requests.Session().get",
    "httpx.get",
    "urllib.request.urlopen",
    "urllib.urlopen",
    "urllib2.urlopen",
    "urlopen",
    "urllib.request.urlretrieve",
    "urllib.urlretrieve",
    "urlretrieve",
];

/// Calls that run code or make a file a program.
const RUNS_CODE: [&str; 12] = [
    "exec",
    "eval",
    "compile",
    "execfile",
    "__import__",
    "importlib.import_module",
    "zipimport.zipimporter",
    "os.chmod",
    "os.startfile",
    "ctypes.CDLL",
    "ctypes.WinDLL",
    "marshal.loads",
];

/// A GET over https that only fetches, the part both download exceptions
/// share ([`fetches_data_on_import`], [`installs_a_fetched_artifact`]):
/// no body, no query built from data, no secret or host fact in the call,
/// every address it names (or, when it names none, every address the file
/// names) https and none a raw IP, a collector or an address-echo host;
/// the answer is kept (assigned, opened `with`, saved to a path); and the
/// file collects nothing about the machine (its user or host name, DNS
/// lookups, its public address). A beacon throws the answer away or
/// sends; a probe reports who ran it.
fn only_fetches_over_https(file: &PyFile, call: &Call) -> bool {
    if !call.is(&GETS) {
        return false;
    }
    // A body, a query built from data, or urlopen's second argument (its data).
    let body = ["data", "json", "files", "params"].iter().any(|k| file.has_keyword(call, k, None))
        || call.is(&["urllib.request.urlopen", "urllib.urlopen", "urllib2.urlopen", "urlopen"])
            && call.arg_texts.len() >= 2
            && !["timeout", "context", "cafile", "capath", "cadefault"].iter().any(|k| file.has_keyword(call, k, None));
    // `"…/resp.php?live=" + env`: a query string completed with a value.
    let query_from_data = call.arg_texts.first().is_some_and(|a| a.split_once('?').is_some_and(|(_, query)| query.contains('+') || query.contains('{')));
    let secret = secret_in(call);
    let env_only_configures = matches!(secret.as_deref(), Some("os.getenv()" | "os.environ.get()")) && env_sent_is_a_setting(file, call);
    // An address decoded or reversed on its way to the call is hidden, whatever it decodes to.
    let hidden_address = decodes(call) || call.reversed;
    if body || query_from_data || hidden_address || secret.is_some() && !env_only_configures {
        return false;
    }
    let good_url = |s: &str| {
        let lower = s.to_ascii_lowercase();
        lower.starts_with("https://") && raw_ip_url(&lower).is_none() && exfil_endpoint(&lower).is_none() && !FILE_DROPS.iter().any(|h| lower.contains(h))
    };
    let own_urls: Vec<&String> = call.strings.iter().filter(|s| s.contains("://")).collect();
    let urls_ok = if own_urls.is_empty() {
        // The address is built elsewhere: every address the file writes, f-strings included.
        let mut file_urls: Vec<String> = file.facts.literals.iter().filter(|l| !l.doc && l.value.contains("://")).map(|l| l.value.clone()).collect();
        file_urls.extend(fstring_addresses(file.text));
        // None at all (the address comes from a setting or a caller): nothing marks it.
        file_urls.iter().all(|u| good_url(u))
    } else {
        own_urls.iter().all(|u| good_url(u))
    };
    let line = file.line(call.line).trim_start();
    // Thrown away: the statement is the call itself (`requests.get(url)`,
    // `urlopen(url).read()`), a beacon's shape; assigned, returned, opened
    // `with` or handed to another call, the answer is used.
    let callee_name = call.callee.rsplit('.').next().unwrap_or(&call.callee);
    let head = line.split('(').next().unwrap_or("");
    let statement_is_the_call = head.ends_with(callee_name) && head.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    let kept = line.split('(').next().is_some_and(|head| head.contains('='))
        || line.starts_with("with ")
        || line.starts_with("return ")
        || line.starts_with("yield ")
        || !statement_is_the_call && line.contains(&format!("{callee_name}("))
        || call.is(&GETS[7..]) && call.arg_texts.len() >= 2;
    urls_ok && kept && !collects_identity(file)
}

/// The addresses written as f-strings (`f"https://host/v{VERSION}/x"`,
/// up to the closing quote), which are no constant literal. Comment lines
/// are skipped.
fn fstring_addresses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for (at, _) in line.match_indices("://") {
            let head = &line[..at];
            let scheme_start = head.rfind(|c: char| !c.is_ascii_alphabetic()).map_or(0, |i| i + 1);
            let opener = &head[..scheme_start];
            let quote = opener.chars().next_back();
            let prefix = opener.trim_end_matches(['"', '\'']).chars().rev().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
            if matches!(quote, Some('"' | '\'')) && prefix.contains('f') {
                let rest = &line[scheme_start..];
                let end = rest.find(quote.unwrap_or('"')).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
            }
        }
    }
    out
}

/// The environment values that reach `call` (the variables the file reads
/// with `os.getenv`/`os.environ.get` whose names the call's data carries)
/// are build or app settings (`LIBGPIOD_VERSION`, `CUSTOM_NAME`): no word
/// of their names is one of a secret, an identity or a location of the
/// user (`TOKEN`, `KEY`, `USER`, `HOST`, `HOME`, `APPDATA`, …), and the
/// file sweeps no whole environment. Fetching the version or the branding
/// a setting names sends the operator's choice, not a secret.
fn env_sent_is_a_setting(file: &PyFile, call: &Call) -> bool {
    const PERSONAL: [&str; 24] = [
        "TOKEN",
        "KEY",
        "SECRET",
        "PASS",
        "PASSWORD",
        "PASSWD",
        "AUTH",
        "CRED",
        "CREDENTIALS",
        "COOKIE",
        "SESSION",
        "USER",
        "USERNAME",
        "LOGNAME",
        "HOST",
        "HOSTNAME",
        "COMPUTERNAME",
        "DOMAIN",
        "HOME",
        "PROFILE",
        "APPDATA",
        "PWD",
        "AWS",
        "WEBHOOK",
    ];
    if file.calls().any(|c| c.is(&["os.environ.items", "os.environ.copy", "os.environ.keys", "os.environ.values"])) {
        return false;
    }
    let read: Vec<String> = file
        .calls()
        .filter(|c| c.is(&["os.getenv", "os.environ.get", "getenv"]))
        .filter_map(|c| c.arg_texts.first().filter(|a| plain_literal(a)).map(|a| a.trim().trim_matches(['"', '\'']).to_string()))
        .collect();
    let sent: Vec<&String> = read.iter().filter(|name| call.strings.contains(name)).collect();
    !sent.is_empty() && sent.iter().all(|n| !n.to_ascii_uppercase().split(['_', '-']).any(|w| PERSONAL.iter().any(|p| w.starts_with(p))))
}

/// Hosts where anyone can drop a file for a link: payload hosting, not a
/// project's release channel.
const FILE_DROPS: [&str; 4] = ["cdn.discordapp.com", "media.discordapp.net", "anonfiles.", "filebin."];

/// The file asks who the machine is: its user or host name, DNS lookups,
/// its public address from an address-echo service, or names a collector
/// host. Those are host facts to send, not data to use.
fn collects_identity(file: &PyFile) -> bool {
    const IDENTITY: [&str; 12] = [
        "os.getlogin",
        "getpass.getuser",
        "socket.gethostname",
        "socket.getfqdn",
        "socket.gethostbyname",
        "socket.getaddrinfo",
        "platform.node",
        "platform.uname",
        "os.uname",
        "uuid.getnode",
        "os.environ.items",
        "os.environ.copy",
    ];
    // Address-echo and IP-logging services: what they answer, or record, is the caller's address.
    const ADDRESS_ECHO: [&str; 16] = [
        "ipify.org",
        "wtfismyip.com",
        "ifconfig.me",
        "icanhazip.com",
        "ipinfo.io",
        "ip-api.com",
        "checkip.amazonaws.com",
        "api.myip.com",
        "ipapi.co",
        "myexternalip.com",
        "ident.me",
        "httpbin.org",
        "iplogger.",
        "grabify.link",
        "2no.co",
        "yip.su",
    ];
    file.calls().any(|c| c.is(&IDENTITY))
        || file.facts.literals.iter().any(|l| {
            let lower = l.value.to_ascii_lowercase();
            !l.doc && (exfil_endpoint(&lower).is_some() || ADDRESS_ECHO.iter().any(|h| lower.contains(h)))
        })
}

/// A module that downloads data when it is imported (a word list cached in
/// the user's folder, a README to render, a dataset's index) rather than a
/// payload: a GET over https that only fetches ([`only_fetches_over_https`]),
/// in a file that starts no process, runs no code (`exec`, `eval`,
/// `compile`, `__import__`), changes no file's mode and names no program
/// file (`.exe`, `.py`, …): a dropper runs what it fetched.
pub(super) fn fetches_data_on_import(file: &PyFile, call: &Call) -> bool {
    const PROGRAM_FILES: [&str; 16] =
        [".exe", ".dll", ".scr", ".bat", ".cmd", ".ps1", ".vbs", ".msi", ".sh", ".py", ".pyc", ".jar", ".so", ".dylib", ".whl", ".egg"];
    if !matches!(file.role, Role::Module | Role::SetupScript | Role::InstallHelper) || !only_fetches_over_https(file, call) {
        return false;
    }
    // A build writes its own tree; one that saves what it fetched into the user's folders stages a payload.
    const OUTSIDE: [&str; 6] = ["os.path.expanduser", "pathlib.Path.home", "Path.home", "tempfile.*", "os.path.expandvars", "os.getlogin"];
    if file.role != Role::Module && (writes_outside_the_build(file).is_some() || call.inner_has(&OUTSIDE) || !names_only_data_files(file, call)) {
        return false;
    }
    let runs_something = file.calls().any(|c| is_process(c) || c.is(&RUNS_CODE));
    // A file name or path (no spaces): `"# Generated by utils.py"` is prose.
    let names_program = file.facts.literals.iter().any(|l| {
        let lower = l.value.trim().to_ascii_lowercase();
        !lower.contains(char::is_whitespace) && PROGRAM_FILES.iter().any(|e| lower.ends_with(e))
    });
    !runs_something && !names_program
}

/// Every address the call names (or, when it names none, the file names)
/// is a data file by its name (`tables.json`, `words.txt`, `certs.pem`):
/// what a build fetches to ship as data. A tool (`tool.bin`, `x.jar`), an
/// archive (judged by [`installs_a_fetched_artifact`]) or an address with
/// no file name is not.
fn names_only_data_files(file: &PyFile, call: &Call) -> bool {
    const DATA_FILES: [&str; 14] = [".json", ".txt", ".csv", ".tsv", ".xml", ".yaml", ".yml", ".toml", ".ini", ".pem", ".crt", ".md", ".rst", ".html"];
    let own: Vec<&String> = call.strings.iter().filter(|s| s.contains("://")).collect();
    let addresses: Vec<&String> =
        if own.is_empty() { file.facts.literals.iter().filter(|l| !l.doc && l.value.contains("://")).map(|l| &l.value).collect() } else { own };
    !addresses.is_empty()
        && addresses.iter().all(|a| {
            let path = a.split(['?', '#']).next().unwrap_or(a).trim().to_ascii_lowercase();
            DATA_FILES.iter().any(|e| path.ends_with(e))
        })
}

/// A build step that fetches what it builds or installs as an artifact: a
/// GET over https that only fetches ([`only_fetches_over_https`]) in a file
/// that checks what it fetched against a digest (`hashlib`) or unpacks it
/// (`zipfile`, `tarfile`, `shutil.unpack_archive`): a library's source
/// tarball, a tool's binary, a browser driver. The address must not name a
/// script (`.py`, `.ps1`, `.exe`, …), and the file starts no suspicious
/// process (a shell, a downloader, `os.startfile`) and runs no code it did
/// not read from a file of its own (`exec(open("version.py").read())` is
/// a build reading its version). Running what it fetched is judged by
/// `payload/download-exec` and the process rules.
pub(super) fn installs_a_fetched_artifact(file: &PyFile, call: &Call) -> bool {
    const SCRIPTS: [&str; 9] = [".py", ".pyc", ".pyw", ".ps1", ".bat", ".cmd", ".vbs", ".js", ".sh"];
    const PROGRAMS: [&str; 4] = [".exe", ".scr", ".dll", ".msi"];
    const UNPACKS: [&str; 7] = ["zipfile.ZipFile", "ZipFile", "tarfile.open", "tarfile.TarFile", "shutil.unpack_archive", "gzip.open", "lzma.open"];
    if !matches!(file.role, Role::SetupScript | Role::InstallHelper) || !only_fetches_over_https(file, call) {
        return false;
    }
    let addresses: Vec<String> = call
        .strings
        .iter()
        .chain(file.facts.literals.iter().filter(|l| !l.doc).map(|l| &l.value))
        .map(|s| s.trim().trim_end_matches(['/', '"', '\'']).to_ascii_lowercase())
        .filter(|s| s.contains("://"))
        .collect();
    let names = |endings: &[&str]| addresses.iter().any(|a| endings.iter().any(|e| a.ends_with(e)));
    let runs_foreign_code = file.calls().any(|c| {
        c.is(&["exec", "eval", "compile", "execfile", "marshal.loads", "ctypes.CDLL", "ctypes.WinDLL", "zipimport.zipimporter"])
            && !c.arg_texts.first().is_some_and(|a| a.contains("open("))
            // `with open(version_file) as f: exec(compile(f.read(), version_file, "exec"))`
            && !super::payload::reads_local_file(c)
    });
    // A program file is an artifact only when the build pins its digest; a script never is.
    let checks_digest = file.calls().any(|c| c.is(&["hashlib.*"]));
    let unpacks = file.calls().any(|c| c.is(&UNPACKS));
    let used_as_artifact = if names(&PROGRAMS) { checks_digest } else { checks_digest || unpacks };
    used_as_artifact && !names(&SCRIPTS) && !starts_a_suspicious_process(file) && !runs_foreign_code
}

/// A network call whose every address is this machine (`127.0.0.1`,
/// `localhost`, `[::1]`): a client of a local server, reaching no host.
pub(super) fn reaches_only_this_machine(call: &Call) -> bool {
    let hosts: Vec<&str> = call
        .strings
        .iter()
        .filter_map(|s| {
            let (_, rest) = s.split_once("://")?;
            let authority = rest.split(['/', '?', '#']).next()?;
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            Some(if host.starts_with('[') { host.split(']').next().map_or(host, |h| &h[1..]) } else { host.split(':').next().unwrap_or(host) })
        })
        .collect();
    !hosts.is_empty() && hosts.iter().all(|h| matches!(h.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "::1"))
}

/// A connect on a local (Unix domain) socket: the variable it is called on
/// is only ever assigned `socket.socket(socket.AF_UNIX, …)` (a runtime's
/// IPC channel, a daemon's control socket). It reaches a process on this
/// machine, no host.
pub(super) fn connects_a_local_socket(file: &PyFile, call: &Call) -> bool {
    if !call.is(&["socket.socket().connect", "socket.socket().connect_ex"]) {
        return false;
    }
    let line = file.line(call.line).trim_start();
    let Some(receiver) =
        line.split_once(".connect").map(|(r, _)| r.trim()).filter(|r| !r.is_empty() && r.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
    else {
        return false;
    };
    // The lines that assign the receiver a new socket (`self._sock = socket.socket(`, with or without a type).
    let assigned = |c: &&Call| {
        let text = file.line(c.line).trim_start();
        text.strip_prefix(receiver).is_some_and(|rest| {
            let rest = rest.trim_start();
            (rest.starts_with('=') || rest.starts_with(':')) && rest.contains("socket.socket(")
        })
    };
    let mut sockets = file.calls().filter(|c| c.is(&["socket.socket"])).filter(assigned).peekable();
    sockets.peek().is_some() && sockets.all(|c| c.arg_texts.first().is_some_and(|a| a.ends_with("AF_UNIX")))
}

/// The words of a project or repository name of four letters or more
/// (`causal_conv1d-1.7.0/` has `causal` and `conv1d`), lower case.
fn project_words(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 4 && !w.bytes().all(|b| b.is_ascii_digit()) && !matches!(*w, "python" | "releases" | "download"))
        .map(str::to_string)
        .collect()
}
