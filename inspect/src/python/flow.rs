//! What flows into a call's arguments: the calls made inside them (so that
//! `exec(base64.b64decode(x))` is an exec of decoded data), the strings in
//! them, and whether they reverse a sequence.
//!
//! Why it is shaped this way: every call's arguments are scanned, and in
//! `f(g(h(…)))` the arguments of `f` hold those of `g`, which hold those of
//! `h`. Scanned afresh for each call, deep nesting costs the square of its
//! depth. So what flows out of each nested call is computed once, bottom-up,
//! and remembered for the statement; a scan that meets a call it has seen
//! takes the remembered flow instead of descending again. A flow keeps at
//! most [`MAX_CALLS`] callees and [`MAX_STRINGS`] strings, so merging one is
//! cheap whatever the nesting.

use std::collections::BTreeSet;
use std::rc::Rc;

use tree_sitter::Node;

use super::fold::{fold, string_literal};
use super::walk::{carries_through_helpers, literal_parts, Walker};

/// The callee a flow records for an element-wise XOR (see [`is_element_xor`]).
pub(crate) const XOR_DECODE: &str = "operator.xor";

/// True when `node` XORs each element of a sequence: a `^` that is the
/// body of a comprehension, or the argument of a call in one
/// (`chr(ord(c) ^ k) for c in s`).
fn is_element_xor(node: Node, parent: Option<Node>) -> bool {
    let xor = node.child_by_field_name("operator").is_some_and(|o| o.kind() == "^");
    xor && parent.is_some_and(|p| matches!(p.kind(), "list_comprehension" | "generator_expression" | "set_comprehension" | "argument_list"))
}

/// Most distinct callees a flow keeps.
const MAX_CALLS: usize = 256;
/// Most strings a flow keeps.
const MAX_STRINGS: usize = 80;
/// Most strings one variable passes on where it is used.
const STRINGS_PER_VARIABLE: usize = 16;

/// What a local variable was assigned from, or what flows into an argument.
#[derive(Debug, Clone, Default)]
pub(super) struct Taint {
    pub(super) calls: BTreeSet<String>,
    pub(super) strings: Vec<String>,
    pub(super) reversed: bool,
}

/// A string met in a scan, and whether it was written as a literal (and
/// not passed on by a variable). Shared, not copied, as flows merge: a
/// long literal deep in nested calls is one allocation.
#[derive(Debug, Clone)]
struct FlowString {
    value: Rc<str>,
    literal: bool,
}

/// What flows out of a subtree, before the subtree as a whole is folded.
#[derive(Debug, Clone, Default)]
pub(super) struct Flow {
    calls: BTreeSet<Rc<str>>,
    strings: Vec<FlowString>,
    reversed: bool,
}

impl Flow {
    fn add_call(&mut self, callee: &str) {
        if self.calls.len() < MAX_CALLS && !self.calls.contains(callee) {
            self.calls.insert(Rc::from(callee));
        }
    }

    fn add_string(&mut self, value: &str, literal: bool) {
        if self.strings.len() < MAX_STRINGS {
            self.strings.push(FlowString { value: Rc::from(value), literal });
        }
    }

    /// Take in what flows out of a part of the subtree; returns the work it took.
    fn absorb(&mut self, part: &Flow) -> u64 {
        // Into the larger set: a flow that grows through deep nesting is
        // cloned (pointers, no comparisons), not rebuilt one name at a time.
        // Past the cap, this flow's own names stay (they are nearer the
        // scan's root, as a scan in source order would have kept them).
        if part.calls.len() > self.calls.len() {
            let mine = std::mem::replace(&mut self.calls, part.calls.clone());
            self.calls.extend(mine.iter().cloned());
            let excess = self.calls.len().saturating_sub(MAX_CALLS);
            let dropped: Vec<Rc<str>> = self.calls.iter().rev().filter(|c| !mine.contains(*c)).take(excess).cloned().collect();
            for c in &dropped {
                self.calls.remove(c);
            }
        } else {
            for callee in &part.calls {
                if self.calls.len() >= MAX_CALLS {
                    break;
                }
                self.calls.insert(callee.clone());
            }
        }
        let room = MAX_STRINGS.saturating_sub(self.strings.len());
        self.strings.extend(part.strings.iter().take(room).cloned());
        self.reversed |= part.reversed;
        (part.calls.len().min(self.calls.len()) + part.strings.len().min(room)) as u64 + 1
    }
}

