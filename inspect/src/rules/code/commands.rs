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
/// the name of a command a build runs (`cmdclass={"build_ext": X}`,
/// `cmdclass["install"] = X`, `build_ext=X`, or a name another command runs
/// by `run_command("x")` or lists in its `sub_commands`), nor calls. When a
/// command runs one it names at run time (`self.run_command(name)`), none
/// is excused.
pub fn run_by_hand(facts: &Facts, text: &str) -> Vec<(u32, u32)> {
    if facts.new_commands.is_empty() {
        return Vec::new();
    }
    let Some(run_by_commands) = names_run_by_commands(text) else { return Vec::new() };
    facts
        .new_commands
        .iter()
        .filter(|(name, _, _)| !name.is_empty() && !registered_for_a_build(text, name, &run_by_commands) && !facts.calls.iter().any(|c| c.callee == *name))
        .map(|(_, first, last)| (*first, *last))
        .collect()
}

/// The command names setup.py's commands run themselves: the literal given
/// to each `run_command("build_htmlhelp")` and every literal of a
/// `sub_commands` statement (`sub_commands = build.sub_commands +
/// [("build_htmlhelp", predicate)]`). None when one of them is not written
/// as a literal (`self.run_command(cmd)`, `sub_commands.append((name,
/// None))`): then any command may be the one run.
fn names_run_by_commands(text: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("run_command(") {
        let (name, _) = leading_literal(text[at + "run_command(".len()..].trim_start())?;
        names.push(name.to_string());
    }
    for (at, _) in text.match_indices("sub_commands") {
        let statement = statement_from(&text[at..]);
        // Every parenthesis opens a literal, a tuple or an empty call: a
        // name given as a variable could be any command.
        for (open, _) in statement.match_indices('(') {
            let next = statement[open + 1..].trim_start();
            if !(next.starts_with(['"', '\'', '(', ')'])) {
                return None;
            }
        }
        let mut rest = statement;
        while let Some(quote) = rest.find(['"', '\'']) {
            let (name, after) = leading_literal(&rest[quote..])?;
            names.push(name.to_string());
            rest = after;
        }
    }
    Some(names)
}

/// The text of a string literal at the start of `text` (`"x"` or `'x'`) and what follows it.
fn leading_literal(text: &str) -> Option<(&str, &str)> {
    let quote = text.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let end = text[1..].find(quote)? + 1;
    Some((&text[1..end], &text[end + 1..]))
}

/// The statement starting at `text`: up to the first line break outside brackets.
fn statement_from(text: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '\n' if depth <= 0 => return &text[..i],
            _ => {}
        }
    }
    text
}

/// True when `class` is named as the value of the key or keyword of a
/// command a build runs (a build command, or one of `run_by_commands`):
/// `"install": class`, `build_ext=class`, `cmdclass['sdist'] = class`.
fn registered_for_a_build(text: &str, class: &str, run_by_commands: &[String]) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(class).any(|(at, _)| {
        let (before, after) = (&text[..at], &text[at + class.len()..]);
        if before.ends_with(is_word) || after.starts_with(is_word) {
            return false;
        }
        let head = before.trim_end();
        let Some(key) = head.strip_suffix(':').or_else(|| head.strip_suffix('=')) else { return false };
        let key = key.trim_end().trim_end_matches([']', '"', '\'']);
        let is_key = |c: &str| key.strip_suffix(c).is_some_and(|rest| !rest.ends_with(is_word));
        BUILD_COMMANDS.iter().any(|c| is_key(c)) || run_by_commands.iter().any(|c| !c.is_empty() && is_key(c))
    })
}
