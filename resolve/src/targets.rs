//! Target environments: the CPython versions × platforms an organization
//! installs on. They decide which markers of a requirement hold (each
//! target is a full PEP 508 marker environment), which wheels are worth
//! mirroring (PEP 425 tags), and whether a release needs its sdist (no
//! wheel fits some target).

use std::fmt;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};

use crate::wheel_tags::WheelTags;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("target Python {0:?} is not a CPython 3 version such as 3.12")]
    Python(String),
    #[error("target platform {0:?} is unknown; use one of linux_x86_64, linux_aarch64, macos_arm64, macos_x86_64, windows_amd64")]
    Platform(String),
    #[error("targets need at least one Python version and one platform")]
    Empty,
    #[error("at most 64 targets (Python versions × platforms); {0} given")]
    TooMany(usize),
}

/// An operating system and CPU, as installers tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// glibc Linux (manylinux wheels).
    LinuxX86_64,
    LinuxAarch64,
    MacosArm64,
    MacosX86_64,
    WindowsAmd64,
}

impl Platform {
    pub const ALL: [Platform; 5] = [Platform::LinuxX86_64, Platform::LinuxAarch64, Platform::MacosArm64, Platform::MacosX86_64, Platform::WindowsAmd64];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "linux_x86_64",
            Platform::LinuxAarch64 => "linux_aarch64",
            Platform::MacosArm64 => "macos_arm64",
            Platform::MacosX86_64 => "macos_x86_64",
            Platform::WindowsAmd64 => "windows_amd64",
        }
    }

    fn sys_platform(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 | Platform::LinuxAarch64 => "linux",
            Platform::MacosArm64 | Platform::MacosX86_64 => "darwin",
            Platform::WindowsAmd64 => "win32",
        }
    }

    fn platform_system(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 | Platform::LinuxAarch64 => "Linux",
            Platform::MacosArm64 | Platform::MacosX86_64 => "Darwin",
            Platform::WindowsAmd64 => "Windows",
        }
    }

    /// `platform.machine()` as each OS spells it.
    fn platform_machine(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 | Platform::MacosX86_64 => "x86_64",
            Platform::LinuxAarch64 => "aarch64",
            Platform::MacosArm64 => "arm64",
            Platform::WindowsAmd64 => "AMD64",
        }
    }

    /// True when a wheel's platform tag installs here.
    pub fn accepts(self, tag: &str) -> bool {
        if tag == "any" {
            return true;
        }
        match self {
            Platform::LinuxX86_64 => linux_tag_arch(tag) == Some("x86_64"),
            Platform::LinuxAarch64 => linux_tag_arch(tag) == Some("aarch64"),
            Platform::MacosArm64 => macos_tag_arch(tag).is_some_and(|a| matches!(a, "arm64" | "universal2")),
            Platform::MacosX86_64 => macos_tag_arch(tag).is_some_and(|a| matches!(a, "x86_64" | "universal2" | "intel" | "universal" | "fat64" | "fat3")),
            Platform::WindowsAmd64 => tag == "win_amd64",
        }
    }
}

/// The CPU of a glibc Linux tag (`manylinux1_x86_64`, `manylinux2014_…`,
/// `manylinux_2_28_…`, plain `linux_…`); musllinux is another libc.
fn linux_tag_arch(tag: &str) -> Option<&str> {
    if let Some(rest) = tag.strip_prefix("manylinux_") {
        // manylinux_MAJOR_MINOR_ARCH
        let mut parts = rest.splitn(3, '_');
        let (major, minor, arch) = (parts.next()?, parts.next()?, parts.next()?);
        return (major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok()).then_some(arch);
    }
    for legacy in ["manylinux1_", "manylinux2010_", "manylinux2014_", "linux_"] {
        if let Some(arch) = tag.strip_prefix(legacy) {
            return Some(arch);
        }
    }
    None
}

