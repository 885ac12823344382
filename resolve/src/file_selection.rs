//! Which of a release's files an organization can install, and so which
//! are worth mirroring and reviewing. A release often lists a wheel per
//! Python × platform (150 files is common); the targets usually need a
//! tenth of them. A wheel is kept when it installs on at least one target;
//! the sdist is kept when some target has no wheel (it is what an installer
//! builds from there), when no wheel is kept at all, or always when the
//! organization asks for sdists. Everything left out gets a reason a person
//! can read, because it is shown as "not mirrored" and can be added.
//!
//! Pure: it reads file names and Requires-Python values, nothing else. The
//! mirror job and `airlock select-files` both call it.

use crate::targets::{Target, Targets};
use crate::wheel_tags::WheelTags;

/// One file of a release, as the upstream lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed<'a> {
    pub filename: &'a str,
    /// The upstream's `requires-python` for the file (PEP 503 / PEP 691).
    pub requires_python: Option<&'a str>,
}

/// What happens to one listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Keep,
    /// Left out, with the reason shown to people.
    Skip(String),
}

/// The choice for each listed file (same order), and how the targets are covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub choices: Vec<Choice>,
    /// Targets the release's Requires-Python admits but no listed wheel fits.
    pub uncovered: Vec<Target>,
    /// Targets every file's Requires-Python excludes: installers there never pick this release.
    pub excluded: Vec<Target>,
    /// True when an sdist is among the kept files.
    pub sdist_kept: bool,
}

impl Selection {
    /// Positions of the kept files.
    pub fn kept(&self) -> impl Iterator<Item = usize> + '_ {
        self.choices.iter().enumerate().filter(|(_, c)| **c == Choice::Keep).map(|(i, _)| i)
    }

    /// Positions of the skipped files, with their reasons.
    pub fn skipped(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.choices.iter().enumerate().filter_map(|(i, c)| match c {
            Choice::Skip(reason) => Some((i, reason.as_str())),
            Choice::Keep => None,
        })
    }

    /// True when nothing is kept: the release cannot be installed on any target.
    pub fn is_empty(&self) -> bool {
        self.kept().next().is_none()
    }

    /// Targets no kept file serves, when there is no sdist to build from
    /// there: a sentence for the release page and the log, or None.
    pub fn gap(&self) -> Option<String> {
        if self.sdist_kept || self.uncovered.is_empty() {
            return None;
        }
        let labels: Vec<String> = self.uncovered.iter().map(Target::label).collect();
        Some(format!("no wheel fits {} and the release has no sdist to build from there", labels.join(", ")))
    }

    /// Why nothing was kept, naming the targets (for a failed release).
    pub fn empty_reason(&self, targets: &Targets, wheels: usize) -> String {
        if !self.excluded.is_empty() && self.excluded.len() == targets.len() {
            return format!("its Requires-Python excludes every target ({targets})");
        }
        let noun = if wheels == 1 { "wheel fits" } else { "wheels fit" };
        format!("none of its {wheels} {noun} the targets ({targets}) and it has no sdist to build from")
    }
}

