//! Domain types parsed at the boundary (API, CLI, upstream), so the rest of
//! Airlock only ever holds valid values: normalized project names, PEP 440
//! versions, lowercase sha256 digests, roles and release states.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Longest version string accepted (PEP 440 sets none; real ones are short).
pub const MAX_VERSION_LEN: usize = 128;
/// Longest `name==version` requirement accepted.
pub const MAX_REQUIREMENT_LEN: usize = 400;

/// Client text quoted in an error, cut to a readable length.
fn shown(raw: &str) -> String {
    let mut out: String = raw.chars().take(80).collect();
    if out.len() < raw.len() {
        out.push('…');
    }
    out
}

/// A project name normalized per PEP 503: lowercase, runs of `-`, `_` and `.`
/// collapsed to one `-`. Only names valid under PEP 508 are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let raw = raw.trim();
        let valid = !raw.is_empty()
            && raw.len() <= 200
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && raw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && raw.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(StoreError::Invalid(format!("not a valid project name: {:?}", shown(raw))));
        }
        Ok(ProjectName(normalize(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The project a PEP 508 requirement names, normalized. For showing or
/// grouping a requirement, so one that pep508_rs refuses (metadata is
/// hostile input) still shows under its leading name.
pub fn requirement_name(req: &str) -> Option<String> {
    if let Ok(parsed) = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(req.trim()) {
        return Some(parsed.name.to_string());
    }
    let name: String = req.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    (!name.is_empty()).then(|| normalize(&name))
}

/// The PEP 503 normalized form of a project name (one function for every crate).
pub use airlock_inspect::name::normalize;

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A PEP 440 version, kept with its normalized text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    parsed: pep440_rs::Version,
    text: String,
}

impl Version {
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let raw = raw.trim();
        if raw.len() > MAX_VERSION_LEN {
            return Err(StoreError::Invalid(format!("a version is at most {MAX_VERSION_LEN} bytes, this one has {}", raw.len())));
        }
        let parsed = pep440_rs::Version::from_str(raw).map_err(|e| StoreError::Invalid(format!("not a valid PEP 440 version {:?}: {e}", shown(raw))))?;
        Ok(Version { text: parsed.to_string(), parsed })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn pep440(&self) -> &pep440_rs::Version {
        &self.parsed
    }

    /// True when `other` is the same version under PEP 440 (`1.0` == `1.0.0`).
    pub fn matches(&self, other: &str) -> bool {
        pep440_rs::Version::from_str(other).is_ok_and(|v| v == self.parsed)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `name==version`: the only requirement form Airlock mirrors, since an
/// auditor reviews exact releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedRequirement {
    pub name: ProjectName,
    pub version: Version,
}

impl PinnedRequirement {
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let (name, version, _) = Self::parse_with_extras(raw)?;
        Ok(PinnedRequirement { name, version })
    }

    /// The extras written in `raw` (`name[a,b]==1.0`), normalized; at most 32.
    pub fn extras_of(raw: &str) -> Result<Vec<String>, StoreError> {
        let (_, _, extras) = Self::parse_with_extras(raw)?;
        if extras.len() > 32 {
            return Err(StoreError::Invalid(format!("requirement {:?} has more than 32 extras", shown(raw))));
        }
        Ok(extras)
    }

    /// A PEP 508 requirement that pins one exact version (`==`, no
    /// wildcard, no URL, no environment marker), with its extras.
    fn parse_with_extras(raw: &str) -> Result<(ProjectName, Version, Vec<String>), StoreError> {
        use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};
        let raw = raw.trim();
        if raw.len() > MAX_REQUIREMENT_LEN {
            return Err(StoreError::Invalid(format!("a requirement is at most {MAX_REQUIREMENT_LEN} bytes, this one has {}", raw.len())));
        }
        let req = Requirement::<VerbatimUrl>::from_str(raw)
            .map_err(|e| StoreError::Invalid(format!("requirement {:?}: {}", shown(raw), first_line(&e.to_string()))))?;
        let pinned = || StoreError::Invalid(format!("requirement {:?} must pin one exact version, as name==version", shown(raw)));
        if !req.marker.is_true() {
            return Err(StoreError::Invalid(format!("requirement {:?} must not carry an environment marker: Airlock mirrors exact releases", shown(raw))));
        }
        let version = match &req.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specs)) => match specs.iter().collect::<Vec<_>>().as_slice() {
                [only] if *only.operator() == pep440_rs::Operator::Equal => only.version().to_string(),
                _ => return Err(pinned()),
            },
            _ => return Err(pinned()),
        };
        let extras = req.extras.iter().map(|e| e.to_string()).collect();
        Ok((ProjectName::parse(req.name.as_ref())?, Version::parse(&version)?, extras))
    }
}

