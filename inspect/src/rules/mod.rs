//! The rule table and the rule runner. Each rule has an id, a default
//! severity and a one-line description; the description doubles as the
//! rule's documentation. Rules read a [`Dist`] and return findings.

mod install_hooks;
mod native;

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
    Rule { id: "archive/link-escape", severity: Severity::High, description: "A symlink or hardlink points outside the archive." },
    Rule { id: "archive/special-entry", severity: Severity::High, description: "A device, fifo or other special entry, never expected in a distribution." },
    Rule { id: "archive/duplicate-entry", severity: Severity::Medium, description: "Two entries share a name; installers may pick either." },
    Rule { id: "archive/non-utf8-name", severity: Severity::Medium, description: "An entry name is not valid UTF-8." },
    Rule { id: "archive/long-path", severity: Severity::Medium, description: "An entry name is unreasonably long." },
    Rule { id: "archive/deep-path", severity: Severity::Medium, description: "An entry is nested unreasonably deep." },
    Rule { id: "archive/too-many-entries", severity: Severity::High, description: "The archive has more entries than the limit; the rest was not read." },
    Rule { id: "archive/too-large", severity: Severity::High, description: "The archive unpacks to more than the size limit; the rest was not read." },
    Rule { id: "archive/decompression-bomb", severity: Severity::High, description: "An entry or the whole stream expands far beyond any real package (a zip or gzip bomb)." },
    Rule { id: "metadata/missing", severity: Severity::Medium, description: "No core metadata (METADATA or PKG-INFO) where the format requires it." },
    Rule { id: "install-hook/setup-py", severity: Severity::Medium, description: "The sdist has a setup.py, which runs with the installing user's rights when it is built; high when it does more than call setup()." },
    Rule { id: "install-hook/pth-file", severity: Severity::Medium, description: "A .pth file is installed into site-packages; its `import` lines run at every interpreter start (high)." },
    Rule { id: "native/binary", severity: Severity::Low, description: "A bundled native executable or library, which static analysis of Python cannot see into." },
];

/// Look up a rule by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Run every rule on the distribution.
pub fn run(dist: &Dist) -> Vec<Finding> {
    let mut out = Vec::new();
    install_hooks::setup_py(dist, &mut out);
    install_hooks::pth_files(dist, &mut out);
    native::binaries(dist, &mut out);
    out
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
