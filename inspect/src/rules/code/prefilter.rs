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
    "__import__",
    "import_module",
    "__builtins__",
    "__builtin__",
    "builtins.",
    "os.system",
    "system(",
    "popen",
    "subprocess",
    "spawnv",
    "spawnl",
    "os.spawn",
    "startfile",
    "webbrowser",
    "pty.",
    "getoutput",
    "dup2",
    "zipimport",
    "urlopen",
    "urlretrieve",
    "requests.",
    "httpx",
    "socket.",
    "smtplib",
    "ftplib",
    "telnetlib",
    "httpconnection",
    "httpsconnection",
    // the whole environment as code reads it (env-sweep); one variable read
    // (`os.environ["HOME"]`, `os.environ.get("X")`) matters to a rule only
    // beside a send, a process or a path screened on its own
    "environ.items",
    "environ.copy",
    "environ.keys",
    "environ.values",
    "environ)",
    "environ,",
    "pip.main",
    "pip._internal",
    "b64decode",
    "marshal.",
    "pickle.loads(",
    "execfile",
    "os.exec",
    "getattr(os",
    "getattr(subprocess",
    "getattr(__import__",
    "getattr(importlib",
    "getattr(sys.modules",
    // surveillance libraries (also screened as imports, see IMPORTED)
    "pynput",
    "pyautogui",
    "imagegrab",
    "pyperclip",
    "win32clipboard",
    "pyscreenshot",
    // exfiltration endpoints
    // `webhook` alone is a word of every cloud SDK; the hosts are `webhook.site` and discord's (screened by `discord`).
    "webhook.site",
    "api.telegram.org",
    "hooks.slack.com",
    "pastebin",
    "paste.ee",
    "hastebin",
    "transfer.sh",
    "ngrok",
    "requestbin",
    "pipedream",
    "interact.sh",
    "oast.fun",
    "burpcollaborator",
    "trycloudflare",
    "serveo",
    "anonfiles",
    "gofile",
    // credential stores and files
    "login data",
    "local state",
    "leveldb",
    "discord",
    "wallet.dat",
    "\\wallets",
    "exodus",
    "electrum",
    "cookies.sqlite",
    "key4.db",
    "logins.json",
    "\\tdata",
    "/tdata",
    "metamask",
    ".ssh",
    ".aws/",
    ".aws\\",
    "git-credentials",
    // persistence
    "currentversion",
    "programs\\startup",
    "programs/startup",
    // as written in source with its backslashes escaped (`Programs\\Startup`)
    "programs\\\\startup",
    "schtasks",
    "crontab",
    "/etc/cron",
    "launchagents",
    "systemd/user",
    "rc.local",
    "init.d",
    "/.bashrc",
    "/.zshrc",
    "/.bash_profile",
    "/.profile",
    // the user's home written by an install step (writes-home-on-install)
    "expanduser",
    "path.home",
    "getlogin",
    "getuser",
    "\\users\\",
    // packers; bot tokens; steganography libraries
    "pyarmor",
    "__obfuscator__",
    "pyobfuscate",
    ":aa",
    "stegano",
    "stegpy",
    "stepic",
];

/// Tokens that count only at the start of a name (after a dot is fine:
/// `o.system(` is an aliased `os.system(`).
const WORD_START: [&str; 5] = ["system(", "requests.", "socket.", "pty.", "popen"];

/// Tokens that count only as written in lower case: Python's names and the
/// cron program are.
const LOWER_CASE: [&str; 3] = ["getuser", "getlogin", "crontab"];

/// Attributes of the requests module that send nothing: helpers, types and
/// errors (`requests.utils.quote`, `requests.Response`).
const REQUESTS_HELPERS: [&str; 9] = ["utils", "structures", "exceptions", "compat", "codes", "status_codes", "Response", "models", "__version__"];

/// Host names and class names that count only where no letter or digit runs
/// into them: `preserveOnDelete` holds no `serveo` host, and
/// `VirtualGatewayHttpConnectionPool` no `HTTPConnection` class (a URL's
/// `x.ngrok.io` and a module's `client.HTTPConnection` still count).
const NOT_INSIDE_A_WORD: [&str; 11] =
    ["serveo", "ngrok", "gofile", "pipedream", "requestbin", "hastebin", "pastebin", "anonfiles", "trycloudflare", "httpconnection", "httpsconnection"];

