//! Access rules: what code reaches for when it runs on install or import.
//! Processes and the network at install/import time, exfiltration
//! endpoints, credential stores, environment sweeps, persistence, and
//! surveillance libraries.

use crate::finding::{Finding, Severity};
use crate::python::Call;
use crate::rules::code::payload::is_process;
use crate::rules::code::{shell, PyFile, Role};

/// Commands that builds legitimately run from setup.py.
const BUILD_TOOLS: [&str; 16] =
    ["git", "make", "cmake", "gcc", "g++", "cc", "clang", "pkg-config", "cython", "nvcc", "swig", "sphinx", "npm", "yarn", "cargo", "pip"];

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

fn is_suspicious_command(command: &str) -> bool {
    SUSPICIOUS_TEXT.iter().any(|t| command.contains(t)) || shell::programs(command).iter().any(|p| SUSPICIOUS_PROGRAMS.contains(&p.as_str()))
}

/// The command a process call runs looks like a build step.
fn is_build_step(call: &Call) -> bool {
    let first = call.strings.first().map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
    let program = first.split_whitespace().next().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    BUILD_TOOLS.contains(&program) || call.arg_texts.first().is_some_and(|a| a.contains("sys.executable"))
}

pub fn run(file: &PyFile, out: &mut Vec<Finding>) {
    for call in file.calls() {
        if !file.runs_on_install_or_import(call.scope) {
            continue;
        }
        let when = match file.role {
            Role::SetupScript => "when the sdist is built",
            Role::StartupHook => "at every interpreter start",
            _ => "when the package is imported",
        };
        if is_process(call) || call.is(&["pip.main", "pip._internal.main", "pip._internal.cli.main.main"]) {
            let command = call.strings.join(" ").to_ascii_lowercase();
            let overrides_install = file.role == Role::SetupScript
                && file.facts.command_classes.iter().any(|(c, _)| ["(install)", "(develop)", "(egg_info)"].iter().any(|b| c.ends_with(b)));
            let severity = if is_suspicious_command(&command) || call.callee.starts_with("pip.") {
                Severity::High
            } else if overrides_install && !is_build_step(call) {
                // An install command replaced by code that starts a process: GuardDog's cmd-overwrite pattern.
                Severity::High
            } else if is_build_step(call) {
                Severity::Low
            } else {
                Severity::Medium
            };
            out.push(file.finding("access/process-on-install", severity, call.line, format!("{}() starts a process {when}", call.callee)));
        } else if is_network(call) {
            out.push(file.finding("access/network-on-install", Severity::High, call.line, format!("{}() reaches the network {when}", call.callee)));
        } else if call.is(&["os.environ.items", "os.environ.copy", "os.environ.keys", "os.environ.values", "dict", "json.dumps", "str"])
            && call.arg_texts.iter().any(|a| a == "os.environ")
            || call.is(&["os.environ.items", "os.environ.copy"])
        {
            let sends = file.calls().any(is_network);
            let severity = if sends { Severity::High } else { Severity::Medium };
            out.push(file.finding("access/env-sweep", severity, call.line, format!("reads the whole environment (secrets included) {when}")));
        }
    }
    literal_rules(file, out);
    surveillance(file, out);
    for call in file.calls().filter(|c| c.callee.ends_with("connect") || c.callee.ends_with("create_connection")) {
        // A UDP "connect" to a public resolver is the usual way to learn the local address.
        const RESOLVERS: [&str; 5] = ["8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9"];
        if let Some(ip) = call.strings.iter().find(|s| is_public_ipv4(s) && !RESOLVERS.contains(&s.as_str())) {
            out.push(file.finding("access/raw-ip-url", file.weigh(Severity::High), call.line, format!("connects to the raw IP address {ip}")));
        }
    }
}

