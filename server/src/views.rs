//! Small helpers shared by the page handlers: the navigation bar's data and
//! time formatting. Templates get plain strings, never raw HTML.

use airlock_store::auth::User;

/// What the layout needs to show the signed-in user and the sign-out form.
pub struct Nav {
    pub user: String,
    pub role: String,
    pub csrf: String,
}

impl Nav {
    pub fn new(user: &User, csrf: &str) -> Option<Nav> {
        Some(Nav { user: user.name.clone(), role: user.role.as_str().to_string(), csrf: csrf.to_string() })
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}
