//! The rule reference in docs/rules.md is generated from the rule table;
//! this test fails when they drift (regenerate with `airlock rules > docs/rules.md`).

#[test]
fn docs_rules_md_is_generated_from_the_rule_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let on_disk = std::fs::read_to_string(&path).expect("docs/rules.md exists");
    assert_eq!(on_disk, airlock_inspect::rules::rules_markdown(), "docs/rules.md is stale: run `airlock rules > docs/rules.md`");
}

#[test]
fn every_rule_is_documented_and_unique() {
    let mut ids: Vec<&str> = airlock_inspect::rules::RULES.iter().map(|r| r.id).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert!(airlock_inspect::rules::RULES.iter().all(|r| r.description.ends_with('.')), "descriptions are sentences");
}
