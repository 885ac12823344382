//! HTTP negotiation for the simple index. PEP 691 formats: the client's
//! Accept header (with quality values) or a `?format=` override picks JSON
//! v1, HTML v1 or legacy `text/html`; no Accept header means HTML, as PEP 691
//! asks. Content codings: Accept-Encoding picks brotli, gzip or identity.
//! Conditional requests: If-None-Match against a strong ETag.

pub const JSON_V1: &str = "application/vnd.pypi.simple.v1+json";
pub const HTML_V1: &str = "application/vnd.pypi.simple.v1+html";
pub const HTML_LEGACY: &str = "text/html";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexFormat {
    Json,
    /// HTML, answered with this content type.
    Html(&'static str),
}

impl IndexFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            IndexFormat::Json => JSON_V1,
            IndexFormat::Html(ct) => ct,
        }
    }
}

fn format_of(media: &str) -> Option<IndexFormat> {
    match media {
        JSON_V1 | "application/vnd.pypi.simple.latest+json" => Some(IndexFormat::Json),
        HTML_V1 | "application/vnd.pypi.simple.latest+html" => Some(IndexFormat::Html(HTML_V1)),
        HTML_LEGACY | "text/*" | "*/*" => Some(IndexFormat::Html(HTML_LEGACY)),
        _ => None,
    }
}

/// The format to answer with, or None when nothing acceptable is offered (406).
pub fn choose(accept: Option<&str>, format_override: Option<&str>) -> Option<IndexFormat> {
    if let Some(f) = format_override.filter(|f| !f.is_empty()) {
        return format_of(f.trim());
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(IndexFormat::Html(HTML_LEGACY));
    };
    let mut best: Option<(f32, usize, IndexFormat)> = None;
    for (pos, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts.filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok())).next().unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let Some(format) = format_of(&media) else { continue };
        // Higher q wins; at equal q, the earlier range wins.
        if best.is_none_or(|(bq, _, _)| q > bq) {
            best = Some((q, pos, format));
        }
    }
    best.map(|(_, _, f)| f)
}

/// A content coding the index can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value (None for identity).
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }
}

/// The best coding the client accepts: the highest quality value, brotli
/// before gzip at equal quality; identity unless refused.
pub fn choose_encoding(accept_encoding: Option<&str>) -> Encoding {
    let Some(header) = accept_encoding else { return Encoding::Identity };
    let (mut br, mut gz, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts.filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok())).next().unwrap_or(1.0);
        match coding.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gz = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let br = br.or(star).unwrap_or(0.0);
    let gz = gz.or(star).unwrap_or(0.0);
    if br > 0.0 && br >= gz {
        Encoding::Brotli
    } else if gz > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// True when an If-None-Match header matches `etag` (weak comparison, as
/// RFC 9110 asks for If-None-Match).
pub fn none_match(if_none_match: Option<&str>, etag: &str) -> bool {
    let Some(header) = if_none_match else { return false };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header.split(',').any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_quality_values() {
        assert_eq!(choose_encoding(None), Encoding::Identity);
        assert_eq!(choose_encoding(Some("gzip, deflate")), Encoding::Gzip);
        assert_eq!(choose_encoding(Some("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(choose_encoding(Some("br;q=0.5, gzip")), Encoding::Gzip);
        assert_eq!(choose_encoding(Some("br;q=0, gzip;q=0")), Encoding::Identity);
        assert_eq!(choose_encoding(Some("*")), Encoding::Brotli);
        assert_eq!(choose_encoding(Some("identity")), Encoding::Identity);
    }

    #[test]
    fn if_none_match_compares_tags_weakly() {
        assert!(none_match(Some("\"abc\""), "\"abc\""));
        assert!(none_match(Some("W/\"abc\""), "\"abc\""));
        assert!(none_match(Some("\"x\", \"abc\""), "\"abc\""));
        assert!(none_match(Some("*"), "\"abc\""));
        assert!(!none_match(Some("\"abd\""), "\"abc\""));
        assert!(!none_match(None, "\"abc\""));
    }

    #[test]
    fn no_accept_header_gets_legacy_html() {
        assert_eq!(choose(None, None), Some(IndexFormat::Html(HTML_LEGACY)));
    }

    #[test]
    fn quality_values_pick_the_format() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(choose(Some(pip), None), Some(IndexFormat::Json));
        let html_first = "application/vnd.pypi.simple.v1+json;q=0.5, text/html";
        assert_eq!(choose(Some(html_first), None), Some(IndexFormat::Html(HTML_LEGACY)));
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+html"), None), Some(IndexFormat::Html(HTML_V1)));
    }

    #[test]
    fn unsupported_or_refused_types_are_not_acceptable() {
        assert_eq!(choose(Some("application/xml"), None), None);
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+json;q=0"), None), None);
    }

    #[test]
    fn the_format_query_overrides_accept() {
        assert_eq!(choose(Some("text/html"), Some(JSON_V1)), Some(IndexFormat::Json));
        assert_eq!(choose(None, Some("bogus")), None);
    }
}
