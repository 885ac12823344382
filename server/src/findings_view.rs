//! The findings of a release as the auditor's desk shows them: one card per
//! rule, most severe first, listing its places (file:line) — so 176
//! identical `native/binary` findings are one card, not 176. A file that
//! is the same in the wheel and the sdist (same path inside the package,
//! same line and text) is one place naming both archives. Each place shows
//! the verdict in force on it (given on this release, or carried from an
//! earlier version whose cited code is unchanged); a rule suppressed for
//! the project is a collapsed card with the reason.

use std::collections::HashMap;

use airlock_inspect::{DistKind, Severity};
use airlock_store::files::FileRow;
use airlock_store::finding_reviews::{FindingKey, ReviewNote};
use airlock_store::suppressions::Suppression;

use crate::routes::release::viewer_href;
use crate::views::format_time;

/// Places shown open on a card when it has at most this many.
const OPEN_UP_TO: usize = 5;

/// The verdict in force on a place, as shown.
pub struct PlaceReview {
    /// `acknowledged` or `false_positive` (a CSS class).
    pub verdict: &'static str,
    pub label: &'static str,
    pub user: String,
    pub comment: String,
    pub when: String,
    /// The version it was given on, when it is carried from another one.
    pub carried_from: Option<String>,
}

/// One place of a rule: a finding, or the same finding in several archives.
pub struct Place {
    /// The findings' ids, comma-separated (for the verdict form).
    pub finding_ids: String,
    /// The distribution files it is in (the wheel and the sdist, when both).
    pub archives: Vec<String>,
    pub path: Option<String>,
    pub line: Option<i64>,
    /// The file viewer at the line, in the first archive.
    pub href: Option<String>,
    pub severity: Severity,
    /// The message, when it differs from the card's.
    pub message: Option<String>,
    pub snippet: Option<String>,
    pub review: Option<PlaceReview>,
}

/// All places of one rule.
pub struct RuleCard {
    pub rule: String,
    /// `/docs/rules#<rule>`.
    pub doc_href: String,
    /// The rule's one-line description, when the engine knows the rule.
    pub description: Option<&'static str>,
    /// The most severe of its places.
    pub severity: Severity,
    pub message: String,
    pub places: Vec<Place>,
    /// Every finding id of the card, comma-separated (the card-wide form).
    pub finding_ids: String,
    /// Places with a verdict in force.
    pub reviewed: usize,
    /// The suppression's reason, when the rule is suppressed for the project.
    pub suppressed: Option<String>,
    /// Whether its places are shown open.
    pub open: bool,
}

impl RuleCard {
    pub fn findings(&self) -> usize {
        self.finding_ids.split(',').filter(|s| !s.is_empty()).count()
    }
}

/// Where the documentation of a rule is.
pub fn rule_doc_href(rule: &str) -> String {
    format!("/docs/rules#{}", crate::views::url_part(rule).replace("%2F", "/"))
}

fn review_view(note: &ReviewNote, release_id: i64) -> PlaceReview {
    PlaceReview {
        verdict: note.verdict.as_str(),
        label: note.verdict.label(),
        user: note.user.clone(),
        comment: note.comment.clone(),
        when: format_time(note.created_at),
        carried_from: (note.release_id != release_id).then(|| note.version.clone()),
    }
}

/// Each distribution file's kind, by file name.
pub fn dist_kinds(files: &[FileRow]) -> HashMap<&str, DistKind> {
    files.iter().map(|f| (f.filename.as_str(), f.dist_kind)).collect()
}

/// What a verdict on the finding `f` of the distribution `filename` is keyed by.
pub fn finding_key(kinds: &HashMap<&str, DistKind>, f: &airlock_store::files::FindingRow, filename: &str) -> FindingKey {
    FindingKey::of(f, kinds.get(filename).copied().unwrap_or(DistKind::Unknown))
}

