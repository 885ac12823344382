//! The walk from a tree-sitter tree to [`Facts`]. Iterative (an explicit
//! stack, not recursion), so a hostile file of deeply nested expressions
//! cannot overflow the stack.
//!
//! The analysis is linear in the size of the tree: each node is visited
//! once by the walk, names are resolved once per node ([`super::resolve`])
//! and what flows out of a nested call is scanned once ([`super::flow`]).
//! Every step is counted as work, and the walk stops at a work budget, so
//! no input, however it was built, holds a worker longer than the budget
//! allows; [`Facts::out_of_budget`] then says the file was not read to its end.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use tree_sitter::{Node, Parser};

use super::flow::{Flow, Taint};
use super::fold::{fold, string_literal};
use super::resolve::bounded;
use super::{Call, Facts, Literal, Scope};

/// Most literals kept per file.
const MAX_LITERALS: usize = 50_000;

/// Setuptools and distutils commands whose subclasses run at install time.
const COMMAND_BASES: [&str; 8] = ["install", "develop", "egg_info", "build_py", "build", "sdist", "bdist_egg", "easy_install"];

/// Work spent on one file, in units of syntax nodes visited, against a limit.
pub(super) struct Work {
    spent: Cell<u64>,
    limit: u64,
}

impl Work {
    /// Count `units` of work; false once the limit is passed.
    pub(super) fn charge(&self, units: u64) -> bool {
        let spent = self.spent.get().saturating_add(units);
        self.spent.set(spent);
        spent <= self.limit
    }

    pub(super) fn exhausted(&self) -> bool {
        self.spent.get() > self.limit
    }
}

pub(super) struct Walker<'a> {
    pub(super) src: &'a [u8],
    /// The source as text when it is valid UTF-8 (nearly always), so node
    /// text is a slice instead of a validation per node.
    text: Option<&'a str>,
    pub(super) aliases: HashMap<String, String>,
    /// How many aliases hold each value, so that "does this name start with
    /// an alias's value" is a lookup per prefix, not a scan of every alias.
    alias_values: HashMap<String, usize>,
    /// Variables by (enclosing function, name): a name in one function says
    /// nothing about the same name in another.
    taints: HashMap<Option<Rc<str>>, HashMap<String, Taint>>,
    /// The function the walk is in.
    pub(super) current: Option<Rc<str>>,
    /// Local functions and the callees in their bodies, so that a call to a
    /// helper like `def b64d(x): return base64.b64decode(x)` counts as a
    /// call to what the helper calls.
    pub(super) functions: HashMap<String, BTreeSet<String>>,
    /// Parameter names of each local function.
    params: HashMap<String, Vec<String>>,
    /// Names defined by a `def` in a class body, and by one anywhere else.
    method_names: HashSet<String>,
    function_names: HashSet<String>,
    /// Every name the file uses (not the name a `def` gives), and the
    /// functions that are decorated (a decorator may register them).
    referenced: HashSet<&'a str>,
    /// Local functions that start a process with one of their parameters
    /// (`def run(cmd): subprocess.Popen(cmd)`), and the process call.
    process_helpers: HashMap<String, String>,
    /// Names that alias a code runner reached through a computed name
    /// (`e = eval("\145\166\x61\154")`): calls through them are hidden.
    pub(super) hidden_aliases: HashSet<String>,
    /// Names resolved in the statement being walked, by node id.
    pub(super) resolved: RefCell<HashMap<usize, Option<(String, bool)>>>,
    /// How deep resolutions through call arguments are nested now.
    pub(super) resolve_depth: Cell<u32>,
    /// What flows out of each call scanned in the statement being walked, by node id.
    pub(super) flows: RefCell<HashMap<usize, Rc<Flow>>>,
    pub(super) work: Work,
    facts: Facts,
}

/// Parse and analyse one Python file. Never fails: unparsable parts are
/// marked as syntax errors and the rest is analysed.
pub fn analyze(src: &[u8]) -> Facts {
    analyze_within(src, u64::MAX)
}

