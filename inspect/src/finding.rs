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

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::None, Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|v| v.as_str() == s)
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