/// The first line of a parser's message (pep508_rs draws a caret under
/// the input on the next lines).
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

/// A sha256 digest as 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256(String);

impl Sha256 {
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let lower = raw.trim().to_ascii_lowercase();
        if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256(lower))
        } else {
            Err(StoreError::Invalid(format!("not a sha256 hex digest: {raw:?}")))
        }
    }

    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Sha256(hex::encode(sha2::Sha256::digest(bytes)))
    }

    /// The digest of everything `reader` yields, read in 64 KiB chunks (a
    /// large file is never held in memory).
    pub fn of_reader(reader: &mut impl std::io::Read) -> std::io::Result<Self> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Sha256::from_digest(&hasher.finalize()))
    }

    pub fn from_digest(digest: &[u8]) -> Self {
        Sha256(hex::encode(digest))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256 {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Sha256::parse(&s)
    }
}

impl From<Sha256> for String {
    fn from(s: Sha256) -> String {
        s.0
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user may do. Ordered: each role can do what the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Auditor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "auditor" => Ok(Role::Auditor),
            "admin" => Ok(Role::Admin),
            other => Err(StoreError::Invalid(format!("unknown role {other:?} (admin, auditor or viewer)"))),
        }
    }
}

/// Where a release is on its way from request to the index (stored as
/// [`ReleaseStatus::as_str`]; see [`crate::text_enums`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    Requested,
    Mirroring,
    Inspecting,
    AwaitingReview,
    Approved,
    Rejected,
    /// Was approved, then an auditor revoked the approval: out of the index.
    Revoked,
    Failed,
}

impl ReleaseStatus {
    pub const ALL: [ReleaseStatus; 8] = [
        ReleaseStatus::Requested,
        ReleaseStatus::Mirroring,
        ReleaseStatus::Inspecting,
        ReleaseStatus::AwaitingReview,
        ReleaseStatus::Approved,
        ReleaseStatus::Rejected,
        ReleaseStatus::Revoked,
        ReleaseStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Requested => "requested",
            ReleaseStatus::Mirroring => "mirroring",
            ReleaseStatus::Inspecting => "inspecting",
            ReleaseStatus::AwaitingReview => "awaiting_review",
            ReleaseStatus::Approved => "approved",
            ReleaseStatus::Rejected => "rejected",
            ReleaseStatus::Revoked => "revoked",
            ReleaseStatus::Failed => "failed",
        }
    }
}

impl ReleaseStatus {
    /// The status in words, for people: `awaiting review`, `mirroring`.
    pub fn label(self) -> &'static str {
        match self {
            ReleaseStatus::Requested => "requested",
            ReleaseStatus::Mirroring => "mirroring",
            ReleaseStatus::Inspecting => "inspecting",
            ReleaseStatus::AwaitingReview => "awaiting review",
            ReleaseStatus::Approved => "approved",
            ReleaseStatus::Rejected => "rejected",
            ReleaseStatus::Revoked => "revoked",
            ReleaseStatus::Failed => "failed",
        }
    }
}

/// How a release came to be asked for, recorded with it (`releases.request_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestSource {
    /// A person's request: dashboard, API or CLI.
    #[default]
    Request,
    /// A requirements or lock file imported.
    Import,
    /// An installer asked the index for a project Airlock did not have.
    Miss,
    /// A watched project's new upstream release.
    Watch,
    /// A dependency of another release, resolved by Airlock.
    Dependency,
}

impl RequestSource {
    pub const ALL: [RequestSource; 5] = [RequestSource::Request, RequestSource::Import, RequestSource::Miss, RequestSource::Watch, RequestSource::Dependency];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestSource::Request => "request",
            RequestSource::Import => "import",
            RequestSource::Miss => "miss",
            RequestSource::Watch => "watch",
            RequestSource::Dependency => "dependency",
        }
    }

    /// In words, for people: `index miss`.
    pub fn label(self) -> &'static str {
        match self {
            RequestSource::Request => "request",
            RequestSource::Import => "import",
            RequestSource::Miss => "index miss",
            RequestSource::Watch => "watch",
            RequestSource::Dependency => "dependency",
        }
    }

    /// A stored source; an unknown one (a newer version wrote it) reads as a request.
    pub fn of_stored(stored: &str) -> RequestSource {
        RequestSource::ALL.into_iter().find(|s| s.as_str() == stored).unwrap_or_default()
    }
}

