//! The per-worker-thread memo behind the hot path's fast lookups (the access check, the
//! preview cache's hits, routed links).
//!
//! Each actix worker is one thread, so a plain map per thread answers a repeated key with
//! no synchronisation. A memo copies state whose owner can change it, so every entry has a
//! deadline, and the owner keeps an epoch that it moves on every change: a memo asked
//! under a new epoch empties itself, and an entry stored under an old one (a lookup that
//! raced the change) is dropped.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Where each [`Epoch`] starts counting: far apart, so a thread's memo filled for one owner
/// never matches another's (tests run several servers in one process).
static BASES: AtomicU64 = AtomicU64::new(0);

/// An owner's count of changes to what memos copy from it. Clones share the count.
#[derive(Debug, Clone)]
pub struct Epoch(Arc<AtomicU64>);

impl Default for Epoch {
    fn default() -> Self {
        Self(Arc::new(AtomicU64::new(
            BASES.fetch_add(1 << 32, Ordering::Relaxed),
        )))
    }
}

impl Epoch {
    /// Read before a lookup whose result will be memoised: a change while it runs moves the
    /// epoch past what the entry is stored under, so it is never served.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Called after a change: every memo empties itself on its next use.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Values by key, each with its own deadline, all dropped when the epoch moves.
pub struct EpochMemo<K, V> {
    epoch: u64,
    capacity: usize,
    /// foldhash: quick on long keys (a JWT, a URL), and randomly seeded, so chosen keys
    /// cannot collide on purpose.
    entries: HashMap<K, (V, Instant), foldhash::fast::RandomState>,
}

impl<K: Hash + Eq, V: Clone> EpochMemo<K, V> {
    /// A memo that starts over once it holds `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            epoch: 0,
            capacity,
            entries: HashMap::default(),
        }
    }

    pub fn get<Q>(&mut self, key: &Q, epoch: u64, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.epoch != epoch {
            self.entries.clear();
            self.epoch = epoch;
            return None;
        }
        let (value, until) = self.entries.get(key)?;
        if now < *until {
            return Some(value.clone());
        }
        self.entries.remove(key);
        None
    }

    pub fn put(&mut self, key: K, epoch: u64, value: V, until: Instant) {
        if self.epoch != epoch {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.clear();
        }
        self.entries.insert(key, (value, until));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn memo() -> EpochMemo<Box<str>, usize> {
        EpochMemo::new(16)
    }

    #[test]
    fn an_entry_lives_until_its_deadline() {
        let mut memo = memo();
        let t0 = Instant::now();
        memo.put("token".into(), 0, 7, t0 + Duration::from_secs(5));
        assert_eq!(memo.get("token", 0, t0 + Duration::from_secs(4)), Some(7));
        assert_eq!(memo.get("other", 0, t0), None);
        assert_eq!(memo.get("token", 0, t0 + Duration::from_secs(5)), None);
        // Gone for good, even if asked with an earlier clock.
        assert_eq!(memo.get("token", 0, t0), None);
    }

    #[test]
    fn a_moved_epoch_empties_the_memo_and_refuses_late_entries() {
        let mut memo = memo();
        let until = Instant::now() + Duration::from_secs(60);
        memo.put("a".into(), 0, 1, until);
        memo.put("b".into(), 0, 2, until);
        // Something changed: nothing stored before it may be served.
        assert_eq!(memo.get("a", 1, Instant::now()), None);
        assert_eq!(memo.get("b", 1, Instant::now()), None);
        // A lookup that began before the change stores under the old epoch: dropped.
        memo.put("c".into(), 0, 3, until);
        assert_eq!(memo.get("c", 1, Instant::now()), None);
        memo.put("c".into(), 1, 3, until);
        assert_eq!(memo.get("c", 1, Instant::now()), Some(3));
    }

    #[test]
    fn the_memo_is_bounded() {
        let mut memo = memo();
        let until = Instant::now() + Duration::from_secs(60);
        for i in 0..=16 {
            memo.put(format!("key-{i}").into(), 0, i, until);
        }
        assert!(memo.entries.len() <= 16);
        assert_eq!(memo.get("key-16", 0, Instant::now()), Some(16));
    }
}