/// Group a release's findings into rule cards, most severe first
/// (suppressed rules last).
pub fn cards(
    findings: &[(airlock_store::files::FindingRow, String)],
    files: &[FileRow],
    reviews: &HashMap<FindingKey, ReviewNote>,
    suppressions: &[Suppression],
    release_id: i64,
    base: &str,
) -> Vec<RuleCard> {
    let kinds = dist_kinds(files);
    let mut cards: Vec<RuleCard> = Vec::new();
    let mut by_rule: HashMap<String, usize> = HashMap::new();
    // (card, key, line, message) -> place index in that card.
    let mut by_place: HashMap<(usize, FindingKey, Option<i64>, String), usize> = HashMap::new();
    for (f, filename) in findings {
        let card_index = *by_rule.entry(f.rule.clone()).or_insert_with(|| {
            cards.push(RuleCard {
                rule: f.rule.clone(),
                doc_href: rule_doc_href(&f.rule),
                description: airlock_inspect::rules::rule(&f.rule).map(|r| r.description),
                severity: f.severity,
                message: f.message.clone(),
                places: Vec::new(),
                finding_ids: String::new(),
                reviewed: 0,
                suppressed: suppressions.iter().find(|s| s.rule == f.rule).map(|s| s.reason.clone()),
                open: false,
            });
            cards.len() - 1
        });
        let card = &mut cards[card_index];
        card.severity = card.severity.max(f.severity);
        if !card.finding_ids.is_empty() {
            card.finding_ids.push(',');
        }
        card.finding_ids.push_str(&f.id.to_string());
        let key = finding_key(&kinds, f, filename);
        let place_key = (card_index, key.clone(), f.line, f.message.clone());
        if let Some(&i) = by_place.get(&place_key) {
            let place = &mut card.places[i];
            place.finding_ids.push_str(&format!(",{}", f.id));
            if !place.archives.contains(filename) {
                place.archives.push(filename.clone());
            }
            continue;
        }
        by_place.insert(place_key, card.places.len());
        card.places.push(Place {
            finding_ids: f.id.to_string(),
            archives: vec![filename.clone()],
            path: f.path.clone(),
            line: f.line,
            href: f.path.as_ref().map(|p| viewer_href(base, filename, p, f.line)),
            severity: f.severity,
            message: (f.message != card.message).then(|| f.message.clone()),
            snippet: f.snippet.clone().filter(|s| !s.is_empty()),
            review: reviews.get(&key).map(|n| review_view(n, release_id)),
        });
    }
    for card in &mut cards {
        card.places.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        card.reviewed = card.places.iter().filter(|p| p.review.is_some()).count();
        card.open = card.suppressed.is_none() && card.places.len() <= OPEN_UP_TO;
    }
    cards.sort_by(|a, b| a.suppressed.is_some().cmp(&b.suppressed.is_some()).then(b.severity.cmp(&a.severity)).then(a.rule.cmp(&b.rule)));
    cards
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_store::files::FindingRow;
    use airlock_store::finding_reviews::Verdict;

    fn file(name: &str, kind: &str) -> FileRow {
        FileRow {
            id: 1,
            release_id: 1,
            filename: name.into(),
            sha256: String::new(),
            size: 0,
            upstream_url: String::new(),
            requires_python: None,
            yanked: None,
            upload_time: None,
            metadata_sha256: None,
            dist_kind: DistKind::parse(kind).unwrap(),
            inspected: true,
            max_severity: Severity::None,
            core_metadata: None,
            created_at: 0,
            capabilities: None,
            risk_score: 0,
            entries: None,
            upstream_removed_at: None,
        }
    }

    fn finding(id: i64, rule: &str, severity: &str, path: &str, line: Option<i64>, snippet: Option<&str>) -> FindingRow {
        FindingRow {
            id,
            file_id: 1,
            rule: rule.into(),
            severity: Severity::parse(severity).unwrap(),
            path: Some(path.into()),
            line,
            message: format!("{rule} message"),
            snippet: snippet.map(String::from),
        }
    }

    #[test]
    fn findings_group_by_rule_worst_first_and_shared_files_show_once() {
        let (whl, sdist) = ("demo-1.0-py3-none-any.whl".to_string(), "demo-1.0.tar.gz".to_string());
        let files = [file(&whl, "wheel"), file(&sdist, "sdist")];
        let mut findings = Vec::new();
        for i in 0..176 {
            findings.push((finding(i, "native/binary", "low", &format!("demo/_m{i}.so"), None, None), whl.clone()));
        }
        findings.push((finding(500, "payload/exec-dynamic", "medium", "demo/run.py", Some(3), Some("exec(code)")), whl.clone()));
        findings.push((finding(501, "payload/exec-dynamic", "medium", "demo-1.0/src/demo/run.py", Some(3), Some("exec(code)")), sdist.clone()));
        findings.push((finding(502, "payload/exec-decoded", "critical", "demo/evil.py", Some(1), Some("exec(b64decode(x))")), whl.clone()));
        let mut reviews = HashMap::new();
        let key = FindingKey { rule: "payload/exec-dynamic".into(), place: "demo/run.py".into(), cited: "exec(code)".into() };
        reviews.insert(
            key,
            ReviewNote {
                release_id: 7,
                version: "0.9".into(),
                verdict: Verdict::Acknowledged,
                comment: "plugin table".into(),
                user: "alice".into(),
                created_at: 0,
            },
        );
        let suppressions = [Suppression {
            id: 1,
            project: "demo".into(),
            rule: "native/binary".into(),
            reason: "C extension".into(),
            created_by: "root".into(),
            created_at: 0,
        }];

        let cards = cards(&findings, &files, &reviews, &suppressions, 8, "/releases/demo/1.0");
        let rules: Vec<&str> = cards.iter().map(|c| c.rule.as_str()).collect();
        assert_eq!(rules, ["payload/exec-decoded", "payload/exec-dynamic", "native/binary"], "worst first, suppressed last");
        assert_eq!(cards[2].places.len(), 176);
        assert_eq!((cards[2].suppressed.as_deref(), cards[2].open, cards[2].findings()), (Some("C extension"), false, 176));
        let exec = &cards[1];
        assert_eq!(exec.places.len(), 1, "the wheel's and the sdist's copy are one place");
        assert_eq!(exec.places[0].archives, [whl.clone(), sdist.clone()]);
        assert_eq!(exec.places[0].finding_ids, "500,501");
        let review = exec.places[0].review.as_ref().expect("carried verdict");
        assert_eq!((review.carried_from.as_deref(), review.user.as_str(), review.label), (Some("0.9"), "alice", "acknowledged"));
        assert_eq!(exec.reviewed, 1);
        assert_eq!(cards[0].doc_href, "/docs/rules#payload/exec-decoded");
        assert!(cards[0].description.is_some() && cards[0].open);
    }
}
