//! Constant folding of string expressions, so that obfuscated names and
//! payloads are seen as the strings they evaluate to: literals (with escape
//! sequences and prefixes), `+` concatenation, implicit concatenation,
//! `"".join([...])`, `chr(101)`, `[::-1]`, `bytes.fromhex("…")` and
//! `.decode()` of those. Anything else does not fold. Never evaluates code.

use tree_sitter::Node;

/// Longest string folding will build.
const MAX_FOLD: usize = 1 << 20;

/// The value of a string literal node (`string`), escapes decoded.
pub fn string_literal(node: Node, src: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut raw = false;
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_start" => {
                let prefix = child.utf8_text(src).ok()?.to_ascii_lowercase();
                raw = prefix.contains('r');
                if prefix.contains('f') {
                    // f-strings fold only when they have no interpolation.
                }
            }
            // The grammar puts escape sequences inside the content: decode them in place.
            "string_content" => content(child, src, raw, &mut out)?,
            "escape_sequence" => {
                let text = child.utf8_text(src).ok()?;
                if raw {
                    out.push_str(text);
                } else {
                    out.push_str(&unescape(text));
                }
            }
            "interpolation" => return None,
            _ => {}
        }
    }
    Some(out)
}

/// The text of an f-string that interpolates, its escapes decoded and
/// each interpolation written as `{}`: `f"C:\\Users\\{user}\\AppData"` is
/// `C:\Users\{}\AppData`. What the code always puts around the values.
pub fn template_text(node: Node, src: &[u8]) -> Option<String> {
    fstring_text(node, src, "{}")
}

/// The text of an f-string outside its interpolations, escapes decoded,
/// each interpolation written as `hole`; None without an interpolation.
pub fn fstring_text(node: Node, src: &[u8], hole: &str) -> Option<String> {
    let mut out = String::new();
    let (mut raw, mut holes) = (false, 0);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_start" => raw = child.utf8_text(src).ok()?.to_ascii_lowercase().contains('r'),
            "string_content" => content(child, src, raw, &mut out)?,
            "escape_sequence" => out.push_str(&if raw { child.utf8_text(src).ok()?.to_string() } else { unescape(child.utf8_text(src).ok()?) }),
            "interpolation" => {
                out.push_str(hole);
                holes += 1;
            }
            _ => {}
        }
    }
    (holes > 0 && out.len() > hole.len() * holes).then_some(out)
}

/// Append a string's content to `out`, its escape sequences (`\x65`,
/// `\145`, `\u0065`) decoded unless the string is raw.
fn content(node: Node, src: &[u8], raw: bool, out: &mut String) -> Option<()> {
    let mut at = node.start_byte();
    let mut cursor = node.walk();
    for escape in node.named_children(&mut cursor).filter(|c| c.kind() == "escape_sequence") {
        out.push_str(std::str::from_utf8(src.get(at..escape.start_byte())?).ok()?);
        let text = escape.utf8_text(src).ok()?;
        out.push_str(&if raw { text.to_string() } else { unescape(text) });
        at = escape.end_byte();
    }
    out.push_str(std::str::from_utf8(src.get(at..node.end_byte())?).ok()?);
    Some(())
}

fn unescape(seq: &str) -> String {
    let body = &seq[1..];
    let code = |hex: &str| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).map(String::from);
    match body.chars().next() {
        Some('n') => "\n".into(),
        Some('t') => "\t".into(),
        Some('r') => "\r".into(),
        Some('0') if body.len() == 1 => "\0".into(),
        Some('x') => code(&body[1..]).unwrap_or_default(),
        Some('u') | Some('U') => code(&body[1..]).unwrap_or_default(),
        Some(c @ ('\\' | '\'' | '"')) => c.to_string(),
        Some('\n') => String::new(),
        Some(d) if d.is_ascii_digit() => u32::from_str_radix(body, 8).ok().and_then(char::from_u32).map(String::from).unwrap_or_default(),
        _ => seq.to_string(),
    }
}

