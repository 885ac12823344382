//! Install-time code: what runs when the package is built or installed,
//! before anyone imports it. `setup.py` runs on every sdist build; `.pth`
//! files in site-packages run their `import` lines at every Python start.

use crate::finding::{Finding, Severity};
use crate::report::{Dist, DistKind};
use crate::rules::finding;

pub fn setup_py(dist: &Dist, out: &mut Vec<Finding>) {
    if dist.kind != DistKind::Sdist {
        return;
    }
    let path = format!("{}setup.py", dist.root);
    if dist.archive.member(&path).is_none() {
        return;
    }
    out.push(finding(
        "install-hook/setup-py",
        Severity::Medium,
        &path,
        None,
        "setup.py runs with the installing user's rights when the sdist is built; what it does is in the code findings".into(),
    ));
}

/// Setuptools commands whose override runs on a plain install.
const INSTALL_COMMANDS: [&str; 5] = ["install", "develop", "egg_info", "bdist_egg", "easy_install"];

pub fn command_overrides(dist: &Dist, out: &mut Vec<Finding>) {
    if dist.kind != DistKind::Sdist {
        return;
    }
    let path = format!("{}setup.py", dist.root);
    let Some(member) = dist.archive.member(&path) else { return };
    // Out of budget, the code rules report it for setup.py.
    let facts = dist.analysis.analyze(&member.content, u64::MAX);
    let text = String::from_utf8_lossy(&member.content);
    for (class, line) in facts.command_classes {
        let base = class.rsplit('(').next().unwrap_or("").trim_end_matches(')');
        let severity = if INSTALL_COMMANDS.contains(&base) { Severity::Medium } else { Severity::Low };
        let source = text.lines().nth(line as usize - 1).unwrap_or("");
        out.push(finding(
            "install-hook/command-override",
            severity,
            &path,
            Some((line, source)),
            format!("setup.py replaces the `{base}` command with {class}: its code runs during installation"),
        ));
    }
}

/// Files that Python imports at every start when they are on sys.path.
pub fn startup_hooks(dist: &Dist, out: &mut Vec<Finding>) {
    if !matches!(dist.kind, DistKind::Wheel | DistKind::Egg) {
        return;
    }
    for member in &dist.archive.members {
        let name = member.path.rsplit('/').next().unwrap_or("");
        if matches!(name, "sitecustomize.py" | "usercustomize.py") && crate::rules::code::lands_at_top_of_site_packages(dist.kind, &member.path) {
            out.push(finding(
                "install-hook/sitecustomize",
                Severity::High,
                &member.path,
                None,
                format!("{name} installed into site-packages runs at every interpreter start"),
            ));
        }
    }
}

/// Console scripts that would shadow common system commands.
const SHADOWED: [&str; 24] = [
    "ls", "cd", "cp", "mv", "rm", "cat", "sudo", "su", "ssh", "scp", "git", "curl", "wget", "python", "python3", "pip", "pip3", "bash", "sh", "node", "npm",
    "docker", "kubectl", "aws",
];

/// True when `path` is the distribution's own `entry_points.txt`, the one
/// an installer reads: in the wheel's top `*.dist-info/`, or in an sdist's
/// `*.egg-info/` at its root or under `src/` (what the build copies). One
/// inside a vendored `*.dist-info` deeper in a package installs nothing.
fn own_entry_points(dist: &Dist, path: &str) -> bool {
    let rel = path.strip_prefix(dist.root.as_str()).unwrap_or(path);
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        [info, "entry_points.txt"] => info.ends_with(".dist-info") || info.ends_with(".egg-info") || *info == "EGG-INFO",
        ["src", info, "entry_points.txt"] => info.ends_with(".egg-info"),
        _ => false,
    }
}

pub fn entry_points(dist: &Dist, out: &mut Vec<Finding>) {
    for member in dist.archive.members.iter().filter(|m| m.path.ends_with("entry_points.txt") && own_entry_points(dist, &m.path)) {
        let text = String::from_utf8_lossy(&member.content);
        let mut section = String::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                section = t.trim_matches(['[', ']']).trim().to_string();
                continue;
            }
            if !matches!(section.as_str(), "console_scripts" | "gui_scripts") {
                continue;
            }
            let Some((name, _)) = t.split_once('=') else { continue };
            let name = name.trim();
            let own = dist.metadata.and_then(|m| m.name.as_deref()).is_some_and(|project| {
                let project = crate::name::normalize(project);
                name == project || name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.') == project
            });
            if SHADOWED.contains(&name) && !own {
                out.push(finding(
                    "install-hook/entry-point-shadowing",
                    Severity::High,
                    &member.path,
                    Some((i as u32 + 1, line)),
                    format!("installs a `{name}` command that shadows the system's"),
                ));
            }
        }
    }
}

/// Build backends of the common build tools.
const KNOWN_BACKENDS: [&str; 16] = [
    "setuptools.build_meta",
    "setuptools.build_meta:__legacy__",
    "flit_core.buildapi",
    "hatchling.build",
    "poetry.core.masonry.api",
    "poetry.masonry.api",
    "pdm.backend",
    "pdm.pep517.api",
    "maturin",
    "scikit_build_core.build",
    "mesonpy",
    "sipbuild.api",
    "whey",
    "enscons.api",
    "jupyter_packaging.build_api",
    "setuptools_scm.build_meta",
];