/// Assignments, whose value the walk scans on its own.
const ASSIGNMENTS: [&str; 3] = ["assignment", "named_expression", "augmented_assignment"];

/// A node met in a scan, with the field of its parent it fills.
#[derive(Clone, Copy)]
struct Step<'t> {
    node: Node<'t>,
    field: Option<&'t str>,
}

/// True when `node` is scanned on its own as well as inside what holds it:
/// a call (for its arguments) or the value of an assignment. A call that
/// is the function of another (`a.b()` in `a.b().c()`) is not: no scan
/// starts inside the callee of a chain, so one flow covers the whole chain.
fn is_part(node: Node, field: Option<&str>, path: &[Step]) -> bool {
    let parent = path.last();
    let parent_kind = parent.map(|p| p.node.kind());
    if node.kind() == "call" {
        let callee_of_call = match (field, parent_kind) {
            (Some("function"), Some("call")) => true,
            (Some("object"), Some("attribute")) => {
                parent.is_some_and(|p| p.field == Some("function")) && path.len() >= 2 && path[path.len() - 2].node.kind() == "call"
            }
            _ => false,
        };
        return !callee_of_call;
    }
    matches!(field, Some("right" | "value")) && parent_kind.is_some_and(|k| ASSIGNMENTS.contains(&k))
}

/// True for the slice `::-1` (spaces allowed), which reverses a sequence.
fn is_reversal(slice: &str) -> bool {
    // Length first: a slice can hold a whole expression, and this runs for every slice.
    slice.len() <= 16 && slice.replace(' ', "") == "::-1"
}

impl<'a> Walker<'a> {
    /// What flows out of an expression: calls inside it, strings it folds to.
    pub(super) fn taint_of(&self, expr: Node) -> Taint {
        let folded = fold(expr, self.src, 0);
        // An expression that folds whole is its folded value; its literal pieces add nothing.
        let whole = folded.is_some();
        let flow = self.flow_of(expr);
        let mut strings: Vec<String> = folded.into_iter().collect();
        strings.extend(flow.strings.iter().filter(|s| !(whole && s.literal)).take(MAX_STRINGS).map(|s| s.value.to_string()));
        strings.truncate(MAX_STRINGS);
        // Copies made here are output; count them, bytes too, so that one
        // long literal repeated into the facts of many calls meets the budget.
        let bytes: usize = strings.iter().map(String::len).sum();
        self.work.charge((flow.calls.len() + strings.len() + bytes / 64) as u64);
        Taint { calls: flow.calls.iter().map(|c| c.to_string()).collect(), strings, reversed: flow.reversed }
    }