impl FromStr for ReleaseStatus {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| StoreError::Invalid(format!("unknown release status {s:?}")))
    }
}

impl fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_client_text_is_refused_with_a_short_message() {
        let long = format!("1.{}", "0".repeat(10_000));
        let err = Version::parse(&long).unwrap_err().to_string();
        assert!(err.contains("at most 128 bytes") && err.len() < 200, "{err}");
        let err = PinnedRequirement::parse(&format!("demo=={long}")).unwrap_err().to_string();
        assert!(err.contains("at most 400 bytes") && err.len() < 200, "{err}");
        let err = ProjectName::parse(&"x-".repeat(5_000)).unwrap_err().to_string();
        assert!(err.len() < 200, "the error echoes the whole input: {} bytes", err.len());
        assert!(Version::parse(&format!("1.{}", "0".repeat(100))).is_ok(), "a long but sane version still parses");
    }

    #[test]
    fn project_names_normalize_per_pep_503() {
        assert_eq!(ProjectName::parse("Foo.Bar__baz").unwrap().as_str(), "foo-bar-baz");
        assert_eq!(ProjectName::parse("  requests ").unwrap().as_str(), "requests");
        assert_eq!(ProjectName::parse("A-_-.b").unwrap().as_str(), "a-b");
    }

    #[test]
    fn invalid_project_names_are_refused() {
        for bad in ["", "-foo", "foo-", "foo bar", "foo/../bar", "<script>", "ä"] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn extras_are_read_from_a_pinned_requirement() {
        assert_eq!(PinnedRequirement::extras_of("celery[Redis, msgpack]==5.4.0").unwrap(), ["redis", "msgpack"]);
        assert!(PinnedRequirement::extras_of("celery==5.4.0").unwrap().is_empty());
        assert!(PinnedRequirement::extras_of("celery[redis==5.4.0").is_err());
        assert!(PinnedRequirement::extras_of("celery[re dis;x]==5.4.0").is_err());
    }

    #[test]
    fn requirement_errors_say_what_is_wrong() {
        let marker = PinnedRequirement::parse("six==1.16.0; python_version < '3'").unwrap_err().to_string();
        assert!(marker.contains("environment marker"), "{marker}");
        let range = PinnedRequirement::parse("six>=1.0,<2").unwrap_err().to_string();
        assert!(range.contains("must pin one exact version"), "{range}");
        let broken = PinnedRequirement::parse("six[==1.0").unwrap_err().to_string();
        assert!(broken.starts_with("invalid input: requirement \"six[==1.0\"") && !broken.contains('\n'), "{broken}");
        assert_eq!(requirement_name("Zope.Interface[test] >=5; python_version>'3.8'").as_deref(), Some("zope-interface"));
        assert_eq!(requirement_name("Weird_Name (>=1.0"), Some("weird-name".into()), "a broken requirement still shows under its name");
    }

    #[test]
    fn pinned_requirements_parse_and_others_are_refused() {
        let r = PinnedRequirement::parse("Six == 1.16.0").unwrap();
        assert_eq!((r.name.as_str(), r.version.as_str()), ("six", "1.16.0"));
        let r = PinnedRequirement::parse("requests[socks]==2.31").unwrap();
        assert_eq!(r.name.as_str(), "requests");
        for bad in ["six", "six>=1.0", "six===1.0", "six==1.*", "six==not a version"] {
            assert!(PinnedRequirement::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn versions_compare_under_pep_440() {
        let v = Version::parse("1.0").unwrap();
        assert!(v.matches("1.0.0"));
        assert!(!v.matches("1.0.1"));
        assert_eq!(Version::parse("1.0.0-RC1").unwrap().as_str(), "1.0.0rc1");
    }

    #[test]
    fn sha256_accepts_only_64_hex_characters() {
        assert!(Sha256::parse(&"A".repeat(64)).is_ok());
        assert_eq!(Sha256::parse(&"A".repeat(64)).unwrap().as_str(), "a".repeat(64));
        assert!(Sha256::parse("abc").is_err());
        assert!(Sha256::parse(&"g".repeat(64)).is_err());
        assert_eq!(Sha256::of(b"").as_str(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin > Role::Auditor && Role::Auditor > Role::Viewer);
        assert_eq!("auditor".parse::<Role>().unwrap(), Role::Auditor);
        assert!("root".parse::<Role>().is_err());
    }
}
