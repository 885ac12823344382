//! Reading and writing pip's requirements files.
//!
//! The reader takes what lockers emit (`pip-compile --generate-hashes`,
//! `uv pip compile`, `pip freeze`) and what people write by hand: pins with
//! extras and PEP 508 markers, `--hash=sha256:…` options (several per
//! line), `-r`/`--requirement` includes, comments, `\` continuations and
//! blank lines, joined and stripped the way pip does it. Requirements are
//! parsed by `pep508_rs`, not split by hand. Anything else pip accepts
//! (`-e`, URLs and paths, index options, constraints) is an error on its
//! line, with the line number: an import must never drop a line silently.
//!
//! It does no I/O: included files are read through a closure the caller
//! supplies, so the server can refuse includes and the CLI can read them
//! relative to the imported file. Includes are bounded in depth and refused
//! when they loop.
//!
//! The writer renders hash-pinned requirements that pip's
//! `--require-hashes` and `uv pip sync` accept.

use std::fmt::Write as _;
use std::str::FromStr;

use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};

use crate::lockfile::{sha256_hex, shorten, Entry, LineError, Parsed, Pin};

/// How deep `-r` includes may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// Most physical lines read over a file and everything it includes.
pub const MAX_LINES: usize = 50_000;

/// What reading an included file gives: its name and content, or why it
/// cannot be read.
pub type Included = Result<(String, String), String>;

/// An include reader that refuses every include with `reason`.
pub fn no_includes(reason: &str) -> impl FnMut(&str, &str) -> Included + '_ {
    move |_: &str, _: &str| Err(reason.to_string())
}

/// Read a requirements file named `source`. `include` reads the files of
/// `-r` lines: given the including file's name and the path as written, it
/// returns the included file's name (what cycles are detected by, and what
/// its lines are reported under) and content, or why it cannot be read.
pub fn parse(source: &str, content: &str, include: &mut dyn FnMut(&str, &str) -> Included) -> Parsed {
    let mut reader = Reader { parsed: Parsed::default(), require_hashes: false, lines_read: 0, stack: vec![source.to_string()], include };
    reader.file(source, content);
    if reader.require_hashes {
        // pip applies --require-hashes to the whole set, wherever it appears.
        for line in &mut reader.parsed.lines {
            if let Ok(e) = line {
                if e.hashes.is_empty() {
                    let message = "--require-hashes is set and this requirement has no --hash".to_string();
                    *line = Err(LineError { source: e.source.clone(), line: e.line, text: e.text.clone(), message });
                }
            }
        }
    }
    reader.parsed
}

struct Reader<'a> {
    parsed: Parsed,
    require_hashes: bool,
    lines_read: usize,
    /// The files being read, outermost first (cycle detection).
    stack: Vec<String>,
    include: &'a mut dyn FnMut(&str, &str) -> Included,
}

