//! Which files' full content the rules need. Text the rules read (Python,
//! `.pth`, metadata, config, scripts) is kept whole; everything else keeps
//! only its head, enough to recognize executables by their magic bytes.

/// Bytes kept of a file the rules do not read as text.
pub const HEAD_BYTES: u64 = 4096;

const TEXT_SUFFIXES: [&str; 20] = [
    ".py", ".pyw", ".pyi", ".pth", ".pyx", ".pxd", ".txt", ".cfg", ".toml", ".ini", ".json", ".sh", ".bat", ".cmd", ".ps1", ".js", ".yml", ".yaml", ".in",
    ".spec",
];

const TEXT_NAMES: [&str; 6] = ["METADATA", "PKG-INFO", "RECORD", "WHEEL", "setup.py", "Makefile"];

/// True when the rules read this file's whole text.
pub fn keep_whole(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    TEXT_NAMES.contains(&name) || TEXT_SUFFIXES.iter().any(|s| lower.ends_with(s)) || !name.contains('.')
}

/// Bytes at the start of a file looked at for NUL bytes, to tell text from
/// binary.
pub const SNIFF_BYTES: u64 = 8192;

/// Tells, while a file streams by, whether it is text (UTF-8 throughout,
/// no NUL byte in its first [`SNIFF_BYTES`]) and how many lines it has, so
/// that neither needs the bytes kept.
#[derive(Debug, Default)]
pub struct TextProbe {
    seen: u64,
    nul_in_head: bool,
    invalid_utf8: bool,
    /// The start of a UTF-8 sequence cut by the end of the last chunk.
    carry: [u8; 4],
    carried: usize,
    newlines: u64,
    last: Option<u8>,
}

impl TextProbe {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.seen < SNIFF_BYTES {
            let head = &chunk[..chunk.len().min((SNIFF_BYTES - self.seen) as usize)];
            self.nul_in_head |= head.contains(&0);
        }
        self.seen += chunk.len() as u64;
        // Lines matter for text only: a binary file streams by unexamined.
        if self.may_be_text() {
            self.newlines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            self.last = chunk.last().copied().or(self.last);
            self.check_utf8(chunk);
        }
    }

    fn check_utf8(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while self.carried > 0 && !rest.is_empty() {
            self.carry[self.carried] = rest[0];
            self.carried += 1;
            rest = &rest[1..];
            match std::str::from_utf8(&self.carry[..self.carried]) {
                Ok(_) => self.carried = 0,
                Err(e) if e.error_len().is_some() || self.carried == 4 => {
                    self.invalid_utf8 = true;
                    return;
                }
                Err(_) => {}
            }
        }
        if let Err(e) = std::str::from_utf8(rest) {
            match e.error_len() {
                Some(_) => self.invalid_utf8 = true,
                None => {
                    let tail = &rest[e.valid_up_to()..];
                    self.carry[..tail.len()].copy_from_slice(tail);
                    self.carried = tail.len();
                }
            }
        }
    }

    /// True while nothing seen so far rules text out.
    pub fn may_be_text(&self) -> bool {
        !self.nul_in_head && !self.invalid_utf8
    }

    /// True when everything fed is text.
    pub fn is_text(&self) -> bool {
        self.may_be_text() && self.carried == 0
    }

    /// Lines fed (a last line without a newline counts), as far as the
    /// file was still text.
    pub fn lines(&self) -> u64 {
        self.newlines + u64::from(self.last.is_some_and(|b| b != b'\n'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(chunks: &[&[u8]]) -> TextProbe {
        let mut p = TextProbe::default();
        for c in chunks {
            p.feed(c);
        }
        p
    }

    #[test]
    fn text_is_told_from_binary_across_chunk_boundaries() {
        let euro = "€".as_bytes();
        let split = probe(&[b"price: ", &euro[..1], &euro[1..], b"\nok"]);
        assert!(split.is_text(), "a character cut between chunks is still text");
        assert_eq!(split.lines(), 2);
        assert!(!probe(&[b"cut: ", &euro[..2]]).is_text(), "a file ending mid-character is not text");
        assert!(!probe(&[b"a\0b\n"]).is_text(), "NUL in the head");
        assert!(!probe(&[b"\xff\xfe"]).is_text(), "invalid UTF-8");
        assert!(probe(&[b""]).is_text() && probe(&[b""]).lines() == 0);
        let late_nul = [vec![b'a'; SNIFF_BYTES as usize], vec![0u8]].concat();
        assert!(probe(&[&late_nul]).is_text(), "only the head is sniffed for NUL, as delta::is_text does");
    }
}
