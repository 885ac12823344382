//! A release's closure, read back from its edges: the tree an auditor
//! sees, on which targets each member is needed, and what stands between
//! the set and an install: conflicts (two versions of one project needed
//! on one target, with no single version satisfying every requirement),
//! cycles, gaps (requirements nothing could be chosen for, members that
//! failed) and members still pending. Installable means none of that, and
//! every member approved.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};
use serde::Serialize;

use crate::requirement::{all_targets, target_labels};
use crate::targets::Targets;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// Needed when the release is installed.
    Runtime,
    /// Needed to build the release's sdist (PEP 517/518).
    Build,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Runtime => "runtime",
            EdgeKind::Build => "build",
        }
    }

    pub fn parse(s: &str) -> EdgeKind {
        if s == "build" {
            EdgeKind::Build
        } else {
            EdgeKind::Runtime
        }
    }
}

/// A member of the closure, as the caller found it in its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: i64,
    pub project: String,
    pub version: String,
    pub status: String,
    /// Its own requirements have been read and written as edges.
    pub resolved: bool,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// One requirement of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: i64,
    pub kind: EdgeKind,
    pub requirement: String,
    pub project: String,
    /// The targets it applies on.
    pub targets: u64,
    pub to: Option<i64>,
    pub problem: Option<String>,
}

/// One line of the tree: a requirement and what it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeLine {
    pub depth: usize,
    pub requirement: String,
    pub kind: EdgeKind,
    /// The targets it applies on, or "all".
    pub targets: String,
    pub node: Option<i64>,
    pub problem: Option<String>,
    /// The member was shown (with its own requirements) further up.
    pub repeat: bool,
    /// The requirement leads back to a member on the path from the root.
    pub cycle: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closure {
    /// The root first, then every member its edges reach.
    pub members: Vec<i64>,
    /// On which targets each member is needed.
    #[serde(skip)]
    pub needed_on: HashMap<i64, u64>,
    /// On which targets each member is the version an installer picks
    /// (needed there, and not superseded by another version of its project
    /// that satisfies every requirement there). Zero: superseded everywhere.
    #[serde(skip)]
    pub picked_on: HashMap<i64, u64>,
    pub tree: Vec<TreeLine>,
    pub conflicts: Vec<String>,
    pub cycles: Vec<String>,
    pub gaps: Vec<String>,
    /// Members whose own requirements are not read yet.
    pub unresolved: usize,
    /// Members not approved yet.
    pub unapproved: usize,
    /// Every member's requirements are read and each got a release.
    pub complete: bool,
    /// Complete, free of conflicts, and every member approved.
    pub installable: bool,
}

/// Most lines a tree shows; past it the page says the tree is cut.
pub const MAX_TREE_LINES: usize = 2_000;

