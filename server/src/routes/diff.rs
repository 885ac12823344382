//! The diff (`GET /releases/<name>/<version>/diff[?base=<version>]`): what
//! changed since the approved version the review is measured from (or the
//! version named by `base`): files added, removed and changed with unified
//! diffs of text, capabilities gained and lost, and findings that are new.
//! For a release with a trusted predecessor, this is most of the review.
//!
//! Only text that the page renders is held, and its memory comes from the
//! review budget first: a file over the size shown is "too large to show",
//! and a page that finds the budget spent answers 503 with `Retry-After`.
//!
//! A big release stays a light page: the list of changed files comes in
//! pages of [`FILES_PER_PAGE`] (`?page=`), diffs are shown inline only on
//! the first page and within [`MAX_RENDERED_LINES`], each file's diff has a
//! page of its own (`?path=`), and a release with no approved base (every
//! file is new) is summarised, file by file, with links to the viewer. The
//! page carries the decision form and the tabs to each file's listing.

use std::collections::HashSet;

use actix_web::web;
use airlock_inspect::archive::Archive;
use airlock_inspect::delta::{self, Change, DiffLine};
use airlock_inspect::Severity;
use airlock_store::domain::{ProjectName, Role, Version};
use airlock_store::files::{files_of_release, findings_of_release, FileRow};
use airlock_store::releases::find_release;
use airlock_store::StoreError;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Page, Viewer};
use crate::error::AppError;
use crate::memory::Held;
use crate::release_detail;
use crate::review::{self, pair_files, FilePair};
use crate::routes::release::{release_base, viewer_href};
use crate::state::AppState;
use crate::views::{format_count, url_part, Nav};

/// Diff lines rendered on one page, over all files; the rest is summarized.
const MAX_RENDERED_LINES: usize = 5_000;

/// Changed files listed on one page of the diff.
pub const FILES_PER_PAGE: usize = 500;

pub struct FileDiff {
    path: String,
    change: &'static str,
    binary: bool,
    /// Over the size shown: counted, never read whole.
    too_large: bool,
    /// The counts are every line of both versions, not a diff's.
    estimated: bool,
    added: usize,
    removed: usize,
    href: Option<String>,
    lines: Vec<DiffLine>,
    /// Not rendered: over the page's budget.
    elided: bool,
    /// This file's diff on a page of its own.
    diff_href: String,
}

pub struct PairView {
    new_file: String,
    base_file: Option<String>,
    files: Vec<FileDiff>,
    unchanged: usize,
}

pub struct NewFinding {
    severity: Severity,
    rule: String,
    path: String,
    line: Option<i64>,
    href: Option<String>,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "diff.html")]
pub struct DiffPage {
    nav: Option<Nav>,
    base_href: String,
    project: String,
    version: String,
    base_version: Option<String>,
    base_release_href: Option<String>,
    audit_lines: Option<i64>,
    pairs: Vec<PairView>,
    gained: Vec<String>,
    lost: Vec<String>,
    new_findings: Vec<NewFinding>,
    /// The review memory the diffs take, given back once the page is rendered.
    _held: Held,
    /// `files 501–1,000 of 10,312 changed`, when the list has more than one page.
    range: Option<String>,
    prev_href: Option<String>,
    next_href: Option<String>,
    /// The one file shown (`?path=`).
    only_path: Option<String>,
    /// Changed files over all pairs.
    changed_total: usize,
    /// Each distribution file's listing, for the tabs.
    tabs: Vec<(String, String)>,
    /// The decision form, when the user may decide now.
    decide: Option<DecideForm>,
    csrf: String,
}

/// What the diff page's decision form needs.
pub struct DecideForm {
    reviewed_hashes: String,
    criteria: Vec<String>,
    approvals_needed: usize,
    approvals_have: Vec<String>,
}

/// Which changed files one page shows: `skip` of them passed over, at most
/// `take` shown; `seen` counts them all.
struct Window {
    skip: usize,
    take: usize,
    seen: usize,
}

/// A page keeps at most this share of the review memory budget, so that
/// one large diff leaves room for other pages.
const PAGE_SHARE: u64 = 2;

/// The text of one side of a file, when the reading held it whole; an
/// absent side is empty.
fn held_text(archive: Option<&Archive>, path: &Option<String>) -> Option<String> {
    let Some(path) = path else {
        return Some(String::new());
    };
    let member = archive?.member(path)?;
    (!member.truncated).then(|| String::from_utf8_lossy(&member.content).into_owned())
}

