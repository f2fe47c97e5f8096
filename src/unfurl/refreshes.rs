//! The bookkeeping of background refreshes (stale-while-revalidate, see
//! `crate::unfurl::cache`): which keys were claimed lately, and how many refreshes run.
//!
//! A key is claimed for [`RETRY_AFTER`] when its refresh starts. Concurrent hits, on every
//! worker thread, then start nothing more, and a refresh that failed is not tried again
//! until the claim runs out: the old preview keeps being served meanwhile, and a failing
//! origin is not asked on every hit. At most a fixed number of refreshes run at once; a
//! hit that finds none free starts nothing (a later hit will, or the entry expires and the
//! next miss reads it afresh), so a burst of ageing entries never queues unbounded work.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a claimed key starts no other refresh: longer than one fetch may take (its
/// deadline is at most ten seconds), so one refresh per key runs at a time, and as long as
/// a failure is remembered (`NEGATIVE_TTL`), so a failing origin is asked no more often
/// through refreshes than through misses.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Claims kept before the expired ones are swept out; past it (after a sweep) no refresh
/// starts. Each claim is one key, so this bounds the map to well under a megabyte.
const MAX_CLAIMS: usize = 4096;

/// Keys refreshed lately, and the slots refreshes run in.
#[derive(Debug)]
pub struct Refreshes<K> {
    claims: Mutex<HashMap<K, Instant>>,
    slots: Arc<Semaphore>,
    capacity: u32,
}

/// A running refresh's slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl<K: Hash + Eq> Refreshes<K> {
    /// At most `running` refreshes at once.
    pub fn new(running: u32) -> Self {
        Self {
            claims: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(running as usize)),
            capacity: running,
        }
    }

    /// A slot to refresh `key` in now, unless the key was claimed less than
    /// [`RETRY_AFTER`] ago or every slot is taken.
    pub fn claim(&self, key: K, now: Instant) -> Option<Slot> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        // Held for a lookup and an insert only; a panic while held leaves the map whole.
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if claims.get(&key).is_some_and(|until| now < *until) {
            return None;
        }
        if claims.len() >= MAX_CLAIMS {
            claims.retain(|_, until| now < *until);
            if claims.len() >= MAX_CLAIMS {
                return None;
            }
        }
        claims.insert(key, now + RETRY_AFTER);
        Some(Slot { _permit: permit })
    }

    /// Wait until no refresh runs (tests wait on this instead of sleeping).
    pub async fn settled(&self) {
        // Closed only by dropping the semaphore, which `self` holds: never here.
        let _all = self.slots.acquire_many(self.capacity).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_claimed_once_until_its_claim_runs_out() {
        let refreshes = Refreshes::new(4);
        let now = Instant::now();
        let first = refreshes.claim("a", now);
        assert!(first.is_some());
        assert!(refreshes.claim("a", now).is_none(), "under way");
        drop(first);
        assert!(
            refreshes.claim("a", now + Duration::from_secs(1)).is_none(),
            "finished or failed lately"
        );
        assert!(refreshes.claim("b", now).is_some(), "another key");
        assert!(refreshes.claim("a", now + RETRY_AFTER).is_some());
    }

    #[test]
    fn no_more_than_the_slots_run_at_once() {
        let refreshes = Refreshes::new(2);
        let now = Instant::now();
        let a = refreshes.claim(1, now);
        let b = refreshes.claim(2, now);
        assert!(a.is_some() && b.is_some());
        assert!(refreshes.claim(3, now).is_none(), "no slot");
        drop(a);
        assert!(
            refreshes.claim(3, now).is_some(),
            "a slot given back is used"
        );
    }
}
