//! The upstream's PEP 503 HTML project page: `simple_html::anchors` and
//! `upstream::parse_html_page`. The first byte picks the mode:
//! - even: the rest is a page, decoded as the worker decodes it (lossy
//!   UTF-8). Nothing may panic, and the free text kept is bounded.
//! - odd: the rest describes links, which the target writes into a page the
//!   way an index would (escaped values, either quote style, any attribute
//!   order and case). The parser must give back exactly those links, and
//!   the files must be at exactly the URLs the page had.
#![no_main]

use airlock_worker::simple_html::{anchors, Anchor};
use airlock_worker::upstream::{parse_html_page, UpstreamFile, MAX_UPSTREAM_TEXT};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use url::Url;

#[derive(Arbitrary, Debug)]
struct Link {
    href: String,
    text: String,
    requires_python: Option<String>,
    yanked: Option<String>,
    /// Single quotes around values instead of double.
    single_quotes: bool,
    /// Upper-case tag and attribute names.
    upper: bool,
    /// The data attributes before the href.
    data_first: bool,
    /// Numeric character references instead of named ones.
    numeric: bool,
    /// An empty yank reason written as a bare `data-yanked`.
    bare_yanked: bool,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let page = Url::parse("https://upstream.test/simple/demo/").unwrap();
    if mode % 2 == 0 {
        let html = String::from_utf8_lossy(rest);
        let found = anchors(&html);
        let files = parse_html_page(&html, &page);
        assert!(files.len() <= found.len());
        for file in &files {
            assert_eq!(file.url.fragment(), None, "the hash fragment is taken off the URL");
            assert_bounded(file.requires_python.as_deref());
            assert_bounded(file.yanked.as_deref());
        }
        return;
    }
    let Ok(links) = Vec::<Link>::arbitrary_take_rest(Unstructured::new(rest)) else { return };
    let html = page_of(&links);
    let want: Vec<Anchor> = links
        .iter()
        .map(|l| Anchor {
            href: l.href.clone(),
            text: l.text.trim().to_string(),
            requires_python: l.requires_python.clone(),
            yanked: l.yanked.clone(),
        })
        .collect();
    assert_eq!(anchors(&html), want, "{html}");

    let files = parse_html_page(&html, &page);
    let wanted: Vec<(Url, &Link)> = links.iter().filter_map(|l| Some((file_url(&page, &l.href)?, l))).collect();
    assert_eq!(files.len(), wanted.len(), "{html}");
    for (file, (url, link)) in files.iter().zip(&wanted) {
        assert_eq!(&file.url, url, "{html}");
        assert_kept(file, link);
    }
});

/// Where a link's file is: its href resolved against the page, without the
/// fragment; None when that is no URL with a path.
fn file_url(page: &Url, href: &str) -> Option<Url> {
    let mut url = page.join(href).ok()?;
    url.set_fragment(None);
    url.path_segments()?;
    Some(url)
}

fn assert_kept(file: &UpstreamFile, link: &Link) {
    for (kept, had) in [(&file.requires_python, &link.requires_python), (&file.yanked, &link.yanked)] {
        assert_eq!(kept.is_some(), had.is_some());
        if let (Some(kept), Some(had)) = (kept, had) {
            assert!(had.starts_with(kept.as_str()), "{kept:?} is not a prefix of {had:?}");
            assert!(kept.len() == had.len() || kept.len() + 4 > MAX_UPSTREAM_TEXT, "{kept:?} was cut short");
        }
    }
    assert_bounded(file.requires_python.as_deref());
    assert_bounded(file.yanked.as_deref());
}

fn assert_bounded(text: Option<&str>) {
    assert!(text.is_none_or(|t| t.len() <= MAX_UPSTREAM_TEXT));
}

fn page_of(links: &[Link]) -> String {
    let mut html = String::from("<!DOCTYPE html>\n<html><head><title>Links for demo</title></head><body>\n<h1>Links for demo</h1>\n");
    for link in links {
        let case = |name: &str| if link.upper { name.to_ascii_uppercase() } else { name.to_string() };
        let q = if link.single_quotes { '\'' } else { '"' };
        let value = |v: &str| format!("{q}{}{q}", escape(v, link.numeric));
        let href = format!(" {}={}", case("href"), value(&link.href));
        let mut data = String::new();
        if let Some(rp) = &link.requires_python {
            data += &format!(" {}={}", case("data-requires-python"), value(rp));
        }
        match &link.yanked {
            Some(reason) if reason.is_empty() && link.bare_yanked => data += &format!(" {}", case("data-yanked")),
            Some(reason) => data += &format!(" {}={}", case("data-yanked"), value(reason)),
            None => {}
        }
        let attrs = if link.data_first { format!("{data}{href}") } else { format!("{href}{data}") };
        let a = case("a");
        html += &format!("<{a}{attrs}>{}</{a}><br/>\n", escape(&link.text, link.numeric));
    }
    html + "</body></html>\n"
}

/// HTML-escape text for an element or a quoted attribute value.
fn escape(text: &str, numeric: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match (c, numeric) {
            ('&' | '<' | '>' | '"' | '\'', true) => out += &format!("&#{};", c as u32),
            ('&', false) => out += "&amp;",
            ('<', false) => out += "&lt;",
            ('>', false) => out += "&gt;",
            ('"', false) => out += "&quot;",
            ('\'', false) => out += "&#x27;",
            _ => out.push(c),
        }
    }
    out
}
