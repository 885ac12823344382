//! Scratch: print the calls the analysis sees in a Python file (debugging aid).
fn main() {
    let path = std::env::args().nth(1).expect("path");
    let src = std::fs::read(path).expect("read");
    let facts = airlock_inspect::python::analyze(&src);
    for c in &facts.calls {
        println!("{} {} strings={:?} args={:?} scope={:?} fn={:?}", c.line, c.callee, c.strings, c.arg_texts, c.scope, c.function);
    }
}