/// Modules (and names imported from modules) whose import alone a rule can
/// act on, or whose functions an alias would hide from the tokens above:
/// `import sys, keyboard`, `import socket as s`, `from os import system`.
/// Matched as whole names in import statements, not as text.
const IMPORTED: [&str; 12] = ["keyboard", "mss", "socket", "requests", "pty", "builtins", "subprocess", "pynput", "pyautogui", "pyperclip", "system", "popen"];

/// Modules of [`IMPORTED`] whose import matters only under another name:
/// bound to their own name, their uses carry a token (`socket.`, `requests.`, `pty.`).
const BOUND_TO_ITS_NAME: [&str; 3] = ["socket", "requests", "pty"];

/// Shortest run of lines holding a wrapped blob that hiding/encoded-blob could flag.
const MIN_WRAPPED_BLOB: usize = 1000;

fn matcher() -> &'static AhoCorasick {
    static M: OnceLock<AhoCorasick> = OnceLock::new();
    M.get_or_init(|| {
        let patterns: Vec<&str> = CALL_WORDS.iter().chain(TOKENS).copied().chain(["://"]).collect();
        AhoCorasick::builder().ascii_case_insensitive(true).kind(Some(aho_corasick::AhoCorasickKind::DFA)).build(patterns).expect("static patterns build")
    })
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when some rule could fire on this file.
pub fn worth_parsing(text: &str) -> bool {
    matches_a_token(text) || text_shapes(text)
}

/// The token screen: call words, names, fragments, and `://` before a digit.
fn matches_a_token(text: &str) -> bool {
    first_token(text).is_some()
}

/// The first token of the screen that counts in `text`, if any.
fn first_token(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    // Asked once per file: generated code repeats `_builtins.` thousands of times.
    let mut builtin_use: Option<bool> = None;
    for m in matcher().find_overlapping_iter(bytes) {
        let (start, end) = (m.start(), m.end());
        let id = m.pattern().as_usize();
        if id < CALL_WORDS.len() {
            // Python's builtins are lower case: `ECS Exec)` and `EXEC = "EXEC"` are not them.
            let before_ok = start == 0 || !(is_ident(bytes[start - 1]) || bytes[start - 1] == b'.');
            if before_ok
                && &bytes[start..end] == CALL_WORDS[id].as_bytes()
                && !bytes[..start].ends_with(b"def ")
                && call_word_is_used(bytes, end, CALL_WORDS[id] == "exec")
            {
                return Some(CALL_WORDS[id]);
            }
        } else if id < CALL_WORDS.len() + TOKENS.len() {
            let token = TOKENS[id - CALL_WORDS.len()];
            if token == "builtins." && !*builtin_use.get_or_insert_with(|| uses_a_builtin_by_name(text)) {
                // Generated code types with `_builtins.str`: only lookups of code runners count.
                continue;
            }
            if NOT_INSIDE_A_WORD.contains(&token) && start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            if token == "import_module" && [&b"(self."[..], b"(f\".", b"(f'.", b"(\".", b"('."].iter().any(|p| bytes[end..].starts_with(p)) {
                // `importlib.import_module(self._module_name)`: a lazy import of a module
                // name the object was given (generated SDKs put one in every file); the
                // name is no constant a rule could fold, and a call on the module it
                // returns is screened by its own name. `import_module(f".{name}", __name__)`
                // loads a module of the package itself, which is scanned as it is.
                continue;
            }
            if WORD_START.contains(&token) && start > 0 && is_ident(bytes[start - 1]) {
                // `FileSystem(`, `empty.`, `my_requests.`: not the name screened.
                continue;
            }
            if WORD_START.contains(&token) && (bytes[..start].ends_with(b"def ") || inside_a_url(bytes, start)) {
                // `def system(self)` defines a method; `…/spot-fleet-requests.html` is an address.
                continue;
            }
            if token.ends_with('.') && !bytes.get(end).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
                // A module's attribute follows its dot: `requests.` ending a sentence of a docstring is prose.
                continue;
            }
            if token.ends_with('.') && ["setter", "getter", "deleter"].iter().any(|p| bytes[end..].starts_with(p.as_bytes())) {
                // `@requests.setter`: a property named like the module.
                continue;
            }
            if token.starts_with('.') && start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                // `public.ecr.aws/` is a host name, not the hidden folder `~/.aws/`.
                continue;
            }
            if token == "currentversion" && !(start > 0 && matches!(bytes[start - 1], b'\\' | b'/')) {
                // A registry path names it after a separator (`…\Windows\CurrentVersion\Run`);
                // `NoncurrentVersion` and an SDK's `self._CurrentVersion` name no key.
                continue;
            }
            if LOWER_CASE.contains(&token) && (&bytes[start..end] != token.as_bytes() || start > 0 && bytes[start - 1].is_ascii_alphanumeric()) {
                // `getpass.getuser`, `os.getlogin` and the `crontab` program are lower case
                // words: `TargetUserId` holds no `getuser`, and `CRONTAB` in an API's enum,
                // or `Ccrontab` in a docstring, is no program.
                continue;
            }
            if token == "crontab" && bytes.get(end).is_some_and(|b| !b.is_ascii()) {
                // `crontab类型` ("crontab type") is a word of a Chinese sentence.
                continue;
            }
            if token == "requests."
                && REQUESTS_HELPERS.iter().any(|h| bytes[end..].starts_with(h.as_bytes()) && !bytes.get(end + h.len()).is_some_and(|b| is_ident(*b)))
            {
                // `requests.utils.quote`, `requests.exceptions.HTTPError`: helpers and types that reach no host.
                continue;
            }
            return Some(token);
        } else if starts_a_public_ipv4_address(&bytes[end..]) {
            // "://" followed by a public address: a URL to a raw IP address
            // (`vod://5285890815916760123`, a media id, and `http://127.0.0.1:8080` are none).
            return Some("://");
        }
    }
    None
}

