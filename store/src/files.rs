//! A release's distribution files and their inspection results (findings,
//! core metadata). Recording an inspection is idempotent, and the last file
//! inspected moves its release to `awaiting_review`.

use diesel::prelude::*;
use serde::Serialize;

use airlock_inspect::{DistKind, Severity};

use crate::db::AnyConnection;
use crate::domain::{ReleaseStatus, Sha256};
use crate::error::StoreResult;
use crate::now_ms;
use crate::schema::{files, findings, projects, releases};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = files)]
pub struct FileRow {
    pub id: i64,
    pub release_id: i64,
    pub filename: String,
    pub sha256: String,
    pub size: i64,
    pub upstream_url: String,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
    pub upload_time: Option<String>,
    pub metadata_sha256: Option<String>,
    pub dist_kind: DistKind,
    pub inspected: bool,
    pub max_severity: Severity,
    #[serde(skip)]
    pub core_metadata: Option<String>,
    pub created_at: i64,
    /// What the file can do, as a JSON list of capability names.
    #[serde(skip)]
    pub capabilities: Option<String>,
    pub risk_score: i64,
    /// The archive's entry paths, as a JSON list.
    #[serde(skip)]
    pub entries: Option<String>,
    /// When a watch's sync found the file gone from the upstream's listing
    /// (it stays served if approved).
    pub upstream_removed_at: Option<i64>,
}

impl FileRow {
    /// The archive's entry paths.
    pub fn entry_paths(&self) -> Vec<String> {
        self.entries.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or_default()
    }

    /// The file's capability names.
    pub fn capability_names(&self) -> Vec<String> {
        self.capabilities.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default()
    }
}

/// A file fetched from the upstream and verified, about to be recorded.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub release_id: i64,
    pub filename: String,
    pub sha256: Sha256,
    pub size: i64,
    pub upstream_url: String,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
    pub upload_time: Option<String>,
}

/// Record a stored file; recording the same file again returns the existing row.
pub fn add_file(conn: &mut AnyConnection, f: &NewFile) -> StoreResult<FileRow> {
    crate::db::write_transaction(conn, |conn| insert_file(conn, f))
}

/// [`add_file`] inside the caller's transaction.
pub(crate) fn insert_file(conn: &mut AnyConnection, f: &NewFile) -> StoreResult<FileRow> {
    {
        let existing = files::table
            .filter(files::release_id.eq(f.release_id))
            .filter(files::filename.eq(&f.filename))
            .select(FileRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(row) = existing {
            return Ok(row);
        }
        Ok(diesel::insert_into(files::table)
            .values((
                files::release_id.eq(f.release_id),
                files::filename.eq(&f.filename),
                files::sha256.eq(f.sha256.as_str()),
                files::size.eq(f.size),
                files::upstream_url.eq(&f.upstream_url),
                files::requires_python.eq(&f.requires_python),
                files::yanked.eq(&f.yanked),
                files::upload_time.eq(&f.upload_time),
                files::created_at.eq(now_ms()),
            ))
            .returning(files::all_columns)
            .get_result(conn)?)
    }
}

pub fn file_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<FileRow>> {
    Ok(files::table.find(id).select(FileRow::as_select()).first(conn).optional()?)
}

pub fn files_of_release(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<FileRow>> {
    Ok(files::table.filter(files::release_id.eq(release_id)).order(files::filename).select(FileRow::as_select()).load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = findings)]
pub struct FindingRow {
    pub id: i64,
    pub file_id: i64,
    pub rule: String,
    pub severity: Severity,
    pub path: Option<String>,
    pub line: Option<i64>,
    pub message: String,
    pub snippet: Option<String>,
}

/// A finding to record is the inspection engine's own (its `also` places
/// are summed up in its message; only the first place is stored).
pub use airlock_inspect::Finding;

/// Record one finding of a file (inside the caller's transaction).
fn insert_finding(conn: &mut AnyConnection, file_id: i64, f: &Finding) -> StoreResult<()> {
    diesel::insert_into(findings::table)
        .values((
            findings::file_id.eq(file_id),
            findings::rule.eq(&f.rule),
            findings::severity.eq(f.severity.as_str()),
            findings::path.eq(&f.file),
            findings::line.eq(f.line.map(i64::from)),
            findings::message.eq(&f.message),
            findings::snippet.eq(&f.snippet),
        ))
        .execute(conn)?;
    Ok(())
}

/// What inspecting one file produced.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub dist_kind: DistKind,
    /// Core metadata fields as JSON, for display.
    pub core_metadata: Option<String>,
    /// Digest of the wheel's METADATA file, stored as its own blob (PEP 658).
    pub metadata_sha256: Option<Sha256>,
    /// Capability names, as JSON.
    pub capabilities: Option<String>,
    /// Entry paths, as JSON.
    pub entries: Option<String>,
    pub findings: Vec<Finding>,
}

/// The severities that add to a release's risk score ([`Severity::weight`];
/// info: 0). The queue's legend lists them.
pub const SCORED_SEVERITIES: [Severity; 4] = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

/// The risk score of findings given as `(file id, rule, severity)`: a rule
/// counts once per distribution file and severity, however many places it
/// was found at (each place is a row), so the score does not grow with the
/// number of files alone (as the inspection scores a distribution).
pub fn risk_score<'a>(findings: impl IntoIterator<Item = (i64, &'a str, Severity)>) -> i64 {
    let distinct: std::collections::HashSet<(i64, &str, Severity)> = findings.into_iter().collect();
    distinct.into_iter().map(|(_, _, severity)| severity.weight() as i64).sum()
}

