//! `GET /audit`: the append-only audit log, newest first, filtered by
//! actor, action, project, dates and free text, a page at a time; and
//! `GET /audit/export`: the same filtered log as CSV or JSON.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::audit::{self, AuditEvent, AuditFilter};
use airlock_store::domain::ProjectName;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Page, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{format_time, url_part, Nav};

/// Events on one page.
const PAGE: i64 = 100;
/// The most events one export carries (newest first); the JSON says when
/// it stopped short, the CSV in a header.
const EXPORT_MAX: i64 = 100_000;

/// The filters, as the form and the links carry them.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    project: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: i64,
    /// `csv` or `json` (export only).
    #[serde(default)]
    format: String,
}

/// Midnight UTC starting `day` (`YYYY-MM-DD`), in ms; `field` names the input in the error.
fn day_start(day: &str, field: &str) -> Result<i64, AppError> {
    chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| AppError::BadRequest(format!("{field} must be a date as YYYY-MM-DD")))
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, AppError> {
        let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let project = match given(&self.project) {
            Some(p) => Some(ProjectName::parse(&p).map_err(|_| AppError::BadRequest("the project is not a valid project name".into()))?),
            None => None,
        };
        let since = given(&self.from).map(|d| day_start(&d, "from")).transpose()?;
        let until = given(&self.to).map(|d| day_start(&d, "to").map(|t| t + 24 * 3600 * 1000)).transpose()?;
        let filter = AuditFilter { actor: given(&self.actor), action: given(&self.action), project, since, until, text: given(&self.q) };
        filter.check()?;
        Ok(filter)
    }

    /// The query string of these filters (without paging).
    fn filters_query(&self) -> String {
        [("actor", &self.actor), ("action", &self.action), ("project", &self.project), ("from", &self.from), ("to", &self.to), ("q", &self.q)]
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", url_part(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn link(&self, path: &str, extra: &str) -> String {
        let query = [self.filters_query(), extra.to_string()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("&");
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }
}

pub struct EventRow {
    when: String,
    actor: String,
    action: String,
    target: String,
    /// Where the target is shown, when the dashboard has a page for it.
    target_href: Option<String>,
    detail: String,
    /// The file hashes an approval covered, shown folded.
    hashes: Vec<String>,
}

/// The dashboard page of an event's target: a release, a project, an
/// import, a user (for admins). Targets are `name version` for releases.
fn target_href(action: &str, target: &str, is_admin: bool) -> Option<String> {
    let family = action.split('.').next().unwrap_or("");
    match family {
        "release" | "file" | "upstream" | "finding" | "policy" => {
            let (name, version) = target.split_once(' ')?;
            let name = ProjectName::parse(name).ok()?;
            (!version.contains(' ')).then(|| format!("/releases/{}/{}", url_part(name.as_str()), url_part(version)))
        }
        "project" => ProjectName::parse(target).ok().map(|n| format!("/projects/{}", url_part(n.as_str()))),
        "import" => target.strip_prefix("import #").filter(|id| id.parse::<i64>().is_ok()).map(|id| format!("/imports/{id}")),
        "user" if is_admin => Some("/admin/users".into()),
        "token" if is_admin => Some("/admin/tokens".into()),
        _ => None,
    }
}

/// A detail without its trailing `[files: h1, h2, …]`, and those hashes.
fn split_hashes(detail: &str) -> (String, Vec<String>) {
    if let Some(at) = detail.rfind(" [files: ").or_else(|| detail.starts_with("[files: ").then_some(0)) {
        if let Some(list) = detail[at..].trim_start().strip_prefix("[files: ").and_then(|l| l.strip_suffix(']')) {
            let hashes: Vec<String> = list.split(", ").filter(|h| !h.is_empty()).map(String::from).collect();
            return (detail[..at].to_string(), hashes);
        }
    }
    (detail.to_string(), Vec::new())
}

fn row(e: AuditEvent, is_admin: bool) -> EventRow {
    let (detail, hashes) = split_hashes(&e.detail);
    EventRow {
        when: format_time(e.at),
        actor: e.actor.unwrap_or_else(|| "system".into()),
        target_href: target_href(&e.action, &e.target, is_admin),
        action: e.action,
        target: e.target,
        detail,
        hashes,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    nav: Option<Nav>,
    events: Vec<EventRow>,
    actor: String,
    action: String,
    project: String,
    from: String,
    to: String,
    q: String,
    filtered: bool,
    /// 1-based positions of the first and last event shown.
    first: i64,
    last: i64,
    newer: Option<String>,
    older: Option<String>,
    csv: String,
    json: String,
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<AuditQuery>) -> Result<AuditPage, AppError> {
    let filter = q.filter()?;
    let offset = q.offset.max(0);
    let mut events = state.db(move |c| audit::search(c, &filter, PAGE + 1, offset)).await?;
    let more = events.len() as i64 > PAGE;
    events.truncate(PAGE as usize);
    let is_admin = auth.user.role >= airlock_store::domain::Role::Admin;
    let shown = events.len() as i64;
    Ok(AuditPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        newer: (offset > 0).then(|| q.link("/audit", &if offset > PAGE { format!("offset={}", offset - PAGE) } else { String::new() })),
        older: more.then(|| q.link("/audit", &format!("offset={}", offset + PAGE))),
        csv: q.link("/audit/export", "format=csv"),
        json: q.link("/audit/export", "format=json"),
        filtered: !q.filters_query().is_empty(),
        events: events.into_iter().map(|e| row(e, is_admin)).collect(),
        actor: q.actor.clone(),
        action: q.action.clone(),
        project: q.project.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        q: q.q.clone(),
    })
}

