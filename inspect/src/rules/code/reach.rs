//! Which functions of a file run when the module is imported: those its
//! top level calls (`main()`, `threading.Thread(target=steal).start()`,
//! `asyncio.run(start())`), and, transitively,
//! the file's own functions those call (`main` → `bit` → `requests.get`).
//! A payload one function call away from the top level runs on import as
//! surely as one written at the top level; rules that weigh "on import"
//! ask [`ImportTime::runs`].
//!
//! Functions are known by their bare name (methods too: `Dropper.run`
//! and `self.run` are one name), as the walk records them; a bare call
//! (`run()`) does not reach a name the file defines only as a method. A call
//! guarded by `if __name__ == "__main__":` is not a top-level call, nor is
//! one whose value the module keeps (`VERSION = get_version()`), and a
//! file that parses a command line at its top level is a script run by
//! hand, not a module run by an import: none of its functions count.

use std::collections::HashSet;

use crate::python::{Call, Facts, Scope, RUNNERS};

/// The functions of a file that run on import.
#[derive(Debug, Default)]
pub struct ImportTime {
    functions: HashSet<String>,
    /// The file parses a command line at its top level: a script, whose functions run when a person runs it.
    script: bool,
}

impl ImportTime {
    /// Only the file's own functions count, and only through calls the file makes.
    pub fn of(facts: &Facts, text: &str) -> ImportTime {
        ImportTime::reached(facts, text, true)
    }

    /// The same for a program that is run, not imported (Python kept in a
    /// string for `exec` or `python -c`): reading its command line makes it
    /// no script run by hand, since whoever runs the string runs it.
    pub fn of_program(facts: &Facts, text: &str) -> ImportTime {
        ImportTime::reached(facts, text, false)
    }

    fn reached(facts: &Facts, text: &str, scripts_run_by_hand: bool) -> ImportTime {
        // `parser.parse_args()`, `getopt.getopt(…)`, or work handed its arguments
        // (`gitclone(sys.argv[2], sys.argv[3])`, `run(sys.argv[1:])`); not the
        // program's own path, `sys.argv[0]`, which code that copies itself reads.
        let reads_arguments = |c: &Call| {
            c.arg_texts.iter().any(|a| a.trim_start().strip_prefix("sys.argv[").is_some_and(|rest| rest.starts_with(|ch: char| ('1'..='9').contains(&ch))))
        };
        let script = scripts_run_by_hand
            && facts.calls.iter().any(|c| c.scope == Scope::Module && (c.is(&[".parse_args", "getopt.getopt", ".parse_known_args"]) || reads_arguments(c)));
        if script {
            return ImportTime { functions: HashSet::new(), script: true };
        }
        // A scheduler's task (`@task def fetch(): …`) runs later, elsewhere, not when called.
        let defined = |name: &str| facts.parameters.contains_key(name) && !facts.scheduled_functions.contains(name);
        let mut functions: HashSet<String> = HashSet::new();
        let mut queue: Vec<String> = Vec::new();
        let mut reach = |name: &str, queue: &mut Vec<String>| {
            if defined(name) && name != "__main__" && functions.insert(name.to_string()) {
                queue.push(name.to_string());
            }
        };
        // Only a call made as a statement (`main()`, `Thread(target=f).start()`)
        // starts work; one whose value is kept (`VERSION = get_version()`)
        // computes a module constant.
        let lines: Vec<&str> = if facts.calls.iter().any(|c| c.scope == Scope::Module) { text.lines().collect() } else { Vec::new() };
        let statement = |c: &Call| {
            let line = lines.get(c.line.saturating_sub(1) as usize).map_or("", |l| l.trim_start());
            let head = line.split('(').next().unwrap_or("");
            !head.contains('=') && !line.starts_with("if ") && !line.starts_with("elif ") && !line.starts_with("return ")
        };
        for call in facts.calls.iter().filter(|c| c.scope == Scope::Module && statement(c)) {
            for name in called_functions(facts, call) {
                reach(name, &mut queue);
            }
        }
        if queue.is_empty() {
            return ImportTime { functions, script: false };
        }
        // Every call inside a reached function reaches the functions it names.
        let mut by_function: std::collections::HashMap<&str, Vec<&Call>> = std::collections::HashMap::new();
        for call in &facts.calls {
            if let (Scope::Function, Some(f)) = (call.scope, call.function.as_deref()) {
                by_function.entry(f).or_default().push(call);
            }
        }
        while let Some(function) = queue.pop() {
            for call in by_function.get(function.as_str()).into_iter().flatten() {
                for name in called_functions(facts, call) {
                    reach(name, &mut queue);
                }
            }
        }
        ImportTime { functions, script: false }
    }

    /// True when the file is a script that parses its command line at top level.
    pub fn is_script(&self) -> bool {
        self.script
    }

    /// True when `call` sits in a function the module's top level runs.
    pub fn runs(&self, call: &Call) -> bool {
        call.scope == Scope::Function && call.function.as_deref().is_some_and(|f| self.functions.contains(f))
    }

    /// True when the function named `function` runs on import.
    pub fn reaches(&self, function: &str) -> bool {
        self.functions.contains(function)
    }

    /// True when no function runs on import (most files).
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }
}

/// The bare names of the functions a call runs: its callee (`main`,
/// `self.main`, `Dropper.run`), functions called in its arguments
/// (`asyncio.run(start())`), and a function handed to a runner
/// (`Thread(target=steal)`). Callers check the names against the file's
/// own functions; a function of an imported module (`requests.get`) is
/// not one of them.
fn called_functions<'a>(facts: &'a Facts, call: &'a Call) -> impl Iterator<Item = &'a str> {
    let bare = move |name: &'a str| -> Option<&'a str> {
        if name.contains("()") {
            return None;
        }
        let (owner, last) = name.rsplit_once('.').unwrap_or(("", name));
        let first = owner.split('.').next().unwrap_or("");
        let imported = !owner.is_empty() && facts.imports.iter().any(|(m, _)| m == first || m == owner);
        // A name called bare (`open(path)`) is the module's function, a
        // builtin or an import: never a method of that name (`Device.open`).
        let method = owner.is_empty() && facts.methods_only.contains(last);
        (!last.is_empty() && !imported && !method).then_some(last)
    };
    let handed = call.is(&RUNNERS).then(|| call.arg_texts.iter().map(String::as_str)).into_iter().flatten();
    std::iter::once(call.callee.as_str())
        .chain(call.inner_calls.iter().filter(|c| !call.deferred_calls.contains(*c)).map(String::as_str))
        .chain(handed.filter(|t| t.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')))
        .filter_map(bare)
}