impl Reader<'_> {
    fn error(&mut self, source: &str, line: usize, text: &str, message: impl Into<String>) {
        self.parsed.lines.push(Err(LineError { source: source.to_string(), line, text: shorten(text), message: message.into() }));
    }

    fn file(&mut self, source: &str, content: &str) {
        let content = content.strip_prefix('\u{feff}').unwrap_or(content);
        let physical = content.lines().count();
        if self.lines_read + physical > MAX_LINES {
            self.error(source, 1, "", format!("more than {MAX_LINES} lines in this file and the files it includes"));
            return;
        }
        self.lines_read += physical;
        for (line, text) in logical_lines(content) {
            self.line(source, line, &text);
        }
    }

    fn line(&mut self, source: &str, line: usize, text: &str) {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let Some(first) = tokens.first() else { return };
        if first.starts_with('-') {
            return self.option_line(source, line, text, &tokens);
        }
        // pip's split: the requirement runs until the first token that is an option.
        let split = tokens.iter().position(|t| t.starts_with('-')).unwrap_or(tokens.len());
        let requirement = tokens[..split].join(" ");
        let mut hashes = Vec::new();
        let mut options = tokens[split..].iter();
        while let Some(opt) = options.next() {
            let value = match *opt {
                "--hash" => options.next().copied(),
                o => o.strip_prefix("--hash="),
            };
            let Some(value) = value.filter(|_| opt.starts_with("--hash")) else {
                return self.error(source, line, text, format!("option {opt} is not supported on a requirement line (only --hash)"));
            };
            match value.split_once(':') {
                Some(("sha256", hex)) => match sha256_hex(hex) {
                    Some(h) => hashes.push(h),
                    None => return self.error(source, line, text, format!("--hash={} is not a sha256 digest (64 hex characters)", shorten(value))),
                },
                Some((algo, _)) => return self.error(source, line, text, format!("--hash={algo}:… is not supported: Airlock checks sha256 digests only")),
                None => return self.error(source, line, text, format!("--hash={} has no algorithm; write --hash=sha256:<hex>", shorten(value))),
            }
        }
        match requirement_entry(&requirement) {
            Ok((name, extras, pin, marker)) => {
                self.parsed.lines.push(Ok(Entry { source: source.to_string(), line, text: shorten(text), name, extras, pin, marker, hashes }))
            }
            Err(message) => self.error(source, line, text, message),
        }
    }

    fn option_line(&mut self, source: &str, line: usize, text: &str, tokens: &[&str]) {
        let first = tokens[0];
        let (name, attached) = match first.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None if first.starts_with("-r") && first.len() > 2 && !first.starts_with("--") => ("-r", Some(&first[2..])),
            None => (first, None),
        };
        match name {
            "-r" | "--requirement" => {
                let path = attached.or(tokens.get(1).copied());
                let extra = if attached.is_some() { 1 } else { 2 };
                match path {
                    Some(path) if tokens.len() == extra && !path.is_empty() => self.include_file(source, line, text, path),
                    Some(_) if tokens.len() > extra => self.error(source, line, text, format!("{name} takes one file; remove the rest of the line")),
                    _ => self.error(source, line, text, format!("{name} needs a file name")),
                }
            }
            "--require-hashes" if tokens.len() == 1 => self.require_hashes = true,
            "--hash" => self.error(source, line, text, "--hash must follow a requirement on the same (continued) line"),
            "-e" | "--editable" => {
                self.error(source, line, text, "editable requirements (-e) are not supported: Airlock mirrors released files of the upstream index")
            }
            "-c" | "--constraint" => self.error(source, line, text, "constraints files (-c) are not supported: import the pins as requirements"),
            "-i" | "--index-url" | "--extra-index-url" | "--no-index" | "-f" | "--find-links" | "--trusted-host" => self.error(
                source,
                line,
                text,
                format!("{name} is not supported: Airlock mirrors its configured upstream index and installs come from Airlock's own index"),
            ),
            _ => self.error(source, line, text, format!("option {name} is not supported")),
        }
    }

    fn include_file(&mut self, source: &str, line: usize, text: &str, path: &str) {
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return self.error(source, line, text, format!("-r {path}: includes nest deeper than {MAX_INCLUDE_DEPTH} files"));
        }
        match (self.include)(source, path) {
            Ok((name, _)) if self.stack.contains(&name) => {
                let chain = self.stack.iter().chain(std::iter::once(&name)).cloned().collect::<Vec<_>>().join(" -> ");
                self.error(source, line, text, format!("-r {path} includes a file already being read: {chain}"));
            }
            Ok((name, content)) => {
                self.stack.push(name.clone());
                self.file(&name, &content);
                self.stack.pop();
            }
            Err(reason) => self.error(source, line, text, format!("-r {path}: {reason}")),
        }
    }
}

type RequirementParts = (String, Vec<String>, Pin, Option<String>);