/// The `[build-system]` settings that decide what code a build runs.
#[derive(Debug, Default, PartialEq)]
struct BuildSystem {
    backend: Option<String>,
    /// `backend-path`: the backend is loaded from folders inside the sdist.
    in_tree: bool,
}

/// Read `[build-system]` from pyproject.toml as TOML (so comments, quoting
/// and dotted keys mean what they mean to pip). A file that is not valid
/// TOML makes the build fail before any backend runs, but is read line by
/// line all the same, without comments, so that a parser quirk cannot
/// hide a backend.
fn build_system(text: &str) -> BuildSystem {
    if let Ok(doc) = text.parse::<toml::Table>() {
        let table = doc.get("build-system").and_then(|t| t.as_table());
        return BuildSystem {
            backend: table.and_then(|t| t.get("build-backend")).and_then(|v| v.as_str()).map(str::to_string),
            in_tree: table.is_some_and(|t| t.contains_key("backend-path")),
        };
    }
    let mut found = BuildSystem::default();
    for line in text.lines() {
        let t = line.split('#').next().unwrap_or("").trim();
        if let Some(value) = t.strip_prefix("build-backend") {
            found.backend = Some(value.trim_start_matches([' ', '=']).trim().trim_matches(['"', '\'']).to_string());
        }
        found.in_tree |= t.starts_with("backend-path");
    }
    found
}

/// The first line that sets `key` (for the finding's location).
fn line_setting<'t>(text: &'t str, key: &str) -> Option<(u32, &'t str)> {
    text.lines().enumerate().find(|(_, l)| l.split('#').next().unwrap_or("").contains(key)).map(|(i, l)| (i as u32 + 1, l))
}

pub fn build_backend(dist: &Dist, out: &mut Vec<Finding>) {
    if dist.kind != DistKind::Sdist {
        return;
    }
    let path = format!("{}pyproject.toml", dist.root);
    let Some(member) = dist.archive.member(&path) else { return };
    let text = String::from_utf8_lossy(&member.content);
    let settings = build_system(&text);
    if let Some(backend) = settings.backend.filter(|b| !KNOWN_BACKENDS.contains(&b.as_str())) {
        out.push(finding(
            "install-hook/build-backend",
            Severity::Low,
            &path,
            line_setting(&text, "build-backend"),
            format!("builds with the uncommon backend `{backend}`, which runs when the sdist is built"),
        ));
    }
    if settings.in_tree {
        out.push(finding(
            "install-hook/build-backend",
            Severity::Medium,
            &path,
            line_setting(&text, "backend-path"),
            "builds with a backend shipped inside the sdist itself (backend-path)".into(),
        ));
    }
}

pub fn pth_files(dist: &Dist, out: &mut Vec<Finding>) {
    if !matches!(dist.kind, DistKind::Wheel | DistKind::Egg) {
        return;
    }
    for member in dist.archive.members.iter().filter(|m| m.path.ends_with(".pth")) {
        let text = String::from_utf8_lossy(&member.content);
        let import = text.lines().enumerate().find(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("import ") || t.starts_with("import\t")
        });
        let Some((i, line)) = import else {
            out.push(finding(
                "install-hook/pth-file",
                Severity::Medium,
                &member.path,
                None,
                "the wheel installs a .pth file, which extends sys.path for every interpreter".into(),
            ));
            continue;
        };
        // The import lines are Python run at every start: judge what they do.
        let code: String = text.lines().filter(|l| l.trim_start().starts_with("import")).collect::<Vec<_>>().join("\n");
        let facts = dist.analysis.analyze(code.as_bytes(), u64::MAX);
        // Lines too costly to analyse are no better than lines that do something risky.
        let risky = facts.out_of_budget
            || facts.calls.iter().any(|c| {
                crate::rules::code::payload::is_process(c)
                    || crate::rules::code::access::is_network(c)
                    || c.hidden && (c.is(&crate::rules::code::payload::EXEC) || crate::rules::code::payload::is_process(c))
                    || c.inner_has(&crate::rules::code::payload::DECODERS)
                    || c.callee == "exec"
                        && c.strings.iter().any(|s| s.contains("import") && (s.contains("socket") || s.contains("subprocess") || s.contains("urllib")))
            });
        let (severity, what) = if risky {
            (Severity::High, "this .pth line runs at every interpreter start and starts processes, uses the network or runs hidden code")
        } else {
            (Severity::Medium, "this .pth line is executed by every Python interpreter start once the wheel is installed")
        };
        out.push(finding("install-hook/pth-file", severity, &member.path, Some((i as u32 + 1, line)), what.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_system_is_read_as_toml() {
        let read = |t: &str| build_system(t);
        assert_eq!(read("[build-system]\nbuild-backend = \"setuptools.build_meta\"  # the default\n").backend.as_deref(), Some("setuptools.build_meta"));
        assert_eq!(read("build-system.build-backend = 'x.y'\nbuild-system.backend-path = ['.']\n"), BuildSystem { backend: Some("x.y".into()), in_tree: true });
        assert_eq!(read("[tool.other]\nbuild-backend = 'x'\n"), BuildSystem::default());
        // Not TOML: read line by line, comments dropped.
        assert_eq!(read("[build-system\nbuild-backend = 'evil' # note\n").backend.as_deref(), Some("evil"));
    }
}
