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

fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = if matches!(c, '_' | '.') { '-' } else { c.to_ascii_lowercase() };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
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

/// The popular project `name` imitates, if any.
pub fn typosquat_of(name: &str) -> Option<&'static str> {
    let name = normalize(name);
    let (list, set) = popular();
    if name.len() < 4 || set.contains(name.as_str()) {
        return None;
    }
    let squashed = name.replace('-', "");
    list.iter().take(TYPOSQUAT_TARGETS).copied().find(|p| p.len() >= 4 && (distance(&name, p) == 1 || (squashed == p.replace('-', "") && name != *p)))
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
    fn popular_list_is_loaded_in_rank_order() {
        let (list, _) = popular();
        assert!(list.len() >= 1000);
        assert_eq!(list[0], "boto3");
    }
}
