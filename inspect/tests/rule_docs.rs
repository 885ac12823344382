//! The rule reference in docs/rules.md is generated from the rule table;
//! this test fails when they drift (regenerate with `airlock rules > docs/rules.md`),
//! and when the engine can emit a rule id that has no section there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use airlock_inspect::rules::RULES;

fn docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    std::fs::read_to_string(&path).expect("docs/rules.md exists")
}

#[test]
fn docs_rules_md_is_generated_from_the_rule_table() {
    assert_eq!(docs(), airlock_inspect::rules::rules_markdown(), "docs/rules.md is stale: run `airlock rules > docs/rules.md`");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every string literal in the engine's source that reads like a rule id
/// of a known family (`"family/name"`): the ids the engine can emit.
fn rule_ids_in_source() -> BTreeSet<String> {
    let families: BTreeSet<&str> = RULES.iter().map(|r| r.id.split('/').next().unwrap()).collect();
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut ids = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            let Some((family, name)) = literal.split_once('/') else { continue };
            let id_like = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if families.contains(family) && id_like {
                ids.insert(literal.to_string());
            }
        }
    }
    ids
}

#[test]
fn every_rule_the_engine_can_emit_has_a_section_in_the_docs() {
    let docs = docs();
    let sections: BTreeSet<&str> = docs.lines().filter_map(|l| l.strip_prefix("### ")).collect();
    let emitted = rule_ids_in_source();
    // The scan finds the rules of every family, not just a few.
    assert!(emitted.len() >= RULES.len() / 2, "only {} rule ids found in the source: {emitted:?}", emitted.len());
    let undocumented: Vec<&String> = emitted.iter().filter(|id| !sections.contains(id.as_str())).collect();
    assert!(undocumented.is_empty(), "rule ids the engine emits without a section in docs/rules.md: {undocumented:?}");
    for rule in RULES {
        assert!(sections.contains(rule.id), "{} has no section in docs/rules.md", rule.id);
    }
}

#[test]
fn every_rule_is_documented_and_unique() {
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert!(RULES.iter().all(|r| r.description.ends_with('.')), "descriptions are sentences");
}
