//! Tree-sitter Python analysis of one source file.
#![no_main]

use airlock_inspect::python;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(python::analyze(data));
});
