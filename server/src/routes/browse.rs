//! The file viewer (`GET /releases/<name>/<version>/files/<filename>`):
//! the archive's listing, and with `?path=` one file in it, with line
//! numbers, line anchors (`#L12`), the lines findings point at highlighted
//! and Python highlighted. Binary files show their size and type, never
//! their bytes. Everything shown comes from the package and is escaped by
//! the template; invisible bidirectional-control characters are shown as
//! visible markers, since they can make code read differently than it runs.
//!
//! The listing is a tree of collapsible directories with file counts (see
//! [`crate::file_tree`]), opened within [`TREE_ROWS`] rows so that a big
//! sdist stays a light page; a folded directory has a page of its own
//! (`?dir=`). A filter box narrows the tree in the page's script, and
//! `?filter=` does it on the server, over the whole archive.
//!
//! Only the file asked for is read whole, when it is at most the size shown,
//! and its memory comes from the review budget first: a larger file is
//! "too large to show", and a busy budget answers 503 with `Retry-After`.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::web;
use airlock_inspect::archive::EntryKind;
use airlock_inspect::native::{self, NativeInfo};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::archives;
use crate::auth::{Page, Viewer};
use crate::error::AppError;
use crate::file_tree::{self, Leaf, TreeRow};
use crate::highlight::{self, Span};
use crate::memory::{self, Held, MemoryError};
use crate::release_detail;
use crate::routes::release::{release_base, viewer_href};
use crate::state::AppState;
use crate::views::{format_size, Nav};

/// Lines shown of one file; past this the viewer says the rest was cut.
const MAX_LINES: usize = 50_000;

/// Bytes held per byte of a file shown: the bytes, the text, and the
/// highlighter's spans and the page's markup, which outweigh the text
/// several times (a span per token, a tag around each).
const VIEW_COST_PER_BYTE: u64 = 16;

/// Rows of the listing's tree on one page.
const TREE_ROWS: usize = 1_000;

/// Entries listed for a filter, at most.
const FILTER_ROWS: usize = 1_000;

pub struct CodeLine {
    number: usize,
    spans: Vec<Span>,
    flagged: bool,
    notes: Vec<String>,
}

pub struct Viewed {
    path: String,
    text: bool,
    lines: Vec<CodeLine>,
    cut: bool,
    size: String,
    bytes: u64,
    kind: &'static str,
    sha256: String,
    /// Findings about the file as a whole (no line).
    notes: Vec<String>,
    /// What a native binary is and uses; None for other files.
    native: Option<NativeInfo>,
    /// Why a native binary is not described, when it is not.
    native_missing: Option<String>,
    /// Its head reads like a native binary.
    native_candidate: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "browse.html")]
pub struct BrowsePage {
    nav: Option<Nav>,
    base_href: String,
    listing_href: String,
    project: String,
    version: String,
    filename: String,
    /// Entries in the archive (or under `dir`).
    entry_count: usize,
    tree: Vec<TreeRow>,
    /// The directory the listing is rooted at (`?dir=`).
    dir: Option<String>,
    /// The server-side filter and what it matched (at most [`FILTER_ROWS`]).
    filter: String,
    matches: Vec<Leaf>,
    matches_total: usize,
    viewed: Option<Viewed>,
    missing: Option<String>,
    /// The review memory the file takes, given back once the page is rendered.
    _held: Held,
}

#[derive(Deserialize)]
pub struct BrowseQuery {
    path: Option<String>,
    /// Only entries whose path contains this (case-insensitive).
    filter: Option<String>,
    /// The listing's root directory.
    dir: Option<String>,
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "folder",
        EntryKind::Symlink => "symlink",
        EntryKind::Hardlink => "hardlink",
        EntryKind::Other => "special",
    }
}

/// Bidirectional-control and zero-width characters, which make text display
/// differently from how it runs ("Trojan Source").
fn is_invisible_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

/// Replace invisible control characters by visible `<U+202E>` spans.
fn reveal_controls(spans: Vec<Span>) -> Vec<Span> {
    if !spans.iter().any(|s| s.text.chars().any(is_invisible_control)) {
        return spans;
    }
    let mut out = Vec::new();
    for span in spans {
        let mut run = String::new();
        for c in span.text.chars() {
            if is_invisible_control(c) {
                if !run.is_empty() {
                    out.push(Span { class: span.class, text: std::mem::take(&mut run) });
                }
                out.push(Span { class: "bidi", text: format!("<U+{:04X}>", c as u32) });
            } else {
                run.push(c);
            }
        }
        if !run.is_empty() {
            out.push(Span { class: span.class, text: run });
        }
    }
    out
}

