//! The rule table and the rule runner. Each rule has an id, a default
//! severity and a one-line description; the description doubles as the
//! rule's documentation. Rules read a [`Dist`] and return findings.

pub mod budget;
pub mod code;
mod install_hooks;
mod metadata;

pub use metadata::{resembles, typosquat_of};
mod native;
mod record;

use crate::finding::{snippet, Finding, Severity};
use crate::report::Dist;

/// A rule's identity and documentation.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub description: &'static str,
}

/// Every rule Airlock knows, including the archive reader's.
pub const RULES: &[Rule] = &[
    Rule { id: "archive/corrupt", severity: Severity::High, description: "The archive is corrupt or truncated; what could be read was inspected." },
    Rule { id: "archive/unknown-format", severity: Severity::Medium, description: "The file name is not that of a wheel, sdist or egg." },
    Rule { id: "archive/absolute-path", severity: Severity::High, description: "An entry has an absolute path and would be written outside the target folder." },
    Rule { id: "archive/path-traversal", severity: Severity::High, description: "An entry name climbs out of the archive with `..`." },
    Rule { id: "archive/link-escape", severity: Severity::High, description: "A symlink or hardlink points outside the archive; medium for a relative symlink that no later entry is written through (`LICENSE -> ../../LICENSE`, a monorepo's file, which extractors refuse)." },
    Rule { id: "archive/special-entry", severity: Severity::High, description: "A device, fifo or other special entry, never expected in a distribution." },
    Rule { id: "archive/duplicate-entry", severity: Severity::Medium, description: "Two entries share a name; installers may pick either." },
    Rule { id: "archive/non-utf8-name", severity: Severity::Medium, description: "An entry name is not valid UTF-8." },
    Rule { id: "archive/long-path", severity: Severity::Medium, description: "An entry name is unreasonably long." },
    Rule { id: "archive/deep-path", severity: Severity::Medium, description: "An entry is nested unreasonably deep." },
    Rule { id: "archive/too-many-entries", severity: Severity::High, description: "The archive has more entries than the limit; the rest was not read." },
    Rule { id: "archive/too-large", severity: Severity::High, description: "The archive unpacks to more than the size limit; the rest was not read." },
    Rule { id: "archive/decompression-bomb", severity: Severity::High, description: "An entry or the whole stream expands far beyond any real package (a zip or gzip bomb)." },
    Rule { id: "analysis/budget-exceeded", severity: Severity::High, description: "The Python code could not be analysed within the work budget (per file, or for the whole archive): what was not analysed must be read by a person." },
    Rule { id: "install-hook/setup-py", severity: Severity::Medium, description: "The sdist has a setup.py, which runs with the installing user's rights when it is built." },
    Rule { id: "install-hook/command-override", severity: Severity::Medium, description: "setup.py replaces a setuptools command (install, develop, egg_info: medium; build steps: low), so its code runs during installation." },
    Rule { id: "install-hook/sitecustomize", severity: Severity::High, description: "A wheel installs sitecustomize.py or usercustomize.py, which run at every interpreter start." },
    Rule { id: "install-hook/entry-point-shadowing", severity: Severity::High, description: "A console script of the distribution's own metadata is named like a system command (ls, sudo, git, pip, …) and would shadow it; a vendored `*.dist-info` deeper in a package installs nothing." },
    Rule { id: "install-hook/build-backend", severity: Severity::Medium, description: "The sdist builds with an in-tree backend (medium) or an uncommon one (low)." },
    Rule { id: "install-hook/pth-file", severity: Severity::Medium, description: "A .pth file is installed into site-packages; its `import` lines run at every interpreter start (high)." },
    Rule { id: "payload/download-exec", severity: Severity::Critical, description: "exec/eval/compile of data fetched from the network (also what a `curl`/`wget` process prints) or of a file a download wrote, or a process started on the file a download wrote, directly or as the script an interpreter runs (a dropper), linked by the path's text, also inside a command string (`'py ' + folder + '\\s.py'`, `f'python {path}'`) or a thread's `args=`; the download may be saved by `curl -o` in another helper." },
    Rule { id: "payload/exec-decoded", severity: Severity::Critical, description: "exec/eval/compile of data that is base64-, hex-, zlib-, marshal-, XOR- or otherwise decoded, or reversed, first, or of source spelled in escape sequences; a pickle kept in the code as a bytes constant and unpickled; a file written with decoded data and then started, or decoded data fed to an interpreter on stdin (medium when what is decoded is input, not a payload in the code: a function's parameter no caller in the file gives a constant, or a pickled object from a variable; medium too when decoded data only fills the arguments of a program the code names first in a list, not a shell, interpreter, downloader or launcher; text made with `.decode()` of an encoder's output, `b64encode(…).decode('ascii')`, is no decoding)." },
    Rule { id: "payload/exec-hidden", severity: Severity::Critical, description: "exec, eval, os.system or subprocess reached through a computed name (getattr on builtins, __import__, namespace lookups, or an alias made by `eval` of an escaped constant); `getattr(builtins, 'exec')` by its plain name, as Python 2/3 compatible code writes it, is medium until it is called, and `exec_ = eval(\"exec\")` spelled plainly is an alias, not a hidden call; a builtin found by a name read from data (`getattr(builtins, parts[1])`, `spec[\"type\"]`, trimmed with `removeprefix`/`strip`) is ordinary dispatch." },
    Rule { id: "payload/exec-dynamic", severity: Severity::Medium, description: "exec/eval of code built at run time (medium on install or import, low in functions, info in tests); reading a project file by a relative path (a version file) is exempt." },
    Rule { id: "payload/disguised-module", severity: Severity::Critical, description: "Code is imported from a file named like data (zipimport of a .crt, .png, …); setup.py importing code out of an archive it ships at build time is high (code packed away from review runs on install)." },
    Rule { id: "payload/hidden-download", severity: Severity::High, description: "A file is downloaded from an address the code decodes first (base64, hex, …) and saved by the same function: a dropper hiding where its payload comes from." },
    Rule { id: "payload/reverse-shell", severity: Severity::Critical, description: "A shell is wired to a socket (os.dup2 of a socket's descriptor plus a shell process)." },
    Rule { id: "payload/shell-download", severity: Severity::Critical, description: "A process is started with a command that downloads and runs (curl | sh, a download then started, PowerShell download cradles, certutil, bitsadmin, mshta), or pipes into a shell." },
    Rule { id: "access/hardcoded-bot-token", severity: Severity::High, description: "A Telegram or Discord bot token is written into the code: a channel the author controls." },
    Rule { id: "access/process-on-install", severity: Severity::High, description: "A process is started from setup.py (or a module its install command override runs), a startup hook or module top level, also through a local helper function or in a function the module's top level calls (`main()`, a thread started on import); a Python program started with `-c` on import is high (low when it is a build tool such as git or make, or only asks a program its version, its usage (`--help`) or, of a `*-config` program, its build flags (`gtk-config --cflags`); high when the interpreter runs a `.py` script the archive does not ship; medium when it runs the project's own shipped script, unless that script downloads and runs, when it only makes, copies or removes files, or marks files the archive ships executable (`chmod +x bin/build.sh`), or when pip installs packages by name, unless the same setup.py writes into the user's home or application-data folder). A shell or PowerShell running the project's own shipped script (also by a Windows path, `.\\build.ps1`) is judged by that script and by the rest of its command line (a hidden window stays high), not by the program's name; a build tool that installs nothing it runs (git, cmake, conan; not pip or npm) given an https address, with no shell operators: medium; the interpreter named in a command list kept in a variable (`cmd = [sys.executable, ...]`) counts as written in the call; the body of a local helper that starts only what its callers pass (`def runcmd(cmd): Popen(cmd)`) is not judged itself, each call of it is, with its command; an install override starting a command with no text in the file (`Popen(self.cmd + args)`): medium. A module beside an sdist's setup.py that no build installs (not named by setup.py, setup.cfg or pyproject.toml, not the import name, and not found by setuptools itself) is a maintainer script: it runs neither on install nor on import. A `.py` script the sdist does not ship is medium when the step runs it only if it exists (`if os.path.exists(script):`) or when its folder (also joined with `os.path.join`) ships nothing. A process on import that would be medium is high in a package named for another popular project (`requests/` shipped by a distribution of another name): that import is taken over. A web page opened in the user's browser by an install step is high (medium at import). A function a task scheduler's decorator wraps (Airflow `@task`/`@dag`, `dask.delayed`, `ray.remote`) does not run when called; test folders include `testsuite` and `testcases`." },
    Rule { id: "access/network-on-install", severity: Severity::High, description: "The network is used from setup.py, a startup hook or module top level, also in a function that top level calls (directly, through other local functions, or as a thread's target; not under the main guard, in exit handlers, in scripts that parse a command line at top level or hand work their arguments (`sys.argv[1]`; not `sys.argv[0]`, the program's own path) (neither their top level nor what it calls), in files no import can name (`check-porn.py`), in a function of setup.py that nothing in the file names (its only call in a comment), in lambdas handed to a call that keeps them, or through a bare call of a name the file defines only as a method); not in a new setup.py command (`class X(Command)`) that no build command runs; medium when a build step fetches the project's own prebuilt artifact: a wheel or release asset of a repository named like the project, over https, sending nothing; medium when a module downloads data on import over https, keeps the answer (assigned, returned, opened `with`, handed to another call, saved to a path; not thrown away, a beacon's shape), hides no address (decoded or reversed; an address the file does not hold, a setting, marks nothing by itself) and sends nothing, in a file that starts no process, runs no code, names no program file and collects nothing about the machine (user or host name, DNS lookups, its public address); the same from setup.py or a module its install runs when every address names a data file (`.json`, `.txt`, `.csv`, …) saved inside the build; low for a connect on a Unix domain socket (`AF_UNIX`: a process on this machine); not in an `sdist` override, which no install runs; `urlopen('')` and a call given no address reach no host; low when every address is this machine (`127.0.0.1`, `localhost`); medium when a build step downloads an artifact over https, sending nothing (no body, no query completed with a value, no secret, and no environment value but settings whose names are not a secret's, a user's or a host's), from no raw IP, collector, address-echo or chat-attachment host, and checks it against a digest or unpacks it (a program file such as `.exe` only when it checks a digest; a script never), in a file that starts no suspicious process and runs no code it did not read from its own files. Python kept in a string runs where the file runs the string: used only by a function nothing on import calls, or written in such a function's body, it does not run on import." },
    Rule { id: "access/env-sweep", severity: Severity::High, description: "The whole environment is read on install or import (where tokens and keys live), and the same function (or the top level) uses the network; medium when no network call sits beside the read (a child process's `env=`, a constants class filled from the environment). Sending the environment is `access/exfil-flow`." },
    Rule { id: "access/exfil-endpoint", severity: Severity::High, description: "A webhook, OAST, tunnel or request-capture host often used to receive stolen data, matched as a host name (chat bot APIs, paste and file-drop hosts, mock APIs: medium; Discord's webhook API address alone, with no webhook id after it or with the id and token left as holes of an f-string (`f'.../webhooks/{id}/{token}'`), as notification libraries name it: medium; the host name alone (`'webhook.site'`) given to no call in a file that sends nothing, as a blocklist of hosts holds it: medium; in help texts (also in parentheses), EXAMPLES-style constants and prose offering the address as an example (`e.g.`, `for example`): two levels less)." },
    Rule { id: "access/exfil-flow", severity: Severity::High, description: "Secrets (a `private_key`, `mnemonic`, `seed`, `password` parameter or variable), the environment or host facts (user, host name, `whoami`) are sent to an exfiltration, OAST, tunnel or mock-API host, in any function (critical on install or import); host facts collected and sent by code that runs at build or import time (a DNS probe); a wallet secret (`mnemonic`, `private_key`) sent to an address the code decodes first, or any data posted to an address decoded in the send itself; a DNS lookup on install or import of a constant host whose answer is thrown away (a beacon); a wallet secret (`private_key`, `mnemonic`) posted in a request body to a fixed address, in any function." },
    Rule { id: "access/raw-ip-url", severity: Severity::High, description: "A URL to a public raw IP address instead of a host name (documentation ranges of RFC 5737 and `1.2.3.4`-style placeholders excepted); medium when it is written inside a function and no call seen in the file is given it (a download tool's table of mirrors), or when only calls that show text are given it (`print`, logging, `warnings.warn`)." },
    Rule { id: "access/credentials", severity: Severity::High, description: "Names a credential store (browser login data and cookies, Discord tokens, wallets: high; SSH keys and cloud credentials: medium) in a file that reads files (opens, lists, globs, copies, queries a database) and sends data out; medium in a file that sends but reads no file; a store's name inside a longer name is none (`com.discordapp.DiscordCanary`, a Flatpak app id where a client finds the app's socket); named alone, it is information (low)." },
    Rule { id: "access/writes-home-on-install", severity: Severity::High, description: "setup.py, or a module its install override runs, writes a file or makes a folder in the user's home or profile (a path from `expanduser`, `Path.home()`, `os.getlogin()`, `getpass.getuser()`, or spelled `~/`, `C:\\Users\\`, `/home/`) when the sdist is built: pip neither sees nor removes it. Temporary files are the build's own; autostart locations are access/persistence." },
    Rule { id: "access/persistence", severity: Severity::High, description: "An autostart location (registry Run keys, Startup folder, cron, launch agents, systemd user units, shell start-up files such as `~/.bashrc`) written, set or started on install or import, or given a command that downloads and runs a program wherever the code runs (medium in a function; named alone: low)." },
    Rule { id: "access/surveillance", severity: Severity::Medium, description: "Imports keyboard, clipboard or screen capture libraries; keystrokes captured (a keyboard listener or hook) in a file that sends data out is a keylogger reporting home (high); capture (medium or more) in a release that also writes an autostart entry (`access/persistence` at medium or more) is spyware that starts with the machine (high)." },
    Rule { id: "hiding/encoded-blob", severity: Severity::Medium, description: "A long high-entropy base64 or hex string in code: a payload or packed code." },
    Rule { id: "hiding/long-line", severity: Severity::Medium, description: "A line of code longer than 20,000 characters: minified or packed." },
    Rule { id: "hiding/executable-blob", severity: Severity::Critical, description: "A Windows or Linux executable kept in a base64 or hex string, in a file that starts a process (critical: written out and run); kept alone, medium." },
    Rule { id: "hiding/packer", severity: Severity::High, description: "Code packed with an obfuscator (PyArmor, pyobfuscate), which cannot be reviewed." },
    Rule { id: "hiding/steganography", severity: Severity::High, description: "exec/eval/compile of data read out of an image (pixels, a steganography library's reveal, or an image file's bytes); a steganography library alone is medium." },
    Rule { id: "metadata/missing", severity: Severity::Medium, description: "No core metadata (METADATA or PKG-INFO) where the format requires it." },
    Rule { id: "metadata/record", severity: Severity::High, description: "A wheel file is missing from RECORD or differs from its RECORD hash (base64 or hex) or size: changed after the build (no RECORD at all: medium; medium when what differs is `.dist-info` metadata Python does not run, such as METADATA, WHEEL or a licence, a library grafted into a `*.libs/` folder by a repair tool, or a native library, which release steps re-sign or add for other platforms and the binary rules judge as it is)." },
    Rule { id: "metadata/name-mismatch", severity: Severity::High, description: "The core metadata names another project (high) or version (medium) than the file name; an sdist named for exactly its metadata's name and version with other separators (`reformat-gherkin 2.1.0.tar.gz`) names that release." },
    Rule { id: "metadata/wheel-sdist-mismatch", severity: Severity::Medium, description: "Python code (medium) or a .pth file (high) is in the wheel but not in the release's sdist." },
    Rule { id: "metadata/typosquat", severity: Severity::Medium, description: "The name is one edit away from a much more popular project." },
    Rule { id: "metadata/placeholder", severity: Severity::Low, description: "Placeholder metadata: no summary and no author or home page, or a version like 0.0.0 or 999." },
    Rule { id: "native/binary", severity: Severity::Low, description: "A bundled native executable or library, which static analysis of Python cannot see into." },
];