/// True when `bytes` starts with a dotted IPv4 address that is on the
/// internet (not loopback, private, link-local or documentation): what the
/// raw-IP rules flag.
fn starts_a_public_ipv4_address(bytes: &[u8]) -> bool {
    let host: String = bytes.iter().take(16).take_while(|b| b.is_ascii_digit() || **b == b'.').map(|b| *b as char).collect();
    let host = host.trim_end_matches('.');
    super::access::is_public_ipv4(host)
}

/// True when what follows a call word at `end` uses it as code does: a
/// call (`eval(`, also `eval (` and `eval\t(`, which Python reads alike),
/// the name passed on (`eval)`, `eval,`, `eval]`), a string of its name,
/// or, for `exec`, Python 2's statement (`exec code`). Prose (`compile the
/// kernel`, `import compile as c`) uses none of these.
fn call_word_is_used(bytes: &[u8], end: usize, statement: bool) -> bool {
    // Blanks, and line breaks (inside brackets a call may continue on the next line).
    let mut at = end;
    let mut crossed_a_line = false;
    while let Some(b) = bytes.get(at) {
        match b {
            b' ' | b'\t' | b'\x0c' => {}
            b'\\' | b'\r' | b'\n' => crossed_a_line = true,
            _ => break,
        }
        at += 1;
    }
    match bytes.get(at) {
        Some(b'(' | b'"' | b'\'' | b')' | b',' | b']') => true,
        Some(b) => statement && at > end && !crossed_a_line && is_ident(*b),
        None => false,
    }
}

/// True when the text at `at` is part of a URL: the word it sits in
/// (back to a blank or a quote) holds `://` before it.
fn inside_a_url(bytes: &[u8], at: usize) -> bool {
    let from = at.saturating_sub(300);
    let word_start =
        bytes[from..at].iter().rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'(' | b'<' | b'[')).map_or(from, |i| from + i + 1);
    bytes[word_start..at].windows(3).any(|w| w == b"://")
}

/// A long line of prose (a docstring paragraph, a generated description):
/// words between single blanks, no tab, no run of 200 ASCII characters
/// without a blank, a tag or an entity (a sentence of Chinese or Japanese is one long
/// "word" of letters outside ASCII, with markup and enum names between
/// them, and a generated description is a run of `<li>` items or of
/// `&quot;`-escaped JSON; a blob or packed code is one ASCII run), under the long-line rule's
/// length. Packed code, one-line blobs and code spelled in blank space are
/// none of these.
fn is_prose(line: &str) -> bool {
    let line = line.trim_start();
    line.len() <= super::hiding::LONG_LINE
        && !line.contains('\t')
        && !line.contains("        ")
        && line.split(|c: char| matches!(c, ' ' | '<' | '&') || !c.is_ascii()).all(|run| run.len() < 200)
}