/// A requirement's name, extras, pin and marker, or why it is not one
/// Airlock can import.
fn requirement_entry(text: &str) -> Result<RequirementParts, String> {
    let req = Requirement::<VerbatimUrl>::from_str(text).map_err(|e| {
        if text.contains("://") || text.starts_with(['.', '/', '~']) {
            format!("{} is a URL or a path: only requirements by name from the upstream index are supported", shorten(text))
        } else {
            format!("not a PEP 508 requirement: {}", e.message)
        }
    })?;
    let pin = match &req.version_or_url {
        Some(VersionOrUrl::Url(_)) => return Err("direct URL references (name @ URL) are not supported: only releases of the upstream index".into()),
        None => Pin::Unpinned(String::new()),
        Some(VersionOrUrl::VersionSpecifier(specs)) => match specs.iter().collect::<Vec<_>>().as_slice() {
            [only] if *only.operator() == pep440_rs::Operator::Equal => Pin::Exact(only.version().clone()),
            _ => Pin::Unpinned(specs.to_string()),
        },
    };
    let extras = req.extras.iter().map(|e| e.to_string()).collect();
    Ok((req.name.to_string(), extras, pin, req.marker.try_to_string()))
}

/// A comment: `#` at the start of a line or after whitespace, to its end.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn is_comment_line(line: &str) -> bool {
    strip_comment(line).len() != line.len()
}

/// The file's logical lines with the number of the physical line each
/// starts on: `\` continuations joined (a comment ends a continuation, as
/// in pip), comments removed, blank lines dropped.
fn logical_lines(content: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in content.lines().enumerate() {
        let number = i + 1;
        if line.ends_with('\\') && !is_comment_line(line) {
            let part = line.trim_end_matches('\\');
            match &mut pending {
                Some((_, acc)) => acc.push_str(part),
                None => pending = Some((number, part.to_string())),
            }
            continue;
        }
        let (start, joined) = match pending.take() {
            // A comment line inside a continuation keeps its `#` recognizable.
            Some((start, mut acc)) => {
                acc.push(' ');
                acc.push_str(line);
                (start, acc)
            }
            None => (number, line.to_string()),
        };
        out.push((start, joined));
    }
    out.extend(pending);
    out.into_iter().map(|(n, l)| (n, strip_comment(&l).trim().to_string())).filter(|(_, l)| !l.is_empty()).collect()
}

/// One release in an exported requirements file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub name: String,
    pub version: String,
    /// A PEP 508 marker that limits where the pin applies.
    pub marker: Option<String>,
    /// sha256 digests of every file an installer may pick.
    pub hashes: Vec<String>,
}

