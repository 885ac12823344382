//! Python source analysed as syntax, not text. A tree-sitter parse is walked
//! once into [`Facts`]: the imports, every call with its callee resolved
//! through import aliases (and through `getattr(builtins, "ex"+"ec")` or
//! `__import__("os")` tricks), what flows into each call's arguments, the
//! string constants, and where each call runs (module top level or inside a
//! function). Rules read facts, never raw text, so a comment or a docstring
//! that mentions `exec` is not a call to it.

mod flow;
pub(crate) mod fold;
mod resolve;
mod walk;

use std::collections::BTreeSet;
use std::rc::Rc;

pub(crate) use flow::XOR_DECODE;
pub use walk::{analyze, analyze_within};

/// Where a call executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Module top level: runs on import (or on build, for setup.py).
    Module,
    /// Inside a function or lambda: runs when called.
    Function,
}

/// One call expression.
#[derive(Debug, Clone)]
pub struct Call {
    /// The callee, resolved: `subprocess.Popen`, `exec`, `os.system`, `requests.get`.
    pub callee: String,
    /// True when the callee was hidden: built by `getattr` with a computed
    /// name, or reached through `__import__`/`importlib` with a string.
    pub hidden: bool,
    pub line: u32,
    pub scope: Scope,
    /// The enclosing function's name, if any.
    pub function: Option<String>,
    /// Resolved callees of every call nested in the arguments, including
    /// those reached through local variables assigned from calls.
    pub inner_calls: BTreeSet<String>,
    /// Callees of [`Call::inner_calls`] that are called only inside a
    /// lambda handed to a call that keeps it (a decorator's table of
    /// callbacks, `register(lambda: fetch())`), not to one that runs it now
    /// (`map`, `filter`, `sorted`, a thread): they run when the lambda is called.
    pub deferred_calls: BTreeSet<String>,
    /// Strings the arguments fold to (literals, concatenations, joins, `chr`).
    pub strings: Vec<String>,
    /// True when an argument reverses a sequence (`[::-1]`).
    pub reversed: bool,
    /// True when an argument is anything but literals.
    pub dynamic: bool,
    /// The source text of each argument, cut to 200 characters.
    pub arg_texts: Vec<String>,
    /// When the call reaches its callee through a local helper function
    /// (`run(cmd)` where `def run(c): subprocess.Popen(c)`): the helper's
    /// name. The call is then reported as the helper's process call, with
    /// this call's arguments, scope and line.
    pub via_helper: Option<String>,
}

impl Call {
    pub fn inner_has(&self, names: &[&str]) -> bool {
        self.inner_calls.iter().any(|c| names.iter().any(|n| matches_name(c, n)))
    }

    pub fn is(&self, names: &[&str]) -> bool {
        names.iter().any(|n| matches_name(&self.callee, n))
    }
}

/// `pattern` matches `name` exactly, or as a suffix after a dot when the
/// pattern starts with `.` (`.decode` matches `x.decode`).
pub fn matches_name(name: &str, pattern: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix('.') {
        name.rsplit('.').next() == Some(suffix) && name.contains('.')
    } else if let Some(prefix) = pattern.strip_suffix(".*") {
        // `subprocess.*` is any function of the module, not a method called
        // on what one returned (`subprocess.check_output().decode`).
        name == prefix || (name.starts_with(&format!("{prefix}.")) && !name.contains("()"))
    } else {
        name == pattern
    }
}

/// Decorators of task schedulers, by the module they come from: a function
/// they decorate becomes a task in a graph (Airflow `airflow.decorators.task`,
/// `airflow.sdk.dag`, `task.virtualenv`; Dask `dask.delayed`; Ray `ray.remote`).
const SCHEDULERS: [(&str, &[&str]); 3] = [("airflow.", &["task", "dag", "setup", "teardown"]), ("dask.", &["delayed"]), ("ray.", &["remote"])];

/// True when `callee` (resolved) is a scheduler's decorator ([`SCHEDULERS`]),
/// or one of its variants (`airflow.sdk.task.virtualenv`).
pub fn is_scheduler(callee: &str) -> bool {
    SCHEDULERS.iter().any(|(module, names)| callee.strip_prefix(module).is_some_and(|rest| rest.split('.').any(|part| names.contains(&part))))
}

