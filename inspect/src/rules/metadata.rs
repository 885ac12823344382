//! Metadata rules: names that imitate popular projects, and placeholder
//! metadata typical of throwaway malicious uploads.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::finding::{Finding, Severity};
use crate::report::Dist;

const POPULAR: &str = include_str!("../../data/popular-names.txt");

/// How many of the most popular names typosquats are checked against.
const TYPOSQUAT_TARGETS: usize = 1000;

fn popular() -> &'static (Vec<&'static str>, HashSet<&'static str>) {
    static LIST: OnceLock<(Vec<&'static str>, HashSet<&'static str>)> = OnceLock::new();
    LIST.get_or_init(|| {
        let names: Vec<&str> = POPULAR.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let set = names.iter().copied().collect();
        (names, set)
    })
}

/// Damerau-Levenshtein distance (optimal string alignment), capped at 2.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return 2;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()].min(2)
}

/// Whether the normalized `name` imitates the normalized `target`: one
/// edit away, or the same once the dashes are dropped.
fn imitates(name: &str, target: &str) -> bool {
    target.len() >= 4 && name != target && (distance(name, target) == 1 || name.replace('-', "") == target.replace('-', ""))
}

/// The popular project `name` imitates, if any.
pub fn typosquat_of(name: &str) -> Option<&'static str> {
    let name = crate::name::normalize(name);
    let (list, set) = popular();
    if name.len() < 4 || set.contains(name.as_str()) {
        return None;
    }
    list.iter().take(TYPOSQUAT_TARGETS).copied().find(|p| imitates(&name, p))
}

/// How many of the most popular names a package folder must match to be
/// taken for another project's import package.
const SHADOWED_TARGETS: usize = 500;

/// The popular project whose import name `package` (a top-level package
/// or module of a distribution named `project`) is, when the distribution
/// is not that project: `requests/__init__.py` shipped by
/// `seclab-depconf-test`. Installing it replaces that project's code for
/// every program that imports it. A distribution whose name holds the
/// package's name as a word (`tensorflow-cpu` shipping `tensorflow`,
/// `psycopg2-binary` shipping `psycopg2`) is a build of that project.
pub fn shadowed_project(package: &str, project: &str) -> Option<&'static str> {
    let package = crate::name::normalize(package);
    let project = crate::name::normalize(project);
    if package.len() < 3 || project.split('-').any(|w| w == package) || project.replace('-', "") == package.replace('-', "") {
        return None;
    }
    popular().0.iter().take(SHADOWED_TARGETS).copied().find(|p| *p == package)
}

/// The project a newly requested `name` may be a typosquat of: a popular
/// one (as [`typosquat_of`]), else one of `known` (names an organization
/// has approved). None for a popular name, a known name itself, or a name
/// shorter than 4 characters.
pub fn resembles(name: &str, known: &[String]) -> Option<String> {
    let name = crate::name::normalize(name);
    if name.len() < 4 || popular().1.contains(name.as_str()) || known.iter().any(|k| crate::name::normalize(k) == name) {
        return None;
    }
    if let Some(popular) = typosquat_of(&name) {
        return Some(popular.to_string());
    }
    known.iter().map(|k| crate::name::normalize(k)).find(|k| imitates(&name, k))
}

pub fn run(dist: &Dist, out: &mut Vec<Finding>) {
    let Some(meta) = dist.metadata else { return };
    if let Some(name) = &meta.name {
        if let Some(target) = typosquat_of(name) {
            out.push(Finding {
                rule: "metadata/typosquat".into(),
                severity: Severity::Medium,
                file: None,
                line: None,
                message: format!("the name {name:?} is one edit away from the popular project {target:?}"),
                snippet: None,
                also: Vec::new(),
            });
        }
    }
    let empty = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    let no_owner = empty(&meta.author) && empty(&meta.author_email) && empty(&meta.home_page) && meta.project_urls.is_empty();
    let odd_version = meta
        .version
        .as_deref()
        .is_some_and(|v| v == "0.0.0" || v.split('.').next().and_then(|m| m.parse::<u64>().ok()).is_some_and(|m| (99..1900).contains(&m)));
    if (empty(&meta.summary) && no_owner) || odd_version {
        out.push(Finding {
            rule: "metadata/placeholder".into(),
            severity: Severity::Low,
            file: None,
            line: None,
            message: if odd_version {
                format!("version {:?} is a placeholder or an attempt to outrank real versions", meta.version.as_deref().unwrap_or(""))
            } else {
                "no summary and no author, email or home page".into()
            },
            snippet: None,
            also: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_from_a_popular_name_is_a_typosquat() {
        assert_eq!(typosquat_of("reqeusts"), Some("requests"));
        assert_eq!(typosquat_of("requestss"), Some("requests"));
        assert_eq!(typosquat_of("python_dateutil"), None, "the popular name itself, spelled differently");
        assert_eq!(typosquat_of("requests"), None);
        assert_eq!(typosquat_of("my-unrelated-package-name"), None);
    }

    #[test]
    fn a_name_near_a_popular_or_known_project_resembles_it() {
        let known = vec!["acme-billing".to_string(), "zz-internal-tool".to_string()];
        assert_eq!(resembles("reqeusts", &known).as_deref(), Some("requests"));
        assert_eq!(resembles("acme-biling", &known).as_deref(), Some("acme-billing"));
        assert_eq!(resembles("Acme_Billing", &known), None, "the known project itself");
        assert_eq!(resembles("acmebilling", &known).as_deref(), Some("acme-billing"), "the same without dashes");
        assert_eq!(resembles("zz-internal-tools", &known).as_deref(), Some("zz-internal-tool"));
        assert_eq!(resembles("requests", &known), None, "a popular name is never a typosquat");
        assert_eq!(resembles("acme-payroll", &known), None);
        assert_eq!(resembles("abc", &["abd".to_string()]), None, "too short to tell");
    }

    #[test]
    fn popular_list_is_loaded_in_rank_order() {
        let (list, _) = popular();
        assert!(list.len() >= 1000);
        assert_eq!(list[0], "boto3");
    }
}
