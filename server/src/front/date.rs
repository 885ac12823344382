//! The `Date` header line, formatted once a second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The second last formatted, and its `date: …\r\n` line.
    static LINE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

/// Append `date: <IMF-fixdate>\r\n` for now.
pub fn push_line(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    LINE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != second {
            let line = format!("date: {}\r\n", httpdate::fmt_http_date(now));
            *cached = (second, line.into_bytes());
        }
        out.extend_from_slice(&cached.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_an_http_date() {
        let mut out = Vec::new();
        push_line(&mut out);
        let line = String::from_utf8(out).unwrap();
        let value = line.strip_prefix("date: ").and_then(|l| l.strip_suffix("\r\n")).unwrap();
        let parsed = httpdate::parse_http_date(value).unwrap();
        let drift = SystemTime::now().duration_since(parsed).unwrap_or_default();
        assert!(drift.as_secs() <= 2, "{value}");
        assert!(value.ends_with(" GMT"), "{value}");
    }
}