/// The closure of `root` over `nodes` and `edges` (edges of members only;
/// others are ignored).
pub fn analyze(root: i64, nodes: &[Node], edges: &[Edge], targets: &Targets) -> Closure {
    let by_id: HashMap<i64, &Node> = nodes.iter().map(|n| (n.id, n)).collect();
    let mut out_edges: HashMap<i64, Vec<&Edge>> = HashMap::new();
    for e in edges {
        out_edges.entry(e.from).or_default().push(e);
    }
    let label = |id: i64| by_id.get(&id).map(|n| format!("{} {}", n.project, n.version)).unwrap_or_else(|| format!("release #{id}"));

    // Where each member is needed: the root everywhere, a dependency where
    // its parent is needed and its requirement applies. Masks only grow,
    // so this ends.
    let mut needed_on: HashMap<i64, u64> = HashMap::from([(root, all_targets(targets))]);
    let mut members = vec![root];
    let mut work = vec![root];
    while let Some(id) = work.pop() {
        let here = needed_on[&id];
        for e in out_edges.get(&id).into_iter().flatten() {
            let Some(to) = e.to else { continue };
            let mask = here & e.targets;
            let entry = needed_on.entry(to).or_insert_with(|| {
                members.push(to);
                0
            });
            if *entry | mask != *entry {
                *entry |= mask;
                work.push(to);
            }
        }
    }

    let mut cycles = Vec::new();
    let tree = draw_tree(root, &out_edges, targets, &label, &mut cycles);
    let (conflicts, picked_on) = conflicts(&members, &needed_on, &out_edges, &by_id, targets, &label);

    let mut gaps = Vec::new();
    let mut unresolved = 0;
    let mut unapproved = 0;
    for id in &members {
        let Some(n) = by_id.get(id) else {
            gaps.push(format!("{} is missing", label(*id)));
            continue;
        };
        if !n.resolved {
            unresolved += 1;
        }
        // A member another version supersedes everywhere is never installed.
        if n.status != "approved" && picked_on.get(id).is_some_and(|m| *m != 0) {
            unapproved += 1;
        }
        match n.status.as_str() {
            "failed" => gaps.push(format!("{} failed: {}", label(*id), n.error.as_deref().unwrap_or("no reason recorded"))),
            "rejected" => gaps.push(format!("{} was rejected by an auditor", label(*id))),
            _ => {}
        }
        for e in out_edges.get(id).into_iter().flatten() {
            if e.to.is_none() && needed_on.get(id).is_some_and(|m| m & e.targets != 0) {
                gaps.push(format!("{} needs `{}`: {}", label(*id), e.requirement, e.problem.as_deref().unwrap_or("nothing could be chosen")));
            }
        }
    }
    let complete = unresolved == 0 && gaps.is_empty();
    Closure {
        installable: complete && conflicts.is_empty() && unapproved == 0,
        members,
        needed_on,
        picked_on,
        tree,
        conflicts,
        cycles,
        gaps,
        unresolved,
        unapproved,
        complete,
    }
}

/// Depth-first, each member's requirements shown once (later mentions are
/// repeats), a requirement back to a member on the current path a cycle.
fn draw_tree(root: i64, out_edges: &HashMap<i64, Vec<&Edge>>, targets: &Targets, label: &dyn Fn(i64) -> String, cycles: &mut Vec<String>) -> Vec<TreeLine> {
    let all = all_targets(targets);
    let mut lines = Vec::new();
    let mut expanded: HashSet<i64> = HashSet::from([root]);
    let mut path: Vec<i64> = vec![root];
    // (edge index within its parent's list, parent) frames.
    let mut stack: Vec<(i64, usize)> = vec![(root, 0)];
    while let Some((parent, next)) = stack.pop() {
        let children = out_edges.get(&parent).map(Vec::as_slice).unwrap_or(&[]);
        if next >= children.len() {
            path.pop();
            continue;
        }
        stack.push((parent, next + 1));
        if lines.len() >= MAX_TREE_LINES {
            break;
        }
        let e = children[next];
        let depth = stack.len();
        let cycle = e.to.is_some_and(|to| path.contains(&to));
        let repeat = !cycle && e.to.is_some_and(|to| expanded.contains(&to));
        if cycle {
            let to = e.to.expect("a cycle has a target");
            let start = path.iter().position(|p| *p == to).unwrap_or(0);
            let names: Vec<String> = path[start..].iter().chain(std::iter::once(&to)).map(|id| label(*id)).collect();
            cycles.push(names.join(" → "));
        }
        lines.push(TreeLine {
            depth,
            requirement: e.requirement.clone(),
            kind: e.kind,
            targets: if e.targets & all == all { "all".into() } else { target_labels(e.targets, targets) },
            node: e.to,
            problem: e.problem.clone(),
            repeat,
            cycle,
        });
        if let Some(to) = e.to.filter(|_| !cycle && !repeat) {
            expanded.insert(to);
            path.push(to);
            stack.push((to, 0));
        }
    }
    lines
}

