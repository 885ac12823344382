//! Projects and releases: requesting a release (which queues its mirroring),
//! moving it through its states, and the review queue.

use diesel::prelude::*;
use serde::Serialize;

use airlock_inspect::Severity;

use crate::audit;
use crate::db::AnyConnection;
use crate::domain::{PinnedRequirement, ProjectName, ReleaseStatus, RequestSource, Version};
use crate::error::{StoreError, StoreResult};
use crate::names::NamePolicy;
use crate::now_ms;
use crate::schema::{projects, releases};
use crate::tasks::{self, MirrorRelease, ResolveDependencies};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = releases)]
pub struct Release {
    pub id: i64,
    pub project_id: i64,
    pub version: String,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    pub requested_by: Option<String>,
    pub risk_score: i64,
    pub max_severity: Severity,
    pub created_at: i64,
    pub updated_at: i64,
    /// Its dependencies are resolved and requested too.
    pub with_dependencies: bool,
    /// The extras asked of it, normalized, comma-separated.
    pub extras: String,
    /// When its dependency edges were last written (None: not yet).
    pub dependencies_at: Option<i64>,
    /// The popular or approved project this name is a small edit away from,
    /// marked when the release was requested (see [`crate::names`]).
    pub possible_typosquat_of: Option<String>,
    /// How it was asked for (see [`RequestSource`]).
    pub request_source: String,
}

impl Release {
    /// The extras asked of it.
    pub fn extras(&self) -> Vec<String> {
        split_extras(&self.extras)
    }
}

fn split_extras(joined: &str) -> Vec<String> {
    joined.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect()
}

/// `extras` and `more`, normalized (PEP 685), sorted, without repeats.
fn join_extras(extras: &[String], more: &[String]) -> String {
    let mut all: Vec<String> = extras.iter().chain(more).map(|e| crate::domain::normalize(e)).filter(|e| !e.is_empty()).collect();
    all.sort();
    all.dedup();
    all.join(",")
}

/// How a release is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOptions<'a> {
    /// The user or token name, or a system requester.
    pub requested_by: Option<&'a str>,
    /// Resolve and request its dependencies too, recursively.
    pub with_dependencies: bool,
    /// Extras whose requirements count.
    pub extras: &'a [String],
    /// How it is asked for.
    pub source: RequestSource,
}

/// What a request did.
#[derive(Debug, Clone, Serialize)]
pub struct RequestOutcome {
    pub project: String,
    pub version: String,
    pub status: ReleaseStatus,
    /// False when the release was already known (and not failed).
    pub queued: bool,
    /// The project the name resembles, when it may be a typosquat.
    pub possible_typosquat_of: Option<String>,
}

fn get_or_create_project(conn: &mut AnyConnection, name: &ProjectName) -> StoreResult<Project> {
    let found = projects::table.filter(projects::name.eq(name.as_str())).select(Project::as_select()).first(conn).optional()?;
    if let Some(p) = found {
        return Ok(p);
    }
    Ok(diesel::insert_into(projects::table)
        .values((projects::name.eq(name.as_str()), projects::created_at.eq(now_ms())))
        .returning(projects::all_columns)
        .get_result(conn)?)
}

/// Request a release: record it and queue its mirroring. Requesting a known
/// release again is a no-op, except that a failed one is retried.
pub fn request_release(
    conn: &mut AnyConnection,
    req: &PinnedRequirement,
    requested_by: Option<&str>,
    max_attempts: i64,
    names: &NamePolicy,
) -> StoreResult<RequestOutcome> {
    request_release_with(conn, req, &RequestOptions { requested_by, ..RequestOptions::default() }, max_attempts, names)
}

