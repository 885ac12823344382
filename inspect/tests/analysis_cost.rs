//! The Python analysis takes time linear in the code, whatever shape the
//! code has: long method chains, deep nesting, long concatenations. Each
//! test here is a shape that once took exponential or quadratic time (a
//! 28-link builder chain in real code never finished); the tests check the
//! analysis finishes and still gets the facts right. Timings are measured
//! by the bench (`cargo bench -p airlock-inspect --bench analysis`), not here.

use airlock_inspect::python::{analyze, Call};

/// The reported shape: a builder chain inside a method, one argument read from a dict per link.
fn builder_chain(links: usize) -> String {
    let mut src = String::from("class Batch:\n    def create_job(self, attrs):\n        job = (\n            self.client.job()\n");
    for i in 0..links {
        src.push_str(&format!("            .environment_variable(\"K{i}\", attrs[\"k{i}\"])\n"));
    }
    src.push_str("        )\n        return job\n");
    src
}

fn chain_calls(links: usize) -> Vec<Call> {
    let facts = analyze(builder_chain(links).as_bytes());
    assert!(!facts.out_of_budget);
    facts.calls.into_iter().filter(|c| c.callee.ends_with(".environment_variable")).collect()
}

#[test]
fn a_forty_link_method_chain_resolves_every_link() {
    let calls = chain_calls(40);
    assert_eq!(calls.len(), 40);
    // The walk meets the outermost link first; the innermost is called on the client's job.
    let innermost = calls.last().unwrap();
    assert_eq!(innermost.callee, "self.client.job().environment_variable");
    assert_eq!(innermost.strings, ["K0", "k0"]);
    assert_eq!(innermost.function.as_deref(), Some("create_job"));
    assert!(calls[0].callee.starts_with("self.client.job().environment_variable().environment_variable()"), "{}", calls[0].callee);
}

#[test]
fn a_two_thousand_link_method_chain_resolves_with_bounded_names() {
    let calls = chain_calls(2_000);
    assert_eq!(calls.len(), 2_000);
    assert!(calls.iter().all(|c| c.callee.starts_with("self.client.job().environment_variable") && c.callee.len() <= 260), "{}", calls[0].callee);
    assert_eq!(calls[0].strings, ["K1999", "k1999"]);
}

#[test]
fn a_method_chain_on_an_imported_module_keeps_the_module() {
    let src = format!("import requests\nrequests.Session(){}.post('u', data=x)\n", ".mount('a', b)".repeat(3_000));
    let facts = analyze(src.as_bytes());
    let post = facts.calls.iter().find(|c| c.callee.ends_with(".post")).expect("the last link is a call");
    assert!(post.callee.starts_with("requests.Session().mount()"), "{}", post.callee);
}

#[test]
fn deeply_nested_calls_carry_the_innermost_call_out() {
    let depth = 5_000;
    let src = format!("import base64\nexec({}base64.b64decode('eA=='){})\n", "wrap(".repeat(depth), ")".repeat(depth));
    let facts = analyze(src.as_bytes());
    let exec = facts.calls.iter().find(|c| c.callee == "exec").expect("exec is a call");
    assert!(exec.inner_has(&["base64.b64decode"]), "{:?}", exec.inner_calls);
    assert_eq!(facts.calls.len(), depth + 2);
}

#[test]
fn deeply_nested_calls_with_distinct_callees_keep_a_bounded_set() {
    let depth = 3_000;
    let opens: String = (0..depth).map(|i| format!("f{i}(")).collect();
    let src = format!("exec({opens}1{})\n", ")".repeat(depth));
    let facts = analyze(src.as_bytes());
    let exec = facts.calls.iter().find(|c| c.callee == "exec").expect("exec is a call");
    assert!(exec.inner_has(&["f0"]) && exec.inner_calls.len() <= 256, "{}", exec.inner_calls.len());
}

#[test]
fn long_concatenations_and_nested_assignments_finish() {
    let src = format!("import os\nx = {}'a'\nos.system(x)\n", "'a' + ".repeat(20_000));
    let facts = analyze(src.as_bytes());
    assert!(facts.calls.iter().any(|c| c.callee == "os.system"));
    let src = format!("y = {}g(1){}\n", "(a := ".repeat(3_000), ")".repeat(3_000));
    let facts = analyze(src.as_bytes());
    assert_eq!(facts.calls.len(), 1);
}