    /// What flows out of the subtree at `root`, in source order: one pass
    /// over the nodes not inside a part already seen, with an open flow for
    /// each part entered (a call, or the value of an assignment, which are
    /// scanned again on their own); leaving a part closes its flow,
    /// remembers it, and merges it into the enclosing one.
    fn flow_of(&self, root: Node) -> Rc<Flow> {
        if let Some(known) = self.flows.borrow().get(&root.id()) {
            return known.clone();
        }
        // (the node whose flow this is, the flow so far)
        let mut open: Vec<(Node, Flow)> = vec![(root, Flow::default())];
        // The nodes from the root down to the current one.
        let mut path: Vec<Step> = Vec::new();
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            let field = if node == root { None } else { cursor.field_name() };
            let parent = path.last().map(|p| p.node);
            let mut descend = false;
            if !self.work.charge(1) {
                // Out of budget: the walk stops at its next step; finish with what was seen.
            } else if node != root && is_part(node, field, &path) {
                let known = self.flows.borrow().get(&node.id()).cloned();
                match known {
                    Some(known) => {
                        let top = &mut open.last_mut().expect("the root's flow stays open").1;
                        self.work.charge(top.absorb(&known));
                    }
                    None => {
                        let mut flow = Flow::default();
                        self.contribute(node, parent, &mut flow);
                        open.push((node, flow));
                        descend = true;
                    }
                }
            } else {
                self.contribute(node, parent, &mut open.last_mut().expect("the root's flow stays open").1);
                descend = true;
            }
            if descend && cursor.goto_first_child() {
                path.push(Step { node, field });
                continue;
            }
            // Leave this node, and every ancestor that has no next sibling.
            let mut at = node;
            loop {
                if open.len() > 1 && open.last().is_some_and(|(n, _)| *n == at) {
                    self.close(&mut open);
                }
                if at == root {
                    break 'walk;
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    // Not reached: the root is an ancestor of every node visited.
                    break 'walk;
                }
                at = path.pop().map_or(root, |p| p.node);
            }
        }
        let flow = Rc::new(open.swap_remove(0).1);
        self.flows.borrow_mut().insert(root.id(), flow.clone());
        flow
    }

    /// Close the innermost open call's flow: remember it and merge it into the enclosing flow.
    fn close(&self, open: &mut Vec<(Node, Flow)>) {
        let Some((call, flow)) = open.pop() else {
            return;
        };
        let flow = Rc::new(flow);
        self.flows.borrow_mut().insert(call.id(), flow.clone());
        if let Some((_, outer)) = open.last_mut() {
            self.work.charge(outer.absorb(&flow));
        }
    }

    /// What one node adds to the flow of the subtree it is in.
    fn contribute(&self, node: Node, parent: Option<Node>, flow: &mut Flow) {
        match node.kind() {
            "call" => {
                let Some((callee, _)) = node.child_by_field_name("function").and_then(|f| self.resolve(f)) else {
                    return;
                };
                // A method helper (`self.decode(x)`) is looked up by its name, as a function is.
                if let Some(inner) = self.functions.get(&callee).or_else(|| self.functions.get(callee.strip_prefix("self.")?)) {
                    for carried in inner.iter().filter(|c| carries_through_helpers(c)) {
                        flow.add_call(carried);
                    }
                }
                flow.add_call(&callee);
            }
            // The running interpreter, named in a command list kept in a variable
            // (`cmd = [sys.executable, "build.py"]`): recorded as if called, so
            // that the process call given the variable knows what it starts.
            "attribute" if self.text(node).ends_with("executable") => {
                if let Some((name, _)) = self.resolve(node).filter(|(n, _)| n == "sys.executable") {
                    flow.add_call(&name);
                }
            }
            "slice" if is_reversal(self.text(node)) => flow.reversed = true,
            // `bytes([b ^ key for b in blob])`, `chr(ord(c) ^ key)`: each element
            // XORed with a key, the oldest cipher; it counts as a call of the
            // function that does the same (`operator.xor`), for the rules on decoding.
            "binary_operator" if is_element_xor(node, parent) => flow.add_call(XOR_DECODE),
            "identifier" => {
                if let Some(prior) = self.variable(self.text(node)) {
                    self.work.charge((prior.calls.len() + prior.strings.len()) as u64);
                    for callee in &prior.calls {
                        flow.add_call(callee);
                    }
                    flow.reversed |= prior.reversed;
                    for s in prior.strings.iter().take(STRINGS_PER_VARIABLE) {
                        flow.add_string(s, false);
                    }
                }
            }
            // An implicit concatenation counts as a whole: folded, or, when an
            // f-string part interpolates, the text of its parts outside the
            // interpolations (`'mkdir ' f'{dest}/pkg'` is `mkdir /pkg`).
            "concatenated_string" if flow.strings.len() < MAX_STRINGS => {
                let whole = fold(node, self.src, 0);
                let literal = whole.is_some();
                let value = whole.or_else(|| {
                    let mut cursor = node.walk();
                    let parts: Vec<String> =
                        node.named_children(&mut cursor).filter_map(|p| string_literal(p, self.src).or_else(|| literal_parts(p, self.src))).collect();
                    Some(parts.concat()).filter(|v| !v.is_empty())
                });
                if let Some(value) = value {
                    flow.add_string(&value, literal);
                }
            }
            // Parts of an implicit concatenation count only as the whole (above).
            "string" if parent.is_none_or(|p| p.kind() != "concatenated_string") && flow.strings.len() < MAX_STRINGS => {
                if let Some(value) = string_literal(node, self.src).or_else(|| literal_parts(node, self.src)) {
                    flow.add_string(&value, true);
                }
            }
            _ => {}
        }
    }
}
