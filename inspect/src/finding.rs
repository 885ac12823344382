//! Findings and their severities: what a rule reports, where, and how bad.

use serde::{Deserialize, Serialize};

/// How much a finding should worry an auditor. Ordered from `None` to `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    None,
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Points a finding of this severity adds to a risk score.
    pub const fn weight(self) -> u64 {
        match self {
            Severity::Critical => 100,
            Severity::High => 40,
            Severity::Medium => 10,
            Severity::Low => 3,
            Severity::Info | Severity::None => 0,
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::None, Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a rule noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id, e.g. `install-hook/setup-py`.
    pub rule: String,
    pub severity: Severity,
    /// Path inside the archive.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    pub message: String,
    /// The offending line, trimmed to at most 200 characters.
    pub snippet: Option<String>,
    /// Further places where the same rule found the same thing at the same
    /// severity in this distribution (`file` and `line` are the first): one
    /// finding per rule and severity, so a release's risk does not grow
    /// with its number of files alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Place>,
}

impl Finding {
    /// The finding once per place: itself, then one copy for each of its
    /// [`Finding::also`] places (for readers that want one row per place).
    /// Each copy carries the message as the rule wrote it, without the
    /// "(also at …)" that [`group`] added.
    pub fn each_place(&self) -> Vec<Finding> {
        let message = match self.also.is_empty() {
            true => self.message.clone(),
            false => self.message.rfind(ALSO_AT).map_or(self.message.as_str(), |i| &self.message[..i]).to_string(),
        };
        let one = Finding { also: Vec::new(), message, ..self.clone() };
        let mut out = vec![one.clone()];
        out.extend(self.also.iter().map(|p| Finding { file: p.file.clone(), line: p.line, snippet: p.snippet.clone(), ..one.clone() }));
        out
    }
}

/// A place in a distribution: a file and a line in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The line at this place, trimmed as [`Finding::snippet`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// What [`group`] appends to a grouped finding's message, before the places.
const ALSO_AT: &str = " (also at ";

/// Places listed in full in a grouped finding's message; the rest are counted.
const PLACES_IN_MESSAGE: usize = 3;

/// Fold findings of one rule and severity into the first of them, in
/// order: the others become its [`Finding::also`] places, and its message
/// says how many there are.
pub fn group(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut first: std::collections::HashMap<(String, Severity), usize> = std::collections::HashMap::new();
    for f in findings {
        match first.get(&(f.rule.clone(), f.severity)) {
            Some(&i) => out[i].also.push(Place { file: f.file, line: f.line, snippet: f.snippet }),
            None => {
                first.insert((f.rule.clone(), f.severity), out.len());
                out.push(f);
            }
        }
    }
    for f in out.iter_mut().filter(|f| !f.also.is_empty()) {
        let shown: Vec<String> = f.also.iter().take(PLACES_IN_MESSAGE).map(|p| place_text(p.file.as_deref(), p.line)).collect();
        let more = f.also.len().saturating_sub(PLACES_IN_MESSAGE);
        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
        f.message = format!("{}{ALSO_AT}{}{tail})", f.message, shown.join(", "));
    }
    out
}

fn place_text(file: Option<&str>, line: Option<u32>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!("{f}:{l}"),
        (Some(f), None) => f.to_string(),
        _ => "the archive".to_string(),
    }
}

/// Most behaviours a [`why`] names.
const WHY_ITEMS: usize = 2;

/// Why a distribution is where it is in the queue, in a line or two: the
/// rules behind its highest findings (distinct rules, worst first), each
/// with its message and first place. Empty when nothing is medium or worse.
pub fn why(findings: &[Finding]) -> Vec<String> {
    let mut ranked: Vec<&Finding> = findings.iter().filter(|f| f.severity >= Severity::Medium).collect();
    // Stable: among equals, the archive's order (install hooks and code before metadata).
    ranked.sort_by_key(|f| std::cmp::Reverse((f.severity, f.also.len().min(1))));
    let mut seen = std::collections::HashSet::new();
    ranked
        .into_iter()
        .filter(|f| seen.insert(f.rule.as_str()))
        .take(WHY_ITEMS)
        .map(|f| {
            let message = snippet(&f.message);
            format!("{} {}: {message} ({})", f.severity.as_str(), f.rule, place_text(f.file.as_deref(), f.line))
        })
        .collect()
}

/// Longest snippet kept, in characters.
pub const MAX_SNIPPET: usize = 200;

/// Trim a line for display in a finding.
pub fn snippet(line: &str) -> String {
    let t = line.trim();
    if t.chars().count() <= MAX_SNIPPET {
        t.to_string()
    } else {
        let mut s: String = t.chars().take(MAX_SNIPPET - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod place_tests {
    use super::*;

    fn at(file: &str, line: u32, text: &str) -> Finding {
        Finding {
            rule: "payload/exec-dynamic".into(),
            severity: Severity::Medium,
            file: Some(file.into()),
            line: Some(line),
            message: "exec of code built at run time".into(),
            snippet: Some(text.into()),
            also: Vec::new(),
        }
    }

    #[test]
    fn each_place_of_a_grouped_finding_keeps_its_line_and_the_plain_message() {
        let grouped = group(vec![at("a.py", 3, "exec(code)"), at("b.py", 9, "eval(expr)")]);
        assert_eq!(grouped.len(), 1);
        assert!(grouped[0].message.ends_with("(also at b.py:9)"), "{}", grouped[0].message);
        let places = grouped[0].each_place();
        let seen: Vec<_> = places.iter().map(|f| (f.file.as_deref(), f.line, f.snippet.as_deref(), f.message.as_str())).collect();
        assert_eq!(
            seen,
            [
                (Some("a.py"), Some(3), Some("exec(code)"), "exec of code built at run time"),
                (Some("b.py"), Some(9), Some("eval(expr)"), "exec of code built at run time")
            ]
        );
    }
}
