//! OSV records (the Open Source Vulnerability format) for the PyPI
//! ecosystem, read and matched against versions. Pure: JSON in, typed
//! advisories out; a version in, "affected or not" out. No database, no
//! network.
//!
//! Only what Airlock acts on is modelled: the id, summary, severity, and
//! per affected PyPI package its `ranges` (type `ECOSYSTEM`: PEP 440
//! events `introduced`, `fixed`, `last_affected`) and explicit `versions`.
//! Other ecosystems and range types (`GIT`, `SEMVER`) are skipped.

use std::str::FromStr;

use pep440_rs::Version;
use serde::{Deserialize, Serialize};

use crate::domain::normalize;

/// One OSV record, as the export archive holds it (one JSON file each).
#[derive(Debug, Clone, Deserialize)]
pub struct OsvRecord {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub affected: Vec<OsvAffected>,
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OsvAffected {
    #[serde(default)]
    pub package: Option<OsvPackage>,
    #[serde(default)]
    pub ranges: Vec<OsvRange>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OsvPackage {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OsvRange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<OsvEvent>,
}

/// One range event: exactly one of its fields is set.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct OsvEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OsvSeverity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// What one advisory says of one PyPI project: the unit Airlock stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub osv_id: String,
    /// PEP 503-normalized.
    pub project: String,
    pub summary: String,
    /// `critical`, `high`, `medium`, `low` or `unknown`.
    pub severity: String,
    /// An OSV `MAL-` record: the package is malware.
    pub malicious: bool,
    pub affected: Affected,
    /// The record was withdrawn: it matches nothing, and replaces the
    /// stored one to say so.
    pub withdrawn: bool,
}

/// Which versions of one project an advisory covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// `ECOSYSTEM` ranges, each a list of events.
    pub ranges: Vec<Vec<OsvEvent>>,
    /// Versions named one by one.
    pub versions: Vec<String>,
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OsvError(pub String);

/// Read one OSV JSON document (`what` names it in errors): the PyPI
/// packages it affects, one [`Advisory`] each (none for a record about
/// other ecosystems only). A withdrawn record's entries are marked so and
/// cover no version.
pub fn parse(what: &str, json: &[u8]) -> Result<Vec<Advisory>, OsvError> {
    let record: OsvRecord = serde_json::from_slice(json).map_err(|e| OsvError(format!("{what}: not an OSV record: {e}")))?;
    let id = record.id.trim().to_string();
    if id.is_empty() || id.len() > 200 {
        return Err(OsvError(format!("{what}: an OSV record needs an id (at most 200 bytes)")));
    }
    let withdrawn = record.withdrawn.is_some();
    let malicious = id.starts_with("MAL-");
    let summary = record.summary.clone().or_else(|| record.details.clone()).unwrap_or_default();
    let summary: String = summary.lines().next().unwrap_or_default().chars().take(500).collect();
    let mut out: Vec<Advisory> = Vec::new();
    for affected in &record.affected {
        let Some(pkg) = affected.package.as_ref().filter(|p| p.ecosystem.eq_ignore_ascii_case("PyPI")) else { continue };
        let project = normalize(pkg.name.trim());
        if project.is_empty() || project.len() > 200 {
            continue;
        }
        let severity = severity_of(&record, affected).unwrap_or(if malicious { "critical" } else { "unknown" }).to_string();
        let ranges: Vec<Vec<OsvEvent>> = affected.ranges.iter().filter(|r| r.kind.eq_ignore_ascii_case("ECOSYSTEM")).map(|r| r.events.clone()).collect();
        let versions = affected.versions.iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        let entry = if withdrawn { Affected::default() } else { Affected { ranges, versions } };
        match out.iter_mut().find(|a| a.project == project) {
            // The same package twice in one record: its ranges add up.
            Some(a) => {
                a.affected.ranges.extend(entry.ranges);
                a.affected.versions.extend(entry.versions);
            }
            None => out.push(Advisory { osv_id: id.clone(), project, summary: summary.clone(), severity, malicious, affected: entry, withdrawn }),
        }
    }
    Ok(out)
}

/// The record's severity: `database_specific.severity` (the GitHub
/// advisory words, MODERATE being medium), else the highest CVSS score,
/// from its number or its v3 vector.
fn severity_of(record: &OsvRecord, affected: &OsvAffected) -> Option<&'static str> {
    let words = [affected.database_specific.as_ref(), record.database_specific.as_ref()];
    for db in words.into_iter().flatten() {
        if let Some(word) = db.get("severity").and_then(|s| s.as_str()) {
            match word.trim().to_ascii_lowercase().as_str() {
                "critical" => return Some("critical"),
                "high" => return Some("high"),
                "moderate" | "medium" => return Some("medium"),
                "low" => return Some("low"),
                _ => {}
            }
        }
    }
    let scores = affected.severity.iter().chain(&record.severity).filter_map(|s| cvss_score(&s.score));
    scores.fold(None, |best: Option<f64>, s| Some(best.map_or(s, |b| b.max(s)))).map(severity_of_score)
}