/// Findings that need several files of a release (wheel against sdist):
/// given every file, once all are inspected, the findings to add and the
/// file each belongs to.
pub type CrossCheck<'a> = &'a dyn Fn(&[FileRow]) -> Vec<(i64, Finding)>;

/// Record a file's inspection (replacing any earlier one). When it was the
/// release's last uninspected file, run `cross_check` over all its files,
/// score the release and move it from `inspecting` to `awaiting_review`, in
/// the same transaction; returns the release's new status then.
pub fn record_inspection(conn: &mut AnyConnection, file_id: i64, inspection: &Inspection, cross_check: CrossCheck) -> StoreResult<Option<ReleaseStatus>> {
    crate::db::write_transaction(conn, |conn| {
        // Lock the release row first: concurrent inspections of its files
        // then finish one after the other, so the last one always sees every
        // other file inspected (no write skew under READ COMMITTED).
        let release_id: i64 = files::table.find(file_id).select(files::release_id).first(conn)?;
        diesel::update(releases::table.find(release_id)).set(releases::updated_at.eq(now_ms())).execute(conn)?;
        diesel::delete(findings::table.filter(findings::file_id.eq(file_id))).execute(conn)?;
        let mut max = Severity::None;
        for f in &inspection.findings {
            insert_finding(conn, file_id, f)?;
            max = max.max(f.severity);
        }
        let file: FileRow = diesel::update(files::table.find(file_id))
            .set((
                files::inspected.eq(true),
                files::dist_kind.eq(inspection.dist_kind.as_str()),
                files::core_metadata.eq(&inspection.core_metadata),
                files::metadata_sha256.eq(inspection.metadata_sha256.as_ref().map(|s| s.as_str())),
                files::max_severity.eq(max.as_str()),
                files::capabilities.eq(&inspection.capabilities),
                files::entries.eq(&inspection.entries),
                files::risk_score.eq(risk_score(inspection.findings.iter().map(|f| (file_id, f.rule.as_str(), f.severity)))),
            ))
            .returning(files::all_columns)
            .get_result(conn)?;
        finish_release_if_inspected(conn, file.release_id, cross_check)
    })
}

/// If every file of the release is inspected, add the cross-file findings,
/// score it and hand it to review.
fn finish_release_if_inspected(conn: &mut AnyConnection, release_id: i64, cross_check: CrossCheck) -> StoreResult<Option<ReleaseStatus>> {
    let all = files_of_release(conn, release_id)?;
    if all.iter().any(|f| !f.inspected) {
        return Ok(None);
    }
    let mut by_file: std::collections::BTreeMap<i64, Vec<Finding>> = std::collections::BTreeMap::new();
    for (file_id, finding) in cross_check(&all) {
        by_file.entry(file_id).or_default().push(finding);
    }
    for (file_id, new) in by_file {
        insert_and_rescore_file(conn, file_id, &new)?;
    }
    // Scored in every state: a file added to an approved release raises the
    // bar (four-eyes rule) for the approval that would serve it. Rules
    // suppressed for the project do not count.
    crate::suppressions::rescore_release(conn, release_id)?;
    let n = diesel::update(releases::table.find(release_id).filter(releases::status.eq(ReleaseStatus::Inspecting)))
        .set((releases::status.eq(ReleaseStatus::AwaitingReview), releases::updated_at.eq(now_ms())))
        .execute(conn)?;
    Ok((n == 1).then_some(ReleaseStatus::AwaitingReview))
}

