//! Lockfile imports: an organization's requirements.txt or pylock.toml
//! becomes one request per pinned release, with a record of what became of
//! every line.
//!
//! Creating an import records the import and all its lines in one
//! transaction and queues a `check_import_line` job for each line that can
//! be requested. Lines that cannot (unreadable, unpinned without
//! `resolve_unpinned`, a marker that holds on none of the targets) are
//! decided at once, with the reason. The worker checks a line's hashes
//! against the upstream's (or picks the newest version for an unpinned
//! line) and then requests the release here, through
//! [`releases::request_release_with`] (with the line's extras, and its
//! dependencies when the import asks), so every rule that guards a request
//! applies to imported lines too. A refused line is recorded on the line
//! and in the audit log, and its release is never requested.

use std::collections::HashMap;

use airlock_resolve::lockfile::{marker_fits, Entry, LineError, Parsed, Pin};
use airlock_resolve::Targets;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit;
use crate::db::AnyConnection;
use crate::domain::{PinnedRequirement, ProjectName, ReleaseStatus, Version};
use crate::error::{StoreError, StoreResult};
use crate::names::NamePolicy;
use crate::now_ms;
use crate::releases;
use crate::schema::{import_lines, imports, releases as releases_table};
use crate::tasks::{self, CheckImportLine};

/// Most lines one import may hold.
pub const MAX_LINES: usize = 5_000;

/// The lockfile formats Airlock reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// pip's requirements file.
    Requirements,
    /// PEP 751 `pylock.toml`.
    Pylock,
}

impl Format {
    pub fn parse(raw: &str) -> StoreResult<Format> {
        match raw.trim() {
            "requirements" | "requirements.txt" => Ok(Format::Requirements),
            "pylock" | "pylock.toml" => Ok(Format::Pylock),
            other => Err(StoreError::Invalid(format!("unknown format {:?}: use requirements or pylock", other.chars().take(40).collect::<String>()))),
        }
    }

    /// The format a file name suggests: `pylock.toml` and `pylock.*.toml` are PEP 751.
    pub fn of_filename(name: &str) -> Format {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name).to_ascii_lowercase();
        if base.starts_with("pylock") && base.ends_with(".toml") {
            Format::Pylock
        } else {
            Format::Requirements
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Requirements => "requirements",
            Format::Pylock => "pylock",
        }
    }

    /// Read `content` (a file named `source`). `include` reads the files of
    /// a requirements file's `-r` lines (see
    /// [`airlock_resolve::requirements_txt::parse`]).
    pub fn read(self, source: &str, content: &str, include: &mut dyn FnMut(&str, &str) -> airlock_resolve::requirements_txt::Included) -> Parsed {
        match self {
            Format::Requirements => airlock_resolve::requirements_txt::parse(source, content, include),
            Format::Pylock => airlock_resolve::pylock::parse(source, content),
        }
    }
}

/// How an import asks for its releases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportOptions {
    /// Request the newest version satisfying an unpinned line, instead of refusing it.
    pub resolve_unpinned: bool,
    /// Request each release's dependencies too.
    pub with_dependencies: bool,
}

/// What becomes of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// Waiting for a worker to check it against the upstream and request it.
    Checking,
    /// Its release was requested (or was already on its way).
    Requested,
    /// Its release was already approved when the line was checked.
    AlreadyApproved,
    /// Not requested, for the reason given: unreadable, unpinned, a hash
    /// the upstream does not have, a name Airlock may not fetch.
    Refused,
    /// The upstream could not be asked, or has no such release.
    Failed,
    /// Its marker holds on none of the configured targets.
    Skipped,
}

impl LineState {
    pub const ALL: [LineState; 6] =
        [LineState::Checking, LineState::Requested, LineState::AlreadyApproved, LineState::Refused, LineState::Failed, LineState::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Checking => "checking",
            LineState::Requested => "requested",
            LineState::AlreadyApproved => "already_approved",
            LineState::Refused => "refused",
            LineState::Failed => "failed",
            LineState::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> StoreResult<LineState> {
        LineState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| StoreError::Invalid(format!("unknown import line state {s:?}")))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = imports)]
