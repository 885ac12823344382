//! Why an install of a name fails or succeeds, for the developer whose pip
//! printed only `from versions: none`: whether the name is reserved, which
//! releases Airlock has and in what state, which are served (approved,
//! files covered by the approval) or yanked, what recent index misses for
//! it set off, and one next step. `airlock why` and `GET /api/v1/why/<name>`
//! both print this one value, so the CLI's `--json` and the API agree.
//!
//! Read-only: explaining never requests, looks up or records anything.

use std::collections::HashMap;

use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::{ProjectName, ReleaseStatus, Version};
use crate::error::StoreResult;
use crate::index;
use crate::names::ReservedNames;
use crate::releases::{self, Release};
use crate::throttle::{self, Miss, MissOutcome};

/// Misses shown per project.
const MISSES_SHOWN: i64 = 10;

/// The explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    pub project: String,
    /// The version asked about, when one was (`NAME==VERSION`).
    pub version: Option<String>,
    /// The `reserved_names` entry that reserves the name.
    pub reserved: Option<String>,
    /// `approved`, `pending`, `rejected`, `failed` or `never_requested`
    /// (the project's most hopeful release).
    pub state: String,
    /// Whether an installer can get it (that version, when given) from
    /// Airlock's index now.
    pub installable: bool,
    /// Every release Airlock has of the project, newest request first.
    pub releases: Vec<WhyRelease>,
    /// The latest index misses for the name, newest first.
    pub misses: Vec<Miss>,
    /// One line: what is going on.
    pub summary: String,
    /// One line: what to do about it.
    pub next_step: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WhyRelease {
    pub version: String,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    /// Files the index serves of it (none unless approved).
    pub served_files: usize,
    /// PEP 592: why it is yanked, when every served file is (installers
    /// then take it only when pinned with `==`).
    pub yanked: Option<String>,
    pub possible_typosquat_of: Option<String>,
    /// For a rejected or revoked release: who decided so, and when.
    pub decided: Option<index::Refusal>,
}

impl WhyRelease {
    /// `1.0 was rejected by alice on …` for a refused release.
    fn refusal(&self) -> Option<String> {
        index::describe_refusal(&self.version, self.status, self.decided.as_ref())
    }

    fn served(&self) -> bool {
        self.served_files > 0
    }

    fn is(&self, statuses: &[ReleaseStatus]) -> bool {
        statuses.contains(&self.status)
    }
}

const IN_FLIGHT: [ReleaseStatus; 3] = [ReleaseStatus::Requested, ReleaseStatus::Mirroring, ReleaseStatus::Inspecting];

/// Explain `project` (and `version`, when given) as Airlock sees it now.
pub fn why(conn: &mut AnyConnection, project: &ProjectName, version: Option<&Version>, reserved: &ReservedNames) -> StoreResult<Why> {
    let rows: Vec<Release> = releases::project_releases(conn, project)?;
    let mut served: HashMap<i64, (usize, Vec<Option<String>>)> = HashMap::new();
    for f in index::approved_files(conn, project)? {
        let entry = served.entry(f.release_id).or_default();
        entry.0 += 1;
        entry.1.push(f.yanked);
    }
    let misses = throttle::misses_of(conn, project.as_str(), MISSES_SHOWN)?;
    let refused: Vec<i64> = rows.iter().filter(|r| matches!(r.status, ReleaseStatus::Rejected | ReleaseStatus::Revoked)).map(|r| r.id).collect();
    let mut refusals = index::refusals_of(conn, &refused)?;
    let releases: Vec<WhyRelease> = rows
        .into_iter()
        .map(|r| {
            let (served_files, yanks) = served.remove(&r.id).unwrap_or_default();
            // Yanked as a release only when no served file is left unyanked.
            let yanked = if yanks.iter().all(Option::is_some) { yanks.into_iter().flatten().next() } else { None };
            let decided = refusals.remove(&r.id);
            WhyRelease { version: r.version, status: r.status, error: r.error, served_files, yanked, possible_typosquat_of: r.possible_typosquat_of, decided }
        })
        .collect();
    let state = index::project_state(releases.iter().map(|r| r.status)).to_string();
    let mut why = Why {
        project: project.to_string(),
        version: version.map(|v| v.to_string()),
        reserved: reserved.matching(project.as_str()),
        state,
        installable: false,
        releases,
        misses,
        summary: String::new(),
        next_step: String::new(),
    };
    advise(&mut why, version);
    Ok(why)
}

