//! Wheel against sdist: a wheel should hold what its sdist builds. Python
//! files or `.pth` files that only the wheel has were added outside the
//! published source, which is where a poisoned build hides its payload.
//! Generated files (version modules, compiled extensions) are expected.

use std::collections::HashSet;

use crate::finding::{Finding, Severity};

/// A path of the wheel as it would sit in the sdist's source tree.
fn source_key(path: &str) -> String {
    path.trim_start_matches("src/").to_string()
}

/// Files a build writes itself: version modules (`version.py`,
/// `_version.py`, `__version__.py`, `_version_info.py`, `git_version.py`)
/// and compiled extensions. A name that merely ends in "version"
/// (`conversion.py`) is not one.
fn is_generated(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".so") || name.ends_with(".pyd") {
        return true;
    }
    let Some(stem) = name.strip_suffix(".py") else { return false };
    stem.trim_matches('_') == "version" || stem.starts_with("_version") || stem.ends_with("_version")
}

/// Findings for files the wheel has and the sdist lacks. `sdist_paths` are
/// the sdist's entries (with its top folder), `wheel_paths` the wheel's.
pub fn compare_wheel_to_sdist(wheel_paths: &[String], sdist_paths: &[String]) -> Vec<Finding> {
    let in_sdist: HashSet<String> = sdist_paths.iter().map(|p| p.split_once('/').map(|(_, rest)| rest).unwrap_or(p)).map(source_key).collect();
    let mut out = Vec::new();
    for path in wheel_paths {
        let first = path.split('/').next().unwrap_or("");
        if first.ends_with(".dist-info") || first.ends_with(".data") || is_generated(path) {
            continue;
        }
        let code = path.ends_with(".py") || path.ends_with(".pth");
        if !code || in_sdist.contains(&source_key(path)) {
            continue;
        }
        let severity = if path.ends_with(".pth") { Severity::High } else { Severity::Medium };
        out.push(Finding {
            rule: "metadata/wheel-sdist-mismatch".into(),
            severity,
            file: Some(path.clone()),
            line: None,
            message: "this file is in the wheel but not in the sdist it should be built from".into(),
            snippet: None,
            also: Vec::new(),
        });
        if out.len() >= 50 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wheel_only_code_is_reported_and_generated_files_are_not() {
        let sdist = paths(&["demo-1.0/PKG-INFO", "demo-1.0/src/demo/__init__.py", "demo-1.0/src/demo/core.py"]);
        let wheel = paths(&[
            "demo/__init__.py",
            "demo/core.py",
            "demo/_version.py",
            "demo/_speedups.cpython-312-x86_64-linux-gnu.so",
            "demo/backdoor.py",
            "evil.pth",
            "demo-1.0.dist-info/METADATA",
        ]);
        let found = compare_wheel_to_sdist(&wheel, &sdist);
        let files: Vec<(&str, Severity)> = found.iter().map(|f| (f.file.as_deref().unwrap(), f.severity)).collect();
        assert_eq!(files, [("demo/backdoor.py", Severity::Medium), ("evil.pth", Severity::High)]);
    }

    #[test]
    fn version_modules_are_generated_and_names_ending_in_version_are_not() {
        for generated in ["a/version.py", "a/_version.py", "a/__version__.py", "a/_version_info.py", "a/git_version.py", "a/_x.cpython-312.so"] {
            assert!(is_generated(generated), "{generated}");
        }
        for source in ["a/conversion.py", "a/subversion.py", "a/version_check.py", "a/versions.py"] {
            assert!(!is_generated(source), "{source}");
        }
    }
}