/// The line screen: shapes no fixed token can catch. Long lines (packed
/// code, one-line blobs), import statements naming a screened module
/// anywhere in their list, blobs wrapped over many short lines, and
/// Discord bot tokens.
fn text_shapes(text: &str) -> bool {
    let mut blob_run = 0;
    let mut statement = String::new();
    for line in text.lines() {
        if line.len() > 1000 && !is_prose(line) {
            return true;
        }
        if is_blob_line(line) {
            blob_run += line.trim().len();
            if blob_run >= MIN_WRAPPED_BLOB {
                return true;
            }
        } else {
            blob_run = 0;
        }
        // An import statement, with its continuations (a trailing backslash, an open parenthesis).
        let trimmed = line.trim_start();
        if !statement.is_empty() || trimmed.starts_with("import") || trimmed.starts_with("from") || trimmed.contains(';') {
            statement.push_str(line.trim_end().trim_end_matches('\\'));
            statement.push(' ');
            let open = statement.matches('(').count() > statement.matches(')').count();
            if (line.trim_end().ends_with('\\') || open) && statement.len() < 4096 {
                continue;
            }
            if imports_a_screened_name(&statement) && (!statement.contains("builtins") || uses_a_builtin_by_name(text) || imports_another(&statement)) {
                return true;
            }
            statement.clear();
        }
        if line.len() >= 58 && line.contains('.') && has_discord_token(line) {
            return true;
        }
        if line.len() >= 64 && spells_in_character_codes(line) {
            return true;
        }
    }
    false
}

/// Ways code reaches a builtin through the `builtins` module or an alias
/// of it (`b.exec(`, `getattr(b, …)`, `vars(b)`): what makes a file that
/// imports `builtins` worth parsing.
fn uses_a_builtin_by_name(text: &str) -> bool {
    const RUNNERS: [&str; 4] = [".exec(", ".eval(", ".compile(", ".__import__("];
    if RUNNERS.iter().any(|u| text.contains(u)) {
        return true;
    }
    // `getattr(` and `vars(` count only on the module or an alias of it:
    // generated SDKs call `getattr(self, …)` everywhere.
    let mut names = vec!["builtins".to_string(), "__builtin__".to_string()];
    for line in text.lines().filter(|l| l.contains("builtins") || l.contains("__builtin__")) {
        let mut words = line.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).peekable();
        while let Some(word) = words.next() {
            if matches!(word, "builtins" | "__builtin__") && words.peek() == Some(&"as") {
                words.next();
                names.extend(words.next().map(str::to_string));
            }
        }
    }
    text.match_indices("getattr(").chain(text.match_indices("vars(")).any(|(at, call)| {
        let argument = text[at + call.len()..].trim_start();
        names.iter().any(|n| argument.strip_prefix(n.as_str()).is_some_and(|rest| rest.trim_start().starts_with([',', ')'])))
    })
}

/// True when one of the `;`-separated statements of `line` imports a name in [`IMPORTED`].
fn imports_a_screened_name(line: &str) -> bool {
    line.split(';').any(|statement| {
        let mut words = statement.split([' ', '\t', ',', '(', ')']).filter(|w| !w.is_empty());
        if !matches!(words.next(), Some("import" | "from")) {
            return false;
        }
        let from = statement.trim_start().starts_with("from");
        let words: Vec<&str> = words.collect();
        // Every dotted name in the statement: modules, imported names and aliases.
        words.iter().enumerate().any(|(i, w)| {
            let head = w.split('.').next().unwrap_or(w);
            if !IMPORTED.contains(&head) {
                return false;
            }
            // A module bound to its own name (`import requests`, `from vendor import requests`)
            // is used as `requests.get(`, which the tokens screen; an alias or a name taken
            // from it (`import socket as s`, `from requests import post`) hides that.
            !BOUND_TO_ITS_NAME.contains(&head) || words.get(i + 1) == Some(&"as") || from && i == 0
        })
    })
}