pub async fn page(
    auth: Page<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    q: web::Query<BrowseQuery>,
) -> Result<BrowsePage, AppError> {
    let (name, version, filename) = path.into_inner();
    let detail = release_detail::load(&state, &name, &version).await?;
    let file = detail.files.iter().find(|f| f.filename == filename).cloned().ok_or_else(|| AppError::NotFound("no such file in this release".into()))?;
    let findings: Vec<_> = detail.findings.iter().filter(|(_, fname)| *fname == file.filename).map(|(f, _)| f.clone()).collect();
    let (reader, read_file, wanted) = (state.reader(), file.clone(), q.path.clone());
    let (archive, held) = web::block(move || -> Result<_, AppError> {
        // Only the file asked for is kept, at most the size shown: that is
        // taken from the budget before reading, the rest once it is known.
        let paths: HashSet<String> = wanted.into_iter().collect();
        let mut held = if paths.is_empty() { Held::default() } else { reader.memory.hold(archives::MAX_SHOWN_BYTES)? };
        let mut archive = reader.load(&read_file, &paths)?;
        match archive.members.first_mut().filter(|m| m.text && !m.truncated) {
            Some(m) => {
                let cost = memory::text_cost(m.size, m.lines.min(MAX_LINES as u64), VIEW_COST_PER_BYTE);
                let more = cost.saturating_sub(held.bytes());
                match reader.memory.grow(&mut held, more) {
                    Ok(()) => held.shrink_to(cost),
                    // Showing it would take more than the whole budget.
                    Err(MemoryError::TooLarge { .. }) => {
                        (m.content, m.truncated) = (Vec::new(), true);
                        held.shrink_to(0);
                    }
                    Err(busy) => return Err(busy.into()),
                }
            }
            None => held.shrink_to(archive.members.first().map_or(0, |m| m.content.len() as u64)),
        }
        Ok((archive, held))
    })
    .await??;
    let base = release_base(&detail.project.name, &detail.release.version);
    let mut per_path: HashMap<&str, usize> = HashMap::new();
    for f in &findings {
        if let Some(p) = &f.path {
            *per_path.entry(p.as_str()).or_default() += 1;
        }
    }
    let leaves: Vec<Leaf> = archive
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::Dir)
        .map(|e| Leaf {
            href: viewer_href(&base, &file.filename, &e.path, None),
            path: e.path.clone(),
            kind: kind_name(e.kind),
            size: format_size(e.size),
            findings: per_path.get(e.path.as_str()).copied().unwrap_or(0),
        })
        .collect();
    let listing = format!("{base}/files/{}", crate::views::url_part(&file.filename));
    let filter: String = q.filter.as_deref().unwrap_or("").trim().chars().take(200).collect();
    let dir = q.dir.as_deref().map(|d| d.trim_matches('/').to_string()).filter(|d| !d.is_empty());
    let (mut matches, mut matches_total) = (Vec::new(), 0);
    let (tree, entry_count) = if filter.is_empty() {
        file_tree::tree(leaves, dir.as_deref().unwrap_or(""), TREE_ROWS, |d| format!("{listing}?dir={}", crate::views::url_path_query(d)))
    } else {
        let needle = filter.to_lowercase();
        let count = leaves.len();
        for leaf in leaves.into_iter().filter(|l| l.path.to_lowercase().contains(&needle)) {
            matches_total += 1;
            if matches.len() < FILTER_ROWS {
                matches.push(leaf);
            }
        }
        (Vec::new(), count)
    };
    let (mut viewed, mut missing) = (None, None);
    if let Some(wanted) = q.path.as_deref() {
        match archive.member(wanted) {
            None => {
                let entry = archive.entries.iter().find(|e| e.path == wanted);
                missing = Some(match entry {
                    Some(e) => format!("{wanted} is a {} and has no content to show", kind_name(e.kind)),
                    None => format!("{wanted} is not in this archive (or a limit stopped the reading before it)"),
                });
            }
            Some(member) => {
                let text = member.text && !member.truncated;
                let mut by_line: BTreeMap<i64, Vec<String>> = BTreeMap::new();
                let mut notes = Vec::new();
                for f in findings.iter().filter(|f| f.path.as_deref() == Some(wanted)) {
                    let note = format!("{} [{}]: {}", f.rule, f.severity, f.message);
                    match f.line {
                        Some(l) => by_line.entry(l).or_default().push(note),
                        None => notes.push(note),
                    }
                }
                let mut lines = Vec::new();
                let mut cut = false;
                if text {
                    // The lines past those shown are never highlighted.
                    let shown = member.content.split_inclusive(|&b| b == b'\n').take(MAX_LINES).map(<[u8]>::len).sum();
                    let source = String::from_utf8_lossy(&member.content[..shown]);
                    let spans = if highlight::is_python(wanted) { highlight::python(&source) } else { highlight::plain(&source) };
                    cut = member.lines > MAX_LINES as u64;
                    lines = spans
                        .into_iter()
                        .take(MAX_LINES)
                        .enumerate()
                        .map(|(i, spans)| {
                            let notes = by_line.remove(&(i as i64 + 1)).unwrap_or_default();
                            CodeLine { number: i + 1, spans: reveal_controls(spans), flagged: !notes.is_empty(), notes }
                        })
                        .collect();
                }
                // Findings at lines past the end still show, as file notes.
                notes.extend(by_line.into_values().flatten());
                viewed = Some(Viewed {
                    path: member.path.clone(),
                    text,
                    lines,
                    cut,
                    size: format_size(member.size),
                    bytes: member.size,
                    kind: if text {
                        "text"
                    } else if member.text {
                        "text, too large to show"
                    } else if member.sha256.is_none() {
                        "cut short by a reading limit"
                    } else {
                        archives::binary_type(&member.content)
                    },
                    sha256: member.sha256.map(hex::encode).unwrap_or_else(|| "unknown (not read whole)".into()),
                    notes,
                    native_candidate: !member.text && native::is_native(&member.content),
                    native: None,
                    native_missing: None,
                });
            }
        }
    }
    if let Some(v) = viewed.as_mut().filter(|v| !v.text && v.native_candidate) {
        match describe_native(&state, &file, &v.path, v.bytes).await {
            Ok(info) => v.native = info,
            Err(AppError::Busy(e)) => return Err(AppError::Busy(e)),
            Err(e) => v.native_missing = Some(e.to_string()),
        }
    }
    Ok(BrowsePage {
        nav: Nav::new(&auth.user, &auth.csrf),
        listing_href: format!("{base}/files/{}", crate::views::url_part(&file.filename)),
        base_href: base,
        project: detail.project.name,
        version: detail.release.version,
        filename: file.filename,
        entry_count,
        tree,
        dir,
        filter,
        matches,
        matches_total,
        viewed,
        missing,
        _held: held,
    })
}

