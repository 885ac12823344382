//! The file viewer's Python highlighter (and its plain-text view), rendered
//! as the viewer renders it. The input is a file, decoded as the viewer
//! decodes it (lossy UTF-8). Besides not panicking: the lines are the
//! source's lines; each line's spans join back to the line, none is empty
//! and neighbours differ in class; and the rendered HTML holds no tag but
//! the viewer's own and, with those stripped and entities decoded, is the
//! source text.
#![no_main]

use airlock_server::highlight::{self, Span};
use airlock_worker::simple_html::decode_entities;
use askama::Template;
use libfuzzer_sys::fuzz_target;

/// The code table's rows, as `templates/browse.html` writes them.
#[derive(Template)]
#[template(
    ext = "html",
    source = "{% for line in lines %}<tr><td class=\"src\">{% for s in line %}{% if s.class.is_empty() %}{{ s.text }}{% else %}<span class=\"tok-{{ s.class }}\">{{ s.text }}</span>{% endif %}{% endfor %}</td></tr>\n{% endfor %}"
)]
struct Rows<'a> {
    lines: &'a [Vec<Span>],
}

const CLASSES: [&str; 7] = ["", "kw", "bi", "str", "com", "num", "dec"];

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let want: Vec<&str> = source.lines().collect();
    let python = highlight::python(&source);
    for spans in &python {
        assert!(spans.iter().all(|s| !s.text.is_empty() && CLASSES.contains(&s.class)), "{spans:?}");
        assert!(spans.windows(2).all(|w| w[0].class != w[1].class), "{spans:?}");
    }
    for lines in [python, highlight::plain(&source)] {
        assert_eq!(lines.len(), want.len());
        for (spans, line) in lines.iter().zip(&want) {
            let joined: String = spans.iter().map(|s| s.text.as_str()).collect();
            assert_eq!(&joined, line);
        }
        let html = Rows { lines: &lines }.render().unwrap();
        let text: String = want.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(decode_entities(&strip_tags(&html)), text);
    }
});

/// The HTML without its tags, each of which must be one the viewer writes.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('>').map(|i| open + i).expect("an unclosed tag");
        let tag = &rest[open + 1..close];
        let known = matches!(tag, "tr" | "/tr" | "td class=\"src\"" | "/td" | "/span")
            || tag.strip_prefix("span class=\"tok-").and_then(|c| c.strip_suffix('"')).is_some_and(|c| CLASSES.contains(&c));
        assert!(known, "a tag the viewer does not write: <{tag}>");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}