/// Fold `node` to a constant string, if it is one.
pub fn fold(node: Node, src: &[u8], depth: u32) -> Option<String> {
    if depth > 40 {
        return None;
    }
    let v = match node.kind() {
        "string" => string_literal(node, src)?,
        "concatenated_string" => {
            let mut out = String::new();
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                out.push_str(&fold(child, src, depth + 1)?);
            }
            out
        }
        "parenthesized_expression" => fold(node.named_child(0)?, src, depth + 1)?,
        "binary_operator" => {
            let op = node.child_by_field_name("operator")?.utf8_text(src).ok()?;
            if op != "+" {
                return None;
            }
            let mut l = fold(node.child_by_field_name("left")?, src, depth + 1)?;
            l.push_str(&fold(node.child_by_field_name("right")?, src, depth + 1)?);
            l
        }
        "subscript" => {
            // s[::-1]
            let value = fold(node.child_by_field_name("value")?, src, depth + 1)?;
            let slice = node.child_by_field_name("subscript")?;
            if slice.kind() == "slice" && slice.utf8_text(src).ok()?.replace(' ', "") == "::-1" {
                value.chars().rev().collect()
            } else {
                return None;
            }
        }
        "call" => fold_call(node, src, depth)?,
        _ => return None,
    };
    (v.len() <= MAX_FOLD).then_some(v)
}