/// True when an import statement screened for `builtins` also imports another screened name.
fn imports_another(statement: &str) -> bool {
    imports_a_screened_name(&statement.replace("builtins", " "))
}

/// A line that is nothing but base64 or hex (give or take quotes and
/// continuation marks): one line of a wrapped blob, one string spread over
/// lines (`'…' \`, `'…' +`, or parts side by side in parentheses). A line
/// that ends its string with a comma is an element of a list or call, a
/// string of its own (generated code lists long names in `__all__`), and a
/// blob line has a digit (40 characters of base64 or hex without one are a
/// chance of about one in a thousand; `'ActionConnectorAuthorizationCodeGrantDetailsArgsDict'` has none).
fn is_blob_line(line: &str) -> bool {
    if line.trim_end().ends_with(',') {
        return false;
    }
    let t = line.trim().trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | '\\' | '+' | '(' | ')' | ' '));
    let t = t.strip_prefix(['b', 'B']).filter(|r| r.starts_with(['"', '\''])).map(|r| &r[1..]).unwrap_or(t);
    t.len() >= 40 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')) && t.bytes().any(|b| b.is_ascii_digit())
}

/// True when the line holds 16 or more comma-separated decimal numbers in
/// a row, each a printable ASCII code (`[55, 48, 49, …]`): text spelled in
/// character codes, which a rule decodes (a bot token, an address). Such a
/// file needs no other trigger: the decoder is plain `chr`.
fn spells_in_character_codes(line: &str) -> bool {
    let mut run = 0;
    for item in line.split(',') {
        let item = item.trim().trim_start_matches(['[', '(', '=', ' ']).trim_end_matches([']', ')', ' ']);
        let item = item.rsplit(['[', '(', ' ']).next().unwrap_or(item);
        if item.parse::<u8>().is_ok_and(|n| (32..=126).contains(&n)) {
            run += 1;
            if run >= 16 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// True when the line holds a run of token characters shaped like a Discord bot token.
fn has_discord_token(line: &str) -> bool {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .filter(|run| run.len() >= 58)
        .any(crate::rules::code::access::is_bot_token)
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
        assert!(worth_parsing("URL = 'http://45.61.1.9/x'\n"));
        // A documentation address (RFC 5737) is no host.
        assert!(!worth_parsing("URL = 'http://203.0.113.9/x'\n"));
        assert!(worth_parsing("HOOK = 'https://discord.com/api/webhooks/1/2'\n"));
        assert!(worth_parsing(&format!("x = '{}'\n", "A".repeat(2000))));
    }

    #[test]
    fn generated_sdk_names_and_prose_are_not_triggers() {
        // A lazy import of a name the object was given, and of the package's own module.
        assert!(!worth_parsing("self._module = importlib.import_module(self._module_name)\n"));
        assert!(!worth_parsing("mod = _importlib.import_module(f\".{name}\", __name__)\n"));
        assert!(worth_parsing("m = importlib.import_module(name)\n"));
        assert!(worth_parsing("m = importlib.import_module('o' + 's')\n"));
        // The builtins are lower case.
        assert!(!worth_parsing("### Enable Execute Command (ECS Exec)\n"));
        assert!(!worth_parsing("    EXEC = \"EXEC\"\n"));
        // Host and class names inside longer words.
        assert!(!worth_parsing("PRESERVE = \"preserveOnDelete\"\n"));
        assert!(!worth_parsing("pool: \"VirtualGatewayHttpConnectionPool\"\n"));
        assert!(worth_parsing("URL = 'https://a1b2.serveo.net/x'\n"));
        assert!(worth_parsing("conn = http.client.HTTPConnection(host)\n"));
        assert!(worth_parsing("TUNNEL = 'x.ngrok-free.app'\n"));
    }

    #[test]
    fn a_long_docstring_line_in_chinese_is_prose_and_a_long_ascii_run_is_not() {
        let chinese = format!("        :param _Filter: <p>{}</p>\n", "主表字段筛选，支持模糊匹配与精确匹配；".repeat(40));
        assert!(chinese.len() > 1000);
        assert!(!worth_parsing(&chinese));
        let blob_inside = format!("        :param _X: <p>{}{}</p>\n", "主表字段筛选".repeat(40), "QUJD".repeat(300));
        assert!(worth_parsing(&blob_inside));
    }

    #[test]
    fn call_words_count_where_code_uses_them_with_any_blanks_and_not_in_prose() {
        // Python reads these as calls of the builtin: the screen must too.
        assert!(worth_parsing("eval (payload)\n"));
        assert!(worth_parsing("exec\t(payload)\n"));
        assert!(worth_parsing("run(exec \\\n    (payload))\n"));
        assert!(worth_parsing("f(\n    eval\n    (payload))\n"));
        assert!(worth_parsing("runners = [exec, eval]\n"));
        assert!(worth_parsing("exec code\n"));
        // Prose, an imported name that is not the builtin, and a method of that name.
        assert!(!worth_parsing("# compile the kernel with nvcc\n"));
        assert!(!worth_parsing("from cutlass.cute import compile as cute_compile\n"));
        assert!(!worth_parsing("class Pass:\n    def compile(self, ops):\n        return ops\n"));
        assert!(!worth_parsing("\"\"\"Whether to generate compile\ntime math.\"\"\"\n"));
    }

    #[test]
    fn the_builtins_module_counts_only_when_code_runners_are_looked_up_in_it() {
        assert!(!worth_parsing("import builtins as _builtins\nclass Region(_builtins.str):\n    pass\n"));
        assert!(worth_parsing("import builtins as b\nb.exec(code)\n"));
        assert!(worth_parsing("import builtins as b\nrun = getattr(b, name)\n"));
        assert!(worth_parsing("import builtins\nrun = getattr( builtins , name)\n"));
        assert!(worth_parsing("import builtins as b\nns = vars(b)\n"));
        // A generated SDK: `_builtins.str` types and getattr on its own objects.
        assert!(!worth_parsing("import builtins as _builtins\nclass Region(_builtins.str):\n    def get(self):\n        return getattr(self, 'name')\n"));
        assert!(worth_parsing("import builtins, keyboard\n"));
    }

    #[test]
    fn names_spelled_like_triggers_in_generated_sdks_are_not_triggers() {
        // An SDK's fields, enum values, media ids and helper uses.
        assert!(!worth_parsing("self._TargetUserId = params.get(\"TargetUserId\")\n"));
        assert!(!worth_parsing("self._CurrentVersion = params.get(\"CurrentVersion\")\n"));
        assert!(!worth_parsing("\"\"\"DependConfType: HOUR,DAY,WEEK,CRONTAB,MINUTE\"\"\"\n"));
        assert!(!worth_parsing("\"\"\"<code>vod://5285890815916760123</code>\"\"\"\n"));
        assert!(!worth_parsing("from oci._vendor import requests\nq = requests.utils.quote(x)\nr: requests.Response = None\n"));
        assert!(!worth_parsing("import socket\nimport requests\n"));
        assert!(!worth_parsing("\"\"\"周期类型<br>Ccrontab类型 0:crontab类型 格式: `http://127.0.0.1:8080`\"\"\"\n"));
        assert!(!worth_parsing(&format!("    r\"\"\"<p>{}</p>\"\"\"\n", "<li>Hunyuan3.0_1K</li>".repeat(80))));
        assert!(!worth_parsing(&format!("    r\"\"\"<code>{{{}}}</code>\"\"\"\n", "&quot;up_expansion_ratio\\&quot;:0.1,".repeat(40))));
        // A long line of a Chinese docstring with markup and enum names between its words.
        assert!(!worth_parsing(&format!("    \"\"\"{}\"\"\"\n", "主机名称<br>AgentStatus：[&quot;ONLINE&quot;]，可选值".repeat(40))));
        // The same names where code uses them.
        assert!(worth_parsing("user = getpass.getuser()\n"));
        assert!(worth_parsing("from os import getlogin as who\n"));
        assert!(worth_parsing("KEY = r'Software\\Microsoft\\Windows\\CurrentVersion\\Run'\n"));
        assert!(worth_parsing("CMD = 'echo job | crontab -'\n"));
        assert!(worth_parsing("URL = 'http://45.9.1.2/p'\n"));
        assert!(worth_parsing("from oci._vendor import requests\nq = requests.utils.quote(x)\nrequests.get(q)\n"));
        assert!(worth_parsing("import requests as r\n"));
        assert!(worth_parsing("from requests import post\n"));
        assert!(worth_parsing("from socket import *\n"));
        assert!(worth_parsing(&format!("x = '中{}'\n", "QUJD".repeat(300))));
        // Text spelled in character codes needs no other trigger.
        assert!(worth_parsing("_T = [55, 48, 49, 50, 51, 52, 53, 54, 55, 56, 58, 65, 65, 70, 95, 97, 66, 99]\n"));
    }

    #[test]
    fn screened_modules_count_anywhere_in_an_import_statement() {
        assert!(worth_parsing("import sys, keyboard\n"));
        assert!(worth_parsing("import os as o, socket as s\n"));
        assert!(worth_parsing("from os import (\n    path,\n    system,\n)\n"));
        assert!(worth_parsing("import os, \\\n    mss\n"));
        assert!(worth_parsing("x = 1; import requests as r\n"));
        assert!(!worth_parsing("import keyboard_layouts, json\nfrom .systems import Grid\n"));
    }

    #[test]
    fn wrapped_blobs_and_bot_tokens_are_shapes_worth_parsing() {
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3";
        assert!(worth_parsing(&format!("BLOB = \"\"\"\n{}\"\"\"\n", format!("{line}\n").repeat(14))));
        assert!(!worth_parsing(&format!("BLOB = \"\"\"\n{}\"\"\"\n", format!("{line}\n").repeat(3))));
        assert!(worth_parsing("TOKEN = 'MTk4NjIyNDgzNDcxOTI1MjQ4.Gh7a2b.fakefakefakefakefakefakefake12'\n"));
    }

    #[test]
    fn generated_sdk_prose_and_name_lists_are_not_worth_parsing() {
        // Docstrings of generated SDKs: a sentence ending in "requests.", an address, a long paragraph.
        assert!(!worth_parsing("def f():\n    \"\"\"Each copy can serve inference requests.\"\"\"\n"));
        assert!(!worth_parsing("\"\"\"See https://docs.example.com/guide/spot-fleet-requests.html for more.\"\"\"\n"));
        let paragraph = "The delivery mode of log messages from the container to the log driver. ".repeat(20);
        assert!(!worth_parsing(&format!("class A:\n    \"\"\"\n        + mode {paragraph}\n    \"\"\"\n")));
        // Properties and hosts named like screened modules and paths.
        assert!(!worth_parsing("class A:\n    @requests.setter\n    def requests(self, v):\n        pass\n    def system(self):\n        return 1\n"));
        assert!(!worth_parsing("IMAGE = 'public.ecr.aws/registry/repo'\nNAMES = ['BucketNoncurrentVersionExpiration']\n"));
        // `__all__` of generated code: long names, some with digits, one to a line.
        let names: String = (0..40).map(|i| format!("    'OAuth2CredentialProviderConfigInputArgs{i}Dict',\n")).collect();
        assert!(!worth_parsing(&format!("__all__ = [\n{names}]\n")));
    }

    #[test]
    fn the_code_those_refinements_pass_by_is_still_worth_parsing() {
        assert!(worth_parsing("r = requests.get(URL)\n"));
        assert!(worth_parsing("s = socket.socket()\n"));
        assert!(worth_parsing("os.system('id')\n"));
        assert!(worth_parsing("p = os.path.expanduser('~/.aws/credentials')\n"));
        assert!(worth_parsing("os.mkdir(f'C:\\\\Users\\\\{name}\\\\x')\n"));
        assert!(worth_parsing("home = os.path.expanduser('~')\nopen(home + '/x.txt', 'w')\n"));
        assert!(worth_parsing("KEY = r'Software\\Microsoft\\Windows\\CurrentVersion\\Run'\n"));
        // A long line that is no prose: packed code, a one-line blob, bits spelled in blanks.
        assert!(worth_parsing(&format!("x = '{}'\n", "ab1+".repeat(300))));
        assert!(worth_parsing(&format!("x = '{}'\n", " \t".repeat(600))));
        assert!(worth_parsing(&format!("{}\n", "_0x1a=_0x2b[0x3c]^_0x4d;".repeat(60))));
        // A blob wrapped over lines, one string in parentheses.
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3";
        assert!(worth_parsing(&format!("BLOB = (\n{})\n", format!("    '{line}'\n").repeat(14))));
    }
}