pub struct ImportRow {
    pub id: i64,
    pub format: String,
    pub source: String,
    pub requested_by: Option<String>,
    pub resolve_unpinned: bool,
    pub with_dependencies: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_lines)]
pub struct LineRow {
    pub id: i64,
    pub import_id: i64,
    pub position: i64,
    pub source: String,
    pub line: i64,
    pub text: String,
    pub project: Option<String>,
    pub version: Option<String>,
    /// An unpinned line's specifiers as written (empty for a bare name).
    pub specifier: Option<String>,
    /// JSON list.
    pub extras: String,
    pub marker: Option<String>,
    /// JSON list of sha256 digests.
    pub hashes: String,
    pub state: String,
    pub reason: Option<String>,
    pub release_id: Option<i64>,
    pub updated_at: i64,
}

impl LineRow {
    pub fn hash_list(&self) -> Vec<String> {
        serde_json::from_str(&self.hashes).unwrap_or_default()
    }

    pub fn extra_list(&self) -> Vec<String> {
        serde_json::from_str(&self.extras).unwrap_or_default()
    }

    pub fn state(&self) -> StoreResult<LineState> {
        LineState::parse(&self.state)
    }

    /// Where the line is, for messages: `requirements.txt line 4`.
    pub fn location(&self) -> String {
        if self.line > 0 {
            format!("{} line {}", self.source, self.line)
        } else {
            format!("{} entry {}", self.source, self.position + 1)
        }
    }
}

/// A line about to be recorded.
struct NewLine<'a> {
    source: &'a str,
    line: usize,
    text: &'a str,
    project: Option<String>,
    version: Option<String>,
    specifier: Option<String>,
    extras: Vec<String>,
    marker: Option<String>,
    hashes: Vec<String>,
    state: LineState,
    reason: Option<String>,
}

