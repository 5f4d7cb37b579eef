//! What one writer knows about the buckets it read or wrote: each bucket's version `v` and
//! event ids, so that a steady stream of events for the same learners needs one `update`
//! command per store call instead of a `find` and an `update`.
//!
//! The cache is only ever a guess, and what makes a wrong guess harmless depends on the guard
//! (`docs/training-storage.md`):
//! - with the version guard (MongoDB) every update is a compare-and-set on `v`: a stale entry
//!   fails its update (error 11000), is dropped, and the bucket is read again;
//! - with the `_id`-only guard (FerretDB) nothing on the server catches a stale entry, so the
//!   caller must keep to one writer per bucket and call `forget_all` whenever the set of
//!   learners it owns may have changed (every consumer-group rebalance).
//!
//! Bounded by a soft limit on the event ids held, in two generations: entries used lately
//! live in the current one; when it is full, it becomes the previous one and the old previous
//! one is dropped. An entry is *taken* out while a store call uses it and put back (updated)
//! only after its write succeeded, so an entry is never evicted while in use and a failed or
//! uncertain write leaves nothing behind.

use std::collections::{HashMap, HashSet};

/// A bucket's version and the event ids it holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    pub(crate) v: i64,
    pub(crate) ids: HashSet<String>,
}

#[derive(Debug, Default)]
struct Generation {
    map: HashMap<String, Known>,
    ids: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct BucketCache {
    current: Generation,
    previous: Generation,
    /// Event ids per generation before it rolls over.
    per_generation: usize,
    hits: u64,
    misses: u64,
}

impl BucketCache {
    /// A cache holding about `max_ids` event ids at most (two generations of half that).
    pub(crate) fn new(max_ids: usize) -> Self {
        Self {
            current: Generation::default(),
            previous: Generation::default(),
            per_generation: (max_ids / 2).max(1),
            hits: 0,
            misses: 0,
        }
    }

    /// Removes and returns what is known about bucket `id` (`None`: not cached).
    pub(crate) fn take(&mut self, id: &str) -> Option<Known> {
        let found = [&mut self.current, &mut self.previous]
            .into_iter()
            .find_map(|g| {
                let k = g.map.remove(id)?;
                g.ids -= k.ids.len();
                Some(k)
            });
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    /// Records what bucket `id` holds now (after a read, or after a write that succeeded).
    pub(crate) fn put(&mut self, id: String, known: Known) {
        if let Some(old) = self.previous.map.remove(&id) {
            self.previous.ids -= old.ids.len();
        }
        if self.current.ids + known.ids.len() > self.per_generation {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.ids += known.ids.len();
        if let Some(old) = self.current.map.insert(id, known) {
            self.current.ids -= old.ids.len();
        }
    }

    /// Forgets everything (ownership of learners may have changed).
    pub(crate) fn forget_all(&mut self) {
        self.current = Generation::default();
        self.previous = Generation::default();
    }

    /// (hits, misses) of [`take`](Self::take) so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// Event ids held.
    #[cfg(test)]
    fn len_ids(&self) -> usize {
        self.current.ids + self.previous.ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(v: i64, ids: &[&str]) -> Known {
        Known {
            v,
            ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn an_entry_is_taken_out_and_put_back() {
        let mut c = BucketCache::new(100);
        assert_eq!(c.take("a"), None);
        c.put("a".into(), known(3, &["e1", "e2"]));
        assert_eq!(c.take("a"), Some(known(3, &["e1", "e2"])));
        assert_eq!(c.take("a"), None, "taken entries are gone until put back");
        assert_eq!(c.stats(), (1, 2));
        assert_eq!(c.len_ids(), 0);
    }

    #[test]
    fn a_full_generation_rolls_over_and_the_oldest_is_dropped() {
        let mut c = BucketCache::new(8); // 4 ids per generation
        c.put("a".into(), known(1, &["a1", "a2"]));
        c.put("b".into(), known(1, &["b1", "b2"]));
        c.put("c".into(), known(1, &["c1"])); // current full: a, b become the previous
        assert_eq!(c.len_ids(), 5);
        c.put("d".into(), known(1, &["d1", "d2", "d3", "d4"])); // rolls again: a, b dropped
        assert_eq!(c.take("a"), None);
        assert_eq!(c.take("b"), None);
        assert_eq!(c.take("c"), Some(known(1, &["c1"])));
        assert_eq!(c.take("d").map(|k| k.ids.len()), Some(4));
        assert_eq!(c.len_ids(), 0);
    }

    #[test]
    fn putting_a_bucket_again_replaces_it_in_either_generation() {
        let mut c = BucketCache::new(4);
        c.put("a".into(), known(1, &["a1", "a2"]));
        c.put("b".into(), known(1, &["b1"])); // rolls: a in the previous generation
        c.put("a".into(), known(2, &["a1", "a2", "a3"]));
        assert_eq!(c.len_ids(), 4);
        assert_eq!(c.take("a"), Some(known(2, &["a1", "a2", "a3"])));
        c.forget_all();
        assert_eq!(c.take("b"), None);
        assert_eq!(c.len_ids(), 0);
    }
}
