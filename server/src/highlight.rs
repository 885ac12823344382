//! Syntax highlighting for the file viewer: a small Python tokenizer, run on
//! the server, that splits each line into spans with a CSS class. Written by
//! hand because highlighting needs only a lexer's view (keywords, strings,
//! comments, numbers), and the crates that do more bring large grammars or
//! emit HTML themselves. The spans are plain text: templates escape them.

/// A run of text with one highlighting class ("" for plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub class: &'static str,
    pub text: String,
}

const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
    "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

const BUILTINS: [&str; 24] = [
    "__import__",
    "compile",
    "eval",
    "exec",
    "getattr",
    "setattr",
    "open",
    "print",
    "len",
    "range",
    "str",
    "bytes",
    "int",
    "dict",
    "list",
    "set",
    "tuple",
    "isinstance",
    "super",
    "object",
    "globals",
    "locals",
    "vars",
    "type",
];

/// Lines of plain text, one span each.
pub fn plain(source: &str) -> Vec<Vec<Span>> {
    source.lines().map(|l| vec![Span { class: "", text: l.to_string() }]).collect()
}

/// True for file names the Python highlighter should handle.
pub fn is_python(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".py", ".pyw", ".pyi", ".pyx", ".pth"].iter().any(|ext| lower.ends_with(ext))
}

struct Line {
    spans: Vec<Span>,
}

impl Line {
    fn push(&mut self, class: &'static str, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if last.class == class => last.text.push_str(text),
            _ => self.spans.push(Span { class, text: text.to_string() }),
        }
    }
}

/// The end (exclusive) of a string body starting at `from`, closed by
/// `quote`; None when the line ends first. A backslash escapes the next
/// character, whatever its width in bytes.
fn string_end(line: &str, from: usize, quote: &str) -> Option<usize> {
    let mut chars = line[from..].char_indices().map(|(i, c)| (from + i, c));
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if line[i..].starts_with(quote) {
            return Some(i + quote.len());
        }
    }
    None
}

/// Lines of Python source split into highlighted spans. Triple-quoted
/// strings carry over from line to line. The spans of a line, joined, are
/// the line: nothing is dropped or added.
pub fn python(source: &str) -> Vec<Vec<Span>> {
    let mut open: Option<&'static str> = None;
    let mut out = Vec::new();
    for text in source.lines() {
        let mut line = Line { spans: Vec::new() };
        let mut i = 0;
        if let Some(quote) = open {
            match string_end(text, 0, quote) {
                Some(end) => {
                    line.push("str", &text[..end]);
                    open = None;
                    i = end;
                }
                None => {
                    line.push("str", text);
                    out.push(line.spans);
                    continue;
                }
            }
        }
        let bytes = text.as_bytes();
        // Where the line's code starts: a decorator's `@` must be there.
        let indent = text.len() - text.trim_start().len();
        // `i` only ever moves past whole characters or ASCII bytes, so it
        // stays on a character boundary and every slice below is safe.
        while i < text.len() {
            let c = bytes[i];
            let rest = &text[i..];
            if c == b'#' {
                line.push("com", rest);
                break;
            }
            // A string, with up to two prefix letters (r, b, u, f).
            let prefix = rest.bytes().take_while(|b| b"rRbBuUfF".contains(b)).count();
            if prefix <= 2 && rest[prefix..].starts_with(['"', '\'']) && (prefix == 0 || !is_ident_before(text, i)) {
                let q = i + prefix;
                let quote: &'static str = if text[q..].starts_with("\"\"\"") {
                    "\"\"\""
                } else if text[q..].starts_with("'''") {
                    "'''"
                } else if bytes[q] == b'"' {
                    "\""
                } else {
                    "'"
                };
                match string_end(text, q + quote.len(), quote) {
                    Some(end) => {
                        line.push("str", &text[i..end]);
                        i = end;
                    }
                    None => {
                        line.push("str", rest);
                        if quote.len() == 3 {
                            open = Some(quote);
                        }
                        i = text.len();
                    }
                }
                continue;
            }
            if rest.chars().next().is_some_and(|ch| ch.is_alphabetic() || ch == '_') {
                let len = rest.char_indices().find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_')).map_or(rest.len(), |(n, _)| n);
                let word = &rest[..len];
                let class = if KEYWORDS.contains(&word) {
                    "kw"
                } else if BUILTINS.contains(&word) {
                    "bi"
                } else {
                    ""
                };
                line.push(class, word);
                i += len;
                continue;
            }
            if c.is_ascii_digit() {
                let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'_').count();
                line.push("num", &rest[..len]);
                i += len;
                continue;
            }
            if c == b'@' && i == indent {
                let len = 1 + rest[1..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.').count();
                line.push("dec", &rest[..len]);
                i += len;
                continue;
            }
            let ch_len = rest.chars().next().map_or(1, char::len_utf8);
            line.push("", &rest[..ch_len]);
            i += ch_len;
        }
        out.push(line.spans);
    }
    out
}

