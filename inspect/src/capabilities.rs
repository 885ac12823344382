//! What a distribution can do, as a small set of capabilities per file and
//! per release: the summary an auditor compares between versions ("this
//! release gained network access"). Derived from the same facts the rules
//! read; a capability is not a finding, most packages have some.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::python::{Call, Facts};
use crate::rules::code::access::is_network;
use crate::rules::code::payload::{is_process, EXEC};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Network,
    Subprocess,
    Exec,
    FilesystemWrite,
    EnvAccess,
    NativeCode,
    InstallHooks,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Network => "network",
            Capability::Subprocess => "subprocess",
            Capability::Exec => "exec",
            Capability::FilesystemWrite => "filesystem-write",
            Capability::EnvAccess => "env-access",
            Capability::NativeCode => "native-code",
            Capability::InstallHooks => "install-hooks",
        }
    }
}

const NETWORK_MODULES: [&str; 12] =
    ["requests", "httpx", "urllib.request", "urllib2", "http.client", "socket", "aiohttp", "smtplib", "ftplib", "paramiko", "websocket", "websockets"];

const FS_WRITERS: [&str; 14] = [
    "shutil.copy",
    "shutil.copyfile",
    "shutil.copy2",
    "shutil.copytree",
    "shutil.move",
    "shutil.rmtree",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.replace",
    "os.makedirs",
    "os.mkdir",
    "os.rmdir",
    "os.chmod",
];

fn writes_files(call: &Call) -> bool {
    let opens_for_writing = call.is(&["open", "io.open", "codecs.open"]) && call.strings.iter().any(|m| is_write_mode(m));
    opens_for_writing || call.is(&FS_WRITERS) || call.callee.ends_with(".write_text") || call.callee.ends_with(".write_bytes")
}

/// A file mode that writes (`w`, `wb`, `a`, `x+`, …).
pub(crate) fn is_write_mode(m: &str) -> bool {
    m.len() <= 3 && m.chars().all(|c| "rwxabt+".contains(c)) && m.contains(['w', 'a', 'x'])
}

/// The capabilities shown by one Python file's facts.
pub fn of_python(facts: &Facts) -> BTreeSet<Capability> {
    let mut caps = BTreeSet::new();
    if facts.calls.iter().any(is_network) || NETWORK_MODULES.iter().any(|m| facts.imports_module(m)) {
        caps.insert(Capability::Network);
    }
    if facts.calls.iter().any(is_process) {
        caps.insert(Capability::Subprocess);
    }
    if facts.calls.iter().any(|c| (c.is(&EXEC) && c.dynamic) || c.hidden) {
        caps.insert(Capability::Exec);
    }
    if facts.calls.iter().any(writes_files) {
        caps.insert(Capability::FilesystemWrite);
    }
    let env = facts
        .calls
        .iter()
        .any(|c| c.callee.starts_with("os.environ") || c.is(&["os.getenv", "os.putenv"]) || c.arg_texts.iter().any(|a| a.contains("os.environ")));
    if env {
        caps.insert(Capability::EnvAccess);
    }
    caps
}

/// Capabilities visible in a file's text alone, for files the prefilter
/// skipped (so no parse): writing files is the one that matters there.
pub fn of_text(text: &str) -> BTreeSet<Capability> {
    let mut caps = BTreeSet::new();
    let writes = [".write_text(", ".write_bytes(", "shutil.copy", "shutil.move", "shutil.rmtree", "os.makedirs(", "os.mkdir("].iter().any(|t| text.contains(t))
        || text.match_indices("open(").any(|(i, _)| {
            // 200 bytes on, cut back to a character boundary (the text is arbitrary UTF-8).
            let mut end = text.len().min(i + 200);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let window = &text[i..end];
            let window = window.split(')').next().unwrap_or("");
            ["'w'", "\"w\"", "'wb'", "\"wb\"", "'a'", "\"a\"", "'ab'", "\"ab\"", "'w+'", "\"w+\"", "'x'", "\"x\""].iter().any(|m| window.contains(m))
        });
    if writes {
        caps.insert(Capability::FilesystemWrite);
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::analyze;

    #[test]
    fn capabilities_follow_the_calls() {
        let caps =
            of_python(&analyze(b"import requests, subprocess, os\nrequests.get('u')\nsubprocess.run(['ls'])\nopen('f', 'w')\nos.getenv('HOME')\nexec(code)\n"));
        let names: Vec<&str> = caps.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["network", "subprocess", "exec", "filesystem-write", "env-access"]);
        assert!(of_python(&analyze(b"import json\nopen('f').read()\njson.loads('{}')\n")).is_empty());
    }

    #[test]
    fn text_screen_sees_file_writes() {
        assert!(of_text("with open(path, 'w') as f:\n    f.write(x)\n").contains(&Capability::FilesystemWrite));
        assert!(of_text("with open(path) as f:\n    f.read()\n").is_empty());
        // A multi-byte character across the 200-byte window must not panic.
        assert!(of_text(&format!("open({}é)", "x".repeat(194))).is_empty());
    }
}
