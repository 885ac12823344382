//! HTTP negotiation for the simple index. PEP 691 formats: the client's
//! Accept header (with quality values) or a `?format=` override picks JSON
//! v1, HTML v1 or legacy `text/html`; no Accept header means HTML, as PEP 691
//! asks. Content codings: Accept-Encoding picks brotli, gzip or identity.
//! Conditional requests: If-None-Match against a strong ETag.
//!
//! Both headers are lists of ranges with quality values; [`ranges`] reads
//! them once for both. Installers send a handful of exact strings: those
//! are answered by one comparison before any parsing (the fast paths), and
//! a unit test holds each fast answer equal to the parsed one.

pub const JSON_V1: &str = "application/vnd.pypi.simple.v1+json";
pub const HTML_V1: &str = "application/vnd.pypi.simple.v1+html";
pub const HTML_LEGACY: &str = "text/html";

/// A format the index answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexFormat {
    /// PEP 691 JSON.
    Json,
    /// PEP 691 HTML: the PEP 503 page under its versioned media type.
    HtmlV1,
    /// PEP 503 HTML as `text/html`.
    HtmlLegacy,
}

impl IndexFormat {
    /// The `Content-Type` of a page in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            IndexFormat::Json => JSON_V1,
            IndexFormat::HtmlV1 => "application/vnd.pypi.simple.v1+html; charset=utf-8",
            IndexFormat::HtmlLegacy => "text/html; charset=utf-8",
        }
    }

    /// The bare media type (what an Accept range names).
    fn media_type(self) -> &'static str {
        match self {
            IndexFormat::Json => JSON_V1,
            IndexFormat::HtmlV1 => HTML_V1,
            IndexFormat::HtmlLegacy => HTML_LEGACY,
        }
    }
}

/// The formats offered, in the server's order of preference when one
/// range covers several: `*/*` (what requests, so poetry, sends) gets the
/// PEP 503 page every client understands; `application/*` gets JSON, the
/// format PEP 691 recommends.
const OFFERS: [IndexFormat; 3] = [IndexFormat::HtmlLegacy, IndexFormat::Json, IndexFormat::HtmlV1];

/// What pip sends (22.2 and later): JSON first, then both HTML forms.
pub const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
/// What uv sends.
pub const UV_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One range of an Accept or Accept-Encoding header: its name (a media
/// range or a coding), its quality value (1 when absent or malformed, as a
/// malformed value is no refusal) and its position in the header.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range<'a> {
    name: &'a str,
    q: f32,
    pos: usize,
}

/// The comma-separated ranges of an Accept-style header, with their `q`.
fn ranges(header: &str) -> impl Iterator<Item = Range<'_>> {
    header.split(',').enumerate().filter_map(|(pos, item)| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f32>().ok())
            .filter(|q| q.is_finite())
            .map_or(1.0, |q| q.clamp(0.0, 1.0));
        (!name.is_empty()).then_some(Range { name, q, pos })
    })
}

/// A media type as an index format, aliases included (`latest` is v1).
fn exact_format(media: &str) -> Option<IndexFormat> {
    const NAMES: [(&str, IndexFormat); 5] = [
        (JSON_V1, IndexFormat::Json),
        ("application/vnd.pypi.simple.latest+json", IndexFormat::Json),
        (HTML_V1, IndexFormat::HtmlV1),
        ("application/vnd.pypi.simple.latest+html", IndexFormat::HtmlV1),
        (HTML_LEGACY, IndexFormat::HtmlLegacy),
    ];
    NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(media)).map(|(_, f)| *f)
}

/// How specifically a media range names `offer`: 3 for the type itself,
/// 2 for `type/*`, 1 for `*/*`, None when it does not cover it.
fn specificity(range: &str, offer: IndexFormat) -> Option<u8> {
    if exact_format(range) == Some(offer) {
        return Some(3);
    }
    let (kind, sub) = range.split_once('/')?;
    let (offer_kind, _) = offer.media_type().split_once('/')?;
    match (kind.trim(), sub.trim()) {
        ("*", "*") => Some(1),
        (k, "*") if k.eq_ignore_ascii_case(offer_kind) => Some(2),
        _ => None,
    }
}

