//! Dependency edges: for each release asked for with its dependencies, one
//! row per requirement, naming the release chosen for it or why none could
//! be. The worker writes a release's edges in one go; pages and exports
//! read a closure back from these rows instead of resolving again.

use std::collections::{HashMap, HashSet, VecDeque};

use airlock_resolve::closure::{Closure, Edge, EdgeKind, Node};
use airlock_resolve::requirement::target_mask;
use airlock_resolve::Targets;
use diesel::prelude::*;
use serde::Serialize;

use airlock_inspect::Severity;

use crate::db::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::now_ms;
use crate::schema::{dependency_edges, projects, releases};

/// Most releases one closure walk visits: far beyond any real lockfile,
/// small enough that a hostile graph cannot make a page walk forever.
pub const MAX_CLOSURE: usize = 5_000;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = dependency_edges)]
pub struct EdgeRow {
    pub id: i64,
    pub release_id: i64,
    /// The edge itself (its fields sit at the top level in JSON).
    #[diesel(embed)]
    #[serde(flatten)]
    pub edge: NewEdge,
}

/// An edge the worker decided on.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = dependency_edges)]
pub struct NewEdge {
    /// `runtime` or `build`.
    pub kind: String,
    pub requirement: String,
    /// Normalized project name.
    pub project: String,
    /// Target labels it applies on, comma-separated.
    pub targets: String,
    pub chosen_release_id: Option<i64>,
    pub problem: Option<String>,
}

/// A release of a closure, with what the tree and the set view show.
#[derive(Debug, Clone, Queryable, Serialize, PartialEq, Eq)]
pub struct NodeRow {
    pub id: i64,
    pub project: String,
    pub version: String,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    pub max_severity: Severity,
    pub risk_score: i64,
    pub with_dependencies: bool,
    pub dependencies_at: Option<i64>,
}

/// Replace the release's edges with `edges` and mark its dependencies
/// resolved, in one transaction.
pub fn replace_edges(conn: &mut AnyConnection, release_id: i64, edges: &[NewEdge]) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(dependency_edges::table.filter(dependency_edges::release_id.eq(release_id))).execute(conn)?;
        for e in edges {
            diesel::insert_into(dependency_edges::table).values((dependency_edges::release_id.eq(release_id), e)).execute(conn)?;
        }
        diesel::update(releases::table.find(release_id)).set(releases::dependencies_at.eq(Some(now_ms()))).execute(conn)?;
        Ok(())
    })
}

/// The edges leaving `release_ids`.
pub fn edges_of(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<Vec<EdgeRow>> {
    Ok(dependency_edges::table.filter(dependency_edges::release_id.eq_any(release_ids)).order(dependency_edges::id).select(EdgeRow::as_select()).load(conn)?)
}

/// The releases `ids`, as closure nodes.
pub fn nodes(conn: &mut AnyConnection, ids: &[i64]) -> StoreResult<Vec<NodeRow>> {
    Ok(releases::table
        .inner_join(projects::table)
        .filter(releases::id.eq_any(ids))
        .select((
            releases::id,
            projects::name,
            releases::version,
            releases::status,
            releases::error,
            releases::max_severity,
            releases::risk_score,
            releases::with_dependencies,
            releases::dependencies_at,
        ))
        .load(conn)?)
}

/// Everything reachable from `roots` through chosen edges: the nodes (roots
/// first, then breadth-first) and every edge leaving them. Stops at
/// [`MAX_CLOSURE`] releases.
pub fn closure(conn: &mut AnyConnection, roots: &[i64]) -> StoreResult<(Vec<NodeRow>, Vec<EdgeRow>)> {
    let mut seen: HashSet<i64> = HashSet::new();
    let mut order: Vec<i64> = Vec::new();
    let mut frontier: VecDeque<i64> = roots.iter().copied().filter(|r| seen.insert(*r)).collect();
    order.extend(frontier.iter().copied());
    let mut edges = Vec::new();
    while !frontier.is_empty() && order.len() < MAX_CLOSURE {
        let level: Vec<i64> = frontier.drain(..).collect();
        // Chunks keep the IN list within every backend's parameter limit.
        for chunk in level.chunks(500) {
            for e in edges_of(conn, chunk)? {
                if let Some(to) = e.edge.chosen_release_id {
                    if order.len() < MAX_CLOSURE && seen.insert(to) {
                        order.push(to);
                        frontier.push_back(to);
                    }
                }
                edges.push(e);
            }
        }
    }
    let mut by_id: HashMap<i64, NodeRow> = HashMap::new();
    for chunk in order.chunks(500) {
        by_id.extend(nodes(conn, chunk)?.into_iter().map(|n| (n.id, n)));
    }
    Ok((order.iter().filter_map(|id| by_id.remove(id)).collect(), edges))
}

/// The closure of `root` analysed (tree, where each member is needed and
/// picked, conflicts, cycles, gaps), with its members' rows.
pub fn analyze(conn: &mut AnyConnection, root: i64, targets: &Targets) -> StoreResult<(Closure, Vec<NodeRow>)> {
    let (rows, edge_rows) = closure(conn, &[root])?;
    let nodes: Vec<Node> = rows
        .iter()
        .map(|r| Node {
            id: r.id,
            project: r.project.clone(),
            version: r.version.clone(),
            status: r.status.as_str().to_string(),
            resolved: r.dependencies_at.is_some(),
            error: r.error.clone(),
        })
        .collect();
    let edges: Vec<Edge> = edge_rows
        .iter()
        .map(|e| Edge {
            from: e.release_id,
            kind: EdgeKind::parse(&e.edge.kind),
            requirement: e.edge.requirement.clone(),
            project: e.edge.project.clone(),
            targets: target_mask(&e.edge.targets, targets),
            to: e.edge.chosen_release_id,
            problem: e.edge.problem.clone(),
        })
        .collect();
    Ok((airlock_resolve::closure::analyze(root, &nodes, &edges, targets), rows))
}

/// The ids of `roots` and every release their edges reach.
pub fn closure_release_ids(conn: &mut AnyConnection, roots: &[i64]) -> StoreResult<Vec<i64>> {
    Ok(closure(conn, roots)?.0.into_iter().map(|n| n.id).collect())
}

/// The releases that list `release_id` as a dependency (one level up).
pub fn dependents(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<(String, String)>> {
    Ok(dependency_edges::table
        .inner_join(releases::table.on(releases::id.eq(dependency_edges::release_id)))
        .inner_join(projects::table.on(projects::id.eq(releases::project_id)))
        .filter(dependency_edges::chosen_release_id.eq(release_id))
        .select((projects::name, releases::version))
        .distinct()
        .load(conn)?)
}

/// A project's releases in Airlock, as `(id, version, status)`: the
/// candidates a requirement may reuse before asking the upstream.
pub fn releases_of_project(conn: &mut AnyConnection, project: &str) -> StoreResult<Vec<(i64, String, ReleaseStatus)>> {
    Ok(releases::table.inner_join(projects::table).filter(projects::name.eq(project)).select((releases::id, releases::version, releases::status)).load(conn)?)
}
