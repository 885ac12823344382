//! Checks on entry names: traversal, absolute paths, length and depth, and
//! link targets. A name is only ever data here; nothing is resolved against
//! the real filesystem.

use super::{Archive, Limits};
use crate::finding::Severity;

/// Flag an entry name that could write outside an extraction folder, or
/// that is unreasonably long or deep.
pub fn check(path: &str, limits: &Limits, archive: &mut Archive) {
    let unified = path.replace('\\', "/");
    let bytes = unified.as_bytes();
    let drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    if unified.starts_with('/') || drive {
        archive.finding(
            "archive/absolute-path",
            Severity::High,
            Some(path),
            "entry has an absolute path: extracting it would write outside the target folder".into(),
        );
    } else if escapes(&unified, 0) {
        archive.finding("archive/path-traversal", Severity::High, Some(path), "entry name climbs out of the archive with `..`".into());
    }
    if path.chars().count() > limits.max_path_len {
        archive.finding(
            "archive/long-path",
            Severity::Medium,
            Some(&path.chars().take(120).collect::<String>()),
            format!("entry name is longer than {} characters", limits.max_path_len),
        );
    }
    let depth = unified.split('/').filter(|c| !c.is_empty()).count();
    if depth > limits.max_depth {
        archive.finding(
            "archive/deep-path",
            Severity::Medium,
            Some(&path.chars().take(120).collect::<String>()),
            format!("entry is nested {depth} folders deep (limit {})", limits.max_depth),
        );
    }
}

/// True when `path`, taken relative to a folder `start_depth` deep inside
/// the archive, climbs above the archive root.
pub fn escapes(path: &str, start_depth: usize) -> bool {
    let mut depth = start_depth as i64;
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// A link target that names a place from the root of a file system: `/etc`, `\\share`, `C:…`.
pub fn is_absolute_target(target: &str) -> bool {
    target.starts_with(['/', '\\']) || target.as_bytes().get(1) == Some(&b':')
}

/// True when a link at `link_path` pointing to `target` leaves the archive.
pub fn link_escapes(link_path: &str, target: &str) -> bool {
    if is_absolute_target(target) {
        return true;
    }
    let target = target.replace('\\', "/");
    let parent_depth = link_path.replace('\\', "/").split('/').filter(|c| !c.is_empty() && *c != ".").count().saturating_sub(1);
    escapes(&target, parent_depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_measured_from_the_archive_root() {
        assert!(escapes("../x", 0));
        assert!(escapes("a/../../x", 0));
        assert!(!escapes("a/../b", 0));
        assert!(!escapes("./a/./b", 0));
    }

    #[test]
    fn links_may_point_anywhere_inside_but_not_out() {
        assert!(!link_escapes("pkg-1.0/docs/CONTRIBUTING.md", "../CONTRIBUTING.md"));
        assert!(link_escapes("pkg-1.0/x", "../../etc/passwd"));
        assert!(link_escapes("pkg-1.0/x", "/etc/passwd"));
        assert!(!link_escapes("pkg-1.0/a/b", "../../pkg-1.0/c"));
    }
}
