//! Bundled native code: executables and shared libraries, recognized by
//! name and by magic bytes (ELF, PE, Mach-O). Expected in platform wheels,
//! surprising elsewhere.

use crate::finding::{Finding, Severity};
use crate::report::{Dist, DistKind};
use crate::rules::finding;

const NATIVE_SUFFIXES: [&str; 5] = [".so", ".dll", ".dylib", ".exe", ".pyd"];

fn magic(content: &[u8]) -> Option<&'static str> {
    match content {
        [0x7f, b'E', b'L', b'F', ..] => Some("ELF"),
        [b'M', b'Z', ..] if is_pe(content) => Some("PE"),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] | [0xca, 0xfe, 0xba, 0xbe, ..] => Some("Mach-O"),
        _ => None,
    }
}

/// An MZ header whose `e_lfanew` points at a `PE\0\0` signature.
fn is_pe(content: &[u8]) -> bool {
    let Some(offset) = content.get(0x3c..0x40).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize) else { return false };
    content.get(offset..offset + 4) == Some(b"PE\0\0")
}

/// A wheel whose tag names a platform is expected to carry native code.
fn is_platform_wheel(filename: &str) -> bool {
    filename.ends_with(".whl") && !filename.ends_with("-any.whl")
}

pub fn binaries(dist: &Dist, out: &mut Vec<Finding>) {
    let expected = dist.kind == DistKind::Wheel && is_platform_wheel(dist.filename);
    for member in &dist.archive.members {
        let lower = member.path.to_ascii_lowercase();
        let by_name = NATIVE_SUFFIXES.iter().any(|s| lower.ends_with(s) || lower.contains(&format!("{s}.")));
        let by_magic = magic(&member.content);
        if !by_name && by_magic.is_none() {
            continue;
        }
        let what = by_magic.unwrap_or("native");
        let severity = if expected { Severity::Low } else { Severity::Medium };
        out.push(finding("native/binary", severity, &member.path, None, format!("bundled {what} binary: its behaviour is not visible to source inspection")));
    }
}
