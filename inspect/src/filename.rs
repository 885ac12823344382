//! Distribution file names (PEP 427 wheels, PEP 625 and legacy sdists),
//! parsed into name, version and tags instead of split at each call site.
//! The one parser of file names for every crate.

use crate::name::normalize;
use crate::report::DistKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFilename {
    /// PEP 503-normalized project name.
    pub name: String,
    /// The version exactly as written in the file name.
    pub version: String,
    /// `Wheel` or `Sdist`.
    pub kind: DistKind,
    /// What tells two files of one version apart: a wheel's tags
    /// (`py3-none-any`), an sdist's archive format (`.tar.gz`).
    pub variant: String,
}

/// The archive formats of sdists, longest match first.
pub const SDIST_SUFFIXES: [&str; 5] = [".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar"];

impl DistFilename {
    /// Parse a wheel or sdist file name; anything else (eggs, installers,
    /// names with path separators) is None.
    pub fn parse(filename: &str) -> Option<DistFilename> {
        if filename.contains(['/', '\\']) || filename.starts_with('.') {
            return None;
        }
        if let Some(stem) = filename.strip_suffix(".whl") {
            let parts: Vec<&str> = stem.split('-').collect();
            if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|p| p.is_empty()) {
                return None;
            }
            let variant = parts[parts.len() - 3..].join("-");
            return Some(DistFilename { name: normalize(parts[0]), version: parts[1].to_string(), kind: DistKind::Wheel, variant });
        }
        let lower = filename.to_ascii_lowercase();
        let suffix = SDIST_SUFFIXES.iter().find(|s| lower.ends_with(*s))?;
        let stem = &filename[..filename.len() - suffix.len()];
        let (name, version) = stem.rsplit_once('-')?;
        if name.is_empty() || version.is_empty() {
            return None;
        }
        Some(DistFilename { name: normalize(name), version: version.to_string(), kind: DistKind::Sdist, variant: suffix.to_string() })
    }

    /// [`DistFilename::parse`], knowing the project the file belongs to. A
    /// legacy sdist name is ambiguous when its name or version holds a dash
    /// (`foo-bar-1.0.tar.gz`: `foo-bar` 1.0, or `foo` `bar-1.0`;
    /// `pkg-1.0-post1.tar.gz`), and `parse` splits at the last dash: here it
    /// is split right after the project's name when it starts with it.
    pub fn parse_for_project(filename: &str, project: &str) -> Option<DistFilename> {
        let parsed = DistFilename::parse(filename)?;
        let project = normalize(project);
        if parsed.kind != DistKind::Sdist || parsed.name == project {
            return Some(parsed);
        }
        let stem = &filename[..filename.len() - parsed.variant.len()];
        let after_name = stem.match_indices('-').map(|(i, _)| i).find(|&i| normalize(&stem[..i]) == project).map(|i| &stem[i + 1..]);
        Some(match after_name {
            Some(version) if !version.is_empty() => DistFilename { name: project, version: version.to_string(), ..parsed },
            _ => parsed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_parse_into_name_and_version() {
        let f = DistFilename::parse("Demo_Pkg-1.0.0-py3-none-any.whl").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str(), f.kind, f.variant.as_str()), ("demo-pkg", "1.0.0", DistKind::Wheel, "py3-none-any"));
        let f = DistFilename::parse("numpy-2.1.0-1-cp312-cp312-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!((f.version.as_str(), f.variant.as_str()), ("2.1.0", "cp312-cp312-manylinux_2_17_x86_64"));
        assert!(DistFilename::parse("bad-1.0.whl").is_none());
    }

    #[test]
    fn sdists_parse_including_legacy_dashed_names() {
        let f = DistFilename::parse("python-dateutil-2.8.2.tar.gz").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str(), f.kind, f.variant.as_str()), ("python-dateutil", "2.8.2", DistKind::Sdist, ".tar.gz"));
        assert_eq!(DistFilename::parse("demo_pkg-1.0.zip").unwrap().version, "1.0");
    }

    #[test]
    fn ambiguous_legacy_sdists_split_after_the_known_project_name() {
        let f = DistFilename::parse_for_project("foo-bar-1.0.tar.gz", "foo").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str()), ("foo", "bar-1.0"));
        let f = DistFilename::parse_for_project("foo-bar-1.0.tar.gz", "Foo_Bar").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str()), ("foo-bar", "1.0"));
        let f = DistFilename::parse_for_project("Pkg-1.0-post1.zip", "pkg").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str(), f.variant.as_str()), ("pkg", "1.0-post1", ".zip"));
        // Another project's file keeps the plain split; wheels are never ambiguous.
        let f = DistFilename::parse_for_project("other-2.0.tar.gz", "pkg").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str()), ("other", "2.0"));
        let f = DistFilename::parse_for_project("foo_bar-1.0-py3-none-any.whl", "foo").unwrap();
        assert_eq!((f.name.as_str(), f.version.as_str()), ("foo-bar", "1.0"));
    }

    #[test]
    fn other_files_and_path_tricks_are_refused() {
        for bad in ["demo-1.0-py3.8.egg", "demo-1.0.exe", "../demo-1.0.tar.gz", "a/demo-1.0.whl", "noversion.tar.gz"] {
            assert!(DistFilename::parse(bad).is_none(), "{bad}");
        }
    }
}