/// The diffs of one pair of files, within the page's line `budget`: the
/// changed files in `window` (only `only` when given), with their diff
/// lines when `inline`.
fn pair_view(pair: &FilePair, budget: &mut usize, link_base: &str, window: &mut Window, inline: bool, only: Option<&str>) -> PairView {
    let deltas = pair.deltas();
    let unchanged = deltas.iter().filter(|d| d.change == Change::Unchanged).count();
    let files = deltas
        .into_iter()
        .filter(|d| d.change != Change::Unchanged && only.is_none_or(|p| d.path == p))
        .filter(|_| {
            window.seen += 1;
            if window.skip > 0 {
                window.skip -= 1;
                false
            } else if window.take > 0 {
                window.take -= 1;
                true
            } else {
                false
            }
        })
        .map(|d| {
            let too_large = !d.binary && !review::showable(&d);
            let mut lines = Vec::new();
            let mut elided = false;
            if inline && !d.binary && !too_large {
                match (held_text(pair.base_archive.as_ref(), &d.old_path), held_text(Some(&pair.new_archive), &d.new_path)) {
                    (Some(old), Some(new)) if *budget > 0 => {
                        lines = delta::unified(&old, &new, 3, *budget + 1);
                        if lines.len() > *budget {
                            lines.truncate(*budget);
                            elided = true;
                        }
                        *budget -= lines.len();
                    }
                    // Not loaded: past the page's lines or its share of memory.
                    _ => elided = true,
                }
            }
            FileDiff {
                diff_href: format!("{link_base}/diff?path={}", url_part(&d.path)),
                href: d.new_path.as_ref().map(|p| viewer_href(link_base, &pair.new_file.filename, p, None)),
                path: d.path,
                change: match d.change {
                    Change::Added => "added",
                    Change::Removed => "removed",
                    Change::Changed => "changed",
                    Change::Unchanged => "unchanged",
                },
                binary: d.binary,
                too_large,
                estimated: d.estimated,
                added: d.added_lines,
                removed: d.removed_lines,
                lines,
                elided,
            }
        })
        .collect();
    PairView { new_file: pair.new_file.filename.clone(), base_file: pair.base_file.as_ref().map(|f| f.filename.clone()), files, unchanged }
}

#[derive(Deserialize)]
pub struct DiffQuery {
    base: Option<String>,
    /// The page of the changed files' list, from 1.
    page: Option<String>,
    /// Only this file's diff (its path inside the archives).
    path: Option<String>,
}

impl DiffQuery {
    fn page_number(&self) -> Result<usize, AppError> {
        crate::views::page_number(self.page.as_deref(), 100_000)
    }

    fn link(&self, base_href: &str, page: usize) -> String {
        let mut href = format!("{base_href}/diff?page={page}");
        if let Some(b) = self.base.as_deref().filter(|b| !b.is_empty()) {
            href.push_str(&format!("&base={}", url_part(b)));
        }
        href
    }
}