/// The CPU of a macOS tag (`macosx_11_0_arm64`, `macosx_10_9_universal2`).
fn macos_tag_arch(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix("macosx_")?;
    let mut parts = rest.splitn(3, '_');
    let (major, minor, arch) = (parts.next()?, parts.next()?, parts.next()?);
    (major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok()).then_some(arch)
}

impl FromStr for Platform {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Platform, TargetError> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "manylinux_x86_64" | "linux" => "linux_x86_64",
            "manylinux_aarch64" | "linux_arm64" => "linux_aarch64",
            "macos" | "macosx_arm64" | "darwin_arm64" => "macos_arm64",
            "macosx_x86_64" | "darwin_x86_64" => "macos_x86_64",
            "windows" | "win_amd64" | "windows_x86_64" => "windows_amd64",
            other => other,
        };
        Platform::ALL.into_iter().find(|p| p.as_str() == alias).ok_or_else(|| TargetError::Platform(s.to_string()))
    }
}

/// One CPython minor version on one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The minor version of CPython 3.
    pub python_minor: u8,
    pub platform: Platform,
}

impl Target {
    /// `cp312-linux_x86_64`: the name edges and pages use.
    pub fn label(&self) -> String {
        format!("cp3{}-{}", self.python_minor, self.platform.as_str())
    }

    pub fn python_version(&self) -> String {
        format!("3.{}", self.python_minor)
    }

    /// The PEP 508 marker environment of this target (the interpreter at
    /// its `.0` patch release).
    pub fn marker_environment(&self) -> MarkerEnvironment {
        let short = self.python_version();
        let full = format!("{short}.0");
        let p = self.platform;
        MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: if p == Platform::WindowsAmd64 { "nt" } else { "posix" },
            platform_machine: p.platform_machine(),
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: p.platform_system(),
            platform_version: "",
            python_full_version: &full,
            python_version: &short,
            sys_platform: p.sys_platform(),
        })
        .expect("3.N and 3.N.0 are valid versions")
    }

    /// True when a file's `Requires-Python` admits this interpreter. A value
    /// that does not parse admits it: installers ignore it too.
    pub fn admits_requires_python(&self, requires_python: Option<&str>) -> bool {
        let Some(spec) = requires_python.map(str::trim).filter(|s| !s.is_empty()) else { return true };
        let Ok(spec) = VersionSpecifiers::from_str(spec) else { return true };
        let Ok(version) = Version::from_str(&format!("3.{}.0", self.python_minor)) else { return true };
        spec.contains(&version)
    }

    /// True when the wheel installs on this target: some declared tag
    /// triple is one CPython 3.N on this platform accepts (pure `py3`,
    /// `py3M` with M ≤ N, `cp3N`, or the stable ABI `cp3M-abi3`, M ≤ N).
    pub fn accepts_wheel(&self, tags: &WheelTags) -> bool {
        let n = self.python_minor as u32;
        let minor_of = |tag: &str, prefix: &str| tag.strip_prefix(prefix).and_then(|v| v.strip_prefix('3')).and_then(|m| m.parse::<u32>().ok());
        tags.triples().any(|(py, abi, plat)| {
            if !self.platform.accepts(plat) {
                return false;
            }
            match abi {
                "none" => py == "py3" || minor_of(py, "py").is_some_and(|m| m <= n) || minor_of(py, "cp") == Some(n),
                "abi3" => minor_of(py, "cp").is_some_and(|m| m <= n),
                _ => minor_of(py, "cp") == Some(n) && (minor_of(abi, "cp") == Some(n) || abi == format!("cp3{n}m")),
            }
        })
    }
}

/// The configured targets, in a fixed order (at most 64, so that a set of
/// them fits a bit mask).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(Vec<Target>);

impl Default for Targets {
    /// CPython 3.10 to 3.13 on glibc Linux x86_64, macOS arm64 and Windows amd64.
    fn default() -> Targets {
        let platforms = [Platform::LinuxX86_64, Platform::MacosArm64, Platform::WindowsAmd64];
        Targets((10..=13).flat_map(|m| platforms.map(|platform| Target { python_minor: m, platform })).collect())
    }
}

