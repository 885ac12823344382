//! Which release a requirement gets. A release Airlock already approved
//! that satisfies the range is reused; then one already on its way through
//! review; only then the newest version the upstream lists that satisfies
//! the range, is not yanked (unless pinned exactly, PEP 592), is final
//! unless the range asks for a pre-release (or nothing else fits), has not
//! been rejected here, and has files for every target the requirement
//! applies on.

use pep440_rs::{Operator, Version};

use crate::requirement::{target_labels, Dependency};
use crate::targets::Targets;
use crate::wheel_tags::WheelTags;

/// Where a release Airlock knows stands, as far as choosing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Approved,
    /// Requested, mirroring, inspecting or awaiting review.
    Pending,
    Rejected,
    Failed,
}

/// A release of the project that Airlock has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub release_id: i64,
    pub version: Version,
    pub standing: Standing,
}

/// One file the upstream lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateFile {
    pub filename: String,
    pub requires_python: Option<String>,
    pub yanked: bool,
}

/// A version the upstream lists, with its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub version: Version,
    pub files: Vec<CandidateFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// A release Airlock has satisfies the requirement.
    Reuse { release_id: i64, version: Version },
    /// Nothing Airlock has fits: call again with the upstream's listing.
    AskUpstream,
    /// Request this version of the project.
    Request { version: Version },
    /// No version can be chosen, and why.
    Unsatisfiable { reason: String },
}

/// Choose for `dep`: from `known` alone while `upstream` is None.
pub fn choose(dep: &Dependency, targets: &Targets, known: &[Known], upstream: Option<&[Candidate]>) -> Choice {
    let fits = |v: &Version| dep.specifiers.contains(v);
    for standing in [Standing::Approved, Standing::Pending] {
        if let Some(k) = known.iter().filter(|k| k.standing == standing && fits(&k.version)).max_by(|a, b| a.version.cmp(&b.version)) {
            return Choice::Reuse { release_id: k.release_id, version: k.version.clone() };
        }
    }
    let Some(listed) = upstream else { return Choice::AskUpstream };
    let exact_pin = dep.specifiers.iter().any(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual));
    let rejected = |v: &Version| known.iter().any(|k| k.standing == Standing::Rejected && k.version == *v);
    let in_range: Vec<&Candidate> = listed.iter().filter(|c| fits(&c.version) && !rejected(&c.version)).collect();
    let usable: Vec<&Candidate> = in_range.iter().copied().filter(|c| covers(c, dep.targets, targets, exact_pin)).collect();
    let wants_pre = dep.specifiers.iter().any(|s| s.any_prerelease());
    let finals: Vec<&Candidate> = usable.iter().copied().filter(|c| !c.version.any_prerelease()).collect();
    let pool = if wants_pre || finals.is_empty() { &usable } else { &finals };
    if let Some(best) = pool.iter().max_by(|a, b| a.version.cmp(&b.version)) {
        return Choice::Request { version: best.version.clone() };
    }
    Choice::Unsatisfiable { reason: why_none(dep, targets, listed, &in_range, known) }
}

/// True when the candidate has, for every target in `mask`, a file that
/// installs there: a fitting wheel or an sdist, not yanked (unless the
/// requirement pins it), whose Requires-Python admits the target.
fn covers(c: &Candidate, mask: u64, targets: &Targets, yanked_ok: bool) -> bool {
    targets.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).all(|(_, t)| {
        c.files.iter().any(|f| {
            (yanked_ok || !f.yanked)
                && t.admits_requires_python(f.requires_python.as_deref())
                && match WheelTags::from_filename(&f.filename) {
                    Some(tags) => t.accepts_wheel(&tags),
                    None => true,
                }
        })
    })
}