/// True when the character before `i` continues an identifier (so `xr"…"`
/// is not a string prefix).
fn is_ident_before(text: &str, i: usize) -> bool {
    text[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(line: &[Span]) -> Vec<(&str, &str)> {
        line.iter().map(|s| (s.class, s.text.as_str())).collect()
    }

    #[test]
    fn keywords_strings_comments_and_numbers_get_their_class() {
        let lines = python("import os  # x\nexec(b'aGk=', 42)\n");
        assert_eq!(classes(&lines[0]), [("kw", "import"), ("", " os  "), ("com", "# x")]);
        assert_eq!(classes(&lines[1]), [("bi", "exec"), ("", "("), ("str", "b'aGk='"), ("", ", "), ("num", "42"), ("", ")")]);
    }

    #[test]
    fn triple_quoted_strings_span_lines() {
        let lines = python("x = \"\"\"one\ntwo \"quoted\"\nthree\"\"\" + 1\n");
        assert_eq!(classes(&lines[1]), [("str", "two \"quoted\"")]);
        assert_eq!(classes(&lines[2]), [("str", "three\"\"\""), ("", " + "), ("num", "1")]);
    }

    /// Each line's spans, joined: must be the line itself.
    fn joined(lines: &[Vec<Span>]) -> Vec<String> {
        lines.iter().map(|l| l.iter().map(|s| s.text.as_str()).collect()).collect()
    }

    #[test]
    fn non_ascii_text_in_strings_is_highlighted() {
        // One accented letter inside a string literal used to panic the file
        // viewer, so a package could hide a file from the auditor with it.
        let lines =
            python(concat!("GREETING = \"café\"\n", "x = '日本語' + \"🐍\"\n", "y = f\"{naïve!r} — {変数}\"\n", "z = \"\\é\" + 'ok'\n", "open = \"résumé\n",));
        assert_eq!(classes(&lines[0]), [("", "GREETING = "), ("str", "\"café\"")]);
        assert_eq!(classes(&lines[1]), [("", "x = "), ("str", "'日本語'"), ("", " + "), ("str", "\"🐍\"")]);
        assert_eq!(classes(&lines[2]), [("", "y = "), ("str", "f\"{naïve!r} — {変数}\"")]);
        assert_eq!(classes(&lines[3]), [("", "z = "), ("str", "\"\\é\""), ("", " + "), ("str", "'ok'")]);
        assert_eq!(classes(&lines[4]), [("bi", "open"), ("", " = "), ("str", "\"résumé")]);
    }

    #[test]
    fn non_ascii_triple_quoted_strings_span_lines() {
        let lines = python("doc = \"\"\"résumé\nnaïve 東京 🐍\"\"\"  # fin\n'''é\\\n🐍'''\n");
        assert_eq!(classes(&lines[0]), [("", "doc = "), ("str", "\"\"\"résumé")]);
        assert_eq!(classes(&lines[1]), [("str", "naïve 東京 🐍\"\"\""), ("", "  "), ("com", "# fin")]);
        assert_eq!(classes(&lines[2]), [("str", "'''é\\")]);
        assert_eq!(classes(&lines[3]), [("str", "🐍'''")]);
    }

    #[test]
    fn non_ascii_comments_identifiers_and_line_ends_are_kept() {
        let lines = python("# 日本語 🎉\ndef größe(naïve, 変数):  # café\n    return naïve + 🐍\nx = 1é\n");
        assert_eq!(classes(&lines[0]), [("com", "# 日本語 🎉")]);
        assert_eq!(classes(&lines[1]), [("kw", "def"), ("", " größe(naïve, 変数):  "), ("com", "# café")]);
        assert_eq!(classes(&lines[2]), [("", "    "), ("kw", "return"), ("", " naïve + 🐍")]);
        assert_eq!(classes(&lines[3]), [("", "x = "), ("num", "1"), ("", "é")]);
    }

    #[test]
    fn spans_join_back_to_each_line() {
        let sources = [
            "s = 'café' # é\nt = \"東京\\",
            "u = r'\\🐍' + b\"\\\\\" + '''a\n\\é\n'''é",
            "@décor.ation\nclass Ü: pass\r\n\"\"\"\n🐍\"\"\"",
            "x = '\\",
            "é'\"'\"\"'",
        ];
        for source in sources {
            let lines = python(source);
            let want: Vec<String> = source.lines().map(str::to_string).collect();
            assert_eq!(joined(&lines), want, "{source:?}");
        }
    }

    #[test]
    fn decorators_start_their_line() {
        let lines = python("@app.route\n    @ｘ.y @z\nm = a @b\n");
        assert_eq!(classes(&lines[0]), [("dec", "@app.route")]);
        assert_eq!(classes(&lines[1]), [("", "    "), ("dec", "@"), ("", "ｘ.y @z")]);
        assert_eq!(classes(&lines[2]), [("", "m = a @b")]);
    }

    #[test]
    fn hostile_text_stays_text() {
        let lines = python("s = '<script>alert(1)</script>'\n\u{202e}evil = 1\n");
        assert_eq!(classes(&lines[0]), [("", "s = "), ("str", "'<script>alert(1)</script>'")]);
        assert_eq!(lines.len(), 2);
    }
}
