//! Rules over Python code, read as [`Facts`]. Each file gets a role (install
//! script, package module, test or documentation) and each call a scope
//! (module top level or function body); both weigh in the severity, because
//! `os.system` in setup.py runs on every build while the same call in a
//! test helper never runs on an install.

pub mod access;
mod commands;
mod fetches;
mod hiding;
pub mod payload;
mod prefilter;
mod reach;
mod shell;
mod unicode_names;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::capabilities::{self, Capability};

use crate::finding::{Finding, Severity};
use crate::python::{Call, Facts, Scope};
use crate::report::{Dist, DistKind};
use crate::rules::{budget, finding};

/// What a Python file is, for severity purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The sdist's setup.py: runs on every build from source.
    SetupScript,
    /// A module of the project that an install, develop or egg_info
    /// override in setup.py calls into (`hooks.after_install()` in `run()`):
    /// its code runs on the build as setup.py's does.
    InstallHelper,
    /// `sitecustomize.py`/`usercustomize.py` at the top of site-packages: runs at interpreter start.
    /// (The same names inside a package are ordinary modules.)
    StartupHook,
    /// A module shipped for import.
    Module,
    /// Tests, docs, examples, benchmarks: not run by installing.
    Auxiliary,
    /// In an sdist, outside any package: scripts and tools that are neither
    /// installed nor run by the build; also a file no import can name
    /// (`check-porn.py`), which only a person runs.
    Unshipped,
}

/// Folder names that hold documentation, examples and benchmarks. They mark
/// auxiliary code only at the top of the distribution: deeper down, a folder
/// of that name belongs to the package around it and ships with it
/// (`botocore/docs/` is part of botocore).
const DOC_DIRS: [&str; 9] = ["docs", "doc", "examples", "example", "benchmarks", "benchmark", "bench", "demo", "demos"];

/// Folder names of examples, demos and scripts: programs a person runs,
/// which neither installing nor importing the package runs. Deeper than the
/// top of the distribution they are auxiliary too, unless some other module
/// imports a folder of that name (then it may be code the package runs) or
/// setup.py's install steps run them (then they are install helpers).
const EXAMPLE_DIRS: [&str; 5] = ["examples", "example", "demo", "demos", "scripts"];

/// What the code rules need to know of the distribution's layout.
pub struct Layout {
    /// Folders holding an `__init__.py`.
    pub packages: HashSet<String>,
    /// Example folder names ([`EXAMPLE_DIRS`]) that code outside such
    /// folders and outside tests mentions on an import line (`import`,
    /// `from`, `import_module`).
    pub imported_example_dirs: HashSet<String>,
    /// Modules that setup.py's install command overrides run ([`Role::InstallHelper`]).
    pub install_modules: HashSet<String>,
    /// Modules at an sdist's top level that no build installs ([`unnamed_root_modules`]).
    pub unnamed_root_modules: HashSet<String>,
}

impl Layout {
    pub fn of(dist: &Dist, python: &[&crate::archive::Member]) -> Layout {
        let packages = dist.archive.members.iter().filter_map(|m| m.path.strip_suffix("/__init__.py").map(String::from)).collect();
        let mut imported_example_dirs = HashSet::new();
        let install_modules = install_modules(dist);
        let unnamed_root_modules = unnamed_root_modules(dist, &packages);
        // Only worth reading the imports when some example folder holds code.
        if !python.iter().any(|m| in_example_dir(&m.path)) {
            return Layout { packages, imported_example_dirs, install_modules, unnamed_root_modules };
        }
        // Tests import demos too; only code that ships and runs counts.
        for member in python.iter().filter(|m| !in_example_dir(&m.path) && !is_test_path(&m.path)) {
            let text = String::from_utf8_lossy(&member.content);
            for line in text.lines().filter(|l| l.contains("import")) {
                for word in line.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                    let word = word.to_ascii_lowercase();
                    if is_example_dir(&word) {
                        imported_example_dirs.insert(word);
                    }
                }
            }
        }
        Layout { packages, imported_example_dirs, install_modules, unnamed_root_modules }
    }
}