/// A `?format=` value: a media type (case-insensitive, `latest` aliases
/// included), a media range read as an Accept header would be, or the
/// short forms `json` and `html` (the PEP 503 page, as a browser shows it). A `+` in a query string decodes as a space, so
/// `?format=application/vnd.pypi.simple.v1+json` arrives with a space
/// where its `+` was: media types hold no spaces, so it is put back.
fn format_named(value: &str) -> Option<IndexFormat> {
    let value = value.trim().replace(' ', "+");
    if value.eq_ignore_ascii_case("json") {
        return Some(IndexFormat::Json);
    }
    if value.eq_ignore_ascii_case("html") {
        return Some(IndexFormat::HtmlLegacy);
    }
    exact_format(&value).or_else(|| parse(&value))
}

/// The exact headers installers send, answered without parsing: one
/// string comparison for pip, uv, poetry (`*/*`, from requests) and a
/// plain JSON or HTML request.
fn fast_path(accept: &str) -> Option<IndexFormat> {
    match accept {
        PIP_ACCEPT | UV_ACCEPT | JSON_V1 => Some(IndexFormat::Json),
        "*/*" | HTML_LEGACY => Some(IndexFormat::HtmlLegacy),
        HTML_V1 => Some(IndexFormat::HtmlV1),
        _ => None,
    }
}

/// The format to answer with, or None when nothing acceptable is offered (406).
pub fn choose(accept: Option<&str>, format_override: Option<&str>) -> Option<IndexFormat> {
    if let Some(f) = format_override.filter(|f| !f.trim().is_empty()) {
        return format_named(f);
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(IndexFormat::HtmlLegacy);
    };
    fast_path(accept).or_else(|| parse(accept))
}

