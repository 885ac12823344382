//! A release's distribution files and their inspection results (findings,
//! core metadata). Recording an inspection is idempotent, and the last file
//! inspected moves its release to `awaiting_review`.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::{ReleaseStatus, Sha256};
use crate::error::StoreResult;
use crate::now_ms;
use crate::releases::severity_rank;
use crate::schema::{files, findings, releases};

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
    pub dist_kind: String,
    pub inspected: bool,
    pub max_severity: String,
    #[serde(skip)]
    pub core_metadata: Option<String>,
    pub created_at: i64,
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
    conn.transaction(|conn| {
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
    })
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
    pub severity: String,
    pub path: Option<String>,
    pub line: Option<i64>,
    pub message: String,
    pub snippet: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewFinding {
    pub rule: String,
    pub severity: String,
    pub path: Option<String>,
    pub line: Option<i64>,
    pub message: String,
    pub snippet: Option<String>,
}

/// What inspecting one file produced.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub dist_kind: String,
    /// Core metadata fields as JSON, for display.
    pub core_metadata: Option<String>,
    /// Digest of the wheel's METADATA file, stored as its own blob (PEP 658).
    pub metadata_sha256: Option<Sha256>,
    pub findings: Vec<NewFinding>,
}

/// Points a finding of each severity adds to a release's risk score.
pub fn severity_weight(severity: &str) -> i64 {
    match severity {
        "critical" => 100,
        "high" => 40,
        "medium" => 10,
        "low" => 3,
        _ => 0,
    }
}

/// Record a file's inspection (replacing any earlier one). When it was the
/// release's last uninspected file, score the release and move it from
/// `inspecting` to `awaiting_review`; returns the release's new status then.
pub fn record_inspection(conn: &mut AnyConnection, file_id: i64, inspection: &Inspection) -> StoreResult<Option<ReleaseStatus>> {
    conn.transaction(|conn| {
        diesel::delete(findings::table.filter(findings::file_id.eq(file_id))).execute(conn)?;
        let mut max = "none";
        for f in &inspection.findings {
            diesel::insert_into(findings::table)
                .values((
                    findings::file_id.eq(file_id),
                    findings::rule.eq(&f.rule),
                    findings::severity.eq(&f.severity),
                    findings::path.eq(&f.path),
                    findings::line.eq(f.line),
                    findings::message.eq(&f.message),
                    findings::snippet.eq(&f.snippet),
                ))
                .execute(conn)?;
            if severity_rank(&f.severity) > severity_rank(max) {
                max = f.severity.as_str();
            }
        }
        let file: FileRow = diesel::update(files::table.find(file_id))
            .set((
                files::inspected.eq(true),
                files::dist_kind.eq(&inspection.dist_kind),
                files::core_metadata.eq(&inspection.core_metadata),
                files::metadata_sha256.eq(inspection.metadata_sha256.as_ref().map(|s| s.as_str())),
                files::max_severity.eq(max),
            ))
            .returning(files::all_columns)
            .get_result(conn)?;
        finish_release_if_inspected(conn, file.release_id)
    })
}

/// If every file of the release is inspected, score it and hand it to review.
fn finish_release_if_inspected(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Option<ReleaseStatus>> {
    let all = files_of_release(conn, release_id)?;
    if all.iter().any(|f| !f.inspected) {
        return Ok(None);
    }
    let severities: Vec<String> = findings::table
        .inner_join(files::table)
        .filter(files::release_id.eq(release_id))
        .select(findings::severity)
        .load(conn)?;
    let score: i64 = severities.iter().map(|s| severity_weight(s)).sum();
    let max = severities.iter().max_by_key(|s| severity_rank(s)).map(String::as_str).unwrap_or("none");
    let n = diesel::update(releases::table.find(release_id).filter(releases::status.eq(ReleaseStatus::Inspecting.as_str())))
        .set((
            releases::status.eq(ReleaseStatus::AwaitingReview.as_str()),
            releases::risk_score.eq(score),
            releases::max_severity.eq(max),
            releases::updated_at.eq(now_ms()),
        ))
        .execute(conn)?;
    Ok((n == 1).then_some(ReleaseStatus::AwaitingReview))
}

/// A release's findings with the file each is in, most severe first.
pub fn findings_of_release(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<(FindingRow, String)>> {
    let mut rows: Vec<(FindingRow, String)> = findings::table
        .inner_join(files::table)
        .filter(files::release_id.eq(release_id))
        .order(findings::id)
        .select((FindingRow::as_select(), files::filename))
        .load(conn)?;
    rows.sort_by_key(|(f, _)| std::cmp::Reverse(severity_rank(&f.severity)));
    Ok(rows)
}

/// Mirroring is done: move the release to `inspecting` and queue one
/// `inspect_file` job per file, atomically.
pub fn start_inspection(conn: &mut AnyConnection, release_id: i64, file_ids: &[i64], max_attempts: i64) -> StoreResult<()> {
    conn.transaction(|conn| {
        crate::releases::set_status(conn, release_id, ReleaseStatus::Inspecting, None)?;
        for file_id in file_ids {
            crate::tasks::enqueue(conn, &crate::tasks::InspectFile { file_id: *file_id }, max_attempts)?;
        }
        Ok(())
    })
}