/// Modules beside an sdist's setup.py that no build installs: maintainer
/// scripts (`_create_templates.py`, `merge_upstream.py`). A build installs
/// a top-level module only when its configuration names it (`py_modules`,
/// an entry point, a `[tool.*]` table of setup.py, setup.cfg or
/// pyproject.toml), when it is the project's import name, or when
/// setuptools finds it by itself: in a flat layout with no package, for a
/// name not starting with `_`. Every other top-level module is a program
/// a person runs from the source tree.
fn unnamed_root_modules(dist: &Dist, packages: &HashSet<String>) -> HashSet<String> {
    if dist.kind != DistKind::Sdist {
        return HashSet::new();
    }
    let config: String = ["setup.py", "setup.cfg", "pyproject.toml"]
        .iter()
        .filter_map(|f| dist.archive.member(&format!("{}{f}", dist.root)))
        .map(|m| String::from_utf8_lossy(&m.content).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let has_package = packages
        .iter()
        .any(|p| p.strip_prefix(dist.root.as_str()).is_some_and(|rel| !rel.contains('/') || rel.strip_prefix("src/").is_some_and(|r| !r.contains('/'))));
    let import_name = import_name(dist);
    let named = |stem: &str| {
        config.match_indices(stem).any(|(at, _)| {
            let before = config[..at].chars().next_back();
            let after = config[at + stem.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    dist.archive
        .members
        .iter()
        .filter_map(|m| {
            let rel = m.path.strip_prefix(dist.root.as_str())?;
            let stem = rel.strip_suffix(".py").filter(|s| !s.contains('/') && *s != "setup")?;
            let found_by_setuptools = !has_package && !stem.starts_with('_');
            let installed = found_by_setuptools || import_name.as_deref() == Some(stem) || named(stem);
            (!installed).then(|| m.path.clone())
        })
        .collect()
}

/// The project's modules that setup.py runs at build time: a Python
/// script of the sdist it starts as a process, and modules its install,
/// develop or egg_info overrides call into (a call made inside a function
/// of setup.py, the override's `run()` or a helper of it, to a function of
/// a module the sdist ships). A call at setup.py's top level
/// (`acme.get_version()`) does not count: the module's functions are not
/// run by it.
fn install_modules(dist: &Dist) -> HashSet<String> {
    let mut modules = HashSet::new();
    let Some(setup) = dist.archive.member(&format!("{}setup.py", dist.root)).filter(|_| dist.kind == DistKind::Sdist) else {
        return modules;
    };
    let text = String::from_utf8_lossy(&setup.content);
    if !text.contains("cmdclass") && !text.contains(".py") && !text.contains("-c") {
        return modules;
    }
    let facts = dist.analysis.analyze(&setup.content, dist.analysis.per_file);
    // Commands no install runs (`setup.py update_data`, an `sdist` override) start nothing on install.
    let by_hand = commands::run_by_hand(&facts, &text);
    let on_install = |c: &&crate::python::Call| !by_hand.iter().any(|(first, last)| (*first..=*last).contains(&c.line));
    // A Python script of the sdist that setup.py starts (`os.system(f"{sys.executable} helper.py")`).
    for call in facts.calls.iter().filter(on_install).filter(|c| crate::python::is_process_callee(&c.callee)) {
        for script in call.strings.iter().flat_map(|s| s.split(['"', '\'', ' '])).filter(|s| s.ends_with(".py")) {
            let name = script.rsplit(['/', '\\']).next().unwrap_or(script);
            let shipped = dist.archive.members.iter().find(|m| m.path.starts_with(dist.root.as_str()) && m.path.rsplit('/').next() == Some(name));
            modules.extend(shipped.map(|m| m.path.clone()));
        }
    }
    // The package's own modules that a `python -c "from acme.post import run; run()"` program imports.
    for call in facts
        .calls
        .iter()
        .filter(on_install)
        .filter(|c| crate::python::is_process_callee(&c.callee) && c.strings.iter().any(|s| s == "-c" || s.contains(" -c ")))
    {
        for module in call.strings.iter().flat_map(|s| imported_modules(s)) {
            modules.extend(module_file(dist, &module.split('.').collect::<Vec<_>>()));
        }
    }
    let overrides_install = facts.command_classes.iter().any(|(c, _)| ["(install)", "(develop)", "(egg_info)"].iter().any(|b| c.ends_with(b)));
    if !overrides_install {
        return modules;
    }
    for call in facts.calls.iter().filter(|c| c.scope == Scope::Function && c.callee.contains('.') && !c.callee.contains("()")) {
        let parts: Vec<&str> = call.callee.split('.').collect();
        modules.extend(module_file(dist, &parts[..parts.len() - 1]));
    }
    modules
}

/// The file of the sdist that is the module named by the longest prefix of
/// `parts` (`acme.hooks` is `acme/hooks.py` or `acme/hooks/__init__.py`).
fn module_file(dist: &Dist, parts: &[&str]) -> Option<String> {
    (1..=parts.len()).rev().find_map(|k| {
        let base = format!("{}{}", dist.root, parts[..k].join("/"));
        [format!("{base}.py"), format!("{base}/__init__.py")].into_iter().find(|p| dist.archive.member(p).is_some())
    })
}

/// The modules a one-line Python program imports (`from a.b import c; c()`, `import a.b`).
fn imported_modules(program: &str) -> Vec<String> {
    program
        .split([';', '\n'])
        .filter_map(|statement| {
            let mut words = statement.split_whitespace();
            match words.next()? {
                "from" | "import" => words.next().map(|m| m.trim_end_matches(',').to_string()),
                _ => None,
            }
        })
        .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') && !m.starts_with('.'))
        .collect()
}

/// A test module, by its folders or its name.
fn is_test_path(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or("");
    parts.iter().any(|d| is_test_dir(d)) || name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py"
}

fn in_example_dir(path: &str) -> bool {
    let mut folders: Vec<&str> = path.split('/').collect();
    folders.pop();
    folders.iter().any(|d| is_example_dir(&d.to_ascii_lowercase()))
}

/// A lower-cased folder name of examples ([`EXAMPLE_DIRS`]), also with a
/// qualifier after an underscore (`example_dags`, `examples_v2`, `demo_apps`).
fn is_example_dir(lower: &str) -> bool {
    EXAMPLE_DIRS.contains(&lower)
        || lower.split_once('_').is_some_and(|(first, rest)| !rest.is_empty() && ["example", "examples", "demo", "demos"].contains(&first))
}

/// A folder of tests, at any depth: `tests`, `testing`, `unit_tests`,
/// `manual tests`, `testsuite`, `testcases`.
fn is_test_dir(dir: &str) -> bool {
    let d = dir.to_ascii_lowercase();
    d == "testing" || d.split([' ', '_', '-']).any(|w| matches!(w, "test" | "tests" | "testsuite" | "testsuites" | "testcases"))
}

/// The project's import name as the metadata spells it (`Demo-Tools` -> `demo_tools`).
fn import_name(dist: &Dist) -> Option<String> {
    let name = dist.metadata?.name.as_deref()?;
    Some(name.to_ascii_lowercase().replace(['-', '.'], "_"))
}

/// True when `top`, a folder at the top of the distribution, is documentation
/// rather than code the project ships: named like docs, and neither the
/// project's own import package nor, in a wheel, a package installed as is.
fn is_doc_dir(dist: &Dist, packages: &HashSet<String>, top: &str) -> bool {
    let lower = top.to_ascii_lowercase();
    if !DOC_DIRS.contains(&lower.as_str()) || import_name(dist).as_deref() == Some(lower.as_str()) {
        return false;
    }
    let installed_package = dist.kind != DistKind::Sdist && packages.contains(&format!("{}{top}", dist.root));
    !installed_package
}

/// The role of the file at `path`. In an sdist, only files of packages (a
/// folder with `__init__.py`) and top-level modules are shipped for import;
/// scripts and tools in other folders are auxiliary.
pub fn role_of(dist: &Dist, layout: &Layout, path: &str) -> Role {
    let packages = &layout.packages;
    let rel = path.strip_prefix(dist.root.as_str()).unwrap_or(path);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if dist.kind == DistKind::Sdist && rel == "setup.py" {
        return Role::SetupScript;
    }
    if layout.install_modules.contains(path) {
        return Role::InstallHelper;
    }
    if matches!(name, "sitecustomize.py" | "usercustomize.py") && lands_at_top_of_site_packages(dist.kind, rel) {
        return Role::StartupHook;
    }
    let dirs: Vec<&str> = rel.split('/').collect();
    let folders = &dirs[..dirs.len().saturating_sub(1)];
    // An example folder that code imports (`from examples.asr import decoder`)
    // lends that import only to its packages: a script in a folder below it
    // with no `__init__.py` (`examples/multilingual/data_scripts/`) is still
    // a program a person runs.
    let is_package = |j: usize| packages.contains(&format!("{}{}", dist.root, folders[..=j].join("/")));
    let unimported_example = |(i, d): (usize, &&str)| {
        let d = d.to_ascii_lowercase();
        is_example_dir(&d) && (!layout.imported_example_dirs.contains(&d) || !(i + 1..folders.len()).all(is_package))
    };
    // A top folder named as the project (`acme-tools/` for acme-tools) is
    // the code the author ships, even when a hyphen makes it unimportable;
    // so is one under `src/` (`src/acme-tools/__main__.py`). Nor is it a
    // folder of tests when the project's name has `test` in it (`kingwork_test/`).
    let project_at = usize::from(folders.first() == Some(&"src"));
    let named_as_project = folders.get(project_at).is_some_and(|top| import_name(dist).is_some_and(|n| top.to_ascii_lowercase().replace(['-', '.'], "_") == n));
    let aux_dir = folders.iter().enumerate().any(|(i, d)| is_test_dir(d) && !(named_as_project && i == project_at))
        || folders.first().is_some_and(|top| is_doc_dir(dist, packages, top))
        || folders.iter().enumerate().skip(1).any(unimported_example);
    let aux_name = name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py" || name.starts_with("bench_");
    let folder = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let shipped = dist.kind != DistKind::Sdist
        || packages.contains(folder)
        || named_as_project
        || !rel.contains('/') && !layout.unnamed_root_modules.contains(path)
        || rel.strip_prefix("src/").is_some_and(|r| !r.contains('/'));
    // `check-porn.py`: no import statement can name it, so importing the
    // package never runs it; it is a program a person starts (setup.py
    // running it makes it an install helper, above).
    // (`.pyw` sources import too, on Windows; any other file keeps its role.)
    let importable = name
        .strip_suffix(".py")
        .or_else(|| name.strip_suffix(".pyw"))
        .is_none_or(|stem| stem.chars().next().is_some_and(|c| !c.is_ascii_digit()) && stem.chars().all(|c| c.is_alphanumeric() || c == '_'));
    if aux_dir || aux_name {
        Role::Auxiliary
    } else if !shipped || !importable {
        Role::Unshipped
    } else {
        Role::Module
    }
}

/// True when a module at `rel` (relative to the distribution's root) is
/// installed at the top of site-packages, where Python imports
/// `sitecustomize` and `usercustomize` at start: a wheel's top level or its
/// `.data/purelib|platlib/`, and an sdist's top-level modules (beside
/// setup.py or under `src/`), which a build installs there.
pub fn lands_at_top_of_site_packages(kind: DistKind, rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    match kind {
        DistKind::Sdist => parts.len() == 1 || (parts.len() == 2 && parts[0] == "src"),
        _ => parts.len() == 1 || (parts.len() == 3 && parts[0].ends_with(".data") && matches!(parts[1], "purelib" | "platlib")),
    }
}

/// One Python file under analysis.
pub struct PyFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub role: Role,
    pub facts: Facts,
    /// The archive the file is in, and the path prefix of its root folder:
    /// for rules that look at the files a call names.
    pub archive: &'a crate::archive::Archive,
    pub root: &'a str,
    /// The file's functions that its top level calls, directly or through each other.
    pub import_time: reach::ImportTime,
    /// In setup.py, the lines of its new commands that only a person runs ([`commands::run_by_hand`]).
    pub by_hand: Vec<(u32, u32)>,
    /// The popular project whose import package this module sits in while
    /// the distribution is another project ([`crate::rules::metadata::shadowed_project`]).
    pub shadows: Option<&'static str>,
}

/// The popular project a module's top-level package is named for, when the
/// distribution is not that project (see [`PyFile::shadows`]). The package
/// is the first folder under the root (under `src/` in an sdist), or a
/// top-level module's own name.
fn shadowed_package(dist: &Dist, path: &str) -> Option<&'static str> {
    let project = dist.metadata?.name.as_deref()?;
    let inside = path.strip_prefix(dist.root.as_str()).unwrap_or(path);
    let inside = if dist.kind == DistKind::Sdist { inside.strip_prefix("src/").unwrap_or(inside) } else { inside };
    let top = match inside.split_once('/') {
        Some((folder, _)) => folder,
        None => inside.strip_suffix(".py")?,
    };
    if top.contains('.') {
        return None;
    }
    crate::rules::metadata::shadowed_project(top, project)
}

impl PyFile<'_> {
    /// The text of a 1-based line, for the snippet.
    pub fn line(&self, n: u32) -> &str {
        self.text.lines().nth(n.saturating_sub(1) as usize).unwrap_or("")
    }

    /// True when code at this scope runs on install or import.
    pub fn runs_on_install_or_import(&self, scope: Scope) -> bool {
        match self.role {
            Role::SetupScript | Role::InstallHelper | Role::StartupHook => true,
            Role::Module => scope == Scope::Module,
            Role::Auxiliary | Role::Unshipped => false,
        }
    }

    /// True when `call` runs on install or import: at a scope that does, or
    /// in a module's function that its top level calls (`main()` at the
    /// bottom of the file, a thread started on import). Not in a new
    /// command of setup.py that only a person runs.
    pub fn runs_now(&self, call: &Call) -> bool {
        let by_hand = self.by_hand.iter().any(|(first, last)| (*first..=*last).contains(&call.line));
        // A module that parses its command line at top level is a script
        // (`args = parser.parse_args()`): its top level, and the helpers
        // that calls, run when a person runs it, not on import.
        let script = self.role == Role::Module && self.import_time.is_script();
        // setup.py runs top to bottom, but a function nothing in it names
        // never runs (no other file imports setup.py; an install helper's
        // functions are called from setup.py, so they are not judged so).
        let never_called = self.role == Role::SetupScript && call.function.as_deref().is_some_and(|f| self.facts.never_used_functions.contains(f));
        !by_hand && !script && !never_called && (self.runs_on_install_or_import(call.scope) || self.role == Role::Module && self.import_time.runs(call))
    }

    /// The source of a call, from its line to the parenthesis that closes
    /// it (at most 40 lines; parentheses in strings are counted too, so
    /// this is for finding keywords such as `shell=True`, not for parsing).
    pub fn call_source(&self, call: &Call) -> String {
        let mut text = String::new();
        let mut depth = 0i32;
        let mut opened = false;
        for line in self.text.lines().skip(call.line.saturating_sub(1) as usize).take(40) {
            for c in line.chars() {
                text.push(c);
                match c {
                    '(' => {
                        depth += 1;
                        opened = true;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
                if opened && depth <= 0 {
                    return text;
                }
            }
            text.push('\n');
        }
        text
    }

    /// True when the call passes keyword `name` (`shell=True`, `data=…`), read from its source.
    pub fn has_keyword(&self, call: &Call, name: &str, value: Option<&str>) -> bool {
        let source: String = self.call_source(call).chars().filter(|c| !c.is_whitespace()).collect();
        let key = format!("{name}=");
        source.match_indices(&key).any(|(at, _)| {
            let before = source[..at].chars().last();
            let word_start = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
            word_start && value.is_none_or(|v| source[at + key.len()..].starts_with(v))
        })
    }

    pub fn finding(&self, rule: &str, severity: Severity, line: u32, message: String) -> Finding {
        finding(rule, severity, self.path, Some((line, self.line(line))), message)
    }

    /// Severity adjusted for where the code lives: tests and docs count two
    /// levels less; nothing goes below info.
    pub fn weigh(&self, severity: Severity) -> Severity {
        match self.role {
            Role::Auxiliary => lower(severity, 2),
            _ => severity,
        }
    }

    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.facts.calls.iter()
    }
}

/// The index of the bracket that closes the one `text` opens with.
pub(super) fn closing_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `s` lowered by `steps` levels, never below info.
pub fn lower(s: Severity, steps: u8) -> Severity {
    const LADDER: [Severity; 5] = [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
    let i = LADDER.iter().position(|l| *l == s).unwrap_or(0);
    LADDER[i.saturating_sub(steps as usize)]
}

/// Python files are analysed only up to this size; bigger ones are data.
const MAX_PY_BYTES: usize = 8 * 1024 * 1024;

/// Run the code rules on every Python file of the distribution; returns
/// each file's capabilities.
pub fn run(dist: &Dist, out: &mut Vec<Finding>) -> BTreeMap<String, BTreeSet<Capability>> {
    let python: Vec<&crate::archive::Member> =
        dist.archive.members.iter().filter(|m| (m.path.ends_with(".py") || m.path.ends_with(".pyw")) && m.content.len() <= MAX_PY_BYTES).collect();
    let layout = Layout::of(dist, &python);
    // Files are independent: analyse them on every core, then report in
    // archive order. Files are claimed in order, and no more once the
    // archive's budget is spent; which files count as analysed is then
    // decided in archive order from each file's own (deterministic) work,
    // so the result does not depend on the threads' timing.
    let spent_before = dist.analysis.spent();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(python.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut per_file: Vec<(usize, FileResult)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    while !dist.analysis.archive_exhausted() {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(member) = python.get(i) else { break };
                        done.push((i, analyse_file(dist, &layout, member)));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    per_file.sort_by_key(|(i, _)| *i);
    let mut capabilities = BTreeMap::new();
    let mut spent = spent_before;
    for (i, result) in per_file {
        spent = spent.saturating_add(result.work);
        if spent > dist.analysis.per_archive {
            out.push(budget::archive_exceeded(&python[i].path, dist.analysis.per_archive, python.len() - i - 1));
            break;
        }
        out.extend(result.findings);
        if !result.capabilities.is_empty() {
            capabilities.insert(python[i].path.clone(), result.capabilities);
        }
    }
    spyware(out);
    capabilities
}

/// A release that both captures the user (keystrokes, the screen, the
/// webcam, the clipboard: `access/surveillance` at medium or more) and
/// writes itself an autostart entry (`access/persistence` at medium or
/// more: a Run key set, a file put in the Startup folder) is spyware that
/// starts with the machine, even when nothing calls either part on import.
/// Each half alone is information; together they are high.
fn spyware(out: &mut Vec<Finding>) {
    let first = |rule: &str| out.iter().find(|f| f.rule == rule && f.severity >= Severity::Medium);
    let Some(persists) = first("access/persistence") else { return };
    if out.iter().any(|f| f.rule == "access/surveillance" && f.severity >= Severity::High) {
        return;
    }
    let Some(captures) = first("access/surveillance") else { return };
    let message = format!(
        "captures the user ({}), and the release also writes an autostart entry ({}{}): spyware that starts with the machine",
        captures.message,
        persists.file.as_deref().unwrap_or("?"),
        persists.line.map(|l| format!(":{l}")).unwrap_or_default()
    );
    let finding = Finding { severity: Severity::High, message, also: Vec::new(), ..captures.clone() };
    out.push(finding);
}

struct FileResult {
    findings: Vec<Finding>,
    capabilities: BTreeSet<Capability>,
    /// Analysis work spent on the file.
    work: u64,
}

fn analyse_file(dist: &Dist, layout: &Layout, member: &crate::archive::Member) -> FileResult {
    let text = String::from_utf8_lossy(&member.content);
    // Names spelled in look-alike letters are read as Python reads them.
    let folded = unicode_names::fold(&text);
    let (text, content) = match folded {
        Some(ascii) => (std::borrow::Cow::Owned(ascii), None),
        None => (text, Some(&member.content)),
    };
    if !prefilter::worth_parsing(&text) {
        return FileResult { findings: Vec::new(), capabilities: capabilities::of_text(&text), work: 0 };
    }
    let facts = dist.analysis.analyze(content.map_or(text.as_bytes(), |c| c.as_slice()), dist.analysis.per_file);
    let mut work = facts.work;
    let import_time = reach::ImportTime::of(&facts, &text);
    let role = role_of(dist, layout, &member.path);
    let by_hand = if role == Role::SetupScript { commands::run_by_hand(&facts, &text) } else { Vec::new() };
    let shadows = if role == Role::Module { shadowed_package(dist, &member.path) } else { None };
    let file = PyFile { path: &member.path, text: &text, role, facts, archive: dist.archive, root: &dist.root, import_time, by_hand, shadows };
    let mut out = Vec::new();
    payload::run(&file, &mut out);
    access::run(&file, &mut out);
    hiding::run(&file, &mut out);
    let mut out_of_budget = file.facts.out_of_budget;
    if !out_of_budget {
        let embedded = embedded_code(dist, &file, dist.analysis.per_file.saturating_sub(work), &mut out);
        work += embedded.0;
        out_of_budget = embedded.1;
    }
    if out_of_budget {
        out.push(budget::file_exceeded(&member.path, dist.analysis.per_file, file.weigh(Severity::High)));
    }
    dedupe_lines(&mut out);
    let mut caps = capabilities::of_python(&file.facts);
    caps.extend(capabilities::of_text(&text));
    FileResult { findings: out, capabilities: caps, work }
}

/// Python source kept in a string (to be `exec`ed or written out and run
/// later) is analysed as code too; its findings point at the string's line.
/// So is source hidden in a base64 or hex blob: decoded here, as the
/// package would decode it, and read (never run).
/// Returns the work spent, and whether it ran out of `allowed`.
fn embedded_code(dist: &Dist, file: &PyFile, allowed: u64, out: &mut Vec<Finding>) -> (u64, bool) {
    let mut work = 0;
    let plain = file
        .facts
        .literals
        .iter()
        // Documentation (help texts, doctest examples) shows code; it does not keep it to run.
        // One-line programs (`import x;exec(…)`) count as much as multi-line ones.
        .filter(|l| l.value.len() >= 40 && (l.value.contains('\n') || l.value.contains(';')) && !l.doc && !l.value.contains(">>> "))
        // A shell command `python3 -c '<program>'` keeps its program in quotes: that program is the code.
        .map(|l| (l, python_c_program(&l.value).map_or(std::borrow::Cow::Borrowed(l.value.as_str()), std::borrow::Cow::Borrowed), false));
    let decoded = file
        .facts
        .literals
        .iter()
        .filter(|l| l.value.len() >= 200 && (payload::looks_encoded(&l.value) || whitespace_bits(&l.value).is_some()))
        .filter_map(|l| Some((l, decode_blob(&l.value)?, true)));
    for (literal, code, hidden) in plain.take(16).chain(decoded.take(16)) {
        let line = literal.line;
        let looks_like_code = code.len() <= MAX_PY_BYTES && (code.contains("import ") || code.contains("def ")) && prefilter::worth_parsing(&code);
        if !looks_like_code {
            continue;
        }
        let mut facts = dist.analysis.analyze(code.as_bytes(), allowed.saturating_sub(work));
        work += facts.work;
        if facts.out_of_budget {
            return (work, true);
        }
        // The string's top level runs where the file runs the string: in a
        // function that nothing on import calls, it runs when that function
        // does. So does a string written in such a function's body, which
        // exists only once the function runs.
        if let Some(function) = (!hidden).then(|| run_later_by(file, line).or_else(|| written_in_a_later_function(file, literal))).flatten() {
            for call in &mut facts.calls {
                call.scope = Scope::Function;
                call.function.get_or_insert_with(|| function.clone());
            }
        }
        let import_time = reach::ImportTime::of_program(&facts, &code);
        let inner = PyFile {
            path: file.path,
            text: &code,
            role: file.role,
            facts,
            archive: file.archive,
            root: file.root,
            import_time,
            by_hand: Vec::new(),
            shadows: file.shadows,
        };
        let mut found = Vec::new();
        payload::run(&inner, &mut found);
        access::run(&inner, &mut found);
        for mut f in found.into_iter().filter(|f| f.severity >= Severity::Medium) {
            if hidden {
                // Decoded lines have no place in the file: point at the blob.
                f.message = format!("in Python code hidden in an encoded string (decoded line {}): {}", f.line.unwrap_or(1), f.message);
                f.line = Some(line);
            } else {
                f.message = format!("in Python code kept in a string: {}", f.message);
                f.line = Some(line + f.line.unwrap_or(1) - 1);
            }
            out.push(f);
        }
    }
    (work, false)
}

/// When the string constant on `line` is assigned to a name (`SENDER =
/// """…"""`) that only calls in functions use, and none of those functions
/// runs on install or import: the function that runs it
/// (`Popen([sys.executable, "-c", SENDER])` in `_spawn_sender`). None when
/// the string is used at the top level, in a function the top level runs,
/// or anywhere but in a call's arguments (an alias could run it anywhere).
fn run_later_by(file: &PyFile, line: u32) -> Option<String> {
    let assigned =
        file.line(line).split_once('=').map(|(name, _)| name.trim()).filter(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'))?;
    let word_count = |text: &str| text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| *w == assigned).count();
    let users: Vec<&Call> = file.calls().filter(|c| c.arg_texts.iter().any(|a| word_count(a) > 0)).collect();
    let in_calls: usize = users.iter().map(|c| c.arg_texts.iter().map(|a| word_count(a)).sum::<usize>()).sum();
    let mentions = word_count(file.text).saturating_sub(1);
    let later = !users.is_empty() && in_calls >= mentions && users.iter().all(|c| c.scope == Scope::Function && !file.runs_now(c));
    later.then(|| users[0].function.clone()).flatten()
}

/// The function of a module whose body holds `literal`, when nothing on
/// import runs that function (a lambda's body is left out: one may be
/// called where it is written).
fn written_in_a_later_function(file: &PyFile, literal: &crate::python::Literal) -> Option<String> {
    let function = literal.function.as_deref().filter(|f| *f != "<lambda>")?;
    (file.role == Role::Module && !file.import_time.reaches(function)).then(|| function.to_string())
}

/// The program of a shell command that runs Python on one (`python3 -c
/// 'import socket; …'`): what follows `-c`, without its quotes.
fn python_c_program(command: &str) -> Option<&str> {
    let at = command.find("python")?;
    let rest = &command[at..];
    let program = rest[rest.find(" -c ")? + 4..].trim();
    let quote = program.chars().next().filter(|c| *c == '\'' || *c == '"');
    Some(match quote {
        Some(q) => {
            let inner = &program[1..];
            inner.rfind(q).map_or(inner, |end| &inner[..end])
        }
        None => program,
    })
}

/// The text a base64 (standard or URL-safe) or hex blob decodes to, when
/// it decodes to UTF-8; or a blob of bits spelled in blanks.
fn decode_blob(blob: &str) -> Option<std::borrow::Cow<'static, str>> {
    if let Some(text) = whitespace_bits(blob) {
        return Some(std::borrow::Cow::Owned(text));
    }
    let compact: String = blob.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = if compact.bytes().all(|b| b.is_ascii_hexdigit()) {
        crate::python::fold::hex_decode(&compact)?
    } else {
        crate::python::fold::base64_decode(&compact, false).or_else(|| crate::python::fold::base64_decode(&compact, true))?
    };
    String::from_utf8(bytes).ok().map(std::borrow::Cow::Owned)
}

/// The text a string of spaces and tabs spells as bits, eight to a byte
/// (space 0 and tab 1, or the other way round), when it is UTF-8: code
/// hidden as blank space, which no reader sees in an editor. A string of
/// blanks that is not a whole number of bytes of text is layout, not data.
fn whitespace_bits(blob: &str) -> Option<String> {
    if !blob.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        return None;
    }
    let bits: Vec<bool> = blob.bytes().filter(|b| *b != b'\n' && *b != b'\r').map(|b| b == b'\t').collect();
    if bits.len() < 64 || !bits.len().is_multiple_of(8) || !bits.contains(&true) || !bits.contains(&false) {
        return None;
    }
    let decode = |one: bool| -> Option<String> {
        let bytes: Vec<u8> = bits.chunks(8).map(|byte| byte.iter().fold(0u8, |acc, bit| (acc << 1) | u8::from(*bit == one))).collect();
        String::from_utf8(bytes).ok().filter(|t| t.chars().all(|c| !c.is_control() || c.is_whitespace()))
    };
    decode(true).or_else(|| decode(false))
}

/// Keep one finding per rule and line of a file (several calls on a line
/// would otherwise repeat it).
fn dedupe_lines(out: &mut Vec<Finding>) {
    // One pass: a file with thousands of calls on one line must not cost their square.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.rule.clone(), f.line)));
}