fn capabilities(files: &[FileRow]) -> Vec<String> {
    let mut all: Vec<String> = files.iter().flat_map(|f| f.capability_names()).collect();
    all.sort();
    all.dedup();
    all
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, path: web::Path<(String, String)>, q: web::Query<DiffQuery>) -> Result<DiffPage, AppError> {
    let (name, version) = path.into_inner();
    let detail = release_detail::load(&state, &name, &version).await?;
    let wanted_base = q.base.clone().filter(|b| !b.is_empty());
    let page = q.page_number()?;
    let only = q.path.clone().filter(|p| !p.is_empty());
    let only_in = only.clone();
    let (project, release_id, store) = (detail.project.clone(), detail.release.id, state.store.clone());
    let base_href = release_base(&detail.project.name, &detail.release.version);
    let link_base = base_href.clone();
    let reader = state.reader();
    let out = web::block(move || -> Result<_, AppError> {
        let mut conn = store.conn()?;
        let c = &mut *conn;
        let audit = review::audit_size(c, release_id)?;
        let base = match &wanted_base {
            Some(v) => {
                let name = ProjectName::parse(&project.name)?;
                let (_, r) = find_release(c, &name, &Version::parse(v)?)?.ok_or_else(|| StoreError::NotFound(format!("release {} {v}", project.name)))?;
                Some(r)
            }
            None => match audit.as_ref().and_then(|a| a.base_release_id) {
                Some(id) => Some(airlock_store::releases::release_by_id(c, id)?.1),
                None => None,
            },
        };
        let new_files = files_of_release(c, release_id)?;
        let base_files = match &base {
            Some(b) => files_of_release(c, b.id)?,
            None => Vec::new(),
        };
        let new_findings = findings_of_release(c, release_id)?;
        let base_findings = match &base {
            Some(b) => findings_of_release(c, b.id)?,
            None => Vec::new(),
        };
        drop(conn);
        // One pair at a time: its archives are dropped once its diffs are
        // made; what the page keeps (the diff lines) stays paid for in `held`.
        let (mut held, mut budget) = (Held::default(), MAX_RENDERED_LINES);
        // Diffs inline: against a base, on the first page or for one file;
        // a release with no base is all new, and is summarised instead.
        let inline = base.is_some() && (page == 1 || only_in.is_some());
        let mut window = Window { skip: (page - 1) * FILES_PER_PAGE, take: FILES_PER_PAGE, seen: 0 };
        let mut views = Vec::new();
        for (new_file, base_file) in pair_files(&new_files, &base_files) {
            let room = (reader.memory.budget() / PAGE_SHARE).saturating_sub(held.bytes());
            let mut lines_left = budget;
            // Load what the page can render: files in order while their
            // lines (for a changed file, the fewest its diff can have) fit.
            let pair = review::read_pair(&reader, new_file, base_file, room, |d| {
                if !inline || only_in.as_deref().is_some_and(|p| d.path != p) {
                    return false;
                }
                let lines = if d.estimated { d.added_lines.abs_diff(d.removed_lines).max(1) } else { d.added_lines + d.removed_lines };
                let fits = lines_left > 0;
                lines_left = lines_left.saturating_sub(lines);
                fits
            })?;
            views.push(pair_view(&pair, &mut budget, &link_base, &mut window, inline, only_in.as_deref()));
            held.absorb(pair.held);
        }
        let changed_total = window.seen;
        // A finding is new when the base has none with the same rule, at the
        // same version-free path, over the same code.
        let key = |f: &airlock_store::files::FindingRow, file: &FileRow| {
            let kind = file.dist_kind;
            (f.rule.clone(), f.path.as_deref().map(|p| delta::version_free_path(kind, p)), f.snippet.clone().unwrap_or_else(|| f.message.clone()))
        };
        let base_keys: HashSet<_> =
            base_findings.iter().filter_map(|(f, filename)| base_files.iter().find(|b| &b.filename == filename).map(|file| key(f, file))).collect();
        let fresh: Vec<NewFinding> = new_findings
            .iter()
            .filter_map(|(f, filename)| {
                let file = new_files.iter().find(|n| &n.filename == filename)?;
                (!base_keys.contains(&key(f, file))).then(|| NewFinding {
                    severity: f.severity,
                    rule: f.rule.clone(),
                    path: format!("{filename}: {}", f.path.clone().unwrap_or_default()),
                    line: f.line,
                    href: f.path.as_ref().map(|p| viewer_href(&link_base, filename, p, f.line)),
                    message: f.message.clone(),
                })
            })
            .collect();
        let (now_caps, base_caps) = (capabilities(&new_files), capabilities(&base_files));
        let gained = now_caps.iter().filter(|c| !base_caps.contains(c)).cloned().collect();
        let lost = if base.is_some() { base_caps.iter().filter(|c| !now_caps.contains(c)).cloned().collect() } else { Vec::new() };
        Ok((audit, base, views, gained, lost, fresh, held, changed_total))
    })
    .await??;
    let (audit, base, pairs, gained, lost, new_findings, held, changed_total) = out;
    let shown: usize = pairs.iter().map(|p| p.files.len()).sum();
    let first = (page - 1) * FILES_PER_PAGE + 1;
    let round = detail.review_round();
    let already = round.approvals_have.contains(&auth.user.name);
    let decide = (auth.user.role >= Role::Auditor && round.awaiting && !already).then(|| {
        let mut criteria = vec![state.config.default_criteria.clone()];
        criteria.extend(state.config.criteria.iter().filter(|c| **c != state.config.default_criteria).cloned());
        DecideForm {
            reviewed_hashes: round.hashes.join(","),
            criteria,
            approvals_needed: state.review_policy().approvals_needed(detail.release.max_severity),
            approvals_have: round.approvals_have.clone(),
        }
    });
    Ok(DiffPage {
        range: (only.is_none() && (changed_total > FILES_PER_PAGE || page > 1)).then(|| {
            if shown > 0 {
                format!("files {}–{} of {} changed", format_count(first as i64), format_count((first + shown - 1) as i64), format_count(changed_total as i64))
            } else {
                format!("no files on page {page} of {} changed", format_count(changed_total as i64))
            }
        }),
        prev_href: (only.is_none() && page > 1).then(|| q.link(&base_href, page - 1)),
        next_href: (only.is_none() && first + shown <= changed_total && shown > 0).then(|| q.link(&base_href, page + 1)),
        only_path: only,
        changed_total,
        tabs: detail.files.iter().map(|f| (format!("Browse {}", f.dist_kind), format!("{base_href}/files/{}", url_part(&f.filename)))).collect(),
        decide,
        csrf: auth.csrf.clone(),
        nav: Nav::new(&auth.user, &auth.csrf),
        base_release_href: base.as_ref().map(|b| release_base(&detail.project.name, &b.version)),
        base_version: base.map(|b| b.version),
        audit_lines: audit.map(|a| a.lines),
        base_href,
        project: detail.project.name,
        version: detail.release.version,
        pairs,
        gained,
        lost,
        new_findings,
        _held: held,
    })
}
