//! Name protection, decided here for every way a release can be asked for
//! (a person's request through the dashboard, the API or the CLI, an
//! import, an index miss, and the worker again before it fetches):
//!
//! - **Reserved names** (`reserved_names`): an organization's own package
//!   names, exact or as `prefix-*` patterns, that Airlock must never fetch
//!   from the upstream index. Someone who publishes such a name upstream
//!   would otherwise be installed in place of the internal package
//!   (dependency confusion). A refusal is always an audit event.
//! - **Possible typosquats**: a new name a small edit away from a popular
//!   project or from one already approved is marked with the name it
//!   resembles. The store records the mark but does not decide it: the
//!   resemblance test comes from the caller ([`NamePolicy::resembles`]),
//!   because the popular-name list belongs to the inspection engine and
//!   the store must not depend on it.

use std::fmt;

use crate::audit;
use crate::db::AnyConnection;
use crate::domain::{normalize, ProjectName};
use crate::error::{StoreError, StoreResult};

/// One `reserved_names` entry, normalized per PEP 503.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exactly this project.
    Exact(String),
    /// Every project whose normalized name starts with this text (the entry
    /// without its `*`): `acme-*` is `acme-`, which `acme` itself is not.
    Prefix(String),
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(name) => f.write_str(name),
            Pattern::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// The names Airlock never fetches from the upstream index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedNames {
    patterns: Vec<Pattern>,
}

impl ReservedNames {
    /// Parse `reserved_names` entries: `name` or `prefix*` (usually
    /// `prefix-*`). Blank entries are skipped; a `*` anywhere but at the end,
    /// a bare `*` or an invalid name is a configuration error naming the entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> StoreResult<ReservedNames> {
        let mut patterns = Vec::new();
        for entry in entries {
            let raw = entry.as_ref().trim();
            if raw.is_empty() {
                continue;
            }
            let bad = |why: &str| StoreError::Config(format!("reserved_names entry {raw:?} {why}; write a project name or a prefix such as acme-*"));
            let (stem, prefix) = match raw.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (raw, false),
            };
            if stem.contains('*') {
                return Err(bad("has a * that is not at its end"));
            }
            if stem.is_empty() {
                return Err(bad("would reserve every name"));
            }
            if !stem.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) || !stem.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Err(bad("is not a valid project name or prefix"));
            }
            let pattern = if prefix {
                Pattern::Prefix(normalize(stem))
            } else {
                Pattern::Exact(ProjectName::parse(stem).map_err(|_| bad("is not a valid project name"))?.as_str().to_string())
            };
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        Ok(ReservedNames { patterns })
    }

    /// The entry (normalized, `*` included) that reserves `name`, if any.
    /// `name` is compared in its PEP 503 normal form, however it is spelled.
    pub fn matching(&self, name: &str) -> Option<String> {
        let name = normalize(name.trim());
        self.patterns
            .iter()
            .find(|p| match p {
                Pattern::Exact(exact) => *exact == name,
                Pattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
            })
            .map(|p| p.to_string())
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The entries, normalized, as configured.
    pub fn entries(&self) -> Vec<String> {
        self.patterns.iter().map(|p| p.to_string()).collect()
    }
}

/// Which known project `name` (normalized) resembles, given the names of
/// the approved projects: the mark's value, or None.
pub type ResemblesFn = fn(name: &str, approved: &[String]) -> Option<String>;

/// What a request for a release must pass and what it is marked with.
#[derive(Debug, Clone, Default)]
pub struct NamePolicy {
    pub reserved: ReservedNames,
    /// None: no typosquat marking (store tests, tools without the list).
    pub resembles: Option<ResemblesFn>,
}

impl NamePolicy {
    pub fn new(reserved: ReservedNames, resembles: ResemblesFn) -> NamePolicy {
        NamePolicy { reserved, resembles: Some(resembles) }
    }
}

/// The audit action of every refusal of a reserved name.
pub const REFUSED_ACTION: &str = "reserved_name.refused";

/// What a developer should do about a reserved name, in one sentence.
pub fn reserved_advice(name: &str, pattern: &str) -> String {
    format!("{name} is a reserved name (reserved_names: {pattern}): Airlock never fetches it from the upstream index; publish it to your internal index")
}

/// Record that a reserved name was refused: `how` says what asked for it
/// (a request, an index miss, the mirror job), `target` what was asked.
pub fn record_refusal(conn: &mut AnyConnection, actor: Option<&str>, target: &str, pattern: &str, how: &str) -> StoreResult<()> {
    audit::record(
        conn,
        actor,
        REFUSED_ACTION,
        target,
        &format!("{how} refused: matches reserved_names entry {pattern}; nothing was fetched from the upstream index"),
    )?;
    let payload = serde_json::json!({ "target": target, "pattern": pattern, "how": how, "by": actor });
    crate::notify::record(conn, crate::notify::Kind::NameReserved, &format!("{how} of {target} refused: reserved name ({pattern})"), payload)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_and_prefixes_match_normalized_names() {
        let r = ReservedNames::parse(&["Acme_Internal", "corp-*", " ", "Team.Tools*"]).unwrap();
        assert_eq!(r.entries(), ["acme-internal", "corp-*", "team-tools*"]);
        assert_eq!(r.matching("acme-internal").as_deref(), Some("acme-internal"));
        assert_eq!(r.matching("ACME.internal").as_deref(), Some("acme-internal"), "compared in PEP 503 form");
        assert_eq!(r.matching("acme-internal2"), None, "an exact entry is not a prefix");
        assert_eq!(r.matching("corp-auth").as_deref(), Some("corp-*"));
        assert_eq!(r.matching("Corp_Billing.API").as_deref(), Some("corp-*"));
        assert_eq!(r.matching("corp"), None, "corp-* needs the dash");
        assert_eq!(r.matching("corporate"), None);
        assert_eq!(r.matching("team-toolsmith").as_deref(), Some("team-tools*"));
        assert_eq!(r.matching("requests"), None);
        assert!(ReservedNames::default().matching("anything").is_none());
    }

    #[test]
    fn bad_entries_are_configuration_errors_naming_the_entry() {
        for bad in ["*", "-*", "a*b", "ac*me-*", "acme/x", "acme internal", "-acme"] {
            let err = ReservedNames::parse(&[bad]).unwrap_err().to_string();
            assert!(err.contains("reserved_names") && err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
        assert_eq!(ReservedNames::parse(&["a", "A", "a"]).unwrap().entries(), ["a"], "duplicates collapse");
    }

    #[test]
    fn the_refusal_names_the_pattern_and_the_next_step() {
        let err = StoreError::Reserved { name: "acme-auth".into(), pattern: "acme-*".into() };
        assert_eq!(
            err.to_string(),
            "acme-auth is a reserved name (reserved_names: acme-*): Airlock never fetches it from the upstream index; publish it to your internal index"
        );
    }
}