/// Two members of one project needed on a common target are a conflict
/// when no one of them satisfies every requirement on that project there;
/// when one does (the newest such), it is the one an installer picks there,
/// and the others are superseded on that target. Returns the conflicts and
/// where each member is the project's pick.
fn conflicts(
    members: &[i64],
    needed_on: &HashMap<i64, u64>,
    out_edges: &HashMap<i64, Vec<&Edge>>,
    by_id: &HashMap<i64, &Node>,
    targets: &Targets,
    label: &dyn Fn(i64) -> String,
) -> (Vec<String>, HashMap<i64, u64>) {
    let mut picked_on: HashMap<i64, u64> = needed_on.clone();
    let mut by_project: HashMap<&str, Vec<i64>> = HashMap::new();
    for id in members {
        if let Some(n) = by_id.get(id) {
            by_project.entry(n.project.as_str()).or_default().push(*id);
        }
    }
    let mut out = Vec::new();
    let mut projects: Vec<_> = by_project.into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    projects.sort();
    for (project, ids) in projects {
        // Every requirement on this project from a member, with where it applies.
        let wants: Vec<(i64, &Edge, u64)> = members
            .iter()
            .flat_map(|from| out_edges.get(from).into_iter().flatten().map(move |e| (*from, *e)))
            .filter(|(_, e)| e.project == project && e.to.is_some())
            .map(|(from, e)| (from, e, needed_on.get(&from).copied().unwrap_or(0) & e.targets))
            .collect();
        let mut bad_targets = 0u64;
        for (i, _) in targets.iter().enumerate() {
            let bit = 1u64 << i;
            let here: Vec<i64> = ids.iter().copied().filter(|id| needed_on.get(id).is_some_and(|m| m & bit != 0)).collect();
            if here.len() < 2 {
                continue;
            }
            let fits_all = here
                .iter()
                .filter_map(|id| Some((*id, by_id.get(id).and_then(|n| Version::from_str(&n.version).ok())?)))
                .filter(|(_, version)| wants.iter().filter(|(_, _, m)| m & bit != 0).all(|(_, e, _)| satisfies(&e.requirement, version)))
                .max_by(|a, b| a.1.cmp(&b.1));
            match fits_all {
                Some((pick, _)) => {
                    for id in here.iter().filter(|id| **id != pick) {
                        if let Some(m) = picked_on.get_mut(id) {
                            *m &= !bit;
                        }
                    }
                }
                None => bad_targets |= bit,
            }
        }
        if bad_targets == 0 {
            continue;
        }
        let asks: Vec<String> =
            wants.iter().filter(|(_, _, m)| m & bad_targets != 0).map(|(from, e, _)| format!("{} needs `{}`", label(*from), e.requirement)).collect();
        out.push(format!(
            "{project}: no one version satisfies every requirement on {} ({}); a real install would fail there",
            target_labels(bad_targets, targets),
            asks.join("; ")
        ));
    }
    (out, picked_on)
}