/// Render hash-pinned requirements, one per release, with `header` as
/// comment lines on top (each line prefixed with `# `).
pub fn write(header: &str, pins: &[Pinned]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    for p in pins {
        let _ = write!(out, "{}=={}", p.name, p.version);
        if let Some(marker) = p.marker.as_deref().filter(|m| !m.trim().is_empty()) {
            let _ = write!(out, " ; {marker}");
        }
        for h in &p.hashes {
            let _ = write!(out, " \\\n    --hash=sha256:{h}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

    fn read(content: &str) -> Parsed {
        parse("requirements.txt", content, &mut no_includes("includes are off in this test"))
    }

    fn exact(v: &str) -> Pin {
        Pin::Exact(v.parse().unwrap())
    }

    #[test]
    fn pins_hashes_extras_markers_comments_and_continuations() {
        let content = format!(
            "# a header comment\n\
             \n\
             Demo_Pkg[Socks, tests]==1.0 --hash=sha256:{A} --hash sha256:{B}  # trailing comment\n\
             other==2.0 ; python_version < \"3.11\" and sys_platform == 'win32' \\\n\
             \x20   --hash=sha256:{A} \\\n\
             \x20   --hash=sha256:{B}\n\
             \x20   # via demo-pkg\n\
             third==3.0.post1#not-a-comment-without-space\n"
        );
        let p = read(&content);
        assert_eq!(p.errors().len(), 1, "{:?}", p.errors());
        assert_eq!(p.errors()[0].line, 8, "the # glued to the version is not a comment, so the line is an error");
        let entries = p.entries();
        let [demo, other] = entries.as_slice() else { panic!("{entries:?}") };
        assert_eq!((demo.line, demo.name.as_str(), demo.pin.clone()), (3, "demo-pkg", exact("1.0")));
        assert_eq!(demo.extras, ["socks", "tests"]);
        assert_eq!(demo.hashes, [A.to_string(), B.to_lowercase()]);
        assert_eq!(demo.marker, None);
        assert_eq!((other.line, other.pin.clone()), (4, exact("2.0")), "a continued line reports the line it starts on");
        assert_eq!(other.hashes.len(), 2);
        assert_eq!(other.marker.as_deref(), Some("python_full_version < '3.11' and sys_platform == 'win32'"));
    }

    #[test]
    fn unpinned_lines_are_reported_with_their_specifiers() {
        let p = read("a>=1.0\nb\nc==1.*\nd~=2.1\ne==1.0,<2\nf===1.0\ng==1.0+local\n");
        assert!(p.errors().is_empty(), "{:?}", p.errors());
        let pins: Vec<(String, Pin)> = p.entries().iter().map(|e| (e.name.clone(), e.pin.clone())).collect();
        assert_eq!(pins[0].1, Pin::Unpinned(">=1.0".into()));
        assert_eq!(pins[1].1, Pin::Unpinned(String::new()));
        assert!(matches!(&pins[2].1, Pin::Unpinned(s) if s == "==1.*"));
        assert!(matches!(&pins[3].1, Pin::Unpinned(_)));
        assert!(matches!(&pins[4].1, Pin::Unpinned(_)), "two specifiers are not one pin");
        assert!(matches!(&pins[5].1, Pin::Unpinned(_)), "=== is not ==");
        assert_eq!(pins[6].1, exact("1.0+local"));
        assert!(pins[0].1.unpinned_reason().unwrap().contains(">=1.0"));
        assert!(pins[1].1.unpinned_reason().unwrap().contains("no version"));
    }

    #[test]
    fn unsupported_options_are_errors_on_their_line_never_skipped() {
        let content = "-e ./local\n--index-url https://example.invalid/simple\n-c constraints.txt\n\
                       https://example.invalid/demo-1.0.tar.gz\n./some/path\ndemo @ https://example.invalid/demo.whl\n\
                       --pre\nok==1.0 --no-binary :all:\n--hash=sha256:aa\nbad==1.0 --hash=md5:abc\nbad2==1.0 --hash=sha256:xyz\n\
                       not a requirement ===\n";
        let p = read(content);
        let lines: Vec<usize> = p.errors().iter().map(|e| e.line).collect();
        assert_eq!(lines, (1..=12).collect::<Vec<_>>(), "{:#?}", p.errors());
        assert!(p.entries().is_empty());
        let msg = |n: usize| p.errors()[n - 1].message.clone();
        assert!(msg(1).contains("editable"), "{}", msg(1));
        assert!(msg(2).contains("--index-url"), "{}", msg(2));
        assert!(msg(3).contains("constraints"), "{}", msg(3));
        assert!(msg(4).contains("URL or a path") && msg(5).contains("URL or a path"), "{} / {}", msg(4), msg(5));
        assert!(msg(6).contains("direct URL"), "{}", msg(6));
        assert!(msg(7).contains("--pre"), "{}", msg(7));
        assert!(msg(8).contains("--no-binary"), "{}", msg(8));
        assert!(msg(10).contains("sha256 digests only"), "{}", msg(10));
        assert!(msg(11).contains("not a sha256 digest"), "{}", msg(11));
        assert!(msg(12).contains("PEP 508"), "{}", msg(12));
        assert_eq!(p.errors()[0].to_string(), format!("requirements.txt line 1: {}", msg(1)));
    }

    #[test]
    fn includes_are_read_through_the_closure_with_their_own_line_numbers() {
        let files = |path: &str| match path {
            "base.txt" => Some("# base\nbase-pkg==1.0\n-r nested.txt\n"),
            "nested.txt" => Some("\nnested==2.0\n"),
            _ => None,
        };
        let mut include = |_from: &str, path: &str| files(path).map(|c| (path.to_string(), c.to_string())).ok_or_else(|| "no such file".to_string());
        let p = parse("main.txt", "top==0.1\n-r base.txt\n--requirement=missing.txt\n-rnested.txt\n", &mut include);
        let got: Vec<(&str, usize, &str)> = p.entries().iter().map(|e| (e.source.as_str(), e.line, e.name.as_str())).collect();
        assert_eq!(got, [("main.txt", 1, "top"), ("base.txt", 2, "base-pkg"), ("nested.txt", 2, "nested"), ("nested.txt", 2, "nested")]);
        assert_eq!(p.errors().len(), 1);
        assert_eq!((p.errors()[0].line, p.errors()[0].message.as_str()), (3, "-r missing.txt: no such file"));
    }

    #[test]
    fn include_cycles_and_depth_are_bounded() {
        let mut include = |_from: &str, path: &str| match path {
            "a.txt" => Ok(("a.txt".to_string(), "a==1.0\n-r b.txt\n".to_string())),
            "b.txt" => Ok(("b.txt".to_string(), "b==1.0\n-r a.txt\n".to_string())),
            _ => Err("no such file".to_string()),
        };
        let p = parse("a.txt", "a==1.0\n-r b.txt\n", &mut include);
        assert_eq!(p.entries().len(), 2, "each file is read once: {:?}", p.entries());
        assert_eq!(p.errors().len(), 1);
        assert_eq!((p.errors()[0].source.as_str(), p.errors()[0].line), ("b.txt", 2));
        assert!(p.errors()[0].message.contains("a.txt -> b.txt -> a.txt"), "{}", p.errors()[0].message);

        // An endless chain of distinct files stops at the depth bound.
        let mut endless = |_from: &str, path: &str| {
            let n: usize = path.trim_end_matches(".txt").parse().unwrap_or(0);
            Ok((path.to_string(), format!("p{n}==1.0\n-r {}.txt\n", n + 1)))
        };
        let p = parse("0.txt", "-r 1.txt\n", &mut endless);
        assert_eq!(p.entries().len(), MAX_INCLUDE_DEPTH);
        assert!(p.errors().len() == 1 && p.errors()[0].message.contains("deeper than"), "{:?}", p.errors());
    }

    #[test]
    fn require_hashes_refuses_the_lines_without_one() {
        let p = read(&format!("a==1.0 --hash=sha256:{A}\nb==1.0\n--require-hashes\n"));
        assert_eq!(p.entries().len(), 1);
        assert_eq!((p.errors()[0].line, p.errors()[0].message.as_str()), (2, "--require-hashes is set and this requirement has no --hash"));
    }

    #[test]
    fn written_files_read_back_the_same() {
        let pins = vec![
            Pinned { name: "demo".into(), version: "1.0".into(), marker: None, hashes: vec![A.into(), B.to_lowercase()] },
            Pinned { name: "win-only".into(), version: "2.0rc1".into(), marker: Some("sys_platform == 'win32'".into()), hashes: vec![A.into()] },
        ];
        let text = write("Exported by Airlock\nfor two targets", &pins);
        assert!(text.starts_with("# Exported by Airlock\n# for two targets\ndemo==1.0 \\\n    --hash=sha256:"), "{text}");
        let p = read(&text);
        assert!(p.errors().is_empty(), "{:?}", p.errors());
        let back: Vec<Pinned> = p
            .entries()
            .into_iter()
            .cloned()
            .map(|e| {
                let Pin::Exact(v) = e.pin else { panic!("unpinned") };
                Pinned { name: e.name, version: v.to_string(), marker: e.marker, hashes: e.hashes }
            })
            .collect();
        assert_eq!(back, pins);
    }
}