/// Callees that start a process.
pub const PROCESS: [&str; 11] =
    ["os.system", "os.popen", "subprocess.*", "os.execv", "os.execl", "os.execvp", "os.execve", "os.spawnv", "os.startfile", "pty.spawn", "commands.getoutput"];

/// True when calling `callee` starts a process: a function of `subprocess`,
/// `os.system`, `os.popen`, the `os.exec*` and `os.spawn*` families.
pub fn is_process_callee(callee: &str) -> bool {
    let module_function = |prefix: &str| callee.starts_with(prefix) && !callee.contains("()");
    PROCESS.iter().any(|n| matches_name(callee, n)) || module_function("subprocess.") || module_function("os.exec") || module_function("os.spawn")
}

/// Calls that run a function they are given (as `target=` or first argument).
/// (`atexit.register` is left out: exit handlers clean up, and run last.)
pub const RUNNERS: [&str; 9] = [
    "threading.Thread",
    "Thread",
    "threading.Timer",
    "multiprocessing.Process",
    "Process",
    "asyncio.run",
    "asyncio.create_task",
    "asyncio.get_event_loop().run_until_complete",
    "loop.run_until_complete",
];

/// A string constant in the code.
#[derive(Debug, Clone)]
pub struct Literal {
    pub value: String,
    pub line: u32,
    /// True when the string is documentation: the value of a `help=`,
    /// `help_text=`, `description=`, `example=`-style keyword, or of a
    /// constant named like documentation (`EXAMPLES`, `DOCUMENTATION`,
    /// `RETURN`, `USAGE`, `*_HELP`), as Ansible-style plugins and CLIs
    /// write them. (Docstrings are not literals at all.)
    pub doc: bool,
    /// The function whose body holds the string (`<lambda>` for a
    /// lambda's); None at module or class level. A string written in a
    /// function's body exists only once that function runs.
    pub function: Option<Rc<str>>,
}

/// Everything the rules need to know about one Python file.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Imported modules (top-level names and full dotted names), with lines.
    pub imports: Vec<(String, u32)>,
    pub calls: Vec<Call>,
    pub literals: Vec<Literal>,
    /// Names like `__version__` or `__obfuscator__` assigned in the file, with the line.
    pub dunder_assignments: Vec<(String, u32)>,
    /// Parameter names of each function defined in the file (not `self`/`cls`).
    pub parameters: std::collections::HashMap<String, Vec<String>>,
    /// Names defined only as methods (a `def` directly in a class body),
    /// never as a function of the module: a bare call of such a name
    /// (`open(path)`) is a builtin or an import, not the method.
    pub methods_only: std::collections::HashSet<String>,
    /// Functions of the module (not methods) that nothing in the file
    /// names: no call, no reference, no decorator, no string holding the
    /// name (`def check_deps(…)` whose only call is commented out). Code in
    /// them never runs unless another file imports them. Empty when the
    /// walk stopped at its budget (the rest of the file was not read).
    pub never_used_functions: std::collections::HashSet<String>,
    /// Functions whose decorator hands them to a task scheduler
    /// ([`SCHEDULERS`]): a call of one builds a task, it runs nothing now.
    pub scheduled_functions: std::collections::HashSet<String>,
    /// Classes that subclass setuptools/distutils commands, with the line.
    pub command_classes: Vec<(String, u32)>,
    /// Classes that subclass setuptools/distutils `Command` itself (a new
    /// command, not an override of a standard one) or `sdist` (which only
    /// a maintainer making a source archive runs), with their first and
    /// last lines: commands no install runs unless the file makes it.
    pub new_commands: Vec<(String, u32, u32)>,
    /// True when tree-sitter found syntax errors (still analysed, best effort).
    pub syntax_errors: bool,
    /// Work the analysis spent, in units of syntax nodes visited (by the
    /// walk, by name resolution and by the scans of call arguments).
    pub work: u64,
    /// True when the analysis stopped at its work budget: the facts hold
    /// what came before that point, and the rest of the file was not read.
    pub out_of_budget: bool,
}

impl Facts {
    pub fn imports_module(&self, module: &str) -> bool {
        self.imports.iter().any(|(m, _)| m == module || m.starts_with(&format!("{module}.")))
    }
}