impl<'a> NewLine<'a> {
    fn refused(e: &'a LineError) -> NewLine<'a> {
        NewLine {
            source: &e.source,
            line: e.line,
            text: &e.text,
            project: None,
            version: None,
            specifier: None,
            extras: Vec::new(),
            marker: None,
            hashes: Vec::new(),
            state: LineState::Refused,
            reason: Some(e.message.clone()),
        }
    }

    /// A requirement's line, and what to do with it before any upstream is asked.
    fn of_entry(e: &'a Entry, options: ImportOptions, targets: &Targets) -> NewLine<'a> {
        let (version, specifier) = match &e.pin {
            Pin::Exact(v) => (Some(v.to_string()), None),
            Pin::Unpinned(spec) => (None, Some(spec.clone())),
        };
        let mut line = NewLine {
            source: &e.source,
            line: e.line,
            text: &e.text,
            project: None,
            version,
            specifier,
            extras: e.extras.clone(),
            marker: e.marker.clone(),
            hashes: e.hashes.clone(),
            state: LineState::Checking,
            reason: None,
        };
        let decided = match ProjectName::parse(&e.name) {
            Err(err) => Some((LineState::Refused, err.to_string())),
            Ok(name) => {
                line.project = Some(name.to_string());
                if let Some(marker) = e.marker.as_deref().filter(|m| !marker_fits(m, targets)) {
                    Some((LineState::Skipped, format!("its marker ({marker}) holds on none of the targets ({targets})")))
                } else if let (Some(reason), false) = (e.pin.unpinned_reason(), options.resolve_unpinned) {
                    Some((LineState::Refused, format!("{reason}, or import with resolve_unpinned to take the newest version")))
                } else {
                    // Pins pep440_rs read but Airlock's own bounds refuse (an overlong version).
                    line.version.as_deref().and_then(|v| Version::parse(v).err()).map(|e| (LineState::Refused, e.to_string()))
                }
            }
        };
        if let Some((state, reason)) = decided {
            line.state = state;
            line.reason = Some(reason);
        }
        line
    }
}

/// An import about to be created.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    pub format: Format,
    /// The imported file's name.
    pub source: &'a str,
    pub requested_by: Option<&'a str>,
    pub options: ImportOptions,
}

/// Record an import of `parsed` and queue the checks of its lines; returns
/// its id. Refuses an empty file and one of more than [`MAX_LINES`] lines.
pub fn create(conn: &mut AnyConnection, new: &NewImport, parsed: &Parsed, targets: &Targets, max_attempts: i64, names: &NamePolicy) -> StoreResult<i64> {
    if parsed.lines.is_empty() {
        return Err(StoreError::Invalid(format!("{} holds no requirements", new.source)));
    }
    if parsed.lines.len() > MAX_LINES {
        return Err(StoreError::Invalid(format!("{} holds {} requirements; one import takes at most {MAX_LINES}", new.source, parsed.lines.len())));
    }
    let mut lines: Vec<NewLine> = parsed
        .lines
        .iter()
        .map(|l| match l {
            Ok(entry) => NewLine::of_entry(entry, new.options, targets),
            Err(error) => NewLine::refused(error),
        })
        .collect();
    // A reserved name is refused here, before any check could ask the
    // upstream about it.
    let mut reserved: Vec<(String, String)> = Vec::new();
    for l in lines.iter_mut().filter(|l| l.state == LineState::Checking) {
        let Some(project) = l.project.clone() else { continue };
        if let Some(pattern) = names.reserved.matching(&project) {
            l.state = LineState::Refused;
            l.reason = Some(crate::names::reserved_advice(&project, &pattern));
            reserved.push((project, pattern));
        }
    }
    crate::db::write_transaction(conn, |conn| {
        for (project, pattern) in &reserved {
            crate::names::record_refusal(conn, new.requested_by, project, pattern, "import")?;
        }
        let now = now_ms();
        let id: i64 = diesel::insert_into(imports::table)
            .values((
                imports::format.eq(new.format.as_str()),
                imports::source.eq(new.source),
                imports::requested_by.eq(new.requested_by),
                imports::resolve_unpinned.eq(new.options.resolve_unpinned),
                imports::with_dependencies.eq(new.options.with_dependencies),
                imports::created_at.eq(now),
            ))
            .returning(imports::id)
            .get_result(conn)?;
        let mut refused = 0;
        for (position, l) in lines.iter().enumerate() {
            let line_id: i64 = diesel::insert_into(import_lines::table)
                .values((
                    import_lines::import_id.eq(id),
                    import_lines::position.eq(position as i64),
                    import_lines::source.eq(l.source),
                    import_lines::line.eq(l.line as i64),
                    import_lines::text.eq(l.text),
                    import_lines::project.eq(&l.project),
                    import_lines::version.eq(&l.version),
                    import_lines::specifier.eq(&l.specifier),
                    import_lines::extras.eq(json(&l.extras)),
                    import_lines::marker.eq(&l.marker),
                    import_lines::hashes.eq(json(&l.hashes)),
                    import_lines::state.eq(l.state.as_str()),
                    import_lines::reason.eq(&l.reason),
                    import_lines::updated_at.eq(now),
                ))
                .returning(import_lines::id)
                .get_result(conn)?;
            match l.state {
                LineState::Checking => {
                    tasks::enqueue(conn, &CheckImportLine { line_id }, max_attempts)?;
                }
                LineState::Refused => refused += 1,
                _ => {}
            }
        }
        let detail = format!("{} ({}): {} lines, {refused} refused", new.source, new.format.as_str(), lines.len());
        audit::record(conn, new.requested_by, "import.create", &format!("import #{id}"), &detail)?;
        Ok(id)
    })
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

pub fn import_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<ImportRow> {
    imports::table.find(id).select(ImportRow::as_select()).first(conn).optional()?.ok_or_else(|| StoreError::NotFound(format!("import #{id}")))
}

pub fn line_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<(ImportRow, LineRow)>> {
    Ok(import_lines::table
        .inner_join(imports::table)
        .filter(import_lines::id.eq(id))
        .select((ImportRow::as_select(), LineRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Decide a line that is still being checked (with the version it was
/// requested at, when it was); false when it was decided already (a job
/// that ran twice).
fn settle(conn: &mut AnyConnection, line_id: i64, state: LineState, version: Option<&str>, reason: Option<&str>, release_id: Option<i64>) -> StoreResult<bool> {
    let still_checking = import_lines::table.find(line_id).filter(import_lines::state.eq(LineState::Checking.as_str()));
    let decided = (
        import_lines::state.eq(state.as_str()),
        import_lines::reason.eq(reason),
        import_lines::release_id.eq(release_id),
        import_lines::updated_at.eq(now_ms()),
    );
    let changed = match version {
        Some(v) => diesel::update(still_checking).set((decided, import_lines::version.eq(v))).execute(conn)?,
        None => diesel::update(still_checking).set(decided).execute(conn)?,
    };
    Ok(changed == 1)
}

/// Refuse (or fail) a line being checked, with the reason, on the line and
/// in the audit log. `target` names what the audit event is about (the
/// release, when known).
pub fn refuse_line(conn: &mut AnyConnection, line_id: i64, state: LineState, action: &str, target: &str, reason: &str) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        let Some((import, line)) = line_by_id(conn, line_id)? else { return Ok(()) };
        if settle(conn, line_id, state, None, Some(reason), None)? {
            let detail = format!("{reason} (import #{}, {})", import.id, line.location());
            audit::record(conn, import.requested_by.as_deref(), action, target, &detail)?;
        }
        Ok(())
    })
}

/// Request the release of a checked line (`version` is the line's pin, or
/// the version chosen for an unpinned line) and record what came of it. A
/// request the store refuses (a reserved name, say) refuses the line.
pub fn request_line(conn: &mut AnyConnection, line_id: i64, version: &Version, max_attempts: i64, names: &NamePolicy) -> StoreResult<LineState> {
    let Some((import, line)) = line_by_id(conn, line_id)? else { return Err(StoreError::NotFound(format!("import line #{line_id}"))) };
    if line.state()? != LineState::Checking {
        return line.state();
    }
    let name = ProjectName::parse(line.project.as_deref().unwrap_or_default())?;
    let req = PinnedRequirement { name, version: version.clone() };
    let target = format!("{} {}", req.name, req.version);
    let outcome = match request(conn, &import, &line, &req, max_attempts, names) {
        Ok(outcome) => outcome,
        Err(e @ StoreError::Reserved { .. }) => {
            refuse_line(conn, line_id, LineState::Refused, "import.refused", &target, &e.to_string())?;
            return Ok(LineState::Refused);
        }
        Err(StoreError::Invalid(reason) | StoreError::Conflict(reason)) => {
            refuse_line(conn, line_id, LineState::Refused, "import.refused", &target, &reason)?;
            return Ok(LineState::Refused);
        }
        Err(e) => return Err(e),
    };
    let release_id = releases::find_release(conn, &req.name, &req.version)?.map(|(_, r)| r.id);
    let (state, reason) = if outcome.status == ReleaseStatus::Approved {
        (LineState::AlreadyApproved, None)
    } else if outcome.queued {
        (LineState::Requested, None)
    } else {
        (LineState::Requested, Some(format!("already requested ({})", outcome.status)))
    };
    settle(conn, line_id, state, Some(version.as_str()), reason.as_deref(), release_id)?;
    Ok(state)
}

/// The one place an import line becomes a request: with the line's extras
/// and, when the import asks for them, the release's dependencies.
fn request(
    conn: &mut AnyConnection,
    import: &ImportRow,
    line: &LineRow,
    req: &PinnedRequirement,
    max_attempts: i64,
    names: &NamePolicy,
) -> StoreResult<releases::RequestOutcome> {
    let extras = line.extra_list();
    let options = releases::RequestOptions {
        requested_by: import.requested_by.as_deref(),
        with_dependencies: import.with_dependencies,
        extras: &extras,
        source: crate::domain::RequestSource::Import,
    };
    releases::request_release_with(conn, req, &options, max_attempts, names)
}

/// How an import's lines stand: what the import did with them, and where
/// their releases are now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub lines: i64,
    /// Lines a worker has yet to check and request.
    pub checking: i64,
    /// Lines whose release the import requested (new, or already on its way).
    pub requested: i64,
    /// Lines whose release was approved before the import.
    pub already_approved: i64,
    pub refused: i64,
    pub failed: i64,
    pub skipped: i64,
    /// Lines still being checked, or whose release is not yet decided.
    pub pending: i64,
    /// Lines whose release is approved now.
    pub approved: i64,
    /// Lines whose release was rejected or revoked.
    pub rejected: i64,
    /// Lines whose release failed to mirror or inspect.
    pub release_failed: i64,
}

/// One line of an import, as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct LineReport {
    pub source: String,
    pub line: i64,
    pub text: String,
    pub project: Option<String>,
    pub version: Option<String>,
    pub extras: Vec<String>,
    pub marker: Option<String>,
    pub hashes: usize,
    pub state: String,
    pub reason: Option<String>,
    /// The requested release's status now.
    pub release_status: Option<String>,
    pub release_error: Option<String>,
}

/// An import's progress and result.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The import itself (its fields sit at the top level in JSON).
    #[serde(flatten)]
    pub import: ImportRow,
    /// True once no line is pending.
    pub done: bool,
    pub counts: ImportCounts,
    pub lines: Vec<LineReport>,
}

/// The releases import `id` requested (or found approved), in file order.
pub fn release_ids(conn: &mut AnyConnection, id: i64) -> StoreResult<Vec<i64>> {
    import_by_id(conn, id)?;
    let ids: Vec<Option<i64>> =
        import_lines::table.filter(import_lines::import_id.eq(id)).order(import_lines::position).select(import_lines::release_id).load(conn)?;
    Ok(ids.into_iter().flatten().collect())
}

/// The report of import `id`, with each requested release's current status.
pub fn report(conn: &mut AnyConnection, id: i64) -> StoreResult<ImportReport> {
    let import = import_by_id(conn, id)?;
    let rows: Vec<LineRow> =
        import_lines::table.filter(import_lines::import_id.eq(id)).order(import_lines::position).select(LineRow::as_select()).load(conn)?;
    let release_ids: Vec<i64> = rows.iter().filter_map(|r| r.release_id).collect();
    let mut statuses: HashMap<i64, (String, Option<String>)> = HashMap::new();
    for chunk in release_ids.chunks(500) {
        let found: Vec<(i64, String, Option<String>)> = releases_table::table
            .filter(releases_table::id.eq_any(chunk))
            .select((releases_table::id, releases_table::status, releases_table::error))
            .load(conn)?;
        statuses.extend(found.into_iter().map(|(id, status, error)| (id, (status, error))));
    }
    let mut counts = ImportCounts { lines: rows.len() as i64, ..ImportCounts::default() };
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let state = row.state()?;
        let (release_status, release_error) = row.release_id.and_then(|id| statuses.get(&id).cloned()).map_or((None, None), |(s, e)| (Some(s), e));
        match state {
            LineState::Checking => {
                counts.checking += 1;
                counts.pending += 1;
            }
            LineState::Requested => counts.requested += 1,
            LineState::AlreadyApproved => counts.already_approved += 1,
            LineState::Refused => counts.refused += 1,
            LineState::Failed => counts.failed += 1,
            LineState::Skipped => counts.skipped += 1,
        }
        match release_status.as_deref().map(str::parse::<ReleaseStatus>).transpose()? {
            Some(ReleaseStatus::Approved) => counts.approved += 1,
            Some(ReleaseStatus::Rejected | ReleaseStatus::Revoked) => counts.rejected += 1,
            Some(ReleaseStatus::Failed) => counts.release_failed += 1,
            Some(_) => counts.pending += 1,
            None => {}
        }
        lines.push(LineReport {
            hashes: row.hash_list().len(),
            extras: row.extra_list(),
            source: row.source,
            line: row.line,
            text: row.text,
            project: row.project,
            version: row.version,
            marker: row.marker,
            state: row.state,
            reason: row.reason,
            release_status,
            release_error,
        });
    }
    Ok(ImportReport { import, done: counts.pending == 0, counts, lines })
}

/// The newest imports, newest first, with their line counts.
pub fn recent(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<(ImportRow, i64)>> {
    let rows: Vec<ImportRow> = imports::table.order(imports::id.desc()).limit(limit).select(ImportRow::as_select()).load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts: Vec<(i64, i64)> = import_lines::table
        .filter(import_lines::import_id.eq_any(&ids))
        .group_by(import_lines::import_id)
        .select((import_lines::import_id, diesel::dsl::count_star()))
        .load(conn)?;
    let counts: HashMap<i64, i64> = counts.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = counts.get(&r.id).copied().unwrap_or(0);
            (r, n)
        })
        .collect())
}

#[cfg(test)]
mod tests;
