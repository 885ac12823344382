//! Hiding rules: code shaped to be unreadable. Long encoded blobs, huge
//! single lines, and known packers.

use crate::finding::{Finding, Severity};
use crate::rules::code::payload::looks_encoded;
use crate::rules::code::PyFile;

/// Shannon entropy in bits per byte.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| {
        let p = *c as f64 / n;
        -p * p.log2()
    }).sum()
}

pub fn run(file: &PyFile, out: &mut Vec<Finding>) {
    if let Some(lit) = file.facts.literals.iter().find(|l| l.value.len() >= 1000 && looks_encoded(&l.value) && entropy(&l.value) > 4.5) {
        out.push(file.finding(
            "hiding/encoded-blob",
            file.weigh(Severity::Medium),
            lit.line,
            format!("a {}-character encoded string: a payload or packed code", lit.value.len()),
        ));
    }
    if let Some((i, line)) = file.text.lines().enumerate().find(|(_, l)| l.len() > 20_000) {
        out.push(file.finding(
            "hiding/long-line",
            file.weigh(Severity::Medium),
            i as u32 + 1,
            format!("a {}-character line: minified or packed code", line.len()),
        ));
    }
    const PACKERS: [(&str, &str); 3] = [("__pyarmor__", "PyArmor"), ("pyarmor_runtime", "PyArmor"), ("__obfuscator__", "an obfuscator")];
    if let Some((marker, name)) = PACKERS.iter().find(|(m, _)| file.text.contains(m)) {
        let line = file.text.lines().position(|l| l.contains(marker)).unwrap_or(0) as u32 + 1;
        out.push(file.finding("hiding/packer", file.weigh(Severity::High), line, format!("code packed with {name} cannot be reviewed")));
    }
}
