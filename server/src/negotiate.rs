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

/// What pip sends (22.2 and later): JSON first, then both HTML forms.
pub const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
/// What uv sends.
pub const UV_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

fn format_of(media: &str) -> Option<IndexFormat> {
    const FORMATS: [(&str, IndexFormat); 8] = [
        (JSON_V1, IndexFormat::Json),
        ("application/vnd.pypi.simple.latest+json", IndexFormat::Json),
        // Of the types `application/*` covers, JSON is the one PEP 691 recommends.
        ("application/*", IndexFormat::Json),
        (HTML_V1, IndexFormat::Html(HTML_V1)),
        ("application/vnd.pypi.simple.latest+html", IndexFormat::Html(HTML_V1)),
        (HTML_LEGACY, IndexFormat::Html(HTML_LEGACY)),
        ("text/*", IndexFormat::Html(HTML_LEGACY)),
        ("*/*", IndexFormat::Html(HTML_LEGACY)),
    ];
    FORMATS.iter().find(|(name, _)| name.eq_ignore_ascii_case(media)).map(|(_, f)| *f)
}

/// The exact headers installers send, answered without parsing: one
/// string comparison for pip, uv, poetry (`*/*`, from requests) and a
/// plain JSON or HTML request.
fn fast_path(accept: &str) -> Option<IndexFormat> {
    match accept {
        PIP_ACCEPT | UV_ACCEPT | JSON_V1 => Some(IndexFormat::Json),
        "*/*" | HTML_LEGACY => Some(IndexFormat::Html(HTML_LEGACY)),
        HTML_V1 => Some(IndexFormat::Html(HTML_V1)),
        _ => None,
    }
}

/// A `q=` parameter's value among a media range's parameters (1 when absent).
pub(crate) fn quality<'a>(params: impl Iterator<Item = &'a str>) -> f32 {
    params
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim().eq_ignore_ascii_case("q").then(|| value.trim().parse::<f32>().ok()).flatten()
        })
        .next()
        .unwrap_or(1.0)
}

/// The format to answer with, or None when nothing acceptable is offered (406).
pub fn choose(accept: Option<&str>, format_override: Option<&str>) -> Option<IndexFormat> {
    if let Some(f) = format_override.filter(|f| !f.is_empty()) {
        return format_of(f.trim());
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(IndexFormat::Html(HTML_LEGACY));
    };
    fast_path(accept).or_else(|| parse(accept))
}

/// The full RFC 9110 reading of an Accept header: the acceptable range of
/// highest quality, the earlier one at equal quality.
fn parse(accept: &str) -> Option<IndexFormat> {
    let mut best: Option<(f32, IndexFormat)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let q = quality(parts);
        if q <= 0.0 {
            continue;
        }
        let Some(format) = format_of(media) else { continue };
        // Higher q wins; at equal q, the earlier range wins.
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f)
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
    // What requests (pip, poetry), reqwest (uv), curl and browsers send.
    match header {
        "gzip, deflate" | "gzip" | "deflate, gzip" => return Encoding::Gzip,
        "gzip, deflate, br" | "gzip, br" | "br, gzip" | "gzip, deflate, br, zstd" | "br" => return Encoding::Brotli,
        "" | "identity" => return Encoding::Identity,
        _ => {}
    }
    let (mut br, mut gz, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q = quality(parts);
        if coding.eq_ignore_ascii_case("br") {
            br = Some(q);
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gz = Some(q);
        } else if coding == "*" {
            star = Some(q);
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
    fn bare(t: &str) -> &str {
        t.trim().trim_start_matches("W/")
    }
    let etag = bare(etag);
    header.split(',').any(|t| t.trim() == "*" || bare(t) == etag)
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
    fn installers_exact_headers_take_the_fast_path_and_agree_with_the_parser() {
        let poetry = "*/*"; // requests' default: poetry's legacy repositories send it
        for (accept, want) in [
            (PIP_ACCEPT, IndexFormat::Json),
            (UV_ACCEPT, IndexFormat::Json),
            (JSON_V1, IndexFormat::Json),
            (poetry, IndexFormat::Html(HTML_LEGACY)),
            (HTML_LEGACY, IndexFormat::Html(HTML_LEGACY)),
            (HTML_V1, IndexFormat::Html(HTML_V1)),
        ] {
            assert_eq!(fast_path(accept), Some(want), "{accept}");
            assert_eq!(parse(accept), Some(want), "the fast path must answer as the parser does: {accept}");
            assert_eq!(choose(Some(accept), None), Some(want), "{accept}");
        }
        // Near misses go the long way and still get the right answer.
        assert_eq!(fast_path("application/vnd.pypi.simple.v1+json,text/html;q=0.01"), None);
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+json,text/html;q=0.01"), None), Some(IndexFormat::Json));
        assert_eq!(choose(Some("Application/VND.pypi.simple.v1+JSON"), None), Some(IndexFormat::Json));
    }

    #[test]
    fn wildcards_and_quality_values() {
        assert_eq!(choose(Some("application/*"), None), Some(IndexFormat::Json));
        assert_eq!(choose(Some("*/*"), None), Some(IndexFormat::Html(HTML_LEGACY)));
        assert_eq!(choose(Some("text/*"), None), Some(IndexFormat::Html(HTML_LEGACY)));
        assert_eq!(choose(Some("application/*;q=0.5, text/html"), None), Some(IndexFormat::Html(HTML_LEGACY)));
        assert_eq!(choose(Some("text/html;q=0.2, application/*"), None), Some(IndexFormat::Json));
        assert_eq!(choose(Some("text/html; Q=0.1, application/vnd.pypi.simple.v1+html; q=0.3"), None), Some(IndexFormat::Html(HTML_V1)));
        assert_eq!(choose(Some("text/html;q=0, */*;q=0"), None), None);
        assert_eq!(choose(Some("image/png, */*;q=0.1"), None), Some(IndexFormat::Html(HTML_LEGACY)));
        // Equal quality: the earlier range wins.
        assert_eq!(choose(Some("text/html, application/vnd.pypi.simple.v1+json"), None), Some(IndexFormat::Html(HTML_LEGACY)));
        // A malformed q is ignored (quality 1), not a refusal.
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+json;q=x"), None), Some(IndexFormat::Json));
    }

    #[test]
    fn installers_encodings_take_the_fast_path() {
        assert_eq!(choose_encoding(Some("gzip, deflate")), Encoding::Gzip); // requests: pip, poetry
        assert_eq!(choose_encoding(Some("gzip, br")), Encoding::Brotli); // reqwest: uv
        assert_eq!(choose_encoding(Some("gzip, deflate, br, zstd")), Encoding::Brotli);
        assert_eq!(choose_encoding(Some("")), Encoding::Identity);
        assert_eq!(choose_encoding(Some("GZIP;q=0.5, identity")), Encoding::Gzip);
    }

    #[test]
    fn the_format_query_overrides_accept() {
        assert_eq!(choose(Some("text/html"), Some(JSON_V1)), Some(IndexFormat::Json));
        assert_eq!(choose(None, Some("bogus")), None);
    }
}
