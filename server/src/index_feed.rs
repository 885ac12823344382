//! Following the database's index change feed, so that every server
//! process (one per node) drops exactly the pages a change affects within
//! a poll interval (250 ms). A change with an empty project name is an
//! access change (a token revoked, a user disabled or given another role):
//! the process forgets the index tokens it verified.
//!
//! Change ids come from a sequence. On PostgreSQL a transaction can commit
//! a smaller id after a larger one is already visible, so the cursor does
//! not simply keep the largest id seen: it keeps a floor below which every
//! id has been seen, remembers the ids seen above it, and treats a hole as
//! possibly still to come until it is older than [`GAP_PATIENCE`] (a rolled
//! back transaction leaves a hole forever).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use airlock_store::index::{self, IndexChange};

use crate::state::AppState;

/// How often each process polls the feed.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long a hole in the ids may still be filled by a late commit.
pub const GAP_PATIENCE: Duration = Duration::from_secs(30);
/// Feed rows older than this are deleted (every process has long seen them).
const KEEP_CHANGES_MS: i64 = 60 * 60 * 1000;
/// More holes than this means something is off: start again from a clean cache.
const MAX_GAPS: usize = 100_000;

/// Where a process is in the feed.
#[derive(Debug)]
pub struct ChangeCursor {
    floor: i64,
    seen: BTreeSet<i64>,
    gaps: BTreeMap<i64, Instant>,
}

/// What absorbing a batch asks the cache to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalidate {
    Projects(Vec<String>),
    /// The cursor lost track; drop every page.
    Everything,
}

impl ChangeCursor {
    /// A cursor that has seen every change up to and including `id`.
    pub fn at(id: i64) -> ChangeCursor {
        ChangeCursor { floor: id, seen: BTreeSet::new(), gaps: BTreeMap::new() }
    }

    /// Query changes with ids above this.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// Take in changes read at `now` (ids above the floor, in id order) and
    /// say which projects to drop.
    pub fn absorb(&mut self, changes: &[IndexChange], now: Instant) -> Invalidate {
        let mut projects = Vec::new();
        for change in changes {
            if change.id <= self.floor || !self.seen.insert(change.id) {
                continue;
            }
            self.gaps.remove(&change.id);
            if !projects.contains(&change.project) {
                projects.push(change.project.clone());
            }
        }
        // Every id between the floor and the largest seen that is not seen is a hole.
        if let Some(&top) = self.seen.iter().next_back() {
            if (top - self.floor) as usize > MAX_GAPS + self.seen.len() {
                self.reset(top);
                return Invalidate::Everything;
            }
            for id in self.floor + 1..top {
                if !self.seen.contains(&id) {
                    self.gaps.entry(id).or_insert(now);
                }
            }
        }
        // Raise the floor over seen ids and holes that waited long enough.
        loop {
            let next = self.floor + 1;
            if self.seen.remove(&next) {
                self.floor = next;
            } else if self.gaps.get(&next).is_some_and(|since| now.duration_since(*since) >= GAP_PATIENCE) {
                self.gaps.remove(&next);
                self.floor = next;
            } else {
                break;
            }
        }
        Invalidate::Projects(projects)
    }

    fn reset(&mut self, top: i64) {
        self.floor = top;
        self.seen.clear();
        self.gaps.clear();
    }
}

/// Read the feed once and drop what it names. Returns the projects dropped.
pub async fn poll_once(state: &AppState, cursor: &mut ChangeCursor) -> Result<Vec<String>, crate::error::AppError> {
    let floor = cursor.floor();
    let changes = state.db(move |c| index::changes_after(c, floor, 10_000)).await?;
    match cursor.absorb(&changes, Instant::now()) {
        Invalidate::Everything => {
            tracing::warn!("index change feed lost track; dropping every cached page");
            state.index.clear();
            state.tokens.clear();
            Ok(Vec::new())
        }
        Invalidate::Projects(projects) => {
            for p in &projects {
                if p.is_empty() {
                    state.tokens.clear();
                } else {
                    state.index.evict_project(p);
                }
            }
            if !projects.is_empty() {
                tracing::debug!(?projects, "index pages dropped");
            }
            Ok(projects)
        }
    }
}

/// Follow the feed for as long as the server runs.
pub async fn follow(state: AppState) {
    let start = loop {
        match state.db(index::latest_change_id).await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "reading the index change feed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    // Anything cached before the cursor existed may be stale.
    state.index.clear();
    let mut cursor = ChangeCursor::at(start);
    let mut last_prune = Instant::now();
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        if let Err(e) = poll_once(&state, &mut cursor).await {
            tracing::warn!(error = %e, "polling the index change feed");
            // Without the feed nothing may stay cached.
            state.index.clear();
            state.tokens.clear();
        }
        if last_prune.elapsed() > Duration::from_secs(600) {
            last_prune = Instant::now();
            if let Err(e) = state.db(|c| index::prune_changes(c, KEEP_CHANGES_MS)).await {
                tracing::warn!(error = %e, "pruning the index change feed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(id: i64, project: &str) -> IndexChange {
        IndexChange { id, project: project.into() }
    }

    #[test]
    fn in_order_changes_raise_the_floor() {
        let mut c = ChangeCursor::at(10);
        let now = Instant::now();
        assert_eq!(c.absorb(&[ch(11, "a"), ch(12, "b"), ch(13, "a")], now), Invalidate::Projects(vec!["a".into(), "b".into()]));
        assert_eq!(c.floor(), 13);
        assert_eq!(c.absorb(&[], now), Invalidate::Projects(vec![]));
    }

    #[test]
    fn a_late_commit_below_the_top_is_still_seen_once() {
        let mut c = ChangeCursor::at(0);
        let t0 = Instant::now();
        assert_eq!(c.absorb(&[ch(1, "a"), ch(3, "c")], t0), Invalidate::Projects(vec!["a".into(), "c".into()]));
        assert_eq!(c.floor(), 1, "2 may still commit");
        // The next poll reads from the floor: 3 again (ignored) and the late 2.
        assert_eq!(c.absorb(&[ch(2, "b"), ch(3, "c")], t0), Invalidate::Projects(vec!["b".into()]));
        assert_eq!(c.floor(), 3);
    }

    #[test]
    fn a_hole_that_never_fills_is_given_up_after_a_while() {
        let mut c = ChangeCursor::at(0);
        let t0 = Instant::now();
        c.absorb(&[ch(2, "b")], t0);
        assert_eq!(c.floor(), 0);
        c.absorb(&[ch(2, "b")], t0 + GAP_PATIENCE / 2);
        assert_eq!(c.floor(), 0);
        c.absorb(&[ch(2, "b")], t0 + GAP_PATIENCE);
        assert_eq!(c.floor(), 2);
    }

    #[test]
    fn an_absurd_jump_drops_everything() {
        let mut c = ChangeCursor::at(0);
        assert_eq!(c.absorb(&[ch(10_000_000, "x")], Instant::now()), Invalidate::Everything);
        assert_eq!(c.floor(), 10_000_000);
    }
}