/// An event's time in exports: RFC 3339, UTC, to the millisecond.
fn export_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// `GET /audit/export?format=csv|json&…filters`: the filtered log, newest
/// first, as a download.
pub async fn export(_auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<AuditQuery>) -> Result<HttpResponse, AppError> {
    let csv = match q.format.trim() {
        "csv" => true,
        "json" => false,
        _ => return Err(AppError::BadRequest("format must be csv or json".into())),
    };
    let filter = q.filter()?;
    let mut events = state.db(move |c| audit::search(c, &filter, EXPORT_MAX + 1, 0)).await?;
    let truncated = events.len() as i64 > EXPORT_MAX;
    events.truncate(EXPORT_MAX as usize);
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    if truncated {
        resp.insert_header(("X-Airlock-Truncated", EXPORT_MAX.to_string()));
    }
    if csv {
        let mut body = crate::csv::row(["id", "time", "actor", "action", "target", "detail"]);
        for e in &events {
            let (id, time) = (e.id.to_string(), export_time(e.at));
            body.push_str(&crate::csv::row([id.as_str(), &time, e.actor.as_deref().unwrap_or("system"), &e.action, &e.target, &e.detail]));
        }
        Ok(resp.content_type("text/csv; charset=utf-8").insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"airlock-audit.csv\"")).body(body))
    } else {
        let events: Vec<serde_json::Value> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id, "time": export_time(e.at), "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail,
                })
            })
            .collect();
        Ok(resp
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"airlock-audit.json\""))
            .json(serde_json::json!({ "events": events, "truncated": truncated })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_link_to_their_pages() {
        assert_eq!(target_href("release.approve", "six 1.16.0", false).as_deref(), Some("/releases/six/1.16.0"));
        assert_eq!(target_href("file.add", "Six_X 1.0", false).as_deref(), Some("/releases/six-x/1.0"));
        assert_eq!(target_href("policy.declined", "six 1.17.0", false).as_deref(), Some("/releases/six/1.17.0"));
        assert_eq!(target_href("finding.review", "six 1.17.0", false).as_deref(), Some("/releases/six/1.17.0"));
        assert_eq!(target_href("project.watch", "six", false).as_deref(), Some("/projects/six"));
        assert_eq!(target_href("import.create", "import #12", false).as_deref(), Some("/imports/12"));
        assert_eq!(target_href("import.create", "import #x", false), None);
        assert_eq!(target_href("user.role", "alice", true).as_deref(), Some("/admin/users"));
        assert_eq!(target_href("user.role", "alice", false), None, "only admins get a link to the admin pages");
        assert_eq!(target_href("token.create", "alice", true).as_deref(), Some("/admin/tokens"));
        assert_eq!(target_href("release.approve", "\"><script> 1", false), None);
        assert_eq!(target_href("reserved_name.refused", "acme 1.0", true), None);
    }

    #[test]
    fn an_approvals_hash_list_is_split_off() {
        let (text, hashes) = split_hashes("ok [read: whole release, 3 lines; x] [files: aa, bb]");
        assert_eq!((text.as_str(), hashes), ("ok [read: whole release, 3 lines; x]", vec!["aa".to_string(), "bb".to_string()]));
        let (text, hashes) = split_hashes("no hashes here");
        assert_eq!((text.as_str(), hashes.len()), ("no hashes here", 0));
        let (text, hashes) = split_hashes("[files: aa]");
        assert_eq!((text.as_str(), hashes), ("", vec!["aa".to_string()]));
    }

    #[test]
    fn filters_are_parsed_and_bad_ones_refused() {
        let q = AuditQuery { from: "2026-12-01".into(), to: "2026-12-01".into(), project: "Six".into(), ..Default::default() };
        let f = q.filter().unwrap();
        assert_eq!(f.until.unwrap() - f.since.unwrap(), 24 * 3600 * 1000, "to is inclusive");
        assert_eq!(f.project.unwrap().as_str(), "six");
        assert!(AuditQuery { from: "yesterday".into(), ..Default::default() }.filter().is_err());
        assert!(AuditQuery { project: "<script>".into(), ..Default::default() }.filter().is_err());
        assert!(AuditQuery { from: "2026-12-02".into(), to: "2026-12-01".into(), ..Default::default() }.filter().is_err());
        let q = AuditQuery { actor: "a b".into(), q: "x&y=z".into(), ..Default::default() };
        assert_eq!(q.link("/audit", "offset=100"), "/audit?actor=a%20b&q=x%26y%3Dz&offset=100");
        assert_eq!(AuditQuery::default().link("/audit", ""), "/audit");
    }
}
