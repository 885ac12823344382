//! The overview (`GET /overview`): releases per state, review throughput
//! over the last 30 days, findings by rule and the oldest waiting requests,
//! with charts drawn on the server as inline SVG (no script, no external
//! library). Chart geometry is computed here; the template only places it.

use actix_web::web;
use airlock_inspect::Severity;
use airlock_store::domain::ReleaseStatus;
use airlock_store::{overview, releases};
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{Page, Viewer};
use crate::error::AppError;
use crate::routes::release::release_base;
use crate::state::AppState;
use crate::views::{format_age, format_time, Nav};

const DAYS: i64 = 30;

/// A horizontal bar: a label, its value, and its width in chart units.
pub struct HBar {
    label: String,
    value: i64,
    y: i64,
    width: i64,
    class: String,
}

/// One day's stacked column: approvals at the bottom, then rejections and revocations.
pub struct Column {
    x: i64,
    label: String,
    title: String,
    segments: Vec<(i64, i64, &'static str)>,
}

pub struct WaitingRow {
    href: String,
    project: String,
    version: String,
    max_severity: Severity,
    age: String,
    since: String,
    requested_by: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    nav: Option<Nav>,
    states: Vec<HBar>,
    states_height: i64,
    rules: Vec<HBar>,
    rules_height: i64,
    columns: Vec<Column>,
    throughput_total: i64,
    throughput_max: i64,
    waiting: Vec<WaitingRow>,
    /// Advisory matches, newest first, with each release's page.
    advisory_matches: Vec<(String, airlock_store::advisories::MatchView)>,
    advisories_stored: i64,
}

/// Chart units for the longest bar.
const BAR_SPAN: i64 = 400;
const ROW: i64 = 22;
const COLUMN_HEIGHT: i64 = 120;

fn hbars(rows: Vec<(String, i64, String)>) -> Vec<HBar> {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    rows.into_iter()
        .enumerate()
        .map(|(i, (label, value, class))| HBar { label, value, y: i as i64 * ROW, width: (value * BAR_SPAN / max).max(i64::from(value > 0)), class })
        .collect()
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<OverviewPage, AppError> {
    let now = airlock_store::now_ms();
    let (counts, days, rules, waiting, (matched, advisories_stored)) = state
        .db(move |c| {
            let matched = airlock_store::advisories::matches(c, None, 50)?;
            let advisories = (matched, airlock_store::advisories::count(c)?);
            Ok((
                releases::status_counts(c)?,
                overview::decisions_per_day(c, DAYS, now)?,
                overview::findings_by_rule(c, 15)?,
                overview::oldest_waiting(c, 10)?,
                advisories,
            ))
        })
        .await?;
    let mut advisory_matches: Vec<(String, airlock_store::advisories::MatchView)> =
        matched.into_values().flatten().map(|m| (release_base(&m.project, &m.version), m)).collect();
    advisory_matches.sort_by(|a, b| b.1.matched_at.cmp(&a.1.matched_at).then(a.1.osv_id.cmp(&b.1.osv_id)));
    let states = hbars(
        ReleaseStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), counts.iter().find(|(n, _)| n == s).map_or(0, |(_, c)| *c), format!("status-{}", s.as_str())))
            .collect(),
    );
    let rules = hbars(rules.into_iter().map(|r| (r.rule, r.findings, format!("sev-{}", r.severity))).collect());
    let throughput_max = days.iter().map(|d| d.approve + d.reject + d.revoke).max().unwrap_or(0);
    let scale = throughput_max.max(1);
    let columns = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut top = COLUMN_HEIGHT;
            let mut segments = Vec::new();
            for (n, class) in [(d.approve, "approve"), (d.reject, "reject"), (d.revoke, "revoke")] {
                let h = n * COLUMN_HEIGHT / scale;
                if n > 0 {
                    top -= h.max(1);
                    segments.push((top, h.max(1), class));
                }
            }
            let day = chrono::DateTime::from_timestamp_millis(d.day).map(|t| t.format("%m-%d").to_string()).unwrap_or_default();
            Column { x: i as i64 * 14, title: format!("{day}: {} approved, {} rejected, {} revoked", d.approve, d.reject, d.revoke), label: day, segments }
        })
        .collect();
    Ok(OverviewPage {
        advisory_matches,
        advisories_stored,
        nav: Nav::new(&auth.user, &auth.csrf),
        states_height: states.len() as i64 * ROW,
        rules_height: (rules.len() as i64 * ROW).max(ROW),
        states,
        rules,
        columns,
        throughput_total: days.iter().map(|d| d.approve + d.reject + d.revoke).sum(),
        throughput_max,
        waiting: waiting
            .into_iter()
            .map(|w| WaitingRow {
                href: release_base(&w.project, &w.version),
                age: format_age(w.requested_at, now),
                since: format_time(w.requested_at),
                requested_by: w.requested_by.unwrap_or_else(|| "index miss".into()),
                project: w.project,
                version: w.version,
                max_severity: w.max_severity,
            })
            .collect(),
    })
}
