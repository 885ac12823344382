//! What a bundled native binary (ELF `.so`, Mach-O, PE `.pyd`/`.dll`) is
//! and what it reaches for, for the auditor who cannot read its code: the
//! format and architecture, the libraries it links, the symbols it imports
//! (and how many it exports), and its notable strings (URLs, IP addresses,
//! shell commands).
//!
//! The bytes are hostile. The parsing is the `object` crate's, which checks
//! every offset against the data; on top of that every list is capped, the
//! string scan reads at most [`MAX_SCANNED`] bytes, and anything malformed
//! becomes a note in the description, never a panic.

use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
use object::{FileKind, NameOrOrdinal, Object};

/// Libraries listed, at most.
pub const MAX_LIBRARIES: usize = 200;
/// Imported symbols listed, at most (all are counted).
pub const MAX_IMPORTS: usize = 1000;
/// Notable strings listed, at most.
pub const MAX_STRINGS: usize = 200;
/// Bytes scanned for strings, at most.
pub const MAX_SCANNED: usize = 64 * 1024 * 1024;
/// Symbols counted, at most (a hostile table can claim millions).
const MAX_COUNTED: usize = 1_000_000;
/// Longest string or symbol name kept, in bytes.
const MAX_NAME: usize = 300;
/// Shortest printable run looked at as a string.
const MIN_STRING: usize = 6;

/// A notable string found in the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotableString {
    /// `url`, `ip` or `shell`.
    pub kind: &'static str,
    pub text: String,
}

/// What a native binary is and what it uses.
#[derive(Debug, Clone, Default)]
pub struct NativeInfo {
    /// `ELF 64-bit`, `Mach-O 64-bit`, `PE32+`, …
    pub format: String,
    /// `x86_64`, `aarch64`, …
    pub architecture: String,
    /// `shared library`, `executable`, `object file`, …
    pub kind: String,
    /// For a universal Mach-O binary: the architectures it holds (the
    /// first is the one described).
    pub fat_architectures: Vec<String>,
    /// Libraries the binary links (ELF `DT_NEEDED`, Mach-O dylibs, PE DLLs).
    pub libraries: Vec<String>,
    /// Imported symbols, `library: symbol` where the format names the library.
    pub imports: Vec<String>,
    pub imports_total: usize,
    pub exports_total: usize,
    pub strings: Vec<NotableString>,
    /// What could not be read, or was cut by a cap.
    pub notes: Vec<String>,
}

/// True when the bytes start like a native binary this module describes.
pub fn is_native(data: &[u8]) -> bool {
    matches!(
        FileKind::parse(data),
        Ok(FileKind::Elf32
            | FileKind::Elf64
            | FileKind::MachO32
            | FileKind::MachO64
            | FileKind::MachOFat32
            | FileKind::MachOFat64
            | FileKind::Pe32
            | FileKind::Pe64)
    )
}

/// Describe a native binary; None when the bytes are not one.
pub fn describe(data: &[u8]) -> Option<NativeInfo> {
    if !is_native(data) {
        return None;
    }
    let mut info = NativeInfo::default();
    let slice = match FileKind::parse(data) {
        Ok(FileKind::MachOFat32) => fat_slice(data, MachOFatFile32::parse(data).map(|f| f.arches().to_vec()), &mut info),
        Ok(FileKind::MachOFat64) => fat_slice(data, MachOFatFile64::parse(data).map(|f| f.arches().to_vec()), &mut info),
        _ => Some(data),
    };
    if let Some(slice) = slice {
        read_object(slice, &mut info);
    }
    info.strings = notable_strings(data);
    if info.strings.len() >= MAX_STRINGS {
        info.notes.push(format!("only the first {MAX_STRINGS} notable strings are listed"));
    }
    if data.len() > MAX_SCANNED {
        info.notes.push(format!("strings were looked for in the first {} MiB only", MAX_SCANNED / (1024 * 1024)));
    }
    Some(info)
}

/// The first architecture's bytes of a universal Mach-O binary.
fn fat_slice<'d, A: FatArch>(data: &'d [u8], arches: object::Result<Vec<A>>, info: &mut NativeInfo) -> Option<&'d [u8]> {
    info.format = "Mach-O universal".into();
    let arches = match arches {
        Ok(a) => a,
        Err(e) => {
            info.notes.push(format!("unreadable universal header: {e}"));
            return None;
        }
    };
    info.fat_architectures = arches.iter().take(MAX_LIBRARIES).map(|a| arch_name(a.architecture())).collect();
    let first = arches.first()?;
    match first.data(data) {
        Ok(slice) => Some(slice),
        Err(e) => {
            info.notes.push(format!("unreadable first architecture: {e}"));
            None
        }
    }
}

fn arch_name(a: object::Architecture) -> String {
    format!("{a:?}").to_ascii_lowercase()
}

fn text(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_NAME)];
    String::from_utf8_lossy(cut).into_owned()
}

