//! Resolving a callee expression to a dotted name (`sp.Popen` to
//! `subprocess.Popen`, `getattr(builtins, "ex" + "ec")` to a hidden `exec`).
//!
//! Why it is shaped this way: a method chain `a.b().c().d()…` nests each
//! link inside the next, and resolving a link needs the name of the link
//! below it, sometimes twice (once to see whether it is an `__import__`, once
//! to name it). Resolved plainly by recursion, that is two calls per link and
//! time exponential in the chain's length; a 24-link builder chain in real
//! code took minutes. So names are resolved once per node and remembered
//! (for the statement being walked), the chain is climbed with a loop rather
//! than recursion, and a name never grows past [`MAX_NAME`] bytes, so each
//! link costs the same whatever the chain's length.

use tree_sitter::Node;

use super::fold::fold;
use super::walk::{is_builtins_name, Walker, CODE_RUNNERS};

/// Longest resolved name, in bytes. Real callees are a few dozen bytes; a
/// longer name keeps its head (the module it starts from) and its tail (the
/// last attributes) around a `…`.
pub(super) const MAX_NAME: usize = 256;
/// Bytes of a long name kept before the `…`, and after it.
const NAME_HEAD: usize = 128;
const NAME_TAIL: usize = 120;
/// Deepest nesting of resolutions through call arguments (`getattr(getattr(…), …)`),
/// which recurse; chains of attributes and calls loop instead.
const MAX_ARGUMENT_DEPTH: u32 = 64;

/// `name`, cut to [`MAX_NAME`] bytes around a `…` when longer.
pub(super) fn bounded(name: String) -> String {
    if name.len() <= MAX_NAME {
        return name;
    }
    let mut head = NAME_HEAD;
    while !name.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = name.len() - NAME_TAIL;
    while !name.is_char_boundary(tail) {
        tail += 1;
    }
    // An earlier cut already ends the head with `…`: keep one.
    let head = name[..head].trim_end_matches('…');
    format!("{head}…{}", &name[tail..])
}

impl<'a> Walker<'a> {
    /// Resolve a callee expression to a dotted name; the flag says it was hidden.
    pub(super) fn resolve(&self, node: Node) -> Option<(String, bool)> {
        if let Some(known) = self.resolved.borrow().get(&node.id()) {
            return known.clone();
        }
        let depth = self.resolve_depth.get();
        if depth >= MAX_ARGUMENT_DEPTH {
            return None;
        }
        self.resolve_depth.set(depth + 1);
        // The spine of a chain, outermost first, down to a node already resolved or a leaf.
        let mut spine = Vec::new();
        let mut at = Some(node);
        while let Some(n) = at {
            if self.resolved.borrow().contains_key(&n.id()) {
                break;
            }
            spine.push(n);
            at = match n.kind() {
                "attribute" => n.child_by_field_name("object"),
                "call" => n.child_by_field_name("function"),
                "parenthesized_expression" => n.named_child(0),
                _ => None,
            };
        }
        // Innermost first: each link finds the one below it resolved.
        for n in spine.into_iter().rev() {
            let value = if self.work.charge(1) { self.resolve_one(n) } else { None };
            self.resolved.borrow_mut().insert(n.id(), value);
        }
        self.resolve_depth.set(depth);
        self.resolved.borrow().get(&node.id()).cloned().flatten()
    }

