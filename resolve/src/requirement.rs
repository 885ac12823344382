//! A release's requirements (`Requires-Dist`, or `build-system.requires`)
//! read with a real PEP 508 parser and evaluated against each target: the
//! result says, per requirement, on which targets it applies given the
//! extras asked of the release.

use std::str::FromStr;

use pep440_rs::VersionSpecifiers;
use pep508_rs::{ExtraName, Requirement, VerbatimUrl, VersionOrUrl};

use crate::targets::Targets;

/// One requirement that applies on at least one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// PEP 503-normalized project name.
    pub name: String,
    /// The extras it asks of that project, normalized.
    pub extras: Vec<String>,
    /// The version range (empty: any version).
    pub specifiers: VersionSpecifiers,
    /// The requirement as written, for pages and messages.
    pub requirement: String,
    /// Bit `i` set: applies on the configuration's target `i`.
    pub targets: u64,
}

/// A requirement that cannot be followed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfollowable {
    pub requirement: String,
    pub reason: String,
}

/// The requirements among `lines` that apply on some target with `extras`
/// asked of the release, and those that cannot be followed (unparseable,
/// or a direct URL, which Airlock never fetches). Requirements that apply
/// on no target are dropped.
pub fn dependencies<S: AsRef<str>>(lines: &[S], extras: &[String], targets: &Targets) -> (Vec<Dependency>, Vec<Unfollowable>) {
    let extras: Vec<ExtraName> = extras.iter().filter_map(|e| ExtraName::from_str(e).ok()).collect();
    let environments: Vec<_> = targets.iter().map(|t| t.marker_environment()).collect();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for line in lines {
        let text = line.as_ref().trim();
        if text.is_empty() {
            continue;
        }
        let req = match Requirement::<VerbatimUrl>::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                bad.push(Unfollowable { requirement: text.to_string(), reason: format!("not a valid PEP 508 requirement: {first}") });
                continue;
            }
        };
        let mut mask = 0u64;
        for (i, env) in environments.iter().enumerate() {
            if req.evaluate_markers(env, &extras) {
                mask |= 1 << i;
            }
        }
        if mask == 0 {
            continue;
        }
        let specifiers = match &req.version_or_url {
            None => VersionSpecifiers::empty(),
            Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
            Some(VersionOrUrl::Url(_)) => {
                bad.push(Unfollowable {
                    requirement: text.to_string(),
                    reason: "a direct URL requirement: Airlock installs from its index only and never fetches URLs a package names".into(),
                });
                continue;
            }
        };
        out.push(Dependency {
            name: req.name.to_string(),
            extras: req.extras.iter().map(ToString::to_string).collect(),
            specifiers,
            requirement: text.to_string(),
            targets: mask,
        });
    }
    (out, bad)
}

/// The labels of the targets in `mask`, comma-separated.
pub fn target_labels(mask: u64, targets: &Targets) -> String {
    targets.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, t)| t.label()).collect::<Vec<_>>().join(",")
}

/// The mask of comma-separated `labels` (unknown labels, from an older
/// configuration, are ignored).
pub fn target_mask(labels: &str, targets: &Targets) -> u64 {
    labels.split(',').filter_map(|l| targets.by_label(l.trim())).fold(0, |m, (i, _)| m | (1 << i))
}

/// Every target's bit.
pub fn all_targets(targets: &Targets) -> u64 {
    if targets.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << targets.len()) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Targets {
        Targets::parse(&["3.10", "3.12"], &["linux_x86_64", "windows_amd64"]).unwrap()
    }

    #[test]
    fn markers_pick_targets_and_extras_switch_requirements_on() {
        let t = targets();
        let lines = [
            "Werkzeug>=3.1",
            "colorama; platform_system == \"Windows\"",
            "tomli>=1.1.0; python_version < \"3.11\"",
            "redis>=4.5; extra == \"redis\"",
            "pytest; extra == \"test\"",
        ];
        let (deps, bad) = dependencies(&lines, &[], &t);
        assert!(bad.is_empty());
        let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["werkzeug", "colorama", "tomli"], "extras not asked are dropped");
        assert_eq!(deps[0].targets, all_targets(&t));
        assert_eq!(target_labels(deps[1].targets, &t), "cp310-windows_amd64,cp312-windows_amd64");
        assert_eq!(target_labels(deps[2].targets, &t), "cp310-linux_x86_64,cp310-windows_amd64");
        let (deps, _) = dependencies(&lines, &["Redis".to_string()], &t);
        assert!(deps.iter().any(|d| d.name == "redis" && d.specifiers.to_string() == ">=4.5"));
        assert!(!deps.iter().any(|d| d.name == "pytest"));
    }

    #[test]
    fn urls_and_garbage_are_reported_not_followed() {
        let (deps, bad) = dependencies(&["evil @ https://example.invalid/evil.whl", "not a requirement (", "ok[Extra_One]"], &[], &targets());
        assert_eq!(bad.len(), 2);
        assert!(bad[0].reason.contains("direct URL"));
        assert!(bad[1].reason.contains("PEP 508"));
        assert_eq!(deps[0].extras, ["extra-one"]);
    }

    #[test]
    fn labels_and_masks_round_trip() {
        let t = targets();
        let mask = 0b1010;
        assert_eq!(target_mask(&target_labels(mask, &t), &t), mask);
        assert_eq!(target_mask("cp39-linux_x86_64,cp312-linux_x86_64", &t), 0b0100);
    }
}