fn read_object(data: &[u8], info: &mut NativeInfo) {
    let file = match object::File::parse(data) {
        Ok(f) => f,
        Err(e) => {
            info.notes.push(format!("the headers cannot be read: {e}"));
            if info.format.is_empty() {
                info.format = "unreadable native binary".into();
            }
            return;
        }
    };
    let bits = if file.is_64() { "64-bit" } else { "32-bit" };
    let format = match file.format() {
        object::BinaryFormat::Elf => format!("ELF {bits}"),
        object::BinaryFormat::MachO => format!("Mach-O {bits}"),
        object::BinaryFormat::Pe => (if file.is_64() { "PE32+" } else { "PE32" }).to_string(),
        other => format!("{other:?}"),
    };
    if info.format.is_empty() {
        info.format = format;
    } else {
        info.format = format!("{} ({format})", info.format);
    }
    info.architecture = arch_name(file.architecture());
    info.kind = match file.kind() {
        object::ObjectKind::Dynamic => "shared library",
        object::ObjectKind::Executable => "executable",
        object::ObjectKind::Relocatable => "object file",
        object::ObjectKind::Core => "core dump",
        _ => "unknown kind",
    }
    .into();
    match file.import_libraries() {
        Ok(libs) => {
            for lib in libs.take(MAX_COUNTED) {
                match lib {
                    Ok(l) if info.libraries.len() < MAX_LIBRARIES => {
                        let name = text(l.name());
                        if !info.libraries.contains(&name) {
                            info.libraries.push(name);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        info.notes.push(format!("libraries: {e}"));
                        break;
                    }
                }
            }
        }
        Err(e) => info.notes.push(format!("libraries: {e}")),
    }
    match file.imports() {
        Ok(imports) => {
            for import in imports.take(MAX_COUNTED) {
                match import {
                    Ok(i) => {
                        info.imports_total += 1;
                        if info.imports.len() < MAX_IMPORTS {
                            let name = match i.name() {
                                NameOrOrdinal::Name(n) => text(n),
                                NameOrOrdinal::Ordinal(o) => format!("#{o}"),
                            };
                            let lib = i.library();
                            info.imports.push(if lib.is_empty() { name } else { format!("{}: {name}", text(lib)) });
                        }
                    }
                    Err(e) => {
                        info.notes.push(format!("imports: {e}"));
                        break;
                    }
                }
            }
        }
        Err(e) => info.notes.push(format!("imports: {e}")),
    }
    if info.imports_total > info.imports.len() {
        info.notes.push(format!("only the first {} of {} imported symbols are listed", info.imports.len(), info.imports_total));
    }
    match file.exports() {
        Ok(exports) => {
            for export in exports.take(MAX_COUNTED) {
                match export {
                    Ok(_) => info.exports_total += 1,
                    Err(e) => {
                        info.notes.push(format!("exports: {e}"));
                        break;
                    }
                }
            }
        }
        Err(e) => info.notes.push(format!("exports: {e}")),
    }
}

/// Commands and paths that start shells or fetch code.
const SHELL_MARKERS: [&str; 14] =
    ["/bin/sh", "/bin/bash", "/bin/zsh", "/dev/tcp/", "cmd.exe", "powershell", "curl ", "wget ", "chmod +x", "nc -e", "bash -c", "sh -c", "certutil", "mshta"];

/// Printable ASCII runs of the binary that name a URL, an IPv4 address or
/// a shell command, in order, without repeats.
pub fn notable_strings(data: &[u8]) -> Vec<NotableString> {
    let data = &data[..data.len().min(MAX_SCANNED)];
    let mut out: Vec<NotableString> = Vec::new();
    let printable = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t';
    for run in data.split(|b| !printable(*b)).filter(|r| r.len() >= MIN_STRING) {
        if out.len() >= MAX_STRINGS {
            break;
        }
        // Printable ASCII: valid UTF-8.
        let s = std::str::from_utf8(&run[..run.len().min(MAX_NAME)]).unwrap_or_default();
        if let Some(kind) = classify(s) {
            if !out.iter().any(|o| o.text == s) {
                out.push(NotableString { kind, text: s.to_string() });
            }
        }
    }
    out
}

fn classify(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    if ["http://", "https://", "ftp://", "ws://", "wss://"].iter().any(|p| lower.contains(p)) {
        return Some("url");
    }
    if SHELL_MARKERS.iter().any(|m| lower.contains(m)) {
        return Some("shell");
    }
    if has_ipv4(s) {
        return Some("ip");
    }
    None
}

/// A dotted-quad IPv4 address standing alone in the text (not part of a
/// longer dotted version number), other than 0.0.0.0 and loopback.
fn has_ipv4(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.')).any(|token| {
        let token = token.trim_matches('.');
        token.split('.').count() == 4
            && token.split('.').all(|p| !p.is_empty() && p.len() <= 3)
            && token.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| !ip.is_unspecified() && !ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_classified() {
        let data = b"\0\0http://evil.example/x\0\x01/bin/sh -c id\0version 1.2.3\0connect 203.0.113.9:4444\0short\0";
        let found = notable_strings(data);
        let kinds: Vec<(&str, &str)> = found.iter().map(|s| (s.kind, s.text.as_str())).collect();
        assert_eq!(kinds, [("url", "http://evil.example/x"), ("shell", "/bin/sh -c id"), ("ip", "connect 203.0.113.9:4444")]);
    }

    #[test]
    fn version_numbers_and_loopback_are_not_addresses() {
        assert!(!has_ipv4("version 1.2.3.4.5"));
        assert!(!has_ipv4("bind 127.0.0.1"));
        assert!(has_ipv4("(10.0.0.1)"));
    }

    #[test]
    fn text_and_garbage_are_not_native() {
        assert!(describe(b"print('hello')\n").is_none());
        assert!(describe(b"").is_none());
    }

    #[test]
    fn truncated_headers_become_notes_not_panics() {
        for magic in [&b"\x7fELF\x02\x01\x01"[..], b"\xcf\xfa\xed\xfe\x07\0\0\x01", b"\xca\xfe\xba\xbe\0\0\0\x05"] {
            let mut data = magic.to_vec();
            data.resize(64, 0xff);
            if let Some(info) = describe(&data) {
                assert!(!info.notes.is_empty() || !info.format.is_empty(), "{info:?}");
            }
        }
    }
}