/// [`analyze`], stopping once `budget` units of work (syntax nodes visited)
/// are spent; [`Facts::out_of_budget`] then says so, and the facts hold what
/// the walk saw before it stopped. Deterministic: the same source and
/// budget give the same facts on any machine.
pub fn analyze_within(src: &[u8], budget: u64) -> Facts {
    let mut parser = Parser::new();
    if parser.set_language(&tree_sitter_python::LANGUAGE.into()).is_err() {
        return Facts::default();
    }
    let Some(tree) = parser.parse(src, None) else {
        return Facts::default();
    };
    let root = tree.root_node();
    let mut w = Walker {
        src,
        text: std::str::from_utf8(src).ok(),
        aliases: HashMap::new(),
        alias_values: HashMap::new(),
        taints: HashMap::new(),
        current: None,
        functions: HashMap::new(),
        params: HashMap::new(),
        method_names: HashSet::new(),
        function_names: HashSet::new(),
        referenced: HashSet::new(),
        process_helpers: HashMap::new(),
        hidden_aliases: HashSet::new(),
        resolved: RefCell::new(HashMap::new()),
        resolve_depth: Cell::new(0),
        flows: RefCell::new(HashMap::new()),
        work: Work { spent: Cell::new(0), limit: budget },
        facts: Facts::default(),
    };
    w.facts.syntax_errors = root.has_error();
    // One walk in source order, as Python runs a module: imports and
    // assignments are known to the calls after them, and each function's
    // summary is complete by the time later code calls it. The enclosing
    // function and main guard come from the walk's own stack (tree-sitter's
    // `parent()` costs a descent from the root each time).
    let mut cursor = root.walk();
    let mut stack: Vec<(Node, Context)> = Vec::new();
    let top = Context::default();
    loop {
        if !w.work.charge(1) {
            w.facts.out_of_budget = true;
            break;
        }
        let node = cursor.node();
        let (parent, ctx) = match stack.last() {
            Some((p, c)) => (Some(*p), c),
            None => (None, &top),
        };
        w.current = ctx.function.clone();
        if starts_statement(node.kind()) {
            w.forget_statement();
        }
        match node.kind() {
            "import_statement" | "import_from_statement" => w.import(node),
            "assignment" | "named_expression" | "augmented_assignment" => w.assignment(node),
            "as_pattern" => w.with_alias(node),
            "call" => w.call(node, ctx),
            "string" | "concatenated_string" => w.literal(node, parent),
            "list" | "tuple" => w.character_codes(node),
            "class_definition" => w.class(node),
            "identifier" if !names_a_definition(node, parent) => {
                let name = w.text(node);
                w.referenced.insert(name);
            }
            "decorated_definition" => {
                if let Some(name) = node.child_by_field_name("definition").and_then(|d| d.child_by_field_name("name")) {
                    let name = w.text(name);
                    w.referenced.insert(name);
                    if w.hands_to_a_scheduler(node) {
                        w.facts.scheduled_functions.insert(name.to_string());
                    }
                }
            }
            _ => {}
        }
        if cursor.goto_first_child() {
            let inner = w.context_inside(node, ctx.clone());
            stack.push((node, inner));
            continue;
        }
        let mut done = false;
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                done = true;
                break;
            }
            stack.pop();
        }
        if done {
            break;
        }
    }
    // Work done inside a step (a resolution, a scan) may pass the limit after the walk's last check.
    w.facts.out_of_budget |= w.work.exhausted();
    w.facts.work = w.work.spent.get();
    w.facts.parameters = std::mem::take(&mut w.params);
    w.facts.methods_only = w.method_names.difference(&w.function_names).cloned().collect();
    if !w.facts.out_of_budget {
        // A name kept in a string may still be called (`globals()["main"]()`).
        let in_strings = |name: &str| w.facts.literals.iter().any(|l| l.value.contains(name));
        w.facts.never_used_functions = w.function_names.iter().filter(|f| !w.referenced.contains(f.as_str()) && !in_strings(f)).cloned().collect();
    }
    w.facts
}

/// True for prose that offers a value as an example (`"MCP_BASE_URL (e.g.,
/// https://your-tunnel.example)"`, `"for example https://…"`): words around
/// the value, not an address a call could be given as it is.
fn gives_an_example(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.contains(' ') && (lower.contains("e.g.") || lower.contains("for example") || lower.contains("for instance"))
}

/// True for the name a `def` or `class` gives (`def check_deps(…)`): a definition, not a use.
fn names_a_definition(node: Node, parent: Option<Node>) -> bool {
    parent.is_some_and(|p| matches!(p.kind(), "function_definition" | "class_definition") && p.child_by_field_name("name").is_some_and(|n| n.id() == node.id()))
}

/// True for nodes that begin a statement: what is remembered of one
/// statement's names and flows is never needed by another.
fn starts_statement(kind: &str) -> bool {
    kind.ends_with("_statement") || matches!(kind, "function_definition" | "class_definition" | "decorated_definition")
}

/// Where the walk is: inside which function, and whether under `if __name__ == "__main__":`.
#[derive(Debug, Clone, Default)]
struct Context {
    /// The innermost enclosing function.
    function: Option<Rc<str>>,
    main_guard: bool,
    /// Directly in a class body (not in one of its methods): a `def` here is a method.
    class_body: bool,
}

/// The literal pieces of an f-string (its text outside the interpolations,
/// escapes decoded).
pub(super) fn literal_parts(node: Node, src: &[u8]) -> Option<String> {
    super::fold::fstring_text(node, src, "")
}

fn line_of(node: Node) -> u32 {
    node.start_position().row as u32 + 1
}