fn why_none(dep: &Dependency, targets: &Targets, listed: &[Candidate], in_range: &[&Candidate], known: &[Known]) -> String {
    let range = if dep.specifiers.is_empty() { "any version".to_string() } else { format!("`{}`", dep.specifiers) };
    if listed.is_empty() {
        return format!("the upstream index lists no release of {}", dep.name);
    }
    if in_range.is_empty() {
        let newest = listed.iter().map(|c| &c.version).max().map(ToString::to_string).unwrap_or_default();
        let rejected = known.iter().filter(|k| k.standing == Standing::Rejected && dep.specifiers.contains(&k.version)).count();
        let note = if rejected > 0 { format!("; {rejected} release(s) in range were rejected here") } else { String::new() };
        return format!("no version of {} satisfies {range} (the upstream's newest is {newest}){note}", dep.name);
    }
    // Some version is in range, but none installs on every target it must:
    // name the targets the newest one misses.
    let newest = in_range.iter().max_by(|a, b| a.version.cmp(&b.version)).expect("in_range is not empty");
    let missing: u64 =
        targets.iter().enumerate().filter(|(i, _)| dep.targets & (1 << i) != 0 && !covers(newest, 1 << i, targets, false)).fold(0, |m, (i, _)| m | (1 << i));
    format!("{} {} satisfies {range} but has no file (wheel, sdist or Requires-Python) for {}", dep.name, newest.version, target_labels(missing, targets))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::requirement::dependencies;

    fn targets() -> Targets {
        Targets::parse(&["3.12"], &["linux_x86_64", "windows_amd64"]).unwrap()
    }

    fn dep(line: &str) -> Dependency {
        dependencies(&[line], &[], &targets()).0.remove(0)
    }

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    fn pure(version: &str) -> Candidate {
        Candidate {
            version: v(version),
            files: vec![CandidateFile { filename: format!("demo-{version}-py3-none-any.whl"), requires_python: None, yanked: false }],
        }
    }

    fn known(id: i64, version: &str, standing: Standing) -> Known {
        Known { release_id: id, version: v(version), standing }
    }

    #[test]
    fn an_approved_release_in_range_is_reused_before_a_pending_one() {
        let d = dep("demo>=1.0");
        let k = [known(1, "1.5", Standing::Pending), known(2, "1.2", Standing::Approved), known(3, "0.9", Standing::Approved)];
        assert_eq!(choose(&d, &targets(), &k, None), Choice::Reuse { release_id: 2, version: v("1.2") });
        let k = [known(1, "1.5", Standing::Pending), known(3, "0.9", Standing::Approved)];
        assert_eq!(choose(&d, &targets(), &k, None), Choice::Reuse { release_id: 1, version: v("1.5") });
        assert_eq!(choose(&d, &targets(), &[known(3, "0.9", Standing::Approved)], None), Choice::AskUpstream);
    }

    #[test]
    fn the_newest_final_unyanked_version_in_range_is_requested() {
        let d = dep("demo>=1.0,<3");
        let mut yanked = pure("2.1");
        yanked.files[0].yanked = true;
        let listed = [pure("1.0"), pure("2.0"), yanked, pure("3.0"), pure("2.2rc1")];
        assert_eq!(choose(&d, &targets(), &[], Some(&listed)), Choice::Request { version: v("2.0") });
        let pinned = dep("demo==2.1");
        assert_eq!(choose(&pinned, &targets(), &[], Some(&listed)), Choice::Request { version: v("2.1") }, "an exact pin may take a yanked release");
        let pre = dep("demo>=2.2rc1");
        assert_eq!(choose(&pre, &targets(), &[], Some(&listed)), Choice::Request { version: v("3.0") });
        let only_pre = dep("demo>2.1,<3");
        assert_eq!(choose(&only_pre, &targets(), &[], Some(&listed)), Choice::Request { version: v("2.2rc1") }, "a pre-release when nothing final fits");
    }

    #[test]
    fn rejected_versions_and_versions_missing_a_target_are_passed_over() {
        let d = dep("demo");
        let linux_only = Candidate {
            version: v("2.0"),
            files: vec![CandidateFile { filename: "demo-2.0-cp312-cp312-manylinux_2_17_x86_64.whl".into(), requires_python: None, yanked: false }],
        };
        let listed = [pure("1.0"), pure("1.5"), linux_only];
        assert_eq!(choose(&d, &targets(), &[known(9, "1.5", Standing::Rejected)], Some(&listed)), Choice::Request { version: v("1.0") });
        let Choice::Unsatisfiable { reason } = choose(&dep("demo>=2"), &targets(), &[], Some(&listed)) else { panic!() };
        assert!(reason.contains("no file") && reason.contains("cp312-windows_amd64") && !reason.contains("linux"), "{reason}");
        let old_python = Candidate {
            version: v("1.0"),
            files: vec![CandidateFile { filename: "demo-1.0.tar.gz".into(), requires_python: Some("<3.8".into()), yanked: false }],
        };
        assert!(matches!(choose(&d, &targets(), &[], Some(&[old_python])), Choice::Unsatisfiable { .. }));
    }

    #[test]
    fn an_impossible_range_says_what_the_upstream_has() {
        let Choice::Unsatisfiable { reason } = choose(&dep("demo>=9"), &targets(), &[], Some(&[pure("1.0"), pure("2.0")])) else { panic!() };
        assert_eq!(reason, "no version of demo satisfies `>=9` (the upstream's newest is 2.0)");
        let Choice::Unsatisfiable { reason } = choose(&dep("demo"), &targets(), &[], Some(&[])) else { panic!() };
        assert!(reason.contains("lists no release"), "{reason}");
    }
}
