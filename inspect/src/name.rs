//! Project names as the index compares them (PEP 503): lowercase, and
//! every run of `-`, `_` and `.` one `-`. The one normalization every crate
//! uses, so `Foo__Bar`, `foo.bar` and `foo-bar` are the same project everywhere.

/// The PEP 503 normalized form of a project name.
pub fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_sep = false;
    for c in raw.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_sep = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn runs_of_separators_collapse_and_case_folds() {
        assert_eq!(normalize("Foo__Bar"), "foo-bar");
        assert_eq!(normalize("foo._-bar"), "foo-bar");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(normalize("requests"), "requests");
    }
}