/// The full RFC 9110 reading of an Accept header. Each offered format takes
/// the quality of the most specific range that covers it (so
/// `application/*, application/vnd.pypi.simple.v1+json;q=0` refuses JSON
/// and accepts HTML v1). The format of highest quality wins; at equal
/// quality, the one named by the earlier range, then the server's order.
fn parse(accept: &str) -> Option<IndexFormat> {
    let ranges: Vec<Range> = ranges(accept).collect();
    let mut best: Option<(f32, usize, IndexFormat)> = None;
    for offer in OFFERS {
        let mut matched: Option<(u8, Range)> = None;
        for r in &ranges {
            if let Some(s) = specificity(r.name, offer) {
                if matched.is_none_or(|(ms, _)| s > ms) {
                    matched = Some((s, *r));
                }
            }
        }
        let Some((_, r)) = matched.filter(|(_, r)| r.q > 0.0) else { continue };
        if best.is_none_or(|(bq, bpos, _)| r.q > bq || (r.q == bq && r.pos < bpos)) {
            best = Some((r.q, r.pos, offer));
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

/// The codings a 406 for Accept-Encoding lists.
pub const ENCODINGS: &str = "br, gzip, identity";

/// The best coding the client accepts: a compressed one when any is
/// acceptable (the highest quality value, brotli before gzip at equal
/// quality), else identity, unless refused: `identity;q=0`, or `*;q=0`
/// with no `identity` range of its own (RFC 9110, 12.5.3). None then: no
/// coding the index has is acceptable (406).
pub fn choose_encoding(accept_encoding: Option<&str>) -> Option<Encoding> {
    let Some(header) = accept_encoding else { return Some(Encoding::Identity) };
    // What requests (pip, poetry), reqwest (uv), curl and browsers send.
    match header {
        "gzip, deflate" | "gzip" | "deflate, gzip" => return Some(Encoding::Gzip),
        "gzip, deflate, br" | "gzip, br" | "br, gzip" | "gzip, deflate, br, zstd" | "br" => return Some(Encoding::Brotli),
        "" | "identity" => return Some(Encoding::Identity),
        _ => {}
    }
    let (mut br, mut gz, mut identity, mut star) = (None::<f32>, None::<f32>, None::<f32>, None::<f32>);
    for r in ranges(header) {
        let slot = match r.name {
            n if n.eq_ignore_ascii_case("br") => &mut br,
            n if n.eq_ignore_ascii_case("gzip") || n.eq_ignore_ascii_case("x-gzip") => &mut gz,
            n if n.eq_ignore_ascii_case("identity") => &mut identity,
            "*" => &mut star,
            _ => continue,
        };
        slot.get_or_insert(r.q);
    }
    let br = br.or(star).unwrap_or(0.0);
    let gz = gz.or(star).unwrap_or(0.0);
    let identity_refused = identity.or(star) == Some(0.0);
    if br > 0.0 && br >= gz {
        Some(Encoding::Brotli)
    } else if gz > 0.0 {
        Some(Encoding::Gzip)
    } else if identity_refused {
        None
    } else {
        Some(Encoding::Identity)
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
    use IndexFormat::{HtmlLegacy, HtmlV1, Json};

    #[test]
    fn encodings_follow_quality_values() {
        assert_eq!(choose_encoding(None), Some(Encoding::Identity));
        assert_eq!(choose_encoding(Some("gzip, deflate")), Some(Encoding::Gzip));
        assert_eq!(choose_encoding(Some("gzip, deflate, br")), Some(Encoding::Brotli));
        assert_eq!(choose_encoding(Some("br;q=0.5, gzip")), Some(Encoding::Gzip));
        assert_eq!(choose_encoding(Some("br;q=0, gzip;q=0")), Some(Encoding::Identity));
        assert_eq!(choose_encoding(Some("*")), Some(Encoding::Brotli));
        assert_eq!(choose_encoding(Some("identity")), Some(Encoding::Identity));
    }

    #[test]
    fn identity_is_sent_unless_refused() {
        assert_eq!(choose_encoding(Some("deflate")), Some(Encoding::Identity), "an unknown coding leaves identity");
        assert_eq!(choose_encoding(Some("identity;q=0")), None);
        assert_eq!(choose_encoding(Some("*;q=0")), None);
        assert_eq!(choose_encoding(Some("br;q=0, gzip;q=0, identity;q=0")), None);
        assert_eq!(choose_encoding(Some("*;q=0, identity")), Some(Encoding::Identity), "a range of its own overrides *");
        assert_eq!(choose_encoding(Some("identity;q=0, gzip")), Some(Encoding::Gzip));
        assert_eq!(choose_encoding(Some("*;q=0, br")), Some(Encoding::Brotli));
    }

    #[test]
    fn one_reader_of_quality_values_for_both_headers() {
        let read: Vec<_> = ranges("a;q=0.5, b ; Q=0 ,c;level=1, d;q=x, e;q=7,,").map(|r| (r.name, r.q, r.pos)).collect();
        assert_eq!(read, vec![("a", 0.5, 0), ("b", 0.0, 1), ("c", 1.0, 2), ("d", 1.0, 3), ("e", 1.0, 4)]);
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
        assert_eq!(choose(None, None), Some(HtmlLegacy));
        assert_eq!(choose(Some("  "), None), Some(HtmlLegacy));
    }

    #[test]
    fn quality_values_pick_the_format() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(choose(Some(pip), None), Some(Json));
        let html_first = "application/vnd.pypi.simple.v1+json;q=0.5, text/html";
        assert_eq!(choose(Some(html_first), None), Some(HtmlLegacy));
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+html"), None), Some(HtmlV1));
    }

    #[test]
    fn unsupported_or_refused_types_are_not_acceptable() {
        assert_eq!(choose(Some("application/xml"), None), None);
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+json;q=0"), None), None);
        assert_eq!(choose(Some("application/vnd.pypi.simple.v2+json"), None), None);
    }

    #[test]
    fn installers_exact_headers_take_the_fast_path_and_agree_with_the_parser() {
        let poetry = "*/*"; // requests' default: poetry's legacy repositories send it
        for (accept, want) in [(PIP_ACCEPT, Json), (UV_ACCEPT, Json), (JSON_V1, Json), (poetry, HtmlLegacy), (HTML_LEGACY, HtmlLegacy), (HTML_V1, HtmlV1)] {
            assert_eq!(fast_path(accept), Some(want), "{accept}");
            assert_eq!(parse(accept), Some(want), "the fast path must answer as the parser does: {accept}");
            assert_eq!(choose(Some(accept), None), Some(want), "{accept}");
        }
        // Near misses go the long way and still get the right answer.
        assert_eq!(fast_path("application/vnd.pypi.simple.v1+json,text/html;q=0.01"), None);
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+json,text/html;q=0.01"), None), Some(Json));
        assert_eq!(choose(Some("Application/VND.pypi.simple.v1+JSON"), None), Some(Json));
    }

    #[test]
    fn wildcards_and_quality_values() {
        assert_eq!(choose(Some("application/*"), None), Some(Json));
        assert_eq!(choose(Some("APPLICATION/*"), None), Some(Json));
        assert_eq!(choose(Some("*/*"), None), Some(HtmlLegacy));
        assert_eq!(choose(Some("text/*"), None), Some(HtmlLegacy));
        assert_eq!(choose(Some("application/*;q=0.5, text/html"), None), Some(HtmlLegacy));
        assert_eq!(choose(Some("text/html;q=0.2, application/*"), None), Some(Json));
        assert_eq!(choose(Some("text/html; Q=0.1, application/vnd.pypi.simple.v1+html; q=0.3"), None), Some(HtmlV1));
        assert_eq!(choose(Some("text/html;q=0, */*;q=0"), None), None);
        assert_eq!(choose(Some("image/png, */*;q=0.1"), None), Some(HtmlLegacy));
        // Equal quality: the earlier range wins.
        assert_eq!(choose(Some("text/html, application/vnd.pypi.simple.v1+json"), None), Some(HtmlLegacy));
        // A malformed q is ignored (quality 1), not a refusal.
        assert_eq!(choose(Some("application/vnd.pypi.simple.v1+json;q=x"), None), Some(Json));
    }

    #[test]
    fn a_wildcard_covers_every_type_it_names_and_specific_ranges_override_it() {
        // application/* within application works as */* does across types.
        assert_eq!(choose(Some("application/*, application/vnd.pypi.simple.v1+json;q=0"), None), Some(HtmlV1));
        assert_eq!(choose(Some("application/*;q=0.9, application/vnd.pypi.simple.v1+html"), None), Some(HtmlV1));
        assert_eq!(choose(Some("application/*;q=0, text/html;q=0.1"), None), Some(HtmlLegacy));
        assert_eq!(choose(Some("*/*, text/html;q=0"), None), Some(Json));
        assert_eq!(choose(Some("*/*, text/*;q=0, application/vnd.pypi.simple.v1+json;q=0"), None), Some(HtmlV1));
        assert_eq!(choose(Some("application/*, application/vnd.pypi.simple.v1+json;q=0, application/vnd.pypi.simple.v1+html;q=0"), None), None);
    }

    #[test]
    fn installers_encodings_take_the_fast_path() {
        assert_eq!(choose_encoding(Some("gzip, deflate")), Some(Encoding::Gzip)); // requests: pip, poetry
        assert_eq!(choose_encoding(Some("gzip, br")), Some(Encoding::Brotli)); // reqwest: uv
        assert_eq!(choose_encoding(Some("gzip, deflate, br, zstd")), Some(Encoding::Brotli));
        assert_eq!(choose_encoding(Some("")), Some(Encoding::Identity));
        assert_eq!(choose_encoding(Some("GZIP;q=0.5, identity")), Some(Encoding::Gzip));
    }

    #[test]
    fn the_format_query_overrides_accept() {
        assert_eq!(choose(Some("text/html"), Some(JSON_V1)), Some(Json));
        assert_eq!(choose(None, Some("bogus")), None);
    }

    #[test]
    fn the_format_query_takes_short_forms_any_case_and_a_plus_decoded_as_a_space() {
        for (value, want) in [
            ("application/vnd.pypi.simple.v1 json", Json),
            ("application/vnd.pypi.simple.v1 html", HtmlV1),
            ("application/vnd.pypi.simple.v1+json", Json),
            ("Application/VND.PyPI.Simple.V1+JSON", Json),
            ("application/vnd.pypi.simple.latest json", Json),
            ("json", Json),
            ("JSON", Json),
            ("html", HtmlLegacy),
            ("Html", HtmlLegacy),
            ("text/html", HtmlLegacy),
        ] {
            assert_eq!(choose(Some(PIP_ACCEPT), Some(value)), Some(want), "{value:?}");
        }
        assert_eq!(choose(None, Some("application/*")), Some(Json));
        assert_eq!(choose(None, Some("*/*")), Some(HtmlLegacy));
        for value in ["application/vnd.pypi.simple.v2 json", "xml", "jsonx", "application/xml"] {
            assert_eq!(choose(None, Some(value)), None, "{value:?}");
        }
    }
}
