//! Identifiers spelled in look-alike letters. Python reads identifiers in
//! NFKC form, so `__𝘪𝙢𝙥𝗼𝙧𝘵__` is `__import__` and `𝗿𝗲𝗾𝘂𝗲𝘀𝘁𝘀.get` is
//! `requests.get`: obfuscators rewrite whole files that way so that no
//! name a reader or a scanner looks for appears. Before analysis, such
//! letters are read as the ASCII letters Python reads them as.
//!
//! Only the letters and digits obfuscators use are folded: the
//! Mathematical Alphanumeric Symbols block (bold, italic, sans-serif,
//! monospace… Latin letters and digits) and the fullwidth forms.

/// The text with look-alike letters and digits replaced by ASCII, or
/// `None` when it has none (most files: nothing is copied).
pub fn fold(text: &str) -> Option<String> {
    if text.is_ascii() || !text.chars().any(|c| ascii_of(c).is_some()) {
        return None;
    }
    Some(text.chars().map(|c| ascii_of(c).unwrap_or(c)).collect())
}

/// The ASCII letter or digit that NFKC makes of `c`, for the blocks above.
fn ascii_of(c: char) -> Option<char> {
    let cp = c as u32;
    let from = |base: u8, offset: u32| char::from_u32(u32::from(base) + offset);
    match cp {
        // Latin letters in 13 styles of 52 (A–Z then a–z); the code points
        // left unassigned (letters that live elsewhere) never occur.
        0x1D400..=0x1D6A3 => {
            let i = (cp - 0x1D400) % 52;
            if i < 26 {
                from(b'A', i)
            } else {
                from(b'a', i - 26)
            }
        }
        // Digits in five styles of ten.
        0x1D7CE..=0x1D7FF => from(b'0', (cp - 0x1D7CE) % 10),
        0xFF10..=0xFF19 => from(b'0', cp - 0xFF10),
        0xFF21..=0xFF3A => from(b'A', cp - 0xFF21),
        0xFF41..=0xFF5A => from(b'a', cp - 0xFF41),
        // Letterlike symbols that fill the holes of the italic and script styles.
        0x210E => Some('h'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_letters_read_as_ascii() {
        assert_eq!(fold("__𝘪𝙢𝙥𝗼𝙧𝘵__('os')").as_deref(), Some("__import__('os')"));
        assert_eq!(fold("𝟏𝟐 ｘ").as_deref(), Some("12 x"));
        assert_eq!(fold("import os"), None);
        assert_eq!(fold("naïve = 'ü'"), None);
    }
}
