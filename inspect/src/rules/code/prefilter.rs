//! A one-pass text screen that decides whether a Python file is worth
//! parsing. Parsing is most of the engine's cost, and most files of a big
//! project never mention anything a code rule looks for. The screen is a
//! superset of the rules' triggers: every call name, module, literal
//! fragment and shape a rule can fire on appears here, so skipping a file
//! that passes none of them cannot lose a finding. Keep it in step with the
//! rules.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// Tokens that only count at a word start and before `(`, `"`, `'` or `)`
/// (so `re.compile(` and `executor` do not, but `compile(`, `getattr(x, "exec")` do).
const CALL_WORDS: [&str; 3] = ["exec", "eval", "compile"];

/// Tokens that count anywhere (matched case-insensitively). Each is as
/// specific as its rule allows: `pty.` not `pty` (which is in "empty").
const TOKENS: &[&str] = &[
    // names of calls and modules the payload and access rules resolve
    "__import__", "import_module", "__builtins__", "__builtin__", "import builtins", "builtins.", "os.system", "system(", "popen",
    "subprocess", "spawnv", "spawnl", "os.spawn", "startfile", "pty.", "import pty", "getoutput", "dup2", "zipimport", "urlopen",
    "urlretrieve", "requests.", "import requests", "from requests", "httpx", "socket.", "import socket", "from socket", "smtplib",
    "ftplib", "telnetlib", "httpconnection", "httpsconnection", "environ", "pip.main", "pip._internal", "b64decode", "marshal.",
    "execfile", "os.exec", "getattr(os", "getattr(subprocess", "getattr(__import__", "getattr(importlib", "getattr(sys.modules",
    // surveillance imports
    "pynput", "import keyboard", "from keyboard", "pyautogui", "imagegrab", "pyperclip", "win32clipboard", "import mss", "from mss",
    "pyscreenshot",
    // exfiltration endpoints
    "webhook", "api.telegram.org", "hooks.slack.com", "pastebin", "paste.ee", "hastebin", "transfer.sh", "ngrok", "requestbin",
    "pipedream", "interact.sh", "oast.fun", "burpcollaborator", "trycloudflare", "serveo", "anonfiles", "gofile",
    // credential stores and files
    "login data", "local state", "leveldb", "discord", "wallet.dat", "\\wallets", "exodus", "electrum", "cookies.sqlite", "key4.db",
    "logins.json", "\\tdata", "/tdata", "metamask", ".ssh", ".aws", "git-credentials",
    // persistence
    "currentversion", "programs\\startup", "programs/startup", "schtasks", "crontab", "/etc/cron", "launchagents", "systemd/user",
    "rc.local", "init.d",
    // packers; bot tokens
    "pyarmor", "__obfuscator__", ":aa",
];

fn matcher() -> &'static AhoCorasick {
    static M: OnceLock<AhoCorasick> = OnceLock::new();
    M.get_or_init(|| {
        let patterns: Vec<&str> = CALL_WORDS.iter().chain(TOKENS).copied().chain(["://"]).collect();
        AhoCorasick::builder().ascii_case_insensitive(true).build(patterns).expect("static patterns build")
    })
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when some rule could fire on this file.
pub fn worth_parsing(text: &str) -> bool {
    let bytes = text.as_bytes();
    if text.lines().any(|l| l.len() > 1000) {
        return true;
    }
    for m in matcher().find_overlapping_iter(bytes) {
        let (start, end) = (m.start(), m.end());
        let id = m.pattern().as_usize();
        if id < CALL_WORDS.len() {
            let before_ok = start == 0 || !(is_ident(bytes[start - 1]) || bytes[start - 1] == b'.');
            let after_ok = bytes.get(end).is_some_and(|b| matches!(b, b'(' | b'"' | b'\'' | b')' | b' '));
            if before_ok && after_ok {
                return true;
            }
        } else if id < CALL_WORDS.len() + TOKENS.len() {
            return true;
        } else if bytes.get(end).is_some_and(|b| b.is_ascii_digit()) {
            // "://" followed by a digit: a URL to a raw IP address.
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_code_is_skipped_and_triggers_are_not() {
        assert!(!worth_parsing("import re\nPATTERN = re.compile(r'x')\ndef execute(self):\n    return 1\n# see https://example.org\n"));
        assert!(worth_parsing("exec(x)\n"));
        assert!(worth_parsing("getattr(__builtins__, 'ev' + 'al')\n"));
        assert!(worth_parsing("import subprocess as sp\n"));
        assert!(worth_parsing("URL = 'http://203.0.113.9/x'\n"));
        assert!(worth_parsing("HOOK = 'https://discord.com/api/webhooks/1/2'\n"));
        assert!(worth_parsing(&format!("x = '{}'\n", "A".repeat(2000))));
    }
}
