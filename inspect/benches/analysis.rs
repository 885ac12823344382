//! How the Python analysis's time grows with the shape of the code: method
//! chain length, call nesting depth, concatenation length and literal size,
//! each at 10 to 10,000. Prints one table; time per unit staying flat as the
//! size grows is what linear looks like.
//!
//!   cargo bench -p airlock-inspect --bench analysis [-- SHAPE]
//!
//! (SHAPE picks the shapes whose name contains it, as `chain`.) The parse
//! column is tree-sitter's share of the time: the analysis walks the tree
//! the parse builds.
//!
//! Each figure is the fastest of several runs of `analyze` on generated
//! source (parse included), so it is the engine's time, not the machine's
//! noise.

use std::time::{Duration, Instant};

use airlock_inspect::python::analyze;

/// A builder chain inside a method, as in the report that started this bench.
fn chain(n: usize) -> String {
    let links: String = (0..n).map(|i| format!("            .environment_variable(\"K{i}\", attrs[\"k{i}\"])\n")).collect();
    format!("class Batch:\n    def create_job(self, attrs):\n        job = (\n            self.client.job()\n{links}        )\n        return job\n")
}

/// Calls nested in each other's arguments, a decoded payload at the bottom.
fn nesting(n: usize) -> String {
    format!("import base64\nexec({}base64.b64decode('eA=='){})\n", "wrap(".repeat(n), ")".repeat(n))
}

/// A string built by `+`, then run.
fn concatenation(n: usize) -> String {
    format!("import os\ncmd = {}'x'\nos.system(cmd)\n", "'a' + ".repeat(n))
}

/// A list literal passed to a call.
fn literal(n: usize) -> String {
    let items: String = (0..n).map(|i| format!("    \"Topic :: Item {i}\",\n")).collect();
    format!("from setuptools import setup\nsetup(name=\"x\", classifiers=[\n{items}])\n")
}

/// Fastest of enough runs of `f` to fill about 300 ms (at least 3).
fn fastest(mut f: impl FnMut()) -> Duration {
    let mut best = Duration::MAX;
    let started = Instant::now();
    let mut runs = 0;
    while runs < 3 || (started.elapsed() < Duration::from_millis(300) && runs < 1_000) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
        runs += 1;
    }
    best
}

fn parse(src: &str) {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("the grammar loads");
    assert!(parser.parse(src, None).is_some());
}

/// A shape of source: its name, what one unit of it is, and its generator.
type Shape = (&'static str, &'static str, fn(usize) -> String);

fn main() {
    let shapes: [Shape; 4] =
        [("method chain", "link", chain), ("call nesting", "level", nesting), ("concatenation", "term", concatenation), ("list literal", "item", literal)];
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    println!("| shape | size | source bytes | work units | parse | analysis (parse included) | per unit |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, unit, make) in shapes {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        for n in [10, 100, 1_000, 10_000] {
            let src = make(n);
            let facts = analyze(src.as_bytes());
            assert!(!facts.calls.is_empty() && !facts.out_of_budget);
            let parsing = fastest(|| parse(&src));
            let t = fastest(|| {
                analyze(src.as_bytes());
            });
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {name} | {n} | {} | {} | {:.3} ms | {:.3} ms | {:.2} µs/{unit} |",
                src.len(),
                facts.work,
                ms(parsing),
                ms(t),
                t.as_secs_f64() * 1e6 / n as f64
            );
        }
    }
}