/// Choose the files of one release to mirror for `targets`. `files` are the
/// release's wheels and sdists; `sdists_always` is `mirror_sdists = "always"`.
pub fn select_files(files: &[Listed<'_>], targets: &Targets, sdists_always: bool) -> Selection {
    let tags: Vec<Option<WheelTags>> = files.iter().map(|f| WheelTags::from_filename(f.filename)).collect();
    let is_wheel = |i: usize| files[i].filename.to_ascii_lowercase().ends_with(".whl");
    // A target the release's Requires-Python admits: some file admits it.
    let admitted = |t: &Target| files.iter().any(|f| t.admits_requires_python(f.requires_python));
    let fits = |i: usize, t: &Target| tags[i].as_ref().is_some_and(|w| t.accepts_wheel(w)) && t.admits_requires_python(files[i].requires_python);

    let mut choices = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        if !is_wheel(i) {
            choices.push(Choice::Keep); // decided below, once wheels are known
            continue;
        }
        let Some(w) = &tags[i] else {
            choices.push(Choice::Skip("not a valid wheel file name (PEP 427)".into()));
            continue;
        };
        if targets.iter().any(|t| fits(i, t)) {
            choices.push(Choice::Keep);
        } else if targets.accept_wheel(w) {
            let rp = f.requires_python.unwrap_or_default();
            choices.push(Choice::Skip(format!("fits none of the targets: its Requires-Python {rp} excludes every target its tags fit")));
        } else {
            choices.push(Choice::Skip(format!("fits none of the targets: {} installs on none of {targets}", tag_text(w))));
        }
    }

    let kept_wheels: Vec<usize> = (0..files.len()).filter(|&i| is_wheel(i) && choices[i] == Choice::Keep).collect();
    let mut uncovered = Vec::new();
    let mut excluded = Vec::new();
    for t in targets.iter() {
        if !admitted(t) {
            excluded.push(*t);
        } else if !kept_wheels.iter().any(|&i| fits(i, t)) {
            uncovered.push(*t);
        }
    }

    // One sdist is enough: the first .tar.gz (PEP 625's format), else the first listed.
    let sdists: Vec<usize> = (0..files.len()).filter(|&i| !is_wheel(i)).collect();
    let preferred = sdists.iter().copied().find(|&i| files[i].filename.to_ascii_lowercase().ends_with(".tar.gz")).or(sdists.first().copied());
    let covered = if excluded.is_empty() {
        format!(" ({targets})")
    } else {
        let labels: Vec<String> = excluded.iter().map(Target::label).collect();
        format!(" its Requires-Python admits ({targets}; excluded: {})", labels.join(", "))
    };
    let needed = sdists_always || !uncovered.is_empty() || kept_wheels.is_empty();
    for &i in &sdists {
        choices[i] = match preferred {
            Some(p) if p == i && needed => Choice::Keep,
            Some(p) if p != i => Choice::Skip(format!("another sdist of this release is mirrored: {}", files[p].filename)),
            _ => Choice::Skip(format!("not needed: a wheel fits every target{covered}; set mirror_sdists = \"always\" to keep sdists")),
        };
    }
    let sdist_kept = preferred.is_some_and(|p| choices[p] == Choice::Keep);
    Selection { choices, uncovered, excluded, sdist_kept }
}