/// [`request_release`] with its dependencies and extras: a known release
/// asked for with dependencies (or with extras it was not asked for
/// before) has them resolved again.
///
/// Every way of asking for a release comes through here, so this is where
/// `names` is enforced: a reserved name is refused with
/// [`StoreError::Reserved`] (and an audit event) before anything is
/// recorded or queued, and a new release whose name resembles a popular or
/// approved project is marked as a possible typosquat.
pub fn request_release_with(
    conn: &mut AnyConnection,
    req: &PinnedRequirement,
    opts: &RequestOptions,
    max_attempts: i64,
    names: &NamePolicy,
) -> StoreResult<RequestOutcome> {
    let requested_by = opts.requested_by;
    if let Some(pattern) = names.reserved.matching(req.name.as_str()) {
        crate::names::record_refusal(conn, requested_by, &format!("{} {}", req.name, req.version), &pattern, "request")?;
        return Err(StoreError::Reserved { name: req.name.to_string(), pattern });
    }
    let attempt = |conn: &mut AnyConnection| {
        crate::db::write_transaction(conn, |conn| {
            let project = get_or_create_project(conn, &req.name)?;
            let existing = releases::table
                .filter(releases::project_id.eq(project.id))
                .filter(releases::version.eq(req.version.as_str()))
                .select(Release::as_select())
                .first(conn)
                .optional()?;
            let now = now_ms();
            let (release, queued) = match existing {
                Some(r) if r.status == ReleaseStatus::Failed => {
                    let r = diesel::update(releases::table.find(r.id))
                        .set((
                            releases::status.eq(ReleaseStatus::Requested),
                            releases::error.eq(None::<String>),
                            // A person's request after a miss's failed one is theirs now.
                            releases::requested_by.eq(requested_by.or(r.requested_by.as_deref())),
                            releases::request_source.eq(if requested_by.is_some() { opts.source.as_str() } else { r.request_source.as_str() }),
                            releases::updated_at.eq(now),
                            releases::with_dependencies.eq(r.with_dependencies || opts.with_dependencies),
                            releases::extras.eq(join_extras(&r.extras(), opts.extras)),
                        ))
                        .returning(releases::all_columns)
                        .get_result(conn)?;
                    (r, true)
                }
                Some(r) => {
                    let extras = join_extras(&r.extras(), opts.extras);
                    let more = opts.with_dependencies && (!r.with_dependencies || extras != r.extras);
                    if more {
                        diesel::update(releases::table.find(r.id))
                            .set((releases::with_dependencies.eq(true), releases::extras.eq(&extras), releases::updated_at.eq(now)))
                            .execute(conn)?;
                        // Resolves now if its files are here; otherwise its
                        // mirroring queues the resolution when it ends.
                        tasks::enqueue(conn, &ResolveDependencies { release_id: r.id }, max_attempts)?;
                    }
                    (r, false)
                }
                None => {
                    let resembles = match names.resembles {
                        Some(resembles) => resembles(project.name.as_str(), &crate::index::approved_projects(conn)?),
                        None => None,
                    };
                    let r = diesel::insert_into(releases::table)
                        .values((
                            releases::project_id.eq(project.id),
                            releases::version.eq(req.version.as_str()),
                            releases::status.eq(ReleaseStatus::Requested),
                            releases::requested_by.eq(requested_by),
                            releases::created_at.eq(now),
                            releases::updated_at.eq(now),
                            releases::with_dependencies.eq(opts.with_dependencies),
                            releases::extras.eq(join_extras(&[], opts.extras)),
                            releases::possible_typosquat_of.eq(resembles),
                            releases::request_source.eq(opts.source.as_str()),
                        ))
                        .returning(releases::all_columns)
                        .get_result(conn)?;
                    (r, true)
                }
            };
            if queued {
                tasks::enqueue(conn, &MirrorRelease { release_id: release.id }, max_attempts)?;
                let target = format!("{} {}", project.name, release.version);
                let detail = match &release.possible_typosquat_of {
                    Some(like) => format!("requested for mirroring; possible typosquat of {like}"),
                    None => "requested for mirroring".to_string(),
                };
                audit::record(conn, requested_by, "release.request", &target, &detail)?;
            }
            Ok::<_, StoreError>(RequestOutcome {
                project: project.name,
                version: release.version,
                status: release.status,
                queued,
                possible_typosquat_of: release.possible_typosquat_of,
            })
        })
    };
    // Two requests racing to create the same project or release: the loser
    // hits a unique violation and finds the winner's row on the retry.
    match attempt(conn) {
        Err(e) if e.is_unique_violation() => attempt(conn),
        other => other,
    }
}

pub fn find_release(conn: &mut AnyConnection, name: &ProjectName, version: &Version) -> StoreResult<Option<(Project, Release)>> {
    Ok(releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq(name.as_str()))
        .filter(releases::version.eq(version.as_str()))
        .select((Project::as_select(), Release::as_select()))
        .first(conn)
        .optional()?)
}

pub fn release_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<(Project, Release)> {
    releases::table
        .inner_join(projects::table)
        .filter(releases::id.eq(id))
        .select((Project::as_select(), Release::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("release #{id}")))
}

/// True when the release was asked for with its dependencies.
pub fn wants_dependencies(conn: &mut AnyConnection, id: i64) -> StoreResult<bool> {
    Ok(releases::table.find(id).select(releases::with_dependencies).first(conn).optional()?.unwrap_or(false))
}

/// Move a release to `status`, with an error message for `failed`.
pub fn set_status(conn: &mut AnyConnection, id: i64, status: ReleaseStatus, error: Option<&str>) -> StoreResult<()> {
    diesel::update(releases::table.find(id)).set((releases::status.eq(status), releases::error.eq(error), releases::updated_at.eq(now_ms()))).execute(conn)?;
    Ok(())
}