/// Add findings to a file (inside the caller's transaction) and rescore it.
/// A finding the file already has is not added again: the cross-file check
/// runs each time the release's files are all inspected (a file added later,
/// a retried job).
fn insert_and_rescore_file(conn: &mut AnyConnection, file_id: i64, new: &[Finding]) -> StoreResult<()> {
    let existing: Vec<(String, Option<String>, String)> =
        findings::table.filter(findings::file_id.eq(file_id)).select((findings::rule, findings::path, findings::message)).load(conn)?;
    for f in new {
        if existing.iter().any(|(rule, path, message)| *rule == f.rule && *path == f.file && *message == f.message) {
            continue;
        }
        insert_finding(conn, file_id, f)?;
    }
    let rows: Vec<(String, Severity)> = findings::table.filter(findings::file_id.eq(file_id)).select((findings::rule, findings::severity)).load(conn)?;
    let max = rows.iter().map(|(_, s)| *s).max().unwrap_or_default();
    let score = risk_score(rows.iter().map(|(rule, s)| (file_id, rule.as_str(), *s)));
    diesel::update(files::table.find(file_id)).set((files::max_severity.eq(max.as_str()), files::risk_score.eq(score))).execute(conn)?;
    Ok(())
}

/// A release's findings with the file each is in, most severe first.
pub fn findings_of_release(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<(FindingRow, String)>> {
    let mut rows: Vec<(FindingRow, String)> = findings::table
        .inner_join(files::table)
        .filter(files::release_id.eq(release_id))
        .order(findings::id)
        .select((FindingRow::as_select(), files::filename))
        .load(conn)?;
    rows.sort_by_key(|(f, _)| std::cmp::Reverse(f.severity));
    Ok(rows)
}

/// The medium-or-worse findings of `release_ids`, with their release: what
/// a queue row's one-line "why" is made from. Rules suppressed for the
/// project are left out, as they are of its score.
pub fn serious_findings_of(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<Vec<(i64, FindingRow)>> {
    let suppressed: std::collections::HashSet<(String, String)> = crate::suppressions::list(conn)?.into_iter().map(|s| (s.project, s.rule)).collect();
    let mut out = Vec::new();
    // Chunks keep the IN list within every backend's parameter limit.
    for chunk in release_ids.chunks(500) {
        let rows = findings::table
            .inner_join(files::table.inner_join(releases::table.inner_join(projects::table)))
            .filter(files::release_id.eq_any(chunk))
            .filter(findings::severity.eq_any([Severity::Critical, Severity::High, Severity::Medium].map(|s| s.as_str())))
            .order(findings::id)
            .select((files::release_id, projects::name, FindingRow::as_select()))
            .load::<(i64, String, FindingRow)>(conn)?;
        out.extend(rows.into_iter().filter(|(_, project, f)| !suppressed.contains(&(project.clone(), f.rule.clone()))).map(|(id, _, f)| (id, f)));
    }
    Ok(out)
}

/// Mirroring is done: move the release to `inspecting` and queue one
/// `inspect_file` job per file, atomically.
pub fn start_inspection(conn: &mut AnyConnection, release_id: i64, file_ids: &[i64], max_attempts: i64) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| queue_inspection(conn, release_id, file_ids, max_attempts))
}

/// [`start_inspection`] inside the caller's transaction.
pub(crate) fn queue_inspection(conn: &mut AnyConnection, release_id: i64, file_ids: &[i64], max_attempts: i64) -> StoreResult<()> {
    crate::releases::set_status(conn, release_id, ReleaseStatus::Inspecting, None)?;
    for file_id in file_ids {
        crate::tasks::enqueue(conn, &crate::tasks::InspectFile { file_id: *file_id }, max_attempts)?;
    }
    // Its files are here: its dependencies can be read from them, while
    // they are inspected.
    if crate::releases::wants_dependencies(conn, release_id)? {
        crate::tasks::enqueue(conn, &crate::tasks::ResolveDependencies { release_id }, max_attempts)?;
    }
    Ok(())
}

/// What a file is, ignoring the version: its kind and, for a wheel, its
/// tags (for an sdist, its archive format).
fn file_key(f: &FileRow) -> (DistKind, String) {
    let variant = airlock_inspect::DistFilename::parse(&f.filename).map(|d| d.variant).unwrap_or_default();
    (f.dist_kind, variant)
}

