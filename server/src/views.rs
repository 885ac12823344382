//! Small helpers shared by the page handlers: the navigation bar's data,
//! time and size formatting, and URL pieces. Templates get plain strings,
//! never raw HTML.

use airlock_store::auth::User;
use airlock_store::domain::Role;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What the layout needs to show the signed-in user and the sign-out form.
pub struct Nav {
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub is_admin: bool,
    pub is_auditor: bool,
}

impl Nav {
    pub fn new(user: &User, csrf: &str) -> Option<Nav> {
        Some(Nav {
            user: user.name.clone(),
            role: user.role.as_str().to_string(),
            csrf: csrf.to_string(),
            is_admin: user.role >= Role::Admin,
            is_auditor: user.role >= Role::Auditor,
        })
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(ms: i64) -> String {
    airlock_store::format_utc(ms)
}

/// An upstream timestamp (RFC 3339, as PEP 700's `upload-time`:
/// `2026-12-01T11:20:31.123456Z`) as the dashboard shows every time:
/// `2026-12-01 11:20 UTC`. A value that is not RFC 3339 is shown as it is.
pub fn format_timestamp(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339.trim()).map(|t| format_time(t.timestamp_millis())).unwrap_or_else(|_| rfc3339.to_string())
}

/// How long ago `ms` was, roughly (`3 d`, `5 h`, `12 min`).
pub fn format_age(ms: i64, now: i64) -> String {
    let mins = (now - ms).max(0) / 60_000;
    match mins {
        m if m >= 2 * 24 * 60 => format!("{} d", m / (24 * 60)),
        m if m >= 120 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// The `page` query parameter of a paged list: 1 when absent, a clear
/// error when it is not a number from 1 to `max`.
pub fn page_number(raw: Option<&str>, max: usize) -> Result<usize, crate::error::AppError> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| crate::error::AppError::BadRequest(format!("page must be a number from 1 to {max}, not {p:?}"))),
    }
}

/// A count with thousands separators: `62,481`.
pub fn format_count(n: impl Count) -> String {
    let n = n.count();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count for people (`1.2 MiB`).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Characters escaped in a path segment or query value: everything but
/// unreserved characters, so hostile names cannot break out of a URL.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `s` percent-encoded for use as one URL path segment or query value.
pub fn url_part(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `s` percent-encoded for a query value, keeping `/` readable.
pub fn url_path_query(s: &str) -> String {
    const KEEP_SLASH: &AsciiSet = &COMPONENT.remove(b'/');
    utf8_percent_encode(s, KEEP_SLASH).to_string()
}

/// A whole number for [`format_count`], however deeply referenced (a
/// template passes `&i64` or `&&i64`).
pub trait Count {
    fn count(&self) -> i64;
}

impl Count for i64 {
    fn count(&self) -> i64 {
        *self
    }
}

impl<T: Count + ?Sized> Count for &T {
    fn count(&self) -> i64 {
        (**self).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_timestamps_read_as_dashboard_times() {
        assert_eq!(format_timestamp("2026-12-01T11:20:31.123456Z"), "2026-12-01 11:20 UTC");
        assert_eq!(format_timestamp("2026-12-01T12:20:31+01:00"), "2026-12-01 11:20 UTC", "converted to UTC");
        assert_eq!(format_timestamp("2024-01-01T00:00:00.000000Z"), format_time(1_704_067_200_000), "one format for both kinds of time");
        assert_eq!(format_timestamp("last tuesday"), "last tuesday");
    }

    #[test]
    fn a_page_number_is_one_by_default_and_bad_ones_are_refused() {
        assert_eq!(page_number(None, 10).unwrap(), 1);
        assert_eq!(page_number(Some(" 3 "), 10).unwrap(), 3);
        for bad in ["0", "11", "-1", "two", "1e3"] {
            let err = page_number(Some(bad), 10).unwrap_err().to_string();
            assert!(err.contains("from 1 to 10"), "{bad}: {err}");
        }
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(62481), "62,481");
        assert_eq!(format_count(-1234567), "-1,234,567");
    }

    #[test]
    fn url_parts_cannot_break_out() {
        assert_eq!(url_part("a b\"><x>/y"), "a%20b%22%3E%3Cx%3E%2Fy");
        assert_eq!(url_path_query("pkg/../x y"), "pkg/../x%20y");
        assert_eq!(url_part("javascript:alert(1)"), "javascript%3Aalert%281%29");
    }

    #[test]
    fn sizes_and_ages_read_well() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_age(0, 3 * 24 * 3600 * 1000), "3 d");
        assert_eq!(format_age(0, 5 * 60_000), "5 min");
    }
}
