//! The rule reference (`GET /docs/rules`): docs/rules.md, built into the
//! binary, rendered as HTML with an anchor per rule id, so each finding on
//! the release page links to what its rule means.
//!
//! The Markdown is the generated subset `rules_markdown` writes (headings,
//! paragraphs, `code` spans), parsed here into blocks that the template
//! renders and escapes: no Markdown crate is used because their output is
//! HTML that would have to be trusted unescaped (`|safe`), which this
//! dashboard never does.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{Page, Viewer};
use crate::views::Nav;

/// docs/rules.md as built into this binary.
pub const RULES_MD: &str = include_str!("../../../docs/rules.md");

/// A run of text, in code or not.
pub struct Inline {
    pub code: bool,
    pub text: String,
}

/// A heading (level 1 to 3, with its anchor) or a paragraph (level 0).
pub struct Block {
    pub level: u8,
    /// The anchor: the heading's text, for a rule its id.
    pub id: String,
    pub inlines: Vec<Inline>,
}

/// Split text at backticks into plain and code runs.
fn inlines(text: &str) -> Vec<Inline> {
    text.split('`').enumerate().filter(|(_, t)| !t.is_empty()).map(|(i, t)| Inline { code: i % 2 == 1, text: t.to_string() }).collect()
}

/// Parse the Markdown subset: `#`, `##`, `###` headings, and paragraphs of
/// the lines between blank lines; anything else is kept as paragraph text.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para = String::new();
    let flush = |para: &mut String, out: &mut Vec<Block>| {
        if !para.trim().is_empty() {
            out.push(Block { level: 0, id: String::new(), inlines: inlines(para.trim()) });
        }
        para.clear();
    };
    for line in markdown.lines() {
        let heading = ["### ", "## ", "# "].iter().zip([3u8, 2, 1]).find_map(|(p, level)| line.strip_prefix(p).map(|t| (level, t.trim())));
        match heading {
            Some((level, text)) => {
                flush(&mut para, &mut out);
                out.push(Block { level, id: text.replace('`', ""), inlines: inlines(text) });
            }
            None if line.trim().is_empty() => flush(&mut para, &mut out),
            None => {
                if !para.is_empty() {
                    para.push(' ');
                }
                para.push_str(line.trim());
            }
        }
    }
    flush(&mut para, &mut out);
    out
}

#[derive(Template, WebTemplate)]
#[template(path = "docs_rules.html")]
pub struct RulesPage {
    nav: Option<Nav>,
    blocks: Vec<Block>,
}

pub async fn rules(auth: Page<Viewer>) -> RulesPage {
    RulesPage { nav: Nav::new(&auth.user, &auth.csrf), blocks: blocks(RULES_MD) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_an_anchored_heading() {
        let blocks = blocks(RULES_MD);
        for rule in airlock_inspect::rules::RULES {
            let block = blocks.iter().find(|b| b.id == rule.id).unwrap_or_else(|| panic!("no section for {}", rule.id));
            assert_eq!(block.level, 3);
        }
    }

    #[test]
    fn code_spans_and_paragraphs_are_parsed() {
        let b = blocks("# Title\n\nSome `code` here\nand more.\n\n### a/b\n");
        assert_eq!(b.len(), 3);
        assert_eq!(b[1].inlines.iter().map(|i| (i.code, i.text.as_str())).collect::<Vec<_>>(), [(false, "Some "), (true, "code"), (false, " here and more.")]);
        assert_eq!((b[2].level, b[2].id.as_str()), (3, "a/b"));
    }
}