/// Fill in `installable`, `summary` and `next_step` from the facts.
fn advise(why: &mut Why, version: Option<&Version>) {
    let p = why.project.clone();
    let (installable, mut summary, mut next) = match version {
        Some(v) => advise_version(why, &p, v),
        None => advise_project(why, &p),
    };
    let marked = match version {
        Some(v) => why.releases.iter().find(|r| v.matches(&r.version)),
        None => why.releases.first(),
    };
    if let Some(like) = marked.and_then(|r| r.possible_typosquat_of.as_deref()) {
        summary.push_str(&format!(" (possible typosquat of {like}: check the name)"));
    }
    if let Some(pattern) = &why.reserved {
        summary = if installable {
            format!("{p} is a reserved name ({pattern}), never fetched from the upstream index; an approved copy is still served: {summary}")
        } else {
            format!("{p} is a reserved name ({pattern}): Airlock never fetches it from the upstream index")
        };
        next = format!("reserved: publish {p} to your internal index, and install it from there");
    }
    why.installable = installable;
    why.summary = summary;
    why.next_step = next;
}

fn advise_version(why: &Why, p: &str, v: &Version) -> (bool, String, String) {
    let request = format!("request it with `airlock request {p}=={v}`");
    let Some(r) = why.releases.iter().find(|r| v.matches(&r.version)) else {
        let others: Vec<&str> = why.releases.iter().filter(|r| r.served()).map(|r| r.version.as_str()).collect();
        let also = if others.is_empty() { String::new() } else { format!("; served versions: {}", others.join(", ")) };
        return (false, format!("{p} {v} is not in Airlock{also}"), request);
    };
    let v = r.version.as_str();
    let review = format!("ask an auditor to review {p} {v}");
    match r.status {
        ReleaseStatus::Approved if r.served() => match &r.yanked {
            Some(reason) => (
                true,
                format!("{p} {v} is approved and served, but yanked ({reason}): installers take it only when pinned"),
                format!("pin it: `pip install {p}=={v}`"),
            ),
            None => (true, format!("{p} {v} is approved and served"), format!("nothing to do: `pip install {p}=={v}` through Airlock's index works")),
        },
        ReleaseStatus::Approved => (false, format!("{p} {v} is approved, but its approval covers none of its stored files"), review),
        ReleaseStatus::AwaitingReview => (false, format!("{p} {v} is awaiting review"), review),
        s if IN_FLIGHT.contains(&s) => {
            (false, format!("{p} {v} is being mirrored and inspected ({s})"), format!("wait until it is awaiting review, then {review}"))
        }
        ReleaseStatus::Rejected | ReleaseStatus::Revoked => (
            false,
            format!("{p} {}", r.refusal().unwrap_or_default()),
            format!("read the decision on its release page, or request another version with `airlock request {p}==VERSION`"),
        ),
        ReleaseStatus::Failed => (
            false,
            format!("{p} {v} could not be mirrored: {}", r.error.as_deref().unwrap_or("no error recorded")),
            format!("retry it with `airlock request {p}=={v}`"),
        ),
        _ => (false, format!("{p} {v} is {}", r.status), review),
    }
}

fn advise_project(why: &Why, p: &str) -> (bool, String, String) {
    let versions = |rs: &[&WhyRelease]| rs.iter().map(|r| r.version.as_str()).collect::<Vec<_>>().join(", ");
    let served: Vec<&WhyRelease> = why.releases.iter().filter(|r| r.served()).collect();
    let waiting: Vec<&WhyRelease> = why.releases.iter().filter(|r| r.is(&[ReleaseStatus::AwaitingReview])).collect();
    let in_flight: Vec<&WhyRelease> = why.releases.iter().filter(|r| r.is(&IN_FLIGHT)).collect();
    if !served.is_empty() {
        let mut summary = format!("{p} is installable: served versions {}", versions(&served));
        let yanked: Vec<&WhyRelease> = served.iter().copied().filter(|r| r.yanked.is_some()).collect();
        if !yanked.is_empty() {
            summary.push_str(&format!(" ({} yanked: taken only when pinned)", versions(&yanked)));
        }
        let next = match waiting.first() {
            Some(r) => format!("for {p} {} ask an auditor to review it; otherwise check the version you pin with `airlock why {p}==VERSION`", r.version),
            None => format!("if an install still fails, check the version you pin with `airlock why {p}==VERSION` and its Requires-Python"),
        };
        return (true, summary, next);
    }
    if let Some(r) = waiting.first() {
        return (false, format!("{p} is not installable yet: {} awaiting review", versions(&waiting)), format!("ask an auditor to review {p} {}", r.version));
    }
    if let Some(r) = in_flight.first() {
        return (
            false,
            format!("{p} is not installable yet: {} being mirrored and inspected", versions(&in_flight)),
            format!("wait until {p} {} is awaiting review, then ask an auditor to review it", r.version),
        );
    }
    let request_any = format!("request a version with `airlock request {p}==VERSION`");
    match why.state.as_str() {
        "rejected" => {
            let refused: Vec<String> = why.releases.iter().filter_map(WhyRelease::refusal).collect();
            (false, format!("{p} is not installable: {}", refused.join("; ")), format!("read the decisions on the release pages, or {request_any}"))
        }
        "failed" => {
            let r = &why.releases[0];
            (
                false,
                format!("{p} is not installable: {} could not be mirrored: {}", r.version, r.error.as_deref().unwrap_or("no error recorded")),
                format!("retry it with `airlock request {p}=={}`", r.version),
            )
        }
        "approved" => {
            // Approved releases whose approvals cover no stored file.
            (false, format!("{p} has approved releases, but none of their files is served"), format!("ask an auditor to review {p} again"))
        }
        _ => {
            let latest = why.misses.first().map(|m| m.outcome.as_str());
            let not_upstream = MissOutcome::NotOnUpstream { checked_ms_ago: 0 }.as_str();
            if latest == Some(not_upstream) {
                (false, format!("{p} is not known to Airlock, and the upstream index has no such project"), format!("check the spelling of {p}"))
            } else if latest.is_some_and(|o| o == MissOutcome::Requested.as_str() || o == MissOutcome::AlreadyRequested.as_str()) {
                (
                    false,
                    format!("{p} is not known to Airlock yet; an index miss is looking up its newest release on the upstream index"),
                    format!("wait a moment, then run `airlock why {p}` again; its release will need an auditor's review"),
                )
            } else {
                (false, format!("{p} is not known to Airlock: nobody requested it"), request_any)
            }
        }
    }
}