/// `cp312-cp312-musllinux_1_2_x86_64`: a wheel's tags as its name spells them.
fn tag_text(w: &WheelTags) -> String {
    format!("{}-{}-{}", w.python.join("."), w.abi.join("."), w.platform.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(names: &[&'static str]) -> Vec<Listed<'static>> {
        names.iter().map(|n| Listed { filename: n, requires_python: None }).collect()
    }

    fn kept<'a>(files: &[Listed<'a>], s: &Selection) -> Vec<&'a str> {
        s.kept().map(|i| files[i].filename).collect()
    }

    /// A release built the way numpy-like projects publish: every CPython
    /// on every common platform, plus the ones no default target runs.
    const MULTI: [&str; 14] = [
        "demo-1.0.tar.gz",
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl",
        "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl",
        "demo-1.0-cp312-cp312-macosx_10_13_x86_64.whl",
        "demo-1.0-cp312-cp312-win_amd64.whl",
        "demo-1.0-cp312-cp312-win32.whl",
        "demo-1.0-cp39-cp39-manylinux_2_17_x86_64.whl",
        "demo-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
        "demo-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_17_i686.whl",
        "demo-1.0-cp312-cp312-win_arm64.whl",
        "demo-1.0-cp312-cp312-macosx_10_9_universal2.whl",
    ];

    #[test]
    fn only_wheels_that_fit_a_target_are_kept() {
        let files = listed(&MULTI);
        let targets = Targets::parse(&["3.12"], &["linux_x86_64", "macos_arm64", "windows_amd64"]).unwrap();
        let s = select_files(&files, &targets, false);
        assert_eq!(
            kept(&files, &s),
            [
                "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl",
                "demo-1.0-cp312-cp312-win_amd64.whl",
                "demo-1.0-cp312-cp312-macosx_10_9_universal2.whl",
            ]
        );
        assert!(s.uncovered.is_empty() && !s.sdist_kept, "every target has a wheel, so no sdist: {s:?}");
        let reason = |name: &str| s.skipped().find(|(i, _)| files[*i].filename == name).map(|(_, r)| r.to_string()).unwrap();
        let musl = reason("demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl");
        assert!(musl.starts_with("fits none of the targets: cp312-cp312-musllinux_1_2_x86_64 installs on none of CPython 3.12 on"), "{musl}");
        for excluded in ["win32", "pp310", "i686", "cp313t", "win_arm64", "aarch64", "macosx_10_13_x86_64", "cp39-cp39"] {
            assert!(!kept(&files, &s).iter().any(|k| k.contains(excluded)), "{excluded} must be left out");
        }
        assert!(reason("demo-1.0.tar.gz").starts_with("not needed: a wheel fits every target"));
    }

    #[test]
    fn abi3_and_pure_wheels_cover_many_targets_at_once() {
        let files = listed(&[
            "demo-1.0-cp38-abi3-manylinux_2_17_x86_64.whl",
            "demo-1.0-cp38-abi3-win_amd64.whl",
            "demo-1.0-cp38-abi3-musllinux_1_2_x86_64.whl",
            "demo-1.0.tar.gz",
        ]);
        let s = select_files(&files, &Targets::default(), false);
        assert_eq!(kept(&files, &s), ["demo-1.0-cp38-abi3-manylinux_2_17_x86_64.whl", "demo-1.0-cp38-abi3-win_amd64.whl", "demo-1.0.tar.gz"]);
        let labels: Vec<String> = s.uncovered.iter().map(Target::label).collect();
        assert_eq!(labels, ["cp310-macos_arm64", "cp311-macos_arm64", "cp312-macos_arm64", "cp313-macos_arm64"], "no macOS wheel: the sdist is needed there");

        let pure = listed(&["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]);
        let s = select_files(&pure, &Targets::default(), false);
        assert_eq!(kept(&pure, &s), ["demo-1.0-py3-none-any.whl"], "a pure wheel fits every target");
    }

    #[test]
    fn the_sdist_is_kept_when_needed_or_always() {
        let files = listed(&["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "demo-1.0.tar.gz"]);
        let targets = Targets::parse(&["3.12", "3.13"], &["linux_x86_64"]).unwrap();
        let s = select_files(&files, &targets, false);
        assert_eq!(kept(&files, &s), ["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "demo-1.0.tar.gz"], "cp313 builds from the sdist");
        assert!(s.gap().is_none());

        let one = Targets::parse(&["3.12"], &["linux_x86_64"]).unwrap();
        assert_eq!(kept(&files, &select_files(&files, &one, false)), ["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"]);
        assert_eq!(kept(&files, &select_files(&files, &one, true)), ["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "demo-1.0.tar.gz"], "always");
    }

    #[test]
    fn an_sdist_only_project_keeps_its_sdist_and_one_sdist_is_enough() {
        let files = listed(&["demo-1.0.zip", "demo-1.0.tar.gz"]);
        let s = select_files(&files, &Targets::default(), false);
        assert_eq!(kept(&files, &s), ["demo-1.0.tar.gz"]);
        assert!(s.skipped().next().unwrap().1.contains("another sdist of this release is mirrored: demo-1.0.tar.gz"));
        let only_zip = listed(&["demo-1.0.zip"]);
        assert_eq!(kept(&only_zip, &select_files(&only_zip, &Targets::default(), false)), ["demo-1.0.zip"]);
    }

    #[test]
    fn nothing_fits_without_an_sdist_and_the_reason_names_the_targets() {
        let files = listed(&["demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "demo-1.0-pp310-pypy310_pp73-win_amd64.whl"]);
        let targets = Targets::parse(&["3.12"], &["linux_x86_64"]).unwrap();
        let s = select_files(&files, &targets, false);
        assert!(s.is_empty());
        assert_eq!(s.empty_reason(&targets, 2), "none of its 2 wheels fit the targets (CPython 3.12 on linux_x86_64) and it has no sdist to build from");
        assert_eq!(s.gap().as_deref(), Some("no wheel fits cp312-linux_x86_64 and the release has no sdist to build from there"));
    }

    #[test]
    fn a_target_without_a_wheel_and_without_an_sdist_is_named() {
        let files = listed(&["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "demo-1.0-cp312-cp312-win_amd64.whl"]);
        let s = select_files(&files, &Targets::parse(&["3.12"], &["linux_x86_64", "macos_arm64", "windows_amd64"]).unwrap(), false);
        assert_eq!(kept(&files, &s).len(), 2);
        assert_eq!(s.gap().as_deref(), Some("no wheel fits cp312-macos_arm64 and the release has no sdist to build from there"));
    }

    #[test]
    fn requires_python_decides_which_targets_need_the_release() {
        // Like a release that dropped 3.10: the 3.10 targets do not need its sdist.
        let mut files = listed(&["demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "demo-1.0.tar.gz"]);
        for f in &mut files {
            f.requires_python = Some(">=3.11");
        }
        let targets = Targets::parse(&["3.10", "3.11", "3.12"], &["linux_x86_64"]).unwrap();
        let s = select_files(&files, &targets, false);
        assert_eq!(kept(&files, &s), ["demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"]);
        assert_eq!(s.excluded.iter().map(Target::label).collect::<Vec<_>>(), ["cp310-linux_x86_64"]);

        let mut newer = listed(&["demo-1.0-py3-none-any.whl"]);
        newer[0].requires_python = Some(">=3.14");
        let s = select_files(&newer, &targets, false);
        assert!(s.is_empty());
        assert!(s.skipped().next().unwrap().1.contains("Requires-Python >=3.14 excludes"));
        assert!(s.empty_reason(&targets, 1).starts_with("its Requires-Python excludes every target"));
    }
}