/// Largest native binary described, in bytes: it is read whole, from the
/// review memory budget.
const MAX_NATIVE_BYTES: u64 = 64 * 1024 * 1024;

/// Read a native binary whole (its memory taken from the review budget
/// first) and describe it, on a blocking thread. Ok(None) when it is
/// larger than [`MAX_NATIVE_BYTES`] or than the whole budget.
async fn describe_native(state: &AppState, file: &airlock_store::files::FileRow, path: &str, size: u64) -> Result<Option<NativeInfo>, AppError> {
    if size > MAX_NATIVE_BYTES {
        return Err(AppError::BadRequest(format!("{} is larger than {} MiB and is not read whole", format_size(size), MAX_NATIVE_BYTES / (1024 * 1024))));
    }
    let (reader, file, path) = (state.reader(), file.clone(), path.to_string());
    web::block(move || -> Result<Option<NativeInfo>, AppError> {
        let _held = match reader.memory.hold(size) {
            Ok(h) => h,
            Err(MemoryError::TooLarge { .. }) => return Err(AppError::BadRequest(format!("{} does not fit in the review memory budget", format_size(size)))),
            Err(busy) => return Err(busy.into()),
        };
        let archive = reader.load_whole(&file, &path, MAX_NATIVE_BYTES)?;
        let member = archive.member(&path).ok_or_else(|| AppError::NotFound(format!("{path} is not in this archive")))?;
        if member.truncated {
            return Err(AppError::BadRequest("a reading limit cut the binary short".into()));
        }
        Ok(native::describe(&member.content))
    })
    .await?
}