    /// One link of a chain; the links below it are resolved already.
    fn resolve_one(&self, node: Node) -> Option<(String, bool)> {
        match node.kind() {
            "identifier" => {
                let name = self.text(node);
                Some((bounded(self.aliases.get(name).cloned().unwrap_or_else(|| name.to_string())), self.hidden_aliases.contains(name)))
            }
            "attribute" => {
                let object = node.child_by_field_name("object")?;
                let attr = self.text(node.child_by_field_name("attribute")?);
                let (base, hidden) = match object.kind() {
                    "call" => match self.imported_module(object) {
                        Some(module) => (module, true),
                        None => {
                            let (inner, hidden) = self.resolve(object.child_by_field_name("function")?)?;
                            (bounded(format!("{inner}()")), hidden)
                        }
                    },
                    _ => self.resolve(object)?,
                };
                if is_builtins_name(&base) {
                    // `builtins.eval(...)` names its callee plainly; only computed names hide.
                    return Some((bounded(attr.to_string()), hidden));
                }
                Some((bounded(format!("{base}.{attr}")), hidden))
            }
            "call" => {
                // getattr(obj, "name")(...) and __import__("os")(...)-style callees.
                let function = node.child_by_field_name("function")?;
                let (fname, _) = self.resolve(function)?;
                let args = node.child_by_field_name("arguments")?;
                if fname == "getattr" {
                    let object = args.named_child(0)?;
                    let name_arg = args.named_child(1)?;
                    let name = match fold(name_arg, self.src, 0) {
                        Some(name) => name,
                        None if is_builtins_name(self.text(object)) => {
                            match self.variable_holding_code_runner(name_arg) {
                                // `n = "ex" + "ec"` earlier: the variable holds the name.
                                Some(name) => name,
                                // A lookup by a plain variable (`getattr(builtins, type_name)`) is ordinary dispatch.
                                None if reads_data(name_arg, self.src) => return None,
                                // Computed in a way that does not fold: unknown, and hidden.
                                None => "__builtins__.?".to_string(),
                            }
                        }
                        None => return None,
                    };
                    let base = match object.kind() {
                        "call" => self.imported_module(object).or_else(|| self.resolve(object).map(|r| r.0)),
                        _ => self.resolve(object).map(|r| r.0),
                    }?;
                    if is_builtins_name(&base) || base == "__import__()" {
                        return Some((bounded(name), true));
                    }
                    return Some((bounded(format!("{base}.{name}")), true));
                }
                Some((bounded(format!("{fname}()")), false))
            }
            "subscript" => {
                // __builtins__["exec"], globals()["exec"], vars(builtins)["exec"]
                let value = node.child_by_field_name("value")?;
                let key = fold(node.child_by_field_name("subscript")?, self.src, 0)?;
                let base = self.text(value).replace(' ', "");
                let is_namespace = is_builtins_name(&base)
                    || matches!(base.as_str(), "globals()" | "locals()" | "vars()" | "vars(__builtins__)" | "vars(builtins)")
                    || base.ends_with("__dict__")
                    || base.contains("__builtins__");
                is_namespace.then(|| (bounded(key), true))
            }
            "parenthesized_expression" => self.resolve(node.named_child(0)?),
            _ => None,
        }
    }

    /// The module a call like `__import__("os")` or `importlib.import_module("os")` loads.
    pub(super) fn imported_module(&self, call: Node) -> Option<String> {
        let function = call.child_by_field_name("function")?;
        let name = self.resolve(function).map(|(n, _)| n)?;
        if name == "__import__" || name == "importlib.import_module" {
            let arg = call.child_by_field_name("arguments")?.named_child(0)?;
            return fold(arg, self.src, 0).map(bounded);
        }
        None
    }

    /// The builtin that runs code (`exec`, `eval`, …) whose name a variable
    /// was assigned, as in `n = "ex" + "ec"; getattr(builtins, n)(code)`.
    pub(super) fn variable_holding_code_runner(&self, node: Node) -> Option<String> {
        if node.kind() != "identifier" {
            return None;
        }
        let taint = self.variable(self.text(node))?;
        taint.strings.iter().find(|s| CODE_RUNNERS.contains(&s.as_str())).cloned()
    }
}

/// A name read from data rather than computed to hide it: a variable or
/// attribute (`type_name`, `self.kind`), an item of one (`parts[1]`,
/// `spec["type"]`, `self.argtypes[i][0]`; not a slice, which is how
/// `"cexe"[::-1]` hides a name), or one of those trimmed or split by a
/// string method (`d["key_type"].removeprefix("builtins.")`). A
/// deserializer finding `int` or `list` by name does this; an obfuscator
/// builds the name from pieces, decodes it or cuts it out of a constant.
fn reads_data(node: Node, src: &[u8]) -> bool {
    const TRIMS: [&str; 10] = ["removeprefix", "removesuffix", "strip", "lstrip", "rstrip", "lower", "upper", "split", "rsplit", "get"];
    match node.kind() {
        "identifier" | "attribute" => true,
        "subscript" => {
            let index_is_slice = node.child_by_field_name("subscript").is_some_and(|i| i.kind() == "slice");
            !index_is_slice && node.child_by_field_name("value").is_some_and(|v| reads_data(v, src))
        }
        "call" => node.child_by_field_name("function").is_some_and(|f| {
            f.kind() == "attribute"
                && f.child_by_field_name("attribute").and_then(|a| a.utf8_text(src).ok()).is_some_and(|m| TRIMS.contains(&m))
                && f.child_by_field_name("object").is_some_and(|o| reads_data(o, src))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_head_and_tail() {
        let short = "subprocess.check_output().decode".to_string();
        assert_eq!(bounded(short.clone()), short);
        let long = format!("requests.Session(){}.post", ".retry()".repeat(100));
        let cut = bounded(long);
        assert!(cut.len() <= MAX_NAME + '…'.len_utf8(), "{}", cut.len());
        assert!(cut.starts_with("requests.Session().retry()"), "{cut}");
        assert!(cut.ends_with(".retry().post") && cut.contains('…'), "{cut}");
        // Cutting again keeps one marker.
        let again = bounded(format!("{cut}{}", "().more".repeat(40)));
        assert_eq!(again.matches('…').count(), 1, "{again}");
    }
}
