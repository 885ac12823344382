//! The analysis work budget of one archive ([`Limits::analysis_budget_per_file`]
//! and [`Limits::analysis_budget_per_archive`]). The analysis is linear in
//! the code, but a large or hostile archive can still hold a lot of it; the
//! budget bounds the time any archive takes, in work units rather than
//! seconds, so the same archive gets the same findings on any machine and
//! under any load. Running out is a finding, never a silent pass: code that
//! could not be analysed must be read by a person.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::archive::Limits;
use crate::finding::{Finding, Severity};
use crate::python::{analyze_within, Facts};
use crate::rules::finding;

pub const RULE: &str = "analysis/budget-exceeded";

/// The work allowed per file and per archive, and the work spent so far.
#[derive(Debug)]
pub struct AnalysisBudget {
    pub per_file: u64,
    pub per_archive: u64,
    spent: AtomicU64,
}

impl AnalysisBudget {
    pub fn new(limits: &Limits) -> AnalysisBudget {
        AnalysisBudget { per_file: limits.analysis_budget_per_file, per_archive: limits.analysis_budget_per_archive, spent: AtomicU64::new(0) }
    }

    /// Analyse `src` within `allowed` units of work (at most the per-file
    /// budget), counting what it spends against the archive.
    pub fn analyze(&self, src: &[u8], allowed: u64) -> Facts {
        let facts = analyze_within(src, allowed.min(self.per_file));
        self.spent.fetch_add(facts.work, Ordering::Relaxed);
        facts
    }

    /// Work spent on the archive so far.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// True once the archive's work passed its budget.
    pub fn archive_exhausted(&self) -> bool {
        self.spent() > self.per_archive
    }
}

/// The finding for a file whose analysis ran out of its budget.
pub fn file_exceeded(path: &str, budget: u64, severity: Severity) -> Finding {
    finding(
        RULE,
        severity,
        path,
        None,
        format!("the code could not be analysed within the budget of {budget} units of work per file; what was analysed is reported, the rest must be read by a person"),
    )
}

/// The finding for the file where the archive's budget ran out.
pub fn archive_exceeded(path: &str, budget: u64, skipped_after: usize) -> Finding {
    finding(
        RULE,
        Severity::High,
        path,
        None,
        format!(
            "the archive's code could not be analysed within the budget of {budget} units of work per archive: this file and {skipped_after} Python file(s) after it were not analysed and must be read by a person"
        ),
    )
}
