//! The review memory budget: one count of bytes, shared by every request
//! and task that holds archive members in memory to show or measure them
//! (the diff, the file viewer, audit sizing). Whatever holds members takes
//! its bytes from here first and gives them back when the data is dropped,
//! so all of them together stay within `review_memory_mb` however many
//! people look at once or however large a release unpacks.
//!
//! It never waits: a request that would pass the budget is told at once,
//! [`MemoryError::Busy`] when others hold it for now (the page answers 503
//! with `Retry-After`), [`MemoryError::TooLarge`] when it could never fit
//! (the page says "too large to show").

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in KiB, so a `u32` of permits spans terabytes.
const UNIT: u64 = 1024;

/// Seconds a client is told to wait when the budget is momentarily spent.
pub const RETRY_AFTER_SECS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    #[error("the server is busy showing other large files; try again in a moment")]
    Busy,
    #[error("too large to show ({wanted} bytes, over the {budget}-byte review memory budget)")]
    TooLarge { wanted: u64, budget: u64 },
}

/// The shared budget; clones share it.
#[derive(Clone, Debug)]
pub struct ReviewMemory {
    permits: Arc<Semaphore>,
    total: u32,
}

/// Bytes taken from the budget, given back when dropped. Keep it alive as
/// long as the data it pays for (a page keeps it until it is rendered).
#[derive(Debug, Default)]
pub struct Held {
    permit: Option<OwnedSemaphorePermit>,
}

impl ReviewMemory {
    pub fn new(budget_bytes: u64) -> ReviewMemory {
        let total = u32::try_from(budget_bytes / UNIT).unwrap_or(u32::MAX).max(1);
        ReviewMemory { permits: Arc::new(Semaphore::new(total as usize)), total }
    }

    /// The whole budget, in bytes.
    pub fn budget(&self) -> u64 {
        u64::from(self.total) * UNIT
    }

    /// Bytes free right now.
    pub fn available(&self) -> u64 {
        self.permits.available_permits() as u64 * UNIT
    }

    fn units(bytes: u64) -> u64 {
        bytes.div_ceil(UNIT)
    }

    /// Take `bytes` from the budget, without waiting.
    pub fn hold(&self, bytes: u64) -> Result<Held, MemoryError> {
        let mut held = Held::default();
        self.grow(&mut held, bytes)?;
        Ok(held)
    }

    /// Take `more` bytes into `held`, without waiting; on failure `held` is unchanged.
    pub fn grow(&self, held: &mut Held, more: u64) -> Result<(), MemoryError> {
        let units = Self::units(more);
        if units == 0 {
            return Ok(());
        }
        let wanted = units + held.units();
        if wanted > u64::from(self.total) {
            return Err(MemoryError::TooLarge { wanted: wanted * UNIT, budget: self.budget() });
        }
        let permit = self.permits.clone().try_acquire_many_owned(units as u32).map_err(|_| MemoryError::Busy)?;
        match &mut held.permit {
            Some(p) => p.merge(permit),
            None => held.permit = Some(permit),
        }
        Ok(())
    }
}

impl Held {
    fn units(&self) -> u64 {
        self.permit.as_ref().map_or(0, |p| p.num_permits() as u64)
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.units() * UNIT
    }

    /// Give back all but `bytes` (rounded up to the unit).
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = ReviewMemory::units(bytes) as usize;
        if let Some(p) = &mut self.permit {
            if p.num_permits() > keep {
                drop(p.split(p.num_permits() - keep));
            }
        }
    }

    /// Put `other`'s bytes into this one.
    pub fn absorb(&mut self, mut other: Held) {
        match (&mut self.permit, other.permit.take()) {
            (Some(p), Some(o)) => p.merge(o),
            (None, o) => self.permit = o,
            (_, None) => {}
        }
    }
}

/// What holding text to show costs, beyond nothing: its bytes, the decoded
/// text, and per line the bookkeeping of the diff or the highlighter and
/// the rendered page (each line becomes a few small allocations and a
/// table row). `per_byte` is 4 for a diff and more for the highlighted
/// viewer, whose spans and markup outweigh the text several times.
pub fn text_cost(bytes: u64, lines: u64, per_byte: u64) -> u64 {
    bytes.saturating_mul(per_byte).saturating_add(lines.saturating_mul(256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_budget_says_busy_instead_of_growing() {
        let memory = ReviewMemory::new(1024 * 1024);
        let first = memory.hold(700 * 1024).unwrap();
        assert_eq!(memory.hold(400 * 1024).unwrap_err(), MemoryError::Busy, "only 324 KiB are left");
        assert_eq!(memory.available(), 324 * 1024, "a refusal takes nothing");
        let small = memory.hold(300 * 1024).unwrap();
        drop(first);
        assert_eq!(memory.available(), 724 * 1024, "dropping gives the bytes back");
        assert!(memory.hold(700 * 1024).is_ok());
        drop(small);
    }

    #[test]
    fn more_than_the_whole_budget_is_too_large_not_busy() {
        let memory = ReviewMemory::new(1024 * 1024);
        assert!(matches!(memory.hold(2 * 1024 * 1024), Err(MemoryError::TooLarge { .. })));
        let mut held = memory.hold(600 * 1024).unwrap();
        assert!(matches!(memory.grow(&mut held, 600 * 1024), Err(MemoryError::TooLarge { .. })), "one holder can never pass the budget");
        assert_eq!(held.bytes(), 600 * 1024, "a refused growth leaves the hold as it was");
        memory.grow(&mut held, 100 * 1024).unwrap();
        held.shrink_to(10 * 1024);
        assert_eq!(memory.available(), 1014 * 1024);
    }
}
