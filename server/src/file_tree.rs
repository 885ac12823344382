//! The file viewer's listing as a tree: directories (collapsible) with the
//! count of files under each, files with their size and findings. A big
//! archive (an sdist of ten thousand files) must stay a light page, so the
//! tree is opened breadth first within a row budget: a directory whose
//! contents do not fit is shown closed, with a link to a page of its own
//! (`?dir=`). Pure: paths in, rows out; the template escapes every name.

use std::collections::BTreeMap;

/// One listed entry of an archive.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub path: String,
    pub href: String,
    pub kind: &'static str,
    pub size: String,
    pub findings: usize,
}

/// One row of the tree as the template draws it, in order.
#[derive(Debug)]
pub enum TreeRow {
    /// A directory whose contents follow, up to its [`TreeRow::Close`].
    Open {
        name: String,
        path: String,
        files: usize,
        findings: usize,
        open: bool,
    },
    /// A directory too big for this page: a link to its own.
    Folded {
        name: String,
        path: String,
        files: usize,
        findings: usize,
        href: String,
    },
    Close,
    File {
        name: String,
        leaf: Leaf,
    },
}

#[derive(Default)]
struct Dir {
    dirs: BTreeMap<String, Dir>,
    files: Vec<(String, Leaf)>,
    count: usize,
    findings: usize,
}

impl Dir {
    fn insert(&mut self, parts: &[&str], leaf: Leaf) {
        self.count += 1;
        self.findings += leaf.findings;
        match parts {
            [] => {}
            [name] => self.files.push((name.to_string(), leaf)),
            [dir, rest @ ..] => self.dirs.entry(dir.to_string()).or_default().insert(rest, leaf),
        }
    }

    fn children(&self) -> usize {
        self.dirs.len() + self.files.len()
    }
}

/// The tree of `leaves` under `root` (a directory path without trailing
/// slash; empty for the whole archive), opened within `budget` rows.
/// `dir_href` makes a directory's own page. Returns the rows and how many
/// entries lie under `root`.
pub fn tree(leaves: Vec<Leaf>, root: &str, budget: usize, dir_href: impl Fn(&str) -> String) -> (Vec<TreeRow>, usize) {
    let prefix = if root.is_empty() { String::new() } else { format!("{}/", root.trim_end_matches('/')) };
    let mut top = Dir::default();
    for leaf in leaves {
        let Some(rest) = leaf.path.strip_prefix(&prefix) else { continue };
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            continue;
        }
        let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        top.insert(&refs, leaf);
    }
    // Breadth first: a directory opens when all its children fit in what is left.
    let mut expanded: Vec<String> = Vec::new();
    let mut left = budget.saturating_sub(top.children());
    let mut level: Vec<(String, &Dir)> = top.dirs.iter().map(|(n, d)| (format!("{prefix}{n}"), d)).collect();
    while !level.is_empty() {
        let mut next = Vec::new();
        for (path, dir) in level {
            if dir.children() <= left {
                left -= dir.children();
                next.extend(dir.dirs.iter().map(|(n, d)| (format!("{path}/{n}"), d)));
                expanded.push(path);
            }
        }
        level = next;
    }
    expanded.sort();
    let mut rows = Vec::new();
    let only_one = top.dirs.len() == 1 && top.files.is_empty();
    emit(&top, &prefix, &expanded, only_one, &dir_href, &mut rows);
    (rows, top.count)
}

fn emit(dir: &Dir, prefix: &str, expanded: &[String], open_first: bool, dir_href: &impl Fn(&str) -> String, rows: &mut Vec<TreeRow>) {
    for (name, sub) in &dir.dirs {
        let path = format!("{prefix}{name}");
        if expanded.binary_search(&path).is_ok() {
            // Open what explains the review: the single top folder, and folders with findings.
            let open = open_first || sub.findings > 0;
            rows.push(TreeRow::Open { name: name.clone(), path: path.clone(), files: sub.count, findings: sub.findings, open });
            emit(sub, &format!("{path}/"), expanded, false, dir_href, rows);
            rows.push(TreeRow::Close);
        } else {
            rows.push(TreeRow::Folded { name: name.clone(), href: dir_href(&path), path, files: sub.count, findings: sub.findings });
        }
    }
    for (name, leaf) in &dir.files {
        rows.push(TreeRow::File { name: name.clone(), leaf: leaf.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(path: &str, findings: usize) -> Leaf {
        Leaf { path: path.into(), href: format!("?path={path}"), kind: "file", size: "1 B".into(), findings }
    }

    fn names(rows: &[TreeRow]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                TreeRow::Open { name, files, open, .. } => format!("+{name}({files}){}", if *open { "o" } else { "" }),
                TreeRow::Folded { name, files, .. } => format!(">{name}({files})"),
                TreeRow::Close => "-".into(),
                TreeRow::File { name, .. } => name.clone(),
            })
            .collect()
    }

    #[test]
    fn directories_hold_their_files_with_counts() {
        let leaves = vec![leaf("pkg-1.0/setup.py", 1), leaf("pkg-1.0/pkg/__init__.py", 0), leaf("pkg-1.0/pkg/util.py", 0)];
        let (rows, total) = tree(leaves, "", 100, |p| format!("?dir={p}"));
        assert_eq!(total, 3);
        assert_eq!(names(&rows), ["+pkg-1.0(3)o", "+pkg(2)", "__init__.py", "util.py", "-", "setup.py", "-"]);
    }

    #[test]
    fn a_big_directory_is_folded_behind_a_link_within_the_budget() {
        let mut leaves: Vec<Leaf> = (0..50).map(|i| leaf(&format!("top/big/f{i:02}.py"), 0)).collect();
        leaves.push(leaf("top/small/a.py", 2));
        let (rows, total) = tree(leaves, "", 10, |p| format!("?dir={p}"));
        assert_eq!(total, 51);
        assert_eq!(names(&rows), ["+top(51)o", ">big(50)", "+small(1)o", "a.py", "-", "-"]);
        match &rows[1] {
            TreeRow::Folded { href, .. } => assert_eq!(href, "?dir=top/big"),
            other => panic!("{other:?}"),
        }
        // The folded directory's own page lists it.
        let leaves: Vec<Leaf> = (0..50).map(|i| leaf(&format!("top/big/f{i:02}.py"), 0)).collect();
        let (rows, total) = tree(leaves, "top/big", 100, |p| format!("?dir={p}"));
        assert_eq!((rows.len(), total), (50, 50));
    }
}