/// CVSS's qualitative rating of a base score.
pub fn severity_of_score(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "unknown",
    }
}

/// A CVSS base score: a plain number, or computed from a CVSS 3.x vector
/// (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`) with the
/// specification's base equations. Other vectors (v2, v4) give None.
/// Written here because the equations are a dozen lines and no kept crate
/// in the stack provides them.
pub fn cvss_score(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return (0.0..=10.0).contains(&n).then_some(n);
    }
    let rest = text.strip_prefix("CVSS:3.1/").or_else(|| text.strip_prefix("CVSS:3.0/"))?;
    let metric = |name: &str| rest.split('/').find_map(|m| m.strip_prefix(name).and_then(|m| m.strip_prefix(':')));
    let changed = match metric("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match metric("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match metric("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (metric("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match metric("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |m: &str| match metric(m) {
        Some("H") => Some(0.56),
        Some("L") => Some(0.22),
        Some("N") => Some(0.0),
        _ => None,
    };
    let iss = 1.0 - (1.0 - cia("C")?) * (1.0 - cia("I")?) * (1.0 - cia("A")?);
    let impact = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15) } else { 6.42 * iss };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Some(0.0);
    }
    let raw = if changed { (1.08 * (impact + exploitability)).min(10.0) } else { (impact + exploitability).min(10.0) };
    Some(round_up(raw))
}

/// CVSS 3.1's Roundup: the smallest one-decimal number at or above `x`.
fn round_up(x: f64) -> f64 {
    let int = (x * 100_000.0).round() as i64;
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}

impl Affected {
    /// Does this cover `version`? Named in `versions` (PEP 440 equality),
    /// or inside an `ECOSYSTEM` range: from an `introduced` (`0`: from the
    /// start) up to, not including, the next `fixed`, or up to and
    /// including the next `last_affected`. Events are taken in version
    /// order, as the OSV specification evaluates them; an event whose
    /// version does not parse is skipped.
    pub fn covers(&self, version: &Version) -> bool {
        if self.versions.iter().any(|v| Version::from_str(v).is_ok_and(|v| &v == version)) {
            return true;
        }
        self.ranges.iter().any(|events| in_range(events, version))
    }

    /// The `fixed` versions the ranges name.
    pub fn fixed(&self) -> Vec<String> {
        self.ranges.iter().flatten().filter_map(|e| e.fixed.clone()).collect()
    }
}

/// One event, its version parsed (None: `introduced: "0"`, before all).
enum Event {
    Introduced(Option<Version>),
    Fixed(Version),
    LastAffected(Version),
}