fn fold_call(node: Node, src: &[u8], depth: u32) -> Option<String> {
    let function = node.child_by_field_name("function")?;
    let args = node.child_by_field_name("arguments")?;
    let first_arg = || args.named_child(0);
    match function.kind() {
        "identifier" => match function.utf8_text(src).ok()? {
            "chr" => {
                let n: u32 = first_arg()?.utf8_text(src).ok()?.parse().ok()?;
                char::from_u32(n).map(String::from)
            }
            "str" => fold(first_arg()?, src, depth + 1),
            // bytes([101, 120]) and bytearray((101, 120)): text written as byte codes.
            "bytes" | "bytearray" => int_codes(first_arg()?, src).map(|codes| codes.into_iter().collect()),
            _ => None,
        },
        // getattr(__import__("base64"), "b64decode")(…): a decoder reached by a computed name.
        "call" => {
            let decoder = computed_decoder(function, src, depth)?;
            let text = fold(first_arg()?, src, depth + 1)?;
            let bytes = base64_decode(&text, decoder == "urlsafe_b64decode")?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        "attribute" => {
            let object = function.child_by_field_name("object")?;
            let method = function.child_by_field_name("attribute")?.utf8_text(src).ok()?;
            match method {
                "join" => {
                    let sep = fold(object, src, depth + 1)?;
                    let seq = first_arg()?;
                    let parts = fold_sequence(seq, src, depth + 1)?;
                    Some(parts.join(&sep))
                }
                "decode" | "strip" | "lower" | "upper" => {
                    let inner = fold(object, src, depth + 1)?;
                    Some(match method {
                        "lower" => inner.to_lowercase(),
                        "upper" => inner.to_uppercase(),
                        "strip" => inner.trim().to_string(),
                        _ => inner,
                    })
                }
                "b64decode" | "decodebytes" | "standard_b64decode" | "urlsafe_b64decode" if object.utf8_text(src).ok()? == "base64" => {
                    let text = fold(first_arg()?, src, depth + 1)?;
                    let bytes = base64_decode(&text, method == "urlsafe_b64decode")?;
                    Some(String::from_utf8_lossy(&bytes).into_owned())
                }
                "fromhex" if object.utf8_text(src).ok()? == "bytes" => {
                    let hex = fold(first_arg()?, src, depth + 1)?;
                    let bytes = hex_decode(&hex)?;
                    String::from_utf8(bytes).ok()
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The base64 decoder a `getattr(__import__("base64"), "b64decode")`-style
/// callee names, when both names fold.
fn computed_decoder(function: Node, src: &[u8], depth: u32) -> Option<&'static str> {
    let name = function.child_by_field_name("function")?.utf8_text(src).ok()?;
    if name != "getattr" {
        return None;
    }
    let args = function.child_by_field_name("arguments")?;
    let (object, attr) = (args.named_child(0)?, args.named_child(1)?);
    let module = match object.kind() {
        "identifier" => object.utf8_text(src).ok()?.to_string(),
        "call" if object.child_by_field_name("function")?.utf8_text(src).ok()? == "__import__" => {
            fold(object.child_by_field_name("arguments")?.named_child(0)?, src, depth + 1)?
        }
        _ => return None,
    };
    if module != "base64" {
        return None;
    }
    match fold(attr, src, depth + 1)?.as_str() {
        "b64decode" => Some("b64decode"),
        "standard_b64decode" => Some("standard_b64decode"),
        "decodebytes" => Some("decodebytes"),
        "urlsafe_b64decode" => Some("urlsafe_b64decode"),
        _ => None,
    }
}

/// The characters of a list or tuple of integer literals (`[101, 120]`), each a code point.
pub(super) fn int_codes(node: Node, src: &[u8]) -> Option<Vec<char>> {
    if !matches!(node.kind(), "list" | "tuple") {
        return None;
    }
    let mut cursor = node.walk();
    let codes: Option<Vec<char>> = node.named_children(&mut cursor).map(|n| int_literal(n, src).and_then(char::from_u32)).collect();
    codes.filter(|c| c.len() <= MAX_FOLD)
}

/// An integer literal in decimal, hex, octal or binary.
fn int_literal(node: Node, src: &[u8]) -> Option<u32> {
    if node.kind() != "integer" {
        return None;
    }
    let text = node.utf8_text(src).ok()?.replace('_', "").to_ascii_lowercase();
    match text.get(..2) {
        Some("0x") => u32::from_str_radix(&text[2..], 16).ok(),
        Some("0o") => u32::from_str_radix(&text[2..], 8).ok(),
        Some("0b") => u32::from_str_radix(&text[2..], 2).ok(),
        _ => text.parse().ok(),
    }
}

/// Fold a list, tuple or generator of `chr(...)`/strings into parts.
fn fold_sequence(node: Node, src: &[u8], depth: u32) -> Option<Vec<String>> {
    match node.kind() {
        // map(chr, [102, 114, …]): source spelled as character codes.
        "call" if is_map_of_chr(node, src) => {
            let codes = int_codes(node.child_by_field_name("arguments")?.named_child(1)?, src)?;
            Some(codes.into_iter().map(String::from).collect())
        }
        "list" | "tuple" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor).map(|c| fold(c, src, depth + 1)).collect()
        }
        "list_comprehension" | "generator_expression" => {
            // [chr(c) for c in [101, 120]] — fold `chr` over a literal list of ints.
            let body = node.child_by_field_name("body")?;
            let text = body.utf8_text(src).ok()?.replace(' ', "");
            if !text.starts_with("chr(") {
                return None;
            }
            let mut cursor = node.walk();
            let clause = node.named_children(&mut cursor).find(|c| c.kind() == "for_in_clause")?;
            let iterable = clause.child_by_field_name("right")?;
            let mut cursor = iterable.walk();
            let numbers: Option<Vec<String>> =
                iterable.named_children(&mut cursor).map(|n| n.utf8_text(src).ok()?.parse::<u32>().ok().and_then(char::from_u32).map(String::from)).collect();
            numbers
        }
        _ => fold(node, src, depth + 1).map(|s| s.chars().map(String::from).collect()),
    }
}

/// Hex digits, whitespace ignored (as `bytes.fromhex` reads them).
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(s).ok()
}

/// Lenient base64, as Python's decoders read what packers write: standard
/// (or URL-safe) alphabet, padding optional and `=` anywhere ignored,
/// whitespace ignored, stray trailing bits allowed, and a last lone
/// character (never a whole byte) dropped.
pub fn base64_decode(s: &str, url_safe: bool) -> Option<Vec<u8>> {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone).with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
    let mut clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    if url_safe { URL_SAFE.decode(&clean) } else { STANDARD.decode(&clean) }.ok()
}

/// `map(chr, …)`.
pub(super) fn is_map_of_chr(node: Node, src: &[u8]) -> bool {
    let function = node.child_by_field_name("function").and_then(|f| f.utf8_text(src).ok());
    let first = node.child_by_field_name("arguments").and_then(|a| a.named_child(0)).and_then(|a| a.utf8_text(src).ok());
    node.kind() == "call" && function == Some("map") && first == Some("chr")
}