impl Why {
    /// The explanation for people, as `airlock why` prints it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let asked = match &self.version {
            Some(v) => format!("{}=={v}", self.project),
            None => self.project.clone(),
        };
        out.push_str(&format!("{asked}: {}\n", if self.installable { "installable" } else { "not installable" }));
        out.push_str(&format!("  {}\n", self.summary));
        if let Some(pattern) = &self.reserved {
            out.push_str(&format!("  reserved: yes ({pattern})\n"));
        }
        if self.releases.is_empty() {
            out.push_str("  releases: none in Airlock\n");
        } else {
            out.push_str("  releases:\n");
            for r in &self.releases {
                let mut line = format!("    {} {}", r.version, r.status);
                if r.served() {
                    line.push_str(&format!(", served ({} file{})", r.served_files, if r.served_files == 1 { "" } else { "s" }));
                }
                if let Some(reason) = &r.yanked {
                    line.push_str(&format!(", yanked ({reason})"));
                }
                if let Some(like) = &r.possible_typosquat_of {
                    line.push_str(&format!(", possible typosquat of {like}"));
                }
                if let Some(err) = &r.error {
                    line.push_str(&format!(": {err}"));
                }
                out.push_str(&line);
                out.push('\n');
            }
        }
        if !self.misses.is_empty() {
            out.push_str("  recent index misses:\n");
            for m in &self.misses {
                let who = m.requester.as_deref().map_or(m.client.clone(), |r| format!("{r} at {}", m.client));
                let at = chrono::DateTime::from_timestamp_millis(m.at).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
                out.push_str(&format!("    {at} from {who}: {}\n", miss_outcome_text(&m.outcome)));
            }
        }
        out.push_str(&format!("next step: {}\n", self.next_step));
        out
    }
}