/// A job about the release failed for good. A release on its way to review
/// fails with `error`; an approved or revoked one (inspecting a file added
/// to it) keeps its status, so what its approval covered stays served, and
/// shows the error.
pub fn fail(conn: &mut AnyConnection, id: i64, error: &str) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        let (_, release) = release_by_id(conn, id)?;
        match release.status {
            ReleaseStatus::Approved | ReleaseStatus::Revoked => set_error_note(conn, id, error),
            _ => set_status(conn, id, ReleaseStatus::Failed, Some(error)),
        }
    })
}

/// Keep the release's status but show a note (a retry's cause) as its error.
pub fn set_error_note(conn: &mut AnyConnection, id: i64, note: &str) -> StoreResult<()> {
    diesel::update(releases::table.find(id)).set((releases::error.eq(note), releases::updated_at.eq(now_ms()))).execute(conn)?;
    Ok(())
}

/// A project's approved releases, in no particular order.
pub fn approved_releases(conn: &mut AnyConnection, project_id: i64) -> StoreResult<Vec<Release>> {
    Ok(releases::table
        .filter(releases::project_id.eq(project_id))
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .select(Release::as_select())
        .load(conn)?)
}

/// The approved releases nearest to `version` under PEP 440: the closest
/// older one and the closest newer one, when they exist. These are the
/// candidates for the base a review's delta is taken from.
pub fn nearest_approved(conn: &mut AnyConnection, project_id: i64, version: &str) -> StoreResult<Vec<Release>> {
    let Ok(target) = Version::parse(version) else { return Ok(Vec::new()) };
    let mut older: Option<(Version, Release)> = None;
    let mut newer: Option<(Version, Release)> = None;
    for r in approved_releases(conn, project_id)? {
        let Ok(v) = Version::parse(&r.version) else { continue };
        if v.pep440() < target.pep440() {
            if older.as_ref().is_none_or(|(o, _)| v.pep440() > o.pep440()) {
                older = Some((v, r));
            }
        } else if v.pep440() > target.pep440() && newer.as_ref().is_none_or(|(n, _)| v.pep440() < n.pep440()) {
            newer = Some((v, r));
        }
    }
    Ok(older.into_iter().chain(newer).map(|(_, r)| r).collect())
}

/// For each named project (normalized names), its releases in Airlock as
/// `(version, status)`, newest request first. Projects Airlock does not know
/// are absent.
pub fn statuses_by_project(conn: &mut AnyConnection, names: &[String]) -> StoreResult<std::collections::HashMap<String, Vec<(String, ReleaseStatus)>>> {
    let rows: Vec<(String, String, ReleaseStatus)> = releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq_any(names))
        .order(releases::id.desc())
        .select((projects::name, releases::version, releases::status))
        .load(conn)?;
    let mut out: std::collections::HashMap<String, Vec<(String, ReleaseStatus)>> = std::collections::HashMap::new();
    for (name, version, status) in rows {
        out.entry(name).or_default().push((version, status));
    }
    Ok(out)
}

/// Releases of a project, newest first.
pub fn project_releases(conn: &mut AnyConnection, name: &ProjectName) -> StoreResult<Vec<Release>> {
    Ok(releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq(name.as_str()))
        .order(releases::id.desc())
        .select(Release::as_select())
        .load(conn)?)
}