/// Match each file of the release with the base's file of the same kind
/// and tags, else of the same kind.
pub fn pair_files(new: &[FileRow], base: &[FileRow]) -> Vec<(FileRow, Option<FileRow>)> {
    new.iter()
        .map(|f| {
            let same = base.iter().find(|b| file_key(b) == file_key(f)).or_else(|| base.iter().find(|b| b.dist_kind == f.dist_kind));
            (f.clone(), same.cloned())
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{PinnedRequirement, ProjectName, Version};
    use crate::releases::{find_release, release_by_id, request_release};
    use crate::testdb::TestDb;

    fn release_with_files(conn: &mut AnyConnection, n: usize) -> (i64, Vec<i64>) {
        request_release(conn, &PinnedRequirement::parse("demo==1.0").unwrap(), None, 3, &Default::default()).unwrap();
        let (_, r) = find_release(conn, &ProjectName::parse("demo").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
        let ids: Vec<i64> = (0..n)
            .map(|i| {
                add_file(
                    conn,
                    &NewFile {
                        release_id: r.id,
                        filename: format!("demo-1.0-{i}.whl"),
                        sha256: Sha256::of(&[i as u8]),
                        size: 1,
                        upstream_url: "http://up.test/x".into(),
                        requires_python: None,
                        yanked: None,
                        upload_time: None,
                    },
                )
                .unwrap()
                .id
            })
            .collect();
        start_inspection(conn, r.id, &ids, 3).unwrap();
        (r.id, ids)
    }

    /// Start the inspection of a release's files and record each as a
    /// clean wheel (no findings): the release then awaits review.
    pub(crate) fn inspect_clean(conn: &mut AnyConnection, release_id: i64, file_ids: &[i64]) {
        start_inspection(conn, release_id, file_ids, 3).unwrap();
        let clean = Inspection { dist_kind: DistKind::Wheel, core_metadata: None, metadata_sha256: None, capabilities: None, entries: None, findings: vec![] };
        for id in file_ids {
            record_inspection(conn, *id, &clean, &|_| Vec::new()).unwrap();
        }
    }

    /// A finding of `severity` (`low`, `high`, …) of the rule `test/rule`.
    pub(crate) fn test_finding(severity: &str) -> Finding {
        let severity = airlock_inspect::Severity::parse(severity).expect("a severity name");
        Finding { rule: "test/rule".into(), severity, file: None, line: None, message: "m".into(), snippet: None, also: Vec::new() }
    }

    fn inspection(severity: &str) -> Inspection {
        Inspection {
            dist_kind: airlock_inspect::DistKind::Wheel,
            core_metadata: None,
            metadata_sha256: None,
            capabilities: Some("[\"network\"]".into()),
            entries: None,
            findings: vec![test_finding(severity)],
        }
    }

    #[test]
    fn the_last_inspected_file_hands_the_release_to_review_with_its_score() {
        for db in TestDb::all() {
            let pool = db.pool();
            let conn = &mut pool.get().unwrap();
            let (release_id, ids) = release_with_files(conn, 2);
            assert_eq!(record_inspection(conn, ids[0], &inspection("high"), &|_| Vec::new()).unwrap(), None);
            // Recording again replaces, never duplicates.
            assert_eq!(record_inspection(conn, ids[0], &inspection("high"), &|_| Vec::new()).unwrap(), None);
            assert_eq!(record_inspection(conn, ids[1], &inspection("low"), &|_| Vec::new()).unwrap(), Some(ReleaseStatus::AwaitingReview));
            let (_, r) = release_by_id(conn, release_id).unwrap();
            assert_eq!((r.status.as_str(), r.max_severity.as_str(), r.risk_score), ("awaiting_review", "high", 43));
            assert_eq!(findings_of_release(conn, release_id).unwrap().len(), 2);
        }
    }

    #[test]
    fn concurrent_inspections_of_one_release_always_finish_it() {
        for db in TestDb::all() {
            let pool = db.pool();
            for round in 0..5 {
                let (release_id, ids) = {
                    let conn = &mut pool.get().unwrap();
                    if round > 0 {
                        // A fresh project per round.
                        diesel::sql_query("DELETE FROM jobs").execute(conn).unwrap();
                    }
                    let req = PinnedRequirement::parse(&format!("demo{round}==1.0")).unwrap();
                    request_release(conn, &req, None, 3, &Default::default()).unwrap();
                    let name = ProjectName::parse(&format!("demo{round}")).unwrap();
                    let (_, r) = find_release(conn, &name, &Version::parse("1.0").unwrap()).unwrap().unwrap();
                    let ids: Vec<i64> = (0..4)
                        .map(|i| {
                            let f = NewFile {
                                release_id: r.id,
                                filename: format!("f{i}.whl"),
                                sha256: Sha256::of(&[i as u8]),
                                size: 1,
                                upstream_url: "u".into(),
                                requires_python: None,
                                yanked: None,
                                upload_time: None,
                            };
                            add_file(conn, &f).unwrap().id
                        })
                        .collect();
                    start_inspection(conn, r.id, &ids, 3).unwrap();
                    (r.id, ids)
                };
                std::thread::scope(|s| {
                    for id in &ids {
                        let pool = pool.clone();
                        s.spawn(move || record_inspection(&mut pool.get().unwrap(), *id, &inspection("low"), &|_| Vec::new()).unwrap());
                    }
                });
                let (_, r) = release_by_id(&mut pool.get().unwrap(), release_id).unwrap();
                assert_eq!(r.status, crate::domain::ReleaseStatus::AwaitingReview, "round {round} on {}", db.label);
            }
        }
    }
}
