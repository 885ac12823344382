//! setup.py's own new commands: `class update_libusb(Command)` adds a
//! command that runs only when a person names it (`setup.py
//! update_libusb`), as a maintainer's chore, unless the build is made to
//! run it. What such a command does is not install-time behaviour; this
//! module finds those classes, and must never excuse a command that a
//! build of the sdist can reach.

use crate::python::Facts;

/// The commands a build or install of an sdist runs (pip, `build`,
/// `setup.py install`/`develop`), and their usual sub-commands. Not
/// `sdist`: building a wheel from an sdist, or installing it, never makes
/// a source archive.
const BUILD_COMMANDS: [&str; 19] = [
    "build",
    "build_py",
    "build_ext",
    "build_clib",
    "build_scripts",
    "build_src",
    "install",
    "install_lib",
    "install_scripts",
    "install_data",
    "install_headers",
    "install_egg_info",
    "egg_info",
    "develop",
    "bdist_wheel",
    "bdist_egg",
    "dist_info",
    "editable_wheel",
    "easy_install",
];

/// The line spans (first, last) of setup.py's new commands that no build
/// runs: classes of `Command` itself that the file neither registers under
/// a build command's name (`cmdclass={"build_ext": X}`, `cmdclass["install"]
/// = X`, `build_ext=X`), nor calls, nor lets another command run
/// (`run_command`, `sub_commands`, in which case none is excused).
pub fn run_by_hand(facts: &Facts, text: &str) -> Vec<(u32, u32)> {
    if facts.new_commands.is_empty() || text.contains("run_command") || text.contains("sub_commands") {
        return Vec::new();
    }
    facts
        .new_commands
        .iter()
        .filter(|(name, _, _)| !name.is_empty() && !registered_for_a_build(text, name) && !facts.calls.iter().any(|c| c.callee == *name))
        .map(|(_, first, last)| (*first, *last))
        .collect()
}

/// True when `class` is named as the value of a build command's key or
/// keyword: `"install": class`, `build_ext=class`, `cmdclass['sdist'] = class`.
fn registered_for_a_build(text: &str, class: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(class).any(|(at, _)| {
        let (before, after) = (&text[..at], &text[at + class.len()..]);
        if before.ends_with(is_word) || after.starts_with(is_word) {
            return false;
        }
        let head = before.trim_end();
        let Some(key) = head.strip_suffix(':').or_else(|| head.strip_suffix('=')) else { return false };
        let key = key.trim_end().trim_end_matches([']', '"', '\'']);
        BUILD_COMMANDS.iter().any(|c| key.strip_suffix(c).is_some_and(|rest| !rest.ends_with(is_word)))
    })
}