/// How many releases are in each status.
pub fn status_counts(conn: &mut AnyConnection) -> StoreResult<Vec<(ReleaseStatus, i64)>> {
    Ok(releases::table.group_by(releases::status).select((releases::status, diesel::dsl::count_star())).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs;
    use crate::testdb::each_backend;

    fn req(s: &str) -> PinnedRequirement {
        PinnedRequirement::parse(s).unwrap()
    }

    #[test]
    fn requesting_a_release_queues_one_mirror_job() {
        each_backend(|conn| {
            let out = request_release(conn, &req("Demo_Pkg==1.0"), Some("alice"), 3, &NamePolicy::default()).unwrap();
            assert_eq!((out.project.as_str(), out.version.as_str(), out.status.as_str(), out.queued), ("demo-pkg", "1.0", "requested", true));
            let again = request_release(conn, &req("demo-pkg==1.0"), Some("bob"), 3, &NamePolicy::default()).unwrap();
            assert!(!again.queued, "a second request must not queue again");
            let jobs = jobs::list_in_state(conn, jobs::QUEUED, 10).unwrap();
            assert_eq!(jobs.len(), 1);
            assert_eq!(jobs[0].kind, "mirror_release");
        });
    }

    #[test]
    fn a_release_records_how_it_was_asked_for_and_a_person_takes_over_a_failed_miss() {
        each_backend(|conn| {
            use crate::domain::RequestSource;
            let by_miss = RequestOptions { requested_by: Some(crate::throttle::MISS_REQUESTER), source: RequestSource::Miss, ..RequestOptions::default() };
            request_release_with(conn, &req("missed==1.0"), &by_miss, 3, &NamePolicy::default()).unwrap();
            let source = |conn: &mut AnyConnection| {
                let (_, r) = find_release(conn, &ProjectName::parse("missed").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
                (r.request_source, r.requested_by)
            };
            assert_eq!(source(conn), ("miss".to_string(), Some("index miss".to_string())));
            diesel::update(releases::table).set(releases::status.eq("failed")).execute(conn).unwrap();
            request_release(conn, &req("missed==1.0"), Some("alice"), 3, &NamePolicy::default()).unwrap();
            assert_eq!(source(conn), ("request".to_string(), Some("alice".to_string())), "a person's retry is theirs");
            assert_eq!(RequestSource::of_stored("watch"), RequestSource::Watch);
            assert_eq!(RequestSource::of_stored("from the future"), RequestSource::Request);
        });
    }

    #[test]
    fn a_reserved_name_is_refused_with_an_audit_event_and_nothing_recorded() {
        each_backend(|conn| {
            let names = NamePolicy { reserved: crate::names::ReservedNames::parse(&["acme-*"]).unwrap(), resembles: None };
            let err = request_release(conn, &req("Acme_Billing==1.0"), Some("alice"), 3, &names).unwrap_err();
            assert!(matches!(&err, StoreError::Reserved { name, pattern } if name == "acme-billing" && pattern == "acme-*"), "{err:?}");
            assert!(project_releases(conn, &ProjectName::parse("acme-billing").unwrap()).unwrap().is_empty());
            assert!(jobs::list_in_state(conn, jobs::QUEUED, 10).unwrap().is_empty(), "nothing may be queued");
            let events = audit::list(conn, 10, 0).unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(
                (events[0].action.as_str(), events[0].target.as_str(), events[0].actor.as_deref()),
                (crate::names::REFUSED_ACTION, "acme-billing 1.0", Some("alice"))
            );
            assert!(events[0].detail.contains("acme-*"), "{}", events[0].detail);
            // Other names pass.
            assert!(request_release(conn, &req("acmebilling==1.0"), Some("alice"), 3, &names).unwrap().queued);
        });
    }

    /// A stand-in for the inspection engine's test: one extra trailing letter.
    fn one_letter_longer(name: &str, approved: &[String]) -> Option<String> {
        approved.iter().find(|a| name.len() == a.len() + 1 && name.starts_with(a.as_str())).cloned()
    }

    #[test]
    fn a_new_name_resembling_an_approved_project_is_marked_when_requested() {
        each_backend(|conn| {
            let names = NamePolicy { reserved: Default::default(), resembles: Some(one_letter_longer) };
            let first = request_release(conn, &req("demo==1.0"), None, 3, &names).unwrap();
            assert_eq!(first.possible_typosquat_of, None);
            let (_, r) = find_release(conn, &ProjectName::parse("demo").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
            set_status(conn, r.id, ReleaseStatus::Approved, None).unwrap();
            let near = request_release(conn, &req("demos==1.0"), Some("bob"), 3, &names).unwrap();
            assert_eq!(near.possible_typosquat_of.as_deref(), Some("demo"));
            let (_, stored) = find_release(conn, &ProjectName::parse("demos").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
            assert_eq!(stored.possible_typosquat_of.as_deref(), Some("demo"));
            // Asking again reports the mark that is on the release.
            assert_eq!(request_release(conn, &req("demos==1.0"), None, 3, &names).unwrap().possible_typosquat_of.as_deref(), Some("demo"));
            let event = audit::list(conn, 1, 0).unwrap().remove(0);
            assert!(event.detail.contains("possible typosquat of demo"), "{}", event.detail);
        });
    }

    #[test]
    fn a_failed_release_is_retried_when_requested_again() {
        each_backend(|conn| {
            request_release(conn, &req("demo==2.0"), None, 3, &NamePolicy::default()).unwrap();
            let (_, r) = find_release(conn, &ProjectName::parse("demo").unwrap(), &Version::parse("2.0").unwrap()).unwrap().unwrap();
            let job = jobs::claim_next(conn, "w", std::time::Duration::from_secs(9)).unwrap().unwrap();
            jobs::fail(conn, &job, "upstream down", true, std::time::Duration::from_secs(1)).unwrap();
            set_status(conn, r.id, ReleaseStatus::Failed, Some("upstream down")).unwrap();
            let out = request_release(conn, &req("demo==2.0"), None, 3, &NamePolicy::default()).unwrap();
            assert!(out.queued);
            assert_eq!(out.status, crate::domain::ReleaseStatus::Requested);
            let (_, r) = release_by_id(conn, r.id).unwrap();
            assert_eq!(r.error, None);
        });
    }
}