impl Targets {
    /// Every pairing of `pythons` (`3.12`, `cp312`, `312`) with `platforms`.
    pub fn parse<S: AsRef<str>>(pythons: &[S], platforms: &[S]) -> Result<Targets, TargetError> {
        let minors = pythons.iter().map(|p| parse_python(p.as_ref())).collect::<Result<Vec<_>, _>>()?;
        let platforms = platforms.iter().map(|p| p.as_ref().parse::<Platform>()).collect::<Result<Vec<_>, _>>()?;
        let mut all: Vec<Target> = minors.iter().flat_map(|&m| platforms.iter().map(move |&platform| Target { python_minor: m, platform })).collect();
        all.sort();
        all.dedup();
        match all.len() {
            0 => Err(TargetError::Empty),
            n if n > 64 => Err(TargetError::TooMany(n)),
            _ => Ok(Targets(all)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Target> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Python versions, without repeats, oldest first.
    pub fn pythons(&self) -> Vec<String> {
        let mut v: Vec<u8> = self.0.iter().map(|t| t.python_minor).collect();
        v.sort();
        v.dedup();
        v.into_iter().map(|m| format!("3.{m}")).collect()
    }

    /// The platforms, without repeats.
    pub fn platforms(&self) -> Vec<Platform> {
        let mut v: Vec<Platform> = self.0.iter().map(|t| t.platform).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The target called `label`, with its position.
    pub fn by_label(&self, label: &str) -> Option<(usize, &Target)> {
        self.0.iter().enumerate().find(|(_, t)| t.label() == label)
    }

    /// A PEP 508 marker that holds on exactly the targets in `mask` (among
    /// these targets); None when `mask` is every target, and `"False"`-like
    /// never-true marker text is avoided by returning None for an empty
    /// mask too (callers leave such entries out). Platforms are told apart
    /// by `sys_platform`, and by `platform_machine` only where two targets
    /// share an OS.
    pub fn marker_for(&self, mask: u64) -> Option<String> {
        let all: u64 = if self.0.len() >= 64 { u64::MAX } else { (1u64 << self.0.len()) - 1 };
        if mask & all == all || mask & all == 0 {
            return None;
        }
        let mut clauses = Vec::new();
        for platform in self.platforms() {
            let on: Vec<u8> = self.0.iter().enumerate().filter(|(i, t)| t.platform == platform && mask & (1 << i) != 0).map(|(_, t)| t.python_minor).collect();
            if on.is_empty() {
                continue;
            }
            let shares_os = self.platforms().iter().any(|p| *p != platform && p.sys_platform() == platform.sys_platform());
            let mut parts = vec![format!("sys_platform == \"{}\"", platform.sys_platform())];
            if shares_os {
                parts.push(format!("platform_machine == \"{}\"", platform.platform_machine()));
            }
            let every_python = self.0.iter().filter(|t| t.platform == platform).count() == on.len();
            if !every_python {
                let versions: Vec<String> = on.iter().map(|m| format!("python_version == \"3.{m}\"")).collect();
                parts.push(if versions.len() == 1 { versions[0].clone() } else { format!("({})", versions.join(" or ")) });
            }
            clauses.push(parts.join(" and "));
        }
        Some(if clauses.len() == 1 { clauses.remove(0) } else { clauses.iter().map(|c| format!("({c})")).collect::<Vec<_>>().join(" or ") })
    }

    /// True when the wheel installs on at least one target.
    pub fn accept_wheel(&self, tags: &WheelTags) -> bool {
        self.0.iter().any(|t| t.accepts_wheel(tags))
    }

    /// True when some target could install this distribution file: a wheel
    /// whose tags fit a target whose Python its `Requires-Python` admits,
    /// or an sdist (it builds anywhere) whose `Requires-Python` admits some
    /// target. Anything else (eggs, installers) fits none.
    pub fn accept_file(&self, filename: &str, requires_python: Option<&str>) -> bool {
        match WheelTags::from_filename(filename) {
            Some(tags) => self.0.iter().any(|t| t.accepts_wheel(&tags) && t.admits_requires_python(requires_python)),
            None => {
                let lower = filename.to_ascii_lowercase();
                let sdist = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"].iter().any(|ext| lower.ends_with(ext));
                sdist && self.0.iter().any(|t| t.admits_requires_python(requires_python))
            }
        }
    }
}

impl fmt::Display for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let platforms: Vec<&str> = self.platforms().into_iter().map(Platform::as_str).collect();
        write!(f, "CPython {} on {}", self.pythons().join(", "), platforms.join(", "))
    }
}

fn parse_python(s: &str) -> Result<u8, TargetError> {
    let t = s.trim().to_ascii_lowercase();
    let digits = t.strip_prefix("cp").or_else(|| t.strip_prefix("py")).unwrap_or(&t).replace('.', "");
    let minor = digits.strip_prefix('3').and_then(|m| m.parse::<u8>().ok()).filter(|m| *m <= 99 && !digits[1..].is_empty());
    minor.ok_or_else(|| TargetError::Python(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(minor: u8, platform: Platform) -> Target {
        Target { python_minor: minor, platform }
    }

    fn wheel(tags: &str) -> WheelTags {
        WheelTags::from_filename(&format!("demo-1.0-{tags}.whl")).unwrap()
    }

    #[test]
    fn default_targets_are_four_pythons_on_three_platforms() {
        let t = Targets::default();
        assert_eq!(t.len(), 12);
        assert_eq!(t.to_string(), "CPython 3.10, 3.11, 3.12, 3.13 on linux_x86_64, macos_arm64, windows_amd64");
        assert!(t.by_label("cp312-windows_amd64").is_some());
    }

    #[test]
    fn targets_parse_from_config_spellings_and_refuse_nonsense() {
        let t = Targets::parse(&["3.12", "cp311", "312"], &["manylinux_x86_64", "win_amd64"]).unwrap();
        assert_eq!(t.len(), 4, "3.12 given twice counts once");
        assert_eq!(Targets::parse(&["2.7"], &["linux"]), Err(TargetError::Python("2.7".into())));
        assert_eq!(Targets::parse(&["3"], &["linux"]), Err(TargetError::Python("3".into())));
        assert_eq!(Targets::parse(&["3.12"], &["solaris"]), Err(TargetError::Platform("solaris".into())));
        assert_eq!(Targets::parse::<&str>(&[], &["linux"]), Err(TargetError::Empty));
    }

    #[test]
    fn markers_evaluate_per_target() {
        let req = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str("colorama; sys_platform == 'win32' and python_version >= '3.11'").unwrap();
        let win = target(12, Platform::WindowsAmd64).marker_environment();
        let old_win = target(10, Platform::WindowsAmd64).marker_environment();
        let mac = target(12, Platform::MacosArm64).marker_environment();
        assert!(req.evaluate_markers(&win, &[]));
        assert!(!req.evaluate_markers(&old_win, &[]));
        assert!(!req.evaluate_markers(&mac, &[]));
        let machine = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str("x; platform_machine == 'arm64' and os_name == 'posix'").unwrap();
        assert!(machine.evaluate_markers(&mac, &[]));
    }

    #[test]
    fn pure_and_abi3_and_exact_cpython_wheels_fit() {
        let linux312 = target(12, Platform::LinuxX86_64);
        assert!(linux312.accepts_wheel(&wheel("py3-none-any")));
        assert!(linux312.accepts_wheel(&wheel("py2.py3-none-any")));
        assert!(linux312.accepts_wheel(&wheel("cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")));
        assert!(linux312.accepts_wheel(&wheel("cp312-cp312-manylinux_2_28_x86_64")));
        assert!(!linux312.accepts_wheel(&wheel("cp313-cp313-manylinux_2_28_x86_64")), "another CPython");
        assert!(!linux312.accepts_wheel(&wheel("cp313-abi3-manylinux_2_28_x86_64")), "abi3 from a newer CPython");
        assert!(!linux312.accepts_wheel(&wheel("cp312-cp312-musllinux_1_2_x86_64")), "musl is another libc");
        assert!(!linux312.accepts_wheel(&wheel("cp312-cp312-manylinux_2_17_aarch64")), "another CPU");
        assert!(!linux312.accepts_wheel(&wheel("py2-none-any")), "Python 2 only");
        assert!(!linux312.accepts_wheel(&wheel("pp310-pypy310_pp73-manylinux_2_17_x86_64")), "PyPy");
        let mac = target(12, Platform::MacosArm64);
        assert!(mac.accepts_wheel(&wheel("cp312-cp312-macosx_10_9_universal2")));
        assert!(mac.accepts_wheel(&wheel("cp312-cp312-macosx_11_0_arm64")));
        assert!(!mac.accepts_wheel(&wheel("cp312-cp312-macosx_10_9_x86_64")));
        let win = target(12, Platform::WindowsAmd64);
        assert!(win.accepts_wheel(&wheel("cp312-cp312-win_amd64")));
        assert!(!win.accepts_wheel(&wheel("cp312-cp312-win32")));
    }

    #[test]
    fn files_fit_when_some_target_can_install_them() {
        let t = Targets::parse(&["3.11", "3.12"], &["linux_x86_64"]).unwrap();
        assert!(t.accept_file("demo-1.0-py3-none-any.whl", None));
        assert!(t.accept_file("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", Some(">=3.8")));
        assert!(!t.accept_file("demo-1.0-cp312-cp312-win_amd64.whl", None), "another platform");
        assert!(!t.accept_file("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", Some(">=3.12")), "the only Python it fits is excluded");
        assert!(t.accept_file("demo-1.0.tar.gz", Some(">=3.12")));
        assert!(!t.accept_file("demo-1.0.tar.gz", Some(">=3.13")));
        assert!(!t.accept_file("demo-1.0-py3.12.egg", None));
    }

    #[test]
    fn a_marker_holds_on_exactly_the_targets_of_its_mask() {
        let t = Targets::default();
        let mask_of = |pred: &dyn Fn(&Target) -> bool| t.iter().enumerate().filter(|(_, x)| pred(x)).fold(0u64, |m, (i, _)| m | 1 << i);
        assert_eq!(t.marker_for(mask_of(&|_| true)), None);
        let windows = mask_of(&|x| x.platform == Platform::WindowsAmd64);
        assert_eq!(t.marker_for(windows).as_deref(), Some("sys_platform == \"win32\""));
        let old = mask_of(&|x| x.python_minor == 10);
        let marker = t.marker_for(old).unwrap();
        // Evaluated back against every target, it holds exactly where asked.
        let req = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&format!("x; {marker}")).unwrap();
        for (i, target) in t.iter().enumerate() {
            assert_eq!(req.evaluate_markers(&target.marker_environment(), &[]), old & (1 << i) != 0, "{marker} on {}", target.label());
        }
        let two_linux = Targets::parse(&["3.12"], &["linux_x86_64", "linux_aarch64"]).unwrap();
        assert_eq!(two_linux.marker_for(0b10).as_deref(), Some("sys_platform == \"linux\" and platform_machine == \"aarch64\""));
    }

    #[test]
    fn requires_python_is_checked_against_each_target() {
        let t = target(10, Platform::LinuxX86_64);
        assert!(t.admits_requires_python(Some(">=3.8")));
        assert!(!t.admits_requires_python(Some(">=3.11")));
        assert!(t.admits_requires_python(None));
        assert!(t.admits_requires_python(Some("garbage")), "an unreadable value does not exclude");
    }
}