/// What Airlock did about a miss, for people (the dashboard's panel and
/// `airlock why`), from a [`MissOutcome`] name.
pub fn miss_outcome_text(outcome: &str) -> &'static str {
    match outcome {
        "requested" => "requested its newest release for review",
        "already_requested" => "deduplicated: a lookup was already under way",
        "not_on_upstream" => "nothing: absent from the upstream index",
        "rate_limited" => "throttled: this client set off too many lookups",
        "off" => "nothing: request_on_miss is off",
        "reserved" => "refused: reserved name, never fetched",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PinnedRequirement;
    use crate::names::NamePolicy;
    use crate::testdb::each_backend;

    fn request(conn: &mut AnyConnection, req: &str) -> i64 {
        let req = PinnedRequirement::parse(req).unwrap();
        releases::request_release(conn, &req, None, 3, &NamePolicy::default()).unwrap();
        releases::find_release(conn, &req.name, &req.version).unwrap().unwrap().1.id
    }

    fn name(n: &str) -> ProjectName {
        ProjectName::parse(n).unwrap()
    }

    #[test]
    fn each_state_gets_its_summary_and_next_step() {
        each_backend(|conn| {
            let none = ReservedNames::default();
            let never = why(conn, &name("nothing"), None, &none).unwrap();
            assert_eq!((never.state.as_str(), never.installable), ("never_requested", false));
            assert!(never.next_step.contains("airlock request nothing==VERSION"), "{}", never.next_step);

            let id = request(conn, "demo==1.0");
            releases::set_status(conn, id, ReleaseStatus::AwaitingReview, None).unwrap();
            let pending = why(conn, &name("demo"), None, &none).unwrap();
            assert_eq!(pending.state, "pending");
            assert_eq!(pending.next_step, "ask an auditor to review demo 1.0");
            let other = why(conn, &name("demo"), Some(&Version::parse("2.0").unwrap()), &none).unwrap();
            assert_eq!(other.summary, "demo 2.0 is not in Airlock");
            assert_eq!(other.next_step, "request it with `airlock request demo==2.0`");

            let failed = request(conn, "broken==1.0");
            releases::set_status(conn, failed, ReleaseStatus::Failed, Some("upstream has no file")).unwrap();
            let f = why(conn, &name("broken"), Some(&Version::parse("1.0.0").unwrap()), &none).unwrap();
            assert!(f.summary.contains("could not be mirrored: upstream has no file"), "{}", f.summary);
            assert_eq!(f.next_step, "retry it with `airlock request broken==1.0`");
            assert_eq!(f.version.as_deref(), Some("1.0.0"));
        });
    }

    #[test]
    fn a_refused_release_says_whether_it_was_rejected_or_revoked_by_whom_and_when() {
        use diesel::prelude::*;
        each_backend(|conn| {
            let none = ReservedNames::default();
            let bob = crate::auth::create_user(conn, "bob", crate::domain::Role::Auditor, "correct horse").unwrap();
            let id = request(conn, "gone==1.0");
            releases::set_status(conn, id, ReleaseStatus::Revoked, None).unwrap();
            let unknown = why(conn, &name("gone"), None, &none).unwrap();
            assert_eq!(unknown.summary, "gone is not installable: 1.0 was approved, then revoked", "no decision on record: no name");
            let at = 1_764_588_000_000; // 2025-12-01 11:20 UTC
            diesel::insert_into(crate::schema::decisions::table)
                .values((
                    crate::schema::decisions::release_id.eq(id),
                    crate::schema::decisions::user_id.eq(bob.id),
                    crate::schema::decisions::decision.eq("revoke"),
                    crate::schema::decisions::comment.eq("compromised"),
                    crate::schema::decisions::sha256s.eq("[]"),
                    crate::schema::decisions::created_at.eq(at),
                    crate::schema::decisions::in_force.eq(true),
                ))
                .execute(conn)
                .unwrap();
            let revoked = why(conn, &name("gone"), Some(&Version::parse("1.0").unwrap()), &none).unwrap();
            assert_eq!(revoked.summary, "gone 1.0 was approved, then revoked by bob on 2025-12-01 11:20 UTC");
            assert_eq!(revoked.releases[0].decided.as_ref().map(|d| d.by.as_str()), Some("bob"));
            let project = why(conn, &name("gone"), None, &none).unwrap();
            assert_eq!(project.summary, "gone is not installable: 1.0 was approved, then revoked by bob on 2025-12-01 11:20 UTC");
        });
    }

    #[test]
    fn a_reserved_name_says_so_whatever_else_is_known() {
        each_backend(|conn| {
            let reserved = ReservedNames::parse(&["acme-*"]).unwrap();
            let w = why(conn, &name("Acme_Tools"), None, &reserved).unwrap();
            assert_eq!(w.reserved.as_deref(), Some("acme-*"));
            assert!(!w.installable);
            assert!(w.summary.contains("reserved name"), "{}", w.summary);
            assert!(w.next_step.starts_with("reserved: publish acme-tools to your internal index"), "{}", w.next_step);
            assert!(w.to_text().contains("reserved: yes (acme-*)"), "{}", w.to_text());
        });
    }

    #[test]
    fn misses_for_the_name_are_listed_and_a_missing_upstream_project_is_named() {
        each_backend(|conn| {
            let policy = throttle::MissPolicy::default();
            let from = throttle::MissClient { address: "10.0.0.7", requester: None };
            throttle::record_upstream_absent(conn, "nosuch", crate::now_ms()).unwrap();
            throttle::index_miss(conn, "nosuch", from, &policy, &ReservedNames::default(), 3, crate::now_ms()).unwrap();
            let w = why(conn, &name("nosuch"), None, &ReservedNames::default()).unwrap();
            assert_eq!(w.misses.len(), 1);
            assert_eq!(w.misses[0].outcome, "not_on_upstream");
            assert_eq!(w.next_step, "check the spelling of nosuch");
            assert!(w.to_text().contains("from 10.0.0.7: nothing: absent from the upstream index"), "{}", w.to_text());
        });
    }
}