/// True when `version` satisfies the requirement's range (a requirement
/// that does not parse satisfies nothing).
fn satisfies(requirement: &str, version: &Version) -> bool {
    match Requirement::<VerbatimUrl>::from_str(requirement) {
        Ok(r) => match &r.version_or_url {
            None => true,
            Some(VersionOrUrl::VersionSpecifier(s)) => s.contains(version),
            Some(VersionOrUrl::Url(_)) => false,
        },
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Targets {
        Targets::parse(&["3.12"], &["linux_x86_64", "windows_amd64"]).unwrap()
    }

    fn node(id: i64, project: &str, version: &str, status: &str) -> Node {
        Node { id, project: project.into(), version: version.into(), status: status.into(), resolved: true, error: None }
    }

    fn edge(from: i64, requirement: &str, to: Option<i64>, targets: u64) -> Edge {
        let project = requirement.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').next().unwrap().to_string();
        Edge { from, kind: EdgeKind::Runtime, requirement: requirement.into(), project, targets, to, problem: None }
    }

    #[test]
    fn an_approved_tree_is_installable_and_drawn_with_repeats() {
        let nodes = [node(1, "app", "1.0", "approved"), node(2, "lib", "2.0", "approved"), node(3, "util", "1.1", "approved")];
        let edges = [edge(1, "lib>=2", Some(2), 0b11), edge(1, "util", Some(3), 0b11), edge(2, "util>=1", Some(3), 0b11)];
        let c = analyze(1, &nodes, &edges, &targets());
        assert_eq!(c.members, [1, 2, 3]);
        assert!(c.installable && c.complete && c.conflicts.is_empty() && c.cycles.is_empty());
        let shape: Vec<(usize, &str, bool)> = c.tree.iter().map(|l| (l.depth, l.requirement.as_str(), l.repeat)).collect();
        assert_eq!(shape, [(1, "lib>=2", false), (2, "util>=1", false), (1, "util", true)]);
    }

    #[test]
    fn a_pending_member_or_a_gap_makes_it_not_installable() {
        let mut nodes = vec![node(1, "app", "1.0", "approved"), node(2, "lib", "2.0", "awaiting_review")];
        let mut edges = vec![edge(1, "lib", Some(2), 0b11)];
        let c = analyze(1, &nodes, &edges, &targets());
        assert!(c.complete && !c.installable);
        assert_eq!(c.unapproved, 1);
        nodes[1].status = "approved".into();
        edges.push(Edge { problem: Some("no version of gone satisfies `>=9`".into()), ..edge(1, "gone>=9", None, 0b11) });
        let c = analyze(1, &nodes, &edges, &targets());
        assert!(!c.complete && !c.installable);
        assert_eq!(c.gaps, ["app 1.0 needs `gone>=9`: no version of gone satisfies `>=9`"]);
        nodes[1].resolved = false;
        edges.pop();
        let c = analyze(1, &nodes, &edges, &targets());
        assert_eq!((c.unresolved, c.complete), (1, false));
    }

    #[test]
    fn requirements_on_other_targets_do_not_reach_a_member_needed_elsewhere() {
        // colorama only on Windows (bit 1); its own dependency only on Linux (bit 0): never needed.
        let nodes = [node(1, "app", "1.0", "approved"), node(2, "colorama", "0.4", "approved"), node(3, "never", "1.0", "approved")];
        let edges = [edge(1, "colorama", Some(2), 0b10), edge(2, "never", Some(3), 0b01)];
        let c = analyze(1, &nodes, &edges, &targets());
        assert_eq!(c.needed_on[&2], 0b10);
        assert_eq!(c.needed_on[&3], 0);
    }

    #[test]
    fn two_versions_no_one_satisfies_are_a_conflict_and_overlapping_ones_are_not() {
        let nodes = [
            node(1, "app", "1.0", "approved"),
            node(2, "a", "1.0", "approved"),
            node(3, "b", "1.0", "approved"),
            node(4, "lib", "3.0", "approved"),
            node(5, "lib", "2.0", "approved"),
        ];
        let edges = [edge(1, "a", Some(2), 0b11), edge(1, "b", Some(3), 0b11), edge(2, "lib>=3", Some(4), 0b11), edge(3, "lib<3", Some(5), 0b01)];
        let c = analyze(1, &nodes, &edges, &targets());
        assert_eq!(c.conflicts.len(), 1, "{:?}", c.conflicts);
        assert!(c.conflicts[0].starts_with("lib: no one version satisfies every requirement on cp312-linux_x86_64 ("), "{}", c.conflicts[0]);
        assert!(!c.installable);
        // b accepts lib 3.0 too: the older release is superseded, not a
        // conflict, and does not hold the set back while unapproved.
        let edges = [edge(1, "a", Some(2), 0b11), edge(1, "b", Some(3), 0b11), edge(2, "lib>=3", Some(4), 0b11), edge(3, "lib>=2", Some(5), 0b11)];
        let mut nodes = nodes.to_vec();
        nodes[4].status = "awaiting_review".into();
        let c = analyze(1, &nodes, &edges, &targets());
        assert!(c.conflicts.is_empty());
        assert_eq!((c.picked_on[&4], c.picked_on[&5]), (0b11, 0));
        assert!(c.installable, "the superseded lib 2.0 is never installed");
    }

    #[test]
    fn a_cycle_is_reported_once_and_drawn_without_looping() {
        let nodes = [node(1, "a", "1.0", "approved"), node(2, "b", "1.0", "approved")];
        let edges = [edge(1, "b", Some(2), 0b11), edge(2, "a", Some(1), 0b11)];
        let c = analyze(1, &nodes, &edges, &targets());
        assert_eq!(c.cycles, ["a 1.0 → b 1.0 → a 1.0"]);
        assert_eq!(c.tree.len(), 2);
        assert!(c.tree[1].cycle);
        assert!(c.installable, "a cycle of approved releases installs");
    }
}