fn in_range(events: &[OsvEvent], version: &Version) -> bool {
    let parse = |v: &str| Version::from_str(v.trim()).ok();
    let mut parsed: Vec<Event> = events
        .iter()
        .filter_map(|e| match (&e.introduced, &e.fixed, &e.last_affected) {
            (Some(v), _, _) if v.trim() == "0" => Some(Event::Introduced(None)),
            (Some(v), _, _) => parse(v).map(|v| Event::Introduced(Some(v))),
            (None, Some(v), _) => parse(v).map(Event::Fixed),
            (None, None, Some(v)) => parse(v).map(Event::LastAffected),
            _ => None,
        })
        .collect();
    let key = |e: &Event| match e {
        Event::Introduced(v) => v.clone(),
        Event::Fixed(v) | Event::LastAffected(v) => Some(v.clone()),
    };
    parsed.sort_by_key(key);
    let mut affected = false;
    for event in &parsed {
        match event {
            Event::Introduced(None) => affected = true,
            Event::Introduced(Some(v)) if version >= v => affected = true,
            Event::Fixed(v) if version >= v => affected = false,
            Event::LastAffected(v) if version > v => affected = false,
            _ => {}
        }
    }
    affected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    const RECORD: &str = r#"{
      "id": "GHSA-aaaa-bbbb-cccc", "modified": "2026-11-01T00:00:00Z",
      "summary": "Remote code execution in Demo_Pkg\nmore",
      "affected": [
        {"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.2.1"}, {"introduced": "2.0"}, {"last_affected": "2.1"}]},
                    {"type": "GIT", "repo": "x", "events": [{"introduced": "0"}]}],
         "versions": ["0.9"]},
        {"package": {"ecosystem": "npm", "name": "demo-pkg"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}
      ],
      "database_specific": {"severity": "MODERATE"}
    }"#;

    #[test]
    fn ranges_and_versions_flag_exactly_the_affected_versions() {
        let advisories = parse("record", RECORD.as_bytes()).unwrap();
        assert_eq!(advisories.len(), 1, "the npm package is not ours");
        let a = &advisories[0];
        assert_eq!(
            (a.project.as_str(), a.severity.as_str(), a.summary.as_str(), a.malicious),
            ("demo-pkg", "medium", "Remote code execution in Demo_Pkg", false)
        );
        for (version, want) in [
            ("0.8", false),
            ("0.9", true),
            ("0.9.0", true),
            ("1.0", true),
            ("1.1rc1", true),
            ("1.2.0", true),
            ("1.2.1", false),
            ("1.5", false),
            ("2.0", true),
            ("2.1", true),
            ("2.1.post1", false),
            ("3.0", false),
        ] {
            assert_eq!(a.affected.covers(&v(version)), want, "{version}");
        }
        assert_eq!(a.affected.fixed(), ["1.2.1"]);
    }

    #[test]
    fn introduced_zero_covers_everything_before_the_fix_and_unsorted_events_still_work() {
        let events = vec![OsvEvent { fixed: Some("4.0".into()), ..OsvEvent::default() }, OsvEvent { introduced: Some("0".into()), ..OsvEvent::default() }];
        let a = Affected { ranges: vec![events], versions: vec![] };
        assert!(a.covers(&v("0.0.1")) && a.covers(&v("3.99")));
        assert!(!a.covers(&v("4.0")) && !a.covers(&v("10")));
        let open = Affected { ranges: vec![vec![OsvEvent { introduced: Some("2".into()), ..OsvEvent::default() }]], versions: vec![] };
        assert!(!open.covers(&v("1.9")) && open.covers(&v("2.0")) && open.covers(&v("99")), "no fix: affected from introduced on");
    }

    #[test]
    fn malicious_records_are_critical_and_withdrawn_ones_cover_nothing() {
        let mal = r#"{"id": "MAL-2026-1", "summary": "Malicious code in evil-pkg", "affected": [{"package": {"ecosystem": "PyPI", "name": "evil.pkg"}, "versions": ["1.0"]}]}"#;
        let a = &parse("mal", mal.as_bytes()).unwrap()[0];
        assert!(a.malicious);
        assert_eq!((a.project.as_str(), a.severity.as_str()), ("evil-pkg", "critical"));
        let withdrawn =
            r#"{"id": "GHSA-x", "withdrawn": "2026-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "versions": ["1.0"]}]}"#;
        let w = &parse("w", withdrawn.as_bytes()).unwrap()[0];
        assert!(w.withdrawn && !w.affected.covers(&v("1.0")), "a withdrawn record covers nothing");
        assert!(parse("bad", b"{\"summary\": 1}").unwrap_err().0.starts_with("bad: not an OSV record"));
        assert!(parse("bad", b"[]").is_err());
    }

    #[test]
    fn cvss_vectors_give_the_specification_scores() {
        assert_eq!(cvss_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some(9.8));
        assert_eq!(cvss_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), Some(6.1));
        assert_eq!(cvss_score("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"), Some(5.5));
        assert_eq!(cvss_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), Some(0.0));
        assert_eq!(cvss_score("7.5"), Some(7.5));
        assert_eq!(cvss_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None, "CVSS v2 is not read");
        let scored = r#"{"id": "PYSEC-1", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                         "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1"]}]}"#;
        assert_eq!(parse("s", scored.as_bytes()).unwrap()[0].severity, "critical");
    }
}