/// The rule reference as Markdown: one section per family, and in it one
/// section per rule, headed by the rule's id (the dashboard serves it at
/// `/docs/rules`, with each rule's id as the anchor findings link to).
/// `docs/rules.md` is this text (a test keeps them equal).
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# Inspection rules\n\n\
         Generated from the rule table in `inspect/src/rules/mod.rs` (`airlock rules` prints it).\n\
         A release is *flagged* when its highest finding is high or critical. Severities here are the\n\
         defaults: code in tests and docs counts two levels lower, and several rules say when they go up or down.\n",
    );
    let mut family = "";
    for rule in RULES {
        let this = rule.id.split('/').next().unwrap_or("");
        if this != family {
            family = this;
            out.push_str(&format!("\n## {family}\n"));
        }
        out.push_str(&format!("\n### {}\n\nDefault severity: {}. {}\n", rule.id, rule.severity.as_str(), rule.description));
    }
    out
}

/// Look up a rule by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// What the rules found, and what each file can do.
pub struct RuleOutput {
    pub findings: Vec<Finding>,
    pub file_capabilities: std::collections::BTreeMap<String, std::collections::BTreeSet<crate::Capability>>,
}

/// Run every rule on the distribution.
pub fn run(dist: &Dist) -> RuleOutput {
    let mut out = Vec::new();
    install_hooks::setup_py(dist, &mut out);
    install_hooks::command_overrides(dist, &mut out);
    install_hooks::pth_files(dist, &mut out);
    install_hooks::startup_hooks(dist, &mut out);
    install_hooks::entry_points(dist, &mut out);
    install_hooks::build_backend(dist, &mut out);
    native::binaries(dist, &mut out);
    let file_capabilities = code::run(dist, &mut out);
    metadata::run(dist, &mut out);
    record::run(dist, &mut out);
    RuleOutput { findings: out, file_capabilities }
}

/// A finding of rule `id` at a file and line.
pub(crate) fn finding(id: &str, severity: Severity, file: &str, line: Option<(u32, &str)>, message: String) -> Finding {
    Finding {
        rule: id.to_string(),
        severity,
        file: Some(file.to_string()),
        line: line.map(|(n, _)| n),
        message,
        snippet: line.map(|(_, text)| snippet(text)),
        also: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate rule ids");
        assert!(RULES.iter().all(|r| !r.description.is_empty() && r.id.contains('/')));
    }
}