/// Callees whose effect a local helper passes on to its callers: decoding
/// and fetching. (Everything else a helper calls says little about what its
/// result is, and would drown the data flow in noise.)
pub(super) fn carries_through_helpers(callee: &str) -> bool {
    const PREFIXES: [&str; 12] =
        ["base64.", "codecs.decode", "zlib.", "marshal.", "binascii.", "lzma.", "bz2.", "gzip.decompress", "requests.", "urllib", "httpx.", "urlopen"];
    PREFIXES.iter().any(|p| callee.starts_with(p))
}

/// Builtins that run code given as data.
pub(super) const CODE_RUNNERS: [&str; 5] = ["exec", "eval", "compile", "__import__", "execfile"];

pub(super) fn is_builtins_name(s: &str) -> bool {
    matches!(s, "__builtins__" | "builtins" | "__builtin__")
}

impl<'a> Walker<'a> {
    pub(super) fn text(&self, node: Node) -> &'a str {
        match self.text {
            Some(t) => t.get(node.byte_range()).unwrap_or(""),
            None => node.utf8_text(self.src).unwrap_or(""),
        }
    }

    /// What the variable `name` holds, in the current function or at module level.
    pub(super) fn variable(&self, name: &str) -> Option<&Taint> {
        self.taints.get(&self.current).and_then(|m| m.get(name)).or_else(|| self.taints.get(&None).and_then(|m| m.get(name)))
    }

    /// Make `name` stand for `value` in the code that follows.
    fn set_alias(&mut self, name: String, value: String) {
        *self.alias_values.entry(value.clone()).or_default() += 1;
        if let Some(old) = self.aliases.insert(name, value) {
            if let Some(n) = self.alias_values.get_mut(&old) {
                *n -= 1;
                if *n == 0 {
                    self.alias_values.remove(&old);
                }
            }
        }
    }

    /// True when `name` starts with what some alias stands for.
    fn starts_with_alias_value(&self, name: &str) -> bool {
        self.work.charge(name.len() as u64 / 16);
        name.char_indices().map(|(i, c)| i + c.len_utf8()).any(|end| self.alias_values.contains_key(&name[..end]))
    }

    /// Drop what was remembered of the statement before: a new one begins.
    fn forget_statement(&mut self) {
        if !self.resolved.get_mut().is_empty() {
            *self.resolved.get_mut() = HashMap::new();
        }
        if !self.flows.get_mut().is_empty() {
            *self.flows.get_mut() = HashMap::new();
        }
    }

    fn import(&mut self, node: Node) {
        let line = line_of(node);
        let mut cursor = node.walk();
        if node.kind() == "import_statement" {
            for child in node.named_children(&mut cursor) {
                match child.kind() {
                    "dotted_name" => {
                        let full = self.text(child).to_string();
                        let top = full.split('.').next().unwrap_or(&full).to_string();
                        self.set_alias(top.clone(), top);
                        self.facts.imports.push((full, line));
                    }
                    "aliased_import" => {
                        let (Some(name), Some(alias)) = (child.child_by_field_name("name"), child.child_by_field_name("alias")) else {
                            continue;
                        };
                        let full = self.text(name).to_string();
                        self.set_alias(self.text(alias).to_string(), full.clone());
                        self.facts.imports.push((full, line));
                    }
                    _ => {}
                }
            }
            return;
        }
        // A relative import keeps its dots: `from .keyboard import X` is the
        // package's own module `.keyboard`, not the keyboard library.
        let module = node.child_by_field_name("module_name").map(|m| self.text(m).to_string()).unwrap_or_default();
        self.facts.imports.push((module.clone(), line));
        for child in node.children_by_field_name("name", &mut cursor) {
            let (name, alias) = match child.kind() {
                "aliased_import" => match (child.child_by_field_name("name"), child.child_by_field_name("alias")) {
                    (Some(n), Some(a)) => (self.text(n).to_string(), self.text(a).to_string()),
                    _ => continue,
                },
                _ => (self.text(child).to_string(), self.text(child).to_string()),
            };
            let full = if module.is_empty() || module.ends_with('.') { format!("{module}{name}") } else { format!("{module}.{name}") };
            self.facts.imports.push((full.clone(), line));
            self.set_alias(alias, full);
        }
    }

    fn assignment(&mut self, node: Node) {
        let left = node.child_by_field_name("left").or_else(|| node.child_by_field_name("name"));
        let right = node.child_by_field_name("right").or_else(|| node.child_by_field_name("value"));
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        // `a, b, c = __import__, getattr, exec`: each name stands for the value beside it.
        if matches!(left.kind(), "pattern_list" | "tuple_pattern") && matches!(right.kind(), "expression_list" | "tuple") {
            let names: Vec<Node> = left.named_children(&mut left.walk()).collect();
            let values: Vec<Node> = right.named_children(&mut right.walk()).collect();
            if names.len() == values.len() {
                for (name, value) in names.into_iter().zip(values) {
                    if name.kind() == "identifier" {
                        self.alias_a_name(self.text(name).to_string(), value);
                    }
                }
            }
            return;
        }
        if left.kind() != "identifier" {
            return;
        }
        let name = self.text(left).to_string();
        if name.len() > 4 && name.starts_with("__") && name.ends_with("__") && self.facts.dunder_assignments.len() < 256 {
            self.facts.dunder_assignments.push((name.clone(), line_of(node)));
        }
        // `e = eval("\145\166\x61\154")`: e is eval, reached through a computed name.
        // `exec_ = eval("exec")` spells the name for every reader (Python 2/3
        // compatible code does it, exec being a statement in Python 2): an alias, not hidden.
        if let Some(runner) = self.code_runner_named_by_eval(right) {
            let spelled = right
                .child_by_field_name("arguments")
                .and_then(|a| a.named_child(0))
                .is_some_and(|arg| self.text(arg).trim().trim_matches(['"', '\'']) == runner);
            self.set_alias(name.clone(), runner);
            if spelled {
                self.hidden_aliases.remove(&name);
            } else {
                self.hidden_aliases.insert(name);
            }
            return;
        }
        self.hidden_aliases.remove(&name);
        // `x = __import__("os")` or `x = importlib.import_module("os")` makes x an alias.
        if right.kind() == "call" {
            if let Some(module) = self.imported_module(right) {
                self.set_alias(name.clone(), module);
                return;
            }
            // `s = socket.socket()` lets `s.connect(...)` resolve to `socket.socket().connect`.
            if let Some((callee, _)) = right.child_by_field_name("function").and_then(|f| self.resolve(f)) {
                if callee.contains('.') {
                    self.set_alias(name.clone(), bounded(format!("{callee}()")));
                }
            }
        }
        self.alias_a_name(name.clone(), right);
        let taint = self.taint_of(right);
        let scope = self.taints.entry(self.current.clone()).or_default();
        if node.kind() == "augmented_assignment" {
            // `x += …` adds to what x held.
            let entry = scope.entry(name).or_default();
            entry.calls.extend(taint.calls);
            entry.strings.extend(taint.strings);
            entry.strings.truncate(64);
            entry.reversed |= taint.reversed;
        } else {
            // `x = …` replaces it: the walk is in source order, so a later
            // use sees the latest assignment above it.
            scope.insert(name, taint);
        }
    }

    /// `x = exec`, `x = os.system`, `x = sp` (an import alias): `x` stands
    /// for the same callee in the code that follows. A plain name of a
    /// builtin that runs code, looks names up or decodes (`exec`,
    /// `getattr`, `bytes`) counts, as obfuscators rename them.
    fn alias_a_name(&mut self, name: String, value: Node) {
        const RENAMED_BUILTINS: [&str; 5] = ["getattr", "bytes", "bytearray", "chr", "globals"];
        if value.kind() != "identifier" && value.kind() != "attribute" {
            return;
        }
        if let Some((resolved, _)) = self.resolve(value) {
            let builtin = value.kind() == "identifier" && (CODE_RUNNERS.contains(&resolved.as_str()) || RENAMED_BUILTINS.contains(&resolved.as_str()));
            if builtin || resolved.starts_with("__builtins__") || self.starts_with_alias_value(&resolved) {
                self.set_alias(name, resolved);
            }
        }
    }

    /// The builtin that `eval(<constant>)` returns when the constant folds to
    /// the name of a code runner or of `getattr` (`eval("\x65val")`).
    fn code_runner_named_by_eval(&self, right: Node) -> Option<String> {
        if right.kind() != "call" {
            return None;
        }
        let (callee, _) = self.resolve(right.child_by_field_name("function")?)?;
        if callee != "eval" {
            return None;
        }
        let arg = right.child_by_field_name("arguments")?.named_child(0)?;
        let name = fold(arg, self.src, 0)?;
        let name = name.trim();
        (CODE_RUNNERS.contains(&name) || name == "getattr").then(|| name.to_string())
    }

    /// `with open(p) as f:` makes `f.read()` resolve to `open().read`.
    fn with_alias(&mut self, node: Node) {
        let Some(value) = node.named_child(0).filter(|v| v.kind() == "call") else {
            return;
        };
        let Some(target) = node.child_by_field_name("alias").or_else(|| node.named_child(1)) else {
            return;
        };
        let name = self.text(target).trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return;
        }
        if let Some((callee, _)) = value.child_by_field_name("function").and_then(|f| self.resolve(f)) {
            self.set_alias(name, bounded(format!("{callee}()")));
        }
    }

    /// The context for the children of `node`.
    fn context_inside(&mut self, node: Node, mut ctx: Context) -> Context {
        match node.kind() {
            "function_definition" => {
                let name = node.child_by_field_name("name").map(|n| self.text(n)).unwrap_or_default();
                ctx.function = Some(Rc::from(name));
                if ctx.class_body {
                    self.method_names.insert(name.to_string());
                } else {
                    self.function_names.insert(name.to_string());
                }
                ctx.class_body = false;
                if let Some(parameters) = node.child_by_field_name("parameters") {
                    let mut cursor = parameters.walk();
                    let names: Vec<String> = parameters
                        .named_children(&mut cursor)
                        .filter_map(|p| if p.kind() == "identifier" { Some(p) } else { p.named_child(0).filter(|n| n.kind() == "identifier") })
                        .map(|n| self.text(n).to_string())
                        .filter(|n| n != "self" && n != "cls")
                        .take(32)
                        .collect();
                    self.params.insert(name.to_string(), names);
                }
            }
            "lambda" => {
                ctx.function = ctx.function.or(Some(Rc::from("<lambda>")));
                ctx.class_body = false;
            }
            "class_definition" => ctx.class_body = true,
            "if_statement" if self.is_main_guard(node) => ctx.main_guard = true,
            _ => {}
        }
        ctx
    }

    fn call(&mut self, node: Node, ctx: &Context) {
        let Some(function) = node.child_by_field_name("function") else {
            return;
        };
        let Some((callee, hidden)) = self.resolve(function) else {
            return;
        };
        let mut call = Call {
            callee,
            hidden,
            line: line_of(node),
            scope: Scope::Module,
            function: None,
            inner_calls: BTreeSet::new(),
            deferred_calls: BTreeSet::new(),
            strings: Vec::new(),
            reversed: false,
            dynamic: false,
            arg_texts: Vec::new(),
            via_helper: None,
        };
        if let Some(function) = &ctx.function {
            self.functions.entry(function.to_string()).or_default().insert(call.callee.clone());
        }
        if ctx.main_guard {
            call.scope = Scope::Function;
            call.function = Some("__main__".into());
        } else if let Some(function) = &ctx.function {
            call.scope = Scope::Function;
            call.function = Some(function.to_string());
        }
        if let Some(args) = node.child_by_field_name("arguments") {
            let mut cursor = args.walk();
            for arg in args.named_children(&mut cursor) {
                let value = if arg.kind() == "keyword_argument" { arg.child_by_field_name("value").unwrap_or(arg) } else { arg };
                call.arg_texts.push(self.text(value).chars().take(200).collect());
                let taint = self.taint_of(value);
                if !matches!(value.kind(), "string" | "concatenated_string" | "integer" | "true" | "false" | "none") {
                    call.dynamic = true;
                }
                call.inner_calls.extend(taint.calls);
                call.strings.extend(taint.strings);
                // A local helper that base64-decodes its argument: decode the literal too.
                if value.kind() == "call" {
                    self.decode_through_helper(value, &mut call.strings);
                }
                call.reversed |= taint.reversed;
            }
        }
        if call.arg_texts.iter().any(|a| a.contains("lambda")) {
            call.deferred_calls = self.deferred_calls(node);
        }
        if let Some(function) = ctx.function.as_deref() {
            // A helper that starts a process with what its caller passes in.
            let passes_parameter = || {
                let params = self.params.get(function);
                call.arg_texts.iter().any(|a| a.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| params.is_some_and(|p| p.iter().any(|p| p == w))))
            };
            if super::is_process_callee(&call.callee) && !self.process_helpers.contains_key(function) && passes_parameter() {
                self.process_helpers.insert(function.to_string(), call.callee.clone());
            }
        }
        // `Thread(target=os.system, args=("curl … | sh",))`: the runner calls
        // its target with those arguments, so the target is called here.
        if let Some(target) = self.runner_target(node, &call) {
            let mut started = call.clone();
            started.callee = target;
            // The target's own arguments are the items of `args=(…)`: the command it runs.
            if let Some(args) = self.runner_args(node) {
                started.arg_texts = args;
            }
            self.facts.calls.push(started);
        }
        // A call of such a helper is its process call, with this call's arguments.
        let helper = call.callee.strip_prefix("self.").unwrap_or(&call.callee);
        if let Some(process) = self.process_helpers.get(helper) {
            let mut through = call.clone();
            through.via_helper = Some(helper.to_string());
            through.callee = process.clone();
            self.facts.calls.push(call);
            self.facts.calls.push(through);
            return;
        }
        self.facts.calls.push(call);
    }

    /// The function a runner (`threading.Thread`, `multiprocessing.Process`,
    /// `threading.Timer`; [`super::RUNNERS`]) is given as `target=` or
    /// `function=`, when that function starts a process or runs code
    /// (`os.system`, `subprocess.Popen`, `exec`): resolved, as a callee.
    fn runner_target(&mut self, node: Node, call: &Call) -> Option<String> {
        if !super::RUNNERS.iter().any(|r| super::matches_name(&call.callee, r)) {
            return None;
        }
        let args = node.child_by_field_name("arguments")?;
        let mut cursor = args.walk();
        let target = args.named_children(&mut cursor).find_map(|arg| {
            let name = arg.child_by_field_name("name").filter(|_| arg.kind() == "keyword_argument")?;
            matches!(self.text(name), "target" | "function").then(|| arg.child_by_field_name("value")).flatten()
        })?;
        if !matches!(target.kind(), "identifier" | "attribute") {
            return None;
        }
        let (callee, _) = self.resolve(target)?;
        (super::is_process_callee(&callee) || ["exec", "eval", "os.system", "os.popen"].contains(&callee.as_str())).then_some(callee)
    }

    /// True when a decorator of the definition hands the function to a task
    /// scheduler ([`super::SCHEDULERS`]: Airflow's `@task`/`@dag`, Dask's
    /// `@delayed`, Ray's `@remote`): calling it adds a task to a graph that
    /// a scheduler runs later, elsewhere; the body does not run.
    fn hands_to_a_scheduler(&self, definition: Node) -> bool {
        let mut cursor = definition.walk();
        let decorators: Vec<Node> = definition.named_children(&mut cursor).filter(|n| n.kind() == "decorator").collect();
        decorators.into_iter().any(|d| {
            let Some(mut expr) = d.named_child(0) else { return false };
            // `@task.virtualenv(...)`, `@task(retries=2)`: the decorator is what is called.
            if expr.kind() == "call" {
                match expr.child_by_field_name("function") {
                    Some(f) => expr = f,
                    None => return false,
                }
            }
            if !matches!(expr.kind(), "identifier" | "attribute") {
                return false;
            }
            self.resolve(expr).is_some_and(|(callee, _)| super::is_scheduler(&callee))
        })
    }

    /// The source texts of the items a runner hands its target (`args=(cmd,)`
    /// or `args=[cmd]`), cut to 200 characters each.
    fn runner_args(&self, node: Node) -> Option<Vec<String>> {
        let args = node.child_by_field_name("arguments")?;
        let mut cursor = args.walk();
        let given = args.named_children(&mut cursor).find_map(|arg| {
            let name = arg.child_by_field_name("name").filter(|_| arg.kind() == "keyword_argument")?;
            (self.text(name) == "args").then(|| arg.child_by_field_name("value")).flatten()
        })?;
        if !matches!(given.kind(), "tuple" | "list") {
            return None;
        }
        let mut items = given.walk();
        Some(given.named_children(&mut items).filter(|n| n.kind() != "comment").map(|n| self.text(n).chars().take(200).collect()).collect())
    }

    /// The callees called only inside lambdas that the arguments of `call`
    /// hand to calls that keep them rather than run them now (see
    /// [`Call::deferred_calls`]).
    fn deferred_calls(&self, call: Node) -> BTreeSet<String> {
        /// Builtins that call a function argument before they return ([`super::RUNNERS`] start one).
        const APPLIERS: [&str; 7] = ["map", "filter", "sorted", "min", "max", "functools.reduce", "reduce"];
        let (mut deferred, mut now) = (BTreeSet::new(), BTreeSet::new());
        // (node, inside a kept lambda, the call whose argument list holds it)
        let mut stack: Vec<(Node, bool, Node)> = Vec::new();
        if let Some(args) = call.child_by_field_name("arguments") {
            stack.push((args, false, call));
        }
        while let Some((node, kept, holder)) = stack.pop() {
            if !self.work.charge(1) {
                break;
            }
            let mut kept = kept;
            if node.kind() == "lambda" {
                let applied = holder
                    .child_by_field_name("function")
                    .and_then(|f| self.resolve(f))
                    .is_some_and(|(callee, _)| APPLIERS.iter().chain(super::RUNNERS.iter()).any(|a| super::matches_name(&callee, a)));
                kept |= !applied;
            }
            let mut holder = holder;
            if node.kind() == "call" {
                if let Some((callee, _)) = node.child_by_field_name("function").and_then(|f| self.resolve(f)) {
                    if kept {
                        deferred.insert(callee)
                    } else {
                        now.insert(callee)
                    };
                }
                holder = node;
            }
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                stack.push((child, kept, holder));
            }
        }
        deferred.retain(|c| !now.contains(c));
        deferred
    }

    fn decode_through_helper(&self, call: Node, strings: &mut Vec<String>) {
        let Some((callee, _)) = call.child_by_field_name("function").and_then(|f| self.resolve(f)) else {
            return;
        };
        let decodes = self.functions.get(&callee).is_some_and(|inner| inner.iter().any(|c| c.ends_with("b64decode")));
        if !decodes {
            return;
        }
        let Some(arg) = call.child_by_field_name("arguments").and_then(|a| a.named_child(0)) else {
            return;
        };
        if let Some(bytes) = fold(arg, self.src, 0).and_then(|s| super::fold::base64_decode(&s, false)) {
            strings.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }

    /// `if __name__ == "__main__":` — code that runs as a script, not on import.
    fn is_main_guard(&self, if_node: Node) -> bool {
        if_node.child_by_field_name("condition").is_some_and(|c| {
            let t = self.text(c);
            t.contains("__name__") && t.contains("__main__")
        })
    }

    fn literal(&mut self, node: Node, parent: Option<Node>) {
        if self.facts.literals.len() >= MAX_LITERALS {
            return;
        }
        match parent {
            // Docstrings and other bare string statements are documentation.
            Some(p) if p.kind() == "expression_statement" && p.named_child_count() == 1 => return,
            // Parts of an implicit concatenation are folded with their siblings.
            Some(p) if p.kind() == "concatenated_string" => return,
            _ => {}
        }
        // An f-string that interpolates is kept as its template (`{}` for each value):
        // the place it names is constant (`f"C:\\Users\\{user}\\…\\Startup"`).
        let value = if node.kind() == "string" {
            string_literal(node, self.src).or_else(|| super::fold::template_text(node, self.src))
        } else {
            fold(node, self.src, 0)
        };
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            // `help_text=("URL of this webhook, e.g. " "https://…")`: the keyword is one level up.
            let doc = parent.map(|p| if p.kind() == "parenthesized_expression" { p.parent().unwrap_or(p) } else { p }).is_some_and(|p| self.documents(p))
                || gives_an_example(&value);
            self.facts.literals.push(Literal { value, line: line_of(node), doc, function: self.current.clone() });
        }
    }

    /// A list of character codes that spells text (`[55, 54, 52, …]`,
    /// decoded later by `"".join(chr(i) for i in codes)`) is a string
    /// constant written so that no reader sees it: kept as a literal, for
    /// the rules that read constants. Sixteen printable codes or more; a
    /// table of numbers rarely spells anything the rules look for.
    fn character_codes(&mut self, node: Node) {
        const MIN_CODES: usize = 16;
        if self.facts.literals.len() >= MAX_LITERALS || node.named_child_count() < MIN_CODES || node.named_child_count() > 4096 {
            return;
        }
        let Some(text) = super::fold::int_codes(node, self.src).map(|codes| codes.into_iter().collect::<String>()) else { return };
        if text.chars().all(|c| (' '..='~').contains(&c)) {
            self.facts.literals.push(Literal { value: text, line: line_of(node), doc: false, function: self.current.clone() });
        }
    }

    /// True when a string whose parent is `parent` is documentation: a
    /// `help=`-style keyword's value, or a documentation constant's.
    fn documents(&self, parent: Node) -> bool {
        const DOC_KEYWORDS: [&str; 12] =
            ["help", "help_text", "description", "placeholder", "example", "examples", "epilog", "usage", "doc", "summary", "long_description", "verbose_name"];
        const DOC_NAMES: [&str; 7] = ["EXAMPLES", "EXAMPLE", "DOCUMENTATION", "RETURN", "USAGE", "HELP", "__doc__"];
        let name = match parent.kind() {
            "keyword_argument" => parent.child_by_field_name("name"),
            "assignment" => parent.child_by_field_name("left"),
            _ => None,
        };
        let Some(name) = name.map(|n| self.text(n)) else { return false };
        if parent.kind() == "keyword_argument" {
            return DOC_KEYWORDS.contains(&name);
        }
        DOC_NAMES.contains(&name) || ["_HELP", "_DOC", "_DOCS", "_USAGE", "_EXAMPLE", "_EXAMPLES", "_DESCRIPTION"].iter().any(|s| name.ends_with(s))
    }

    fn class(&mut self, node: Node) {
        let Some(supers) = node.child_by_field_name("superclasses") else {
            return;
        };
        let mut cursor = supers.walk();
        for base in supers.named_children(&mut cursor) {
            let Some((resolved, _)) = self.resolve(base) else {
                continue;
            };
            let last = resolved.rsplit('.').next().unwrap_or(&resolved);
            let from_setuptools = resolved.contains("setuptools") || resolved.contains("distutils") || resolved == last;
            let name = || node.child_by_field_name("name").map(|n| self.text(n).to_string()).unwrap_or_default();
            if COMMAND_BASES.contains(&last) && from_setuptools {
                let class = name();
                // `sdist` makes a source archive: a maintainer runs it, an install never does.
                if last == "sdist" {
                    self.facts.new_commands.push((class.clone(), line_of(node), node.end_position().row as u32 + 1));
                }
                self.facts.command_classes.push((format!("{class}({last})"), line_of(node)));
            } else if last == "Command" && from_setuptools {
                self.facts.new_commands.push((name(), line_of(node), node.end_position().row as u32 + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(src: &str) -> Vec<Call> {
        analyze(src.as_bytes()).calls
    }

    #[test]
    fn callees_resolve_through_import_aliases() {
        let c = calls("import subprocess as sp\nfrom os import system as run\nsp.Popen(['ls'])\nrun('id')\n");
        assert_eq!(c[0].callee, "subprocess.Popen");
        assert_eq!(c[1].callee, "os.system");
        assert_eq!(c[1].strings, ["id"]);
    }

    #[test]
    fn getattr_on_builtins_with_built_names_is_seen_as_the_real_call() {
        let c = calls("getattr(__builtins__, 'ex' + 'ec')(payload)\n");
        let exec = c.iter().find(|c| c.callee == "exec").expect("exec resolved");
        assert!(exec.hidden);
        let c = calls("getattr(__import__('builtins'), ''.join([chr(101), chr(120), chr(101), chr(99)]))('x')\n");
        assert!(c.iter().any(|c| c.callee == "exec" && c.hidden), "{c:?}");
        let c = calls("__builtins__.__dict__['ev'+'al']('1')\n");
        assert!(c.iter().any(|c| c.callee == "eval" && c.hidden), "{c:?}");
    }

    #[test]
    fn getattr_on_builtins_by_a_variable_resolves_only_when_the_variable_holds_exec() {
        let c = calls("n = 'ex' + 'ec'\ngetattr(__builtins__, n)(payload)\n");
        assert!(c.iter().any(|c| c.callee == "exec" && c.hidden), "{c:?}");
        let c = calls("import builtins\ndef convert(type_name, value):\n    return getattr(builtins, type_name)(value)\n");
        assert!(c.iter().all(|c| !c.hidden), "{c:?}");
        let c = calls("getattr(__builtins__, key.decode())(payload)\n");
        assert!(c.iter().any(|c| c.callee == "__builtins__.?" && c.hidden), "{c:?}");
    }

    #[test]
    fn dunder_import_resolves_to_the_module() {
        let c = calls("__import__('os').system('curl x | sh')\nm = __import__('subprocess')\nm.call('x')\n");
        assert!(c.iter().any(|c| c.callee == "os.system" && c.hidden));
        assert!(c.iter().any(|c| c.callee == "subprocess.call"));
    }

    #[test]
    fn decoded_data_flowing_into_exec_is_tracked_through_variables() {
        let src = "import base64\ncode = base64.b64decode('cHJpbnQoMSk=')\nexec(code)\n";
        let c = calls(src);
        let exec = c.iter().find(|c| c.callee == "exec").unwrap();
        assert!(exec.inner_has(&["base64.b64decode"]), "{exec:?}");
    }

    #[test]
    fn relative_imports_keep_their_dots() {
        let f = analyze(b"from .keyboard import KeyMap\nfrom . import util\nfrom ..net import socket\nKeyMap()\n");
        let modules: Vec<&str> = f.imports.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(modules, [".keyboard", ".keyboard.KeyMap", ".", ".util", "..net", "..net.socket"]);
        assert_eq!(f.calls[0].callee, ".keyboard.KeyMap");
    }

    #[test]
    fn scope_tells_module_level_from_function_bodies() {
        let c = calls("import os\nos.system('a')\ndef f():\n    os.system('b')\n");
        assert_eq!(c[0].scope, Scope::Module);
        assert_eq!((c[1].scope, c[1].function.as_deref()), (Scope::Function, Some("f")));
    }

    #[test]
    fn comments_and_docstrings_are_not_calls_or_literals() {
        let f = analyze(b"\"\"\"exec(base64.b64decode(x)) in a docstring\"\"\"\n# os.system('rm -rf /')\nx = 1\n");
        assert!(f.calls.is_empty());
        assert!(f.literals.is_empty());
    }

    #[test]
    fn reversed_strings_fold() {
        let c = calls("exec('tnirp'[::-1])\n");
        assert_eq!(c[0].strings, ["print"]);
        assert!(c[0].reversed);
    }

    #[test]
    fn command_subclasses_are_found() {
        let f = analyze(b"from setuptools.command.install import install\nclass Evil(install):\n    def run(self):\n        pass\n");
        assert_eq!(f.command_classes, [("Evil(install)".to_string(), 2)]);
    }

    #[test]
    fn deeply_nested_input_does_not_overflow() {
        let src = format!("x = {}1{}\n", "(".repeat(50_000), ")".repeat(50_000));
        let _ = analyze(src.as_bytes());
        let src = format!("f({})\n", "[".repeat(20_000));
        let _ = analyze(src.as_bytes());
    }
}
