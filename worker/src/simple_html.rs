//! A small PEP 503 project-page reader: the anchors of an HTML page with
//! their `href`, `data-requires-python`, `data-yanked` and text. Written by
//! hand because the format is a flat list of `<a>` tags and a full HTML5
//! parser would be a heavy dependency for it; it tolerates any attribute
//! order, both quote styles and character references.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub href: String,
    pub text: String,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
}

/// Every `<a …>text</a>` with an href, in page order.
pub fn anchors(html: &str) -> Vec<Anchor> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(start) = lower[pos..].find("<a").map(|i| pos + i) {
        let after = start + 2;
        if !lower[after..].starts_with(|c: char| c.is_ascii_whitespace()) {
            pos = after;
            continue;
        }
        let Some(tag_end) = find_tag_end(html, after) else { break };
        let attrs = parse_attributes(&html[after..tag_end]);
        let text_start = tag_end + 1;
        let text_end = lower[text_start..].find("</a").map(|i| text_start + i).unwrap_or(html.len());
        let get = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let Some(href) = get("href") {
            out.push(Anchor {
                href,
                text: decode_entities(html[text_start..text_end].trim()),
                requires_python: get("data-requires-python"),
                yanked: get("data-yanked"),
            });
        }
        pos = text_end.max(after);
    }
    out
}

/// The index of the `>` closing a tag, skipping quoted attribute values.
fn find_tag_end(html: &str, from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in html.bytes().enumerate().skip(from) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_attributes(s: &str) -> Vec<(String, String)> {
    let bytes = s.as_bytes();
    let mut attrs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' && bytes[i] != b'/' {
            i += 1;
        }
        if name_start == i {
            break;
        }
        let name = s[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let v_start = i + 1;
                let v_end = s[v_start..].find(q as char).map(|j| v_start + j).unwrap_or(s.len());
                i = (v_end + 1).min(s.len());
                &s[v_start..v_end]
            } else {
                let v_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &s[v_start..i]
            };
            attrs.push((name, decode_entities(value)));
        } else {
            attrs.push((name, String::new()));
        }
    }
    attrs
}

/// The longest character reference decoded, `&` and `;` included.
const MAX_REFERENCE_BYTES: usize = 12;

/// Decode the character references that appear in index pages.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // A reference is short: its `;` must come within a few bytes. The
        // search runs over bytes, since that window can end inside a
        // character; a `;` found there is ASCII, so a boundary.
        let window = &rest.as_bytes()[..rest.len().min(MAX_REFERENCE_BYTES)];
        let Some(semi) = window.iter().position(|&b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_carry_their_pep_503_attributes() {
        let html = r#"<!DOCTYPE html><html><body>
            <a href="../../files/demo-1.0.tar.gz#sha256=abc" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a><br/>
            <A data-yanked='broken' HREF='/f/demo-1.0-py3-none-any.whl#sha256=def'>demo-1.0-py3-none-any.whl</A>
            <abbr>not a link</abbr><a name="x">no href</a>
        </body></html>"#;
        let a = anchors(html);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].href, "../../files/demo-1.0.tar.gz#sha256=abc");
        assert_eq!(a[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(a[0].text, "demo-1.0.tar.gz");
        assert_eq!(a[1].yanked.as_deref(), Some("broken"));
        assert_eq!(a[1].text, "demo-1.0-py3-none-any.whl");
    }

    #[test]
    fn entities_decode_and_stray_ampersands_survive() {
        assert_eq!(decode_entities("a&amp;b &lt;3 &#65;&#x42; & tail &bogus;"), "a&b <3 AB & tail &bogus;");
    }

    #[test]
    fn multibyte_text_after_an_ampersand_decodes() {
        // A CJK yank reason after `&amp;` put byte 12 inside a character: the
        // parser panicked and took the mirror job down with it.
        assert_eq!(decode_entities("a &amp;撤回理由です"), "a &撤回理由です");
        assert_eq!(decode_entities("&日本語の理由"), "&日本語の理由");
        assert_eq!(decode_entities("&#x1F40D;🐍&amp🐍;"), "🐍🐍&amp🐍;");
        let a = anchors("<a href=\"/f/demo-1.0.tar.gz\" data-yanked=\"壊れた &amp;危険な版です\">demo &amp;東京です</a>");
        assert_eq!(a[0].yanked.as_deref(), Some("壊れた &危険な版です"));
        assert_eq!(a[0].text, "demo &東京です");
    }

    #[test]
    fn unterminated_markup_does_not_panic() {
        for html in ["<a href=\"x", "<a", "<a href='x'>text", "<a href=x>y</a><a "] {
            let _ = anchors(html);
        }
    }
}