/// Substrings of exfiltration endpoints: where stolen data goes.
const EXFIL: [(&str, Severity); 22] = [
    ("discord.com/api/webhooks", Severity::High),
    ("discordapp.com/api/webhooks", Severity::High),
    ("canary.discord.com/api/webhooks", Severity::High),
    ("api.telegram.org/bot", Severity::Medium),
    ("hooks.slack.com/services", Severity::Medium),
    ("pastebin.com", Severity::Medium),
    ("paste.ee", Severity::Medium),
    ("hastebin", Severity::Medium),
    ("transfer.sh", Severity::High),
    ("ngrok.io", Severity::High),
    ("ngrok-free.app", Severity::High),
    ("ngrok.app", Severity::High),
    ("requestbin", Severity::High),
    ("pipedream.net", Severity::High),
    ("webhook.site", Severity::High),
    ("interact.sh", Severity::High),
    (".oast.fun", Severity::High),
    ("burpcollaborator", Severity::High),
    ("trycloudflare.com", Severity::High),
    ("serveo.net", Severity::High),
    ("anonfiles", Severity::High),
    ("gofile.io", Severity::High),
];

/// True when `lower` names `endpoint` as a host (or URL), not as part of a
/// longer word: `transfer.sh/x` and `x.transfer.sh` do, a module path like
/// `weight_transfer.sharded_engine` does not. Endpoints that are bare
/// names (`hastebin`) match anywhere.
fn names_endpoint(lower: &str, endpoint: &str) -> bool {
    if !endpoint.contains('.') {
        return lower.contains(endpoint);
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    lower.match_indices(endpoint).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + endpoint.len()..].chars().next();
        // A URL prefix (`api.telegram.org/bot`) goes on with the token.
        let ends = endpoint.contains('/') || !after.is_some_and(word);
        (endpoint.starts_with('.') || !before.is_some_and(word)) && ends
    })
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
const PERSISTENCE: [&str; 11] = [
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
];

fn literal_rules(file: &PyFile, out: &mut Vec<Finding>) {
    for lit in &file.facts.literals {
        let lower = lit.value.to_ascii_lowercase();
        if let Some((endpoint, severity)) = EXFIL.iter().find(|(e, _)| names_endpoint(&lower, e)) {
            out.push(file.finding("access/exfil-endpoint", file.weigh(*severity), lit.line, format!("names {endpoint}, a common exfiltration endpoint")));
        } else if let Some(ip_url) = raw_ip_url(&lower) {
            out.push(file.finding(
                "access/raw-ip-url",
                file.weigh(Severity::High),
                lit.line,
                format!("contacts a raw IP address ({ip_url}) instead of a host name"),
            ));
        }
        if let Some(store) = STOLEN_STORES.iter().find(|c| lower.contains(*c)) {
            out.push(file.finding("access/credentials", file.weigh(Severity::High), lit.line, format!("refers to a credential store stealers read ({store})")));
        } else if let Some(store) = CREDENTIAL_FILES.iter().copied().find(|c| lower.contains(*c)).or_else(|| ssh_private_key(&lower)) {
            out.push(file.finding("access/credentials", file.weigh(Severity::Medium), lit.line, format!("refers to a credential file ({store})")));
        }
        if is_bot_token(&lit.value) {
            out.push(file.finding(
                "access/hardcoded-bot-token",
                file.weigh(Severity::High),
                lit.line,
                "a chat-bot token is written into the code: a channel the author controls".into(),
            ));
        }
        if let Some(place) = PERSISTENCE.iter().find(|p| lower.contains(*p)) {
            out.push(file.finding("access/persistence", file.weigh(Severity::High), lit.line, format!("refers to an autostart location ({place})")));
        }
    }
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
fn raw_ip_url(s: &str) -> Option<String> {
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

fn is_public_ipv4(s: &str) -> bool {
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
}

const SURVEILLANCE: [&str; 8] = ["pynput", "keyboard", "pyautogui", "PIL.ImageGrab", "pyperclip", "win32clipboard", "mss", "pyscreenshot"];

fn surveillance(file: &PyFile, out: &mut Vec<Finding>) {
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
