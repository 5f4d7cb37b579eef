//! Storage of refined events and their totals: the [`Store`] trait and its two
//! implementations, [`MemoryStore`] and [`MongoStore`].
//!
//! Both keep one *bucket* per (learner, course, day, source) holding the bucket's refined events
//! (by `event_id`) and its running totals, updated together — see `docs/training-storage.md`.
//! An event whose `event_id` is already in its bucket is not counted again, whatever the batch
//! boundaries, so `apply` can be repeated freely under at-least-once delivery.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::domain::{
    CoursePage, DayKey, DayTotals, LearnerTraining, RefinedEvent, SourceKind, Totals,
};

mod bucket_cache;
mod memory;
mod mongo;

pub use memory::MemoryStore;
pub use mongo::{BUCKETS_COLLECTION, Guard, MongoStore};

/// A boxed future returned by [`Store`] methods.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// The largest page [`Store::course_learners`] callers should ask for (the API caps `limit`).
pub const MAX_PAGE: usize = 500;

/// Storage of refined events and totals. Object-safe: use it as `Arc<dyn Store>`.
pub trait Store: Send + Sync {
    /// Stores and counts `events`; an `event_id` already stored in the event's bucket (from any
    /// earlier call or earlier in `events`) is skipped. Safe to repeat after any failure.
    fn apply<'a>(&'a self, events: &'a [RefinedEvent]) -> StoreFuture<'a, ApplyReport>;

    /// One learner's totals; zeros for a learner with no events.
    fn learner_training<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, LearnerTraining>;

    /// Learners of a course with `learner_id > after`, ascending, at most `limit` of them.
    fn course_learners<'a>(
        &'a self,
        course_id: &'a str,
        limit: usize,
        after: Option<&'a str>,
    ) -> StoreFuture<'a, CoursePage>;

    /// Every course id with at least one stored event, ascending.
    fn courses(&self) -> StoreFuture<'_, Vec<String>>;

    /// A change check for [`Store::learner_training`]: equal values mean an unchanged view.
    /// Both stores answer with the number of events counted for the learner (one small query;
    /// it grows with every change). The default hashes the whole view (not cheap).
    fn learner_version<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut view = self.learner_training(learner_id).await?;
            view.updated_at = None;
            Ok(hash_of(&view))
        })
    }

    /// A change check for every page of [`Store::course_learners`] of `course_id`, as
    /// [`Store::learner_version`]: the number of events counted for the course.
    fn course_version<'a>(&'a self, course_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut pages = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .course_learners(course_id, MAX_PAGE, after.as_deref())
                    .await?;
                after = page.next.clone();
                pages.push(page);
                if after.is_none() {
                    break;
                }
            }
            Ok(hash_of(&pages))
        })
    }

    /// Every stored refined event and the stored totals, read consistently per bucket.
    fn snapshot(&self) -> StoreFuture<'_, Snapshot>;

    /// Every stored refined event (for `reconcile`).
    fn refined_events(&self) -> StoreFuture<'_, Vec<RefinedEvent>> {
        Box::pin(async move { Ok(self.snapshot().await?.events) })
    }

    /// The stored totals per (learner, course, day), as the store counted them.
    fn aggregates(&self) -> StoreFuture<'_, Totals> {
        Box::pin(async move { Ok(self.snapshot().await?.aggregates) })
    }

    /// Recomputes the totals from the stored refined events and compares them with the stored
    /// totals. Run it while nothing writes, or expect differences from in-flight batches only
    /// if a bucket was read mid-write (each bucket is read atomically, so normally none).
    fn reconcile(&self) -> StoreFuture<'_, ReconcileReport> {
        Box::pin(async move { Ok(self.snapshot().await?.reconcile()) })
    }

    /// Succeeds when the database answers.
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// The caller may have lost or gained learners (a consumer-group rebalance): forget what
    /// is cached about buckets. Stores without such a cache ignore it.
    fn ownership_changed(&self) {}

    /// Database operations issued so far.
    fn ops(&self) -> OpsSnapshot;

    /// `memory` or `mongodb`.
    fn kind(&self) -> &'static str;
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn apply<'a>(&'a self, events: &'a [RefinedEvent]) -> StoreFuture<'a, ApplyReport> {
        (**self).apply(events)
    }
    fn ownership_changed(&self) {
        (**self).ownership_changed();
    }
    fn learner_training<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, LearnerTraining> {
        (**self).learner_training(learner_id)
    }
    fn course_learners<'a>(
        &'a self,
        course_id: &'a str,
        limit: usize,
        after: Option<&'a str>,
    ) -> StoreFuture<'a, CoursePage> {
        (**self).course_learners(course_id, limit, after)
    }
    fn courses(&self) -> StoreFuture<'_, Vec<String>> {
        (**self).courses()
    }
    fn learner_version<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, u64> {
        (**self).learner_version(learner_id)
    }
    fn course_version<'a>(&'a self, course_id: &'a str) -> StoreFuture<'a, u64> {
        (**self).course_version(course_id)
    }
    fn snapshot(&self) -> StoreFuture<'_, Snapshot> {
        (**self).snapshot()
    }
    fn reconcile(&self) -> StoreFuture<'_, ReconcileReport> {
        (**self).reconcile()
    }
    fn ping(&self) -> StoreFuture<'_, ()> {
        (**self).ping()
    }
    fn ops(&self) -> OpsSnapshot {
        (**self).ops()
    }
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
}

/// A hash of `value`'s JSON (the default change checks).
fn hash_of(value: &impl Serialize) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(value).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Why a store call failed. Every variant but [`StoreError::Corrupt`] is transient: retrying
/// the same call later is safe and expected to succeed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database error: {0}")]
    Database(String),
    /// A bucket kept changing under us (another writer); gave up after `attempts` rounds.
    #[error("bucket {bucket} changed concurrently {attempts} times; another writer is active")]
    Conflict {
        /// The bucket's `_id`.
        bucket: String,
        /// Rounds tried.
        attempts: u32,
    },
    /// A stored document does not have the expected shape.
    #[error("corrupt document {id}: {problem}")]
    Corrupt {
        /// The document's `_id`.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

impl StoreError {
    /// Whether retrying can help.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::Corrupt { .. })
    }
}

impl From<mongodb::error::Error> for StoreError {
    fn from(e: mongodb::error::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// What one [`Store::apply`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Events passed in.
    pub received: usize,
    /// Events newly stored and counted.
    pub applied: usize,
    /// Events skipped: already stored, or repeated within the batch.
    pub duplicates: usize,
    /// Bucket documents written.
    pub buckets_written: usize,
    /// Extra rounds needed because a bucket changed between read and write.
    pub retries: usize,
}

/// Database operations so far (monotonic counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsSnapshot {
    /// Commands sent to the database (round trips: `find`, `getMore`, `update`, `aggregate`, …).
    /// The MongoDB store counts them with the driver's command monitoring (every
    /// `CommandStarted` event, whoever issued it); the memory store counts its calls.
    pub commands: u64,
    /// [`OpsSnapshot::commands`] by command name (the MongoDB store; zeros in the memory store).
    #[serde(default)]
    pub by_command: CommandCounts,
    /// The part of [`OpsSnapshot::commands`] that [`Store::apply`] issued (the writer's
    /// commands, without the API's reads): the figure "commands per 1 000 events" is made of.
    /// The MongoDB store tells them apart in the same command monitoring: a command started
    /// inside `apply`'s future counts here too.
    #[serde(default)]
    pub apply_commands: u64,
    /// Documents inserted or updated.
    pub document_writes: u64,
    /// Buckets found in the store's bucket cache (no read needed), if it has one.
    #[serde(default)]
    pub cache_hits: u64,
    /// Buckets the bucket cache did not have (read, or assumed new under the version guard).
    #[serde(default)]
    pub cache_misses: u64,
}

impl OpsSnapshot {
    /// Counters since `earlier`.
    pub fn since(self, earlier: OpsSnapshot) -> OpsSnapshot {
        OpsSnapshot {
            commands: self.commands.saturating_sub(earlier.commands),
            apply_commands: self.apply_commands.saturating_sub(earlier.apply_commands),
            document_writes: self.document_writes.saturating_sub(earlier.document_writes),
            cache_hits: self.cache_hits.saturating_sub(earlier.cache_hits),
            cache_misses: self.cache_misses.saturating_sub(earlier.cache_misses),
            by_command: self.by_command.since(earlier.by_command),
        }
    }

    /// Commands per 1 000 events, for `events` events.
    pub fn commands_per_1000(self, events: u64) -> f64 {
        if events == 0 {
            0.0
        } else {
            self.commands as f64 * 1000.0 / events as f64
        }
    }
}

/// Database commands by name: the ones the MongoDB store sends, and `other` for the rest
/// (`buildInfo`, `createIndexes`, `ping`, `killCursors`, `endSessions`, a test's own, …). A
/// fixed set, so that it can be exported as a label without unbounded cardinality.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandCounts {
    /// `find` (reading bucket versions, totals, snapshots).
    pub find: u64,
    /// `getMore` (a reply continued in another batch).
    pub get_more: u64,
    /// `update` (bucket writes: one command carries many statements).
    pub update: u64,
    /// `insert`.
    pub insert: u64,
    /// `delete`.
    pub delete: u64,
    /// `aggregate` (course listings).
    pub aggregate: u64,
    /// Any other command.
    pub other: u64,
}

impl CommandCounts {
    /// The counter a command name belongs to.
    fn slot(name: &str) -> usize {
        match name {
            "find" => 0,
            "getMore" => 1,
            "update" => 2,
            "insert" => 3,
            "delete" => 4,
            "aggregate" => 5,
            _ => 6,
        }
    }

    /// `(command name, count)` pairs, in a fixed order (`other` last).
    pub fn iter(&self) -> [(&'static str, u64); 7] {
        [
            ("find", self.find),
            ("getMore", self.get_more),
            ("update", self.update),
            ("insert", self.insert),
            ("delete", self.delete),
            ("aggregate", self.aggregate),
            ("other", self.other),
        ]
    }

    /// The sum of every counter.
    pub fn total(&self) -> u64 {
        self.iter().iter().map(|(_, n)| n).sum()
    }

    /// Counters since `earlier`.
    pub fn since(self, earlier: CommandCounts) -> CommandCounts {
        CommandCounts {
            find: self.find.saturating_sub(earlier.find),
            get_more: self.get_more.saturating_sub(earlier.get_more),
            update: self.update.saturating_sub(earlier.update),
            insert: self.insert.saturating_sub(earlier.insert),
            delete: self.delete.saturating_sub(earlier.delete),
            aggregate: self.aggregate.saturating_sub(earlier.aggregate),
            other: self.other.saturating_sub(earlier.other),
        }
    }
}

/// Thread-safe counters behind [`OpsSnapshot`].
#[derive(Debug, Default)]
pub(crate) struct OpsCounter {
    commands: AtomicU64,
    apply_commands: AtomicU64,
    writes: AtomicU64,
    /// By [`CommandCounts::slot`].
    by_command: [AtomicU64; 7],
}

impl OpsCounter {
    /// One call of the memory store (no database, no name).
    pub(crate) fn command(&self) {
        self.commands.fetch_add(1, Ordering::Relaxed);
    }
    /// One call of the memory store's `apply`.
    pub(crate) fn apply_call(&self) {
        self.apply_commands.fetch_add(1, Ordering::Relaxed);
        self.command();
    }
    /// One database command, by name (from the driver's command monitoring); `in_apply`: it
    /// was started by [`Store::apply`].
    pub(crate) fn named_command(&self, name: &str, in_apply: bool) {
        self.by_command[CommandCounts::slot(name)].fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(1, Ordering::Relaxed);
        if in_apply {
            self.apply_commands.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub(crate) fn writes(&self, n: u64) {
        self.writes.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn snapshot(&self) -> OpsSnapshot {
        let n = |i: usize| self.by_command[i].load(Ordering::Relaxed);
        OpsSnapshot {
            commands: self.commands.load(Ordering::Relaxed),
            apply_commands: self.apply_commands.load(Ordering::Relaxed),
            document_writes: self.writes.load(Ordering::Relaxed),
            by_command: CommandCounts {
                find: n(0),
                get_more: n(1),
                update: n(2),
                insert: n(3),
                delete: n(4),
                aggregate: n(5),
                other: n(6),
            },
            ..OpsSnapshot::default()
        }
    }
}

/// Everything a store holds, read bucket by bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The stored refined events.
    pub events: Vec<RefinedEvent>,
    /// The stored totals (the buckets' counters, merged per day).
    pub aggregates: Totals,
}

impl Snapshot {
    /// Compares totals recomputed from `events` with `aggregates`.
    pub fn reconcile(&self) -> ReconcileReport {
        let expected = Totals::from_events(&self.events);
        let mut seen = HashSet::new();
        let mut duplicated = BTreeSet::new();
        for e in &self.events {
            if !seen.insert(e.event_id.as_str()) {
                duplicated.insert(e.event_id.clone());
            }
        }
        let keys: BTreeSet<&DayKey> = expected
            .days
            .keys()
            .chain(self.aggregates.days.keys())
            .collect();
        let mut differences = Vec::new();
        for k in keys {
            let e = expected.days.get(k).copied();
            let s = self.aggregates.days.get(k).copied();
            // A day whose stored counters are all zero is the same as an absent day.
            if e.unwrap_or_default() != s.unwrap_or_default() {
                differences.push(Difference {
                    key: k.clone(),
                    expected: e.unwrap_or_default(),
                    stored: s.unwrap_or_default(),
                });
            }
        }
        ReconcileReport {
            events: self.events.len() as u64,
            days: expected.days.len() as u64,
            differences,
            duplicate_event_ids: duplicated.into_iter().collect(),
        }
    }
}

/// The result of [`Store::reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// Refined events read.
    pub events: u64,
    /// (learner, course, day) recomputed from them.
    pub days: u64,
    /// Days whose stored totals differ from the recomputed ones.
    pub differences: Vec<Difference>,
    /// Event ids stored more than once (in different buckets: the same id was sent with a
    /// different learner, course, day or topic).
    pub duplicate_event_ids: Vec<String>,
}

impl ReconcileReport {
    /// No difference and no duplicated event id.
    pub fn is_exact(&self) -> bool {
        self.differences.is_empty() && self.duplicate_event_ids.is_empty()
    }
}

/// One (learner, course, day) whose stored totals differ from the recomputed ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// Which day.
    pub key: DayKey,
    /// Recomputed from the refined events (each `event_id` once).
    pub expected: DayTotals,
    /// As stored.
    pub stored: DayTotals,
}

/// One bucket: (learner, course, day, source).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct BucketKey {
    pub(crate) learner_id: String,
    pub(crate) course_id: String,
    pub(crate) day: String,
    pub(crate) source: SourceKind,
}

impl BucketKey {
    pub(crate) fn of(e: &RefinedEvent) -> Self {
        Self {
            learner_id: e.learner_id.clone(),
            course_id: e.course_id.clone(),
            day: e.day.clone(),
            source: e.source.kind(),
        }
    }

    /// `{learner}|{course}|{day}|{source}` with `%` and `|` percent-escaped in the ids, so that
    /// distinct keys never share an `_id`.
    pub(crate) fn id(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            escape(&self.learner_id),
            escape(&self.course_id),
            self.day,
            self.source.as_str()
        )
    }

    pub(crate) fn day_key(&self) -> DayKey {
        DayKey {
            learner_id: self.learner_id.clone(),
            course_id: self.course_id.clone(),
            day: self.day.clone(),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('%', "%25").replace('|', "%7C")
}

/// Groups a batch by bucket, dropping repeated event ids within the batch (the first wins).
/// Returns the groups and the number of dropped repeats.
pub(crate) fn group(events: &[RefinedEvent]) -> (BTreeMap<BucketKey, Vec<&RefinedEvent>>, usize) {
    let mut seen = HashSet::new();
    let mut groups: BTreeMap<BucketKey, Vec<&RefinedEvent>> = BTreeMap::new();
    let mut repeats = 0;
    for e in events {
        if seen.insert(e.event_id.as_str()) {
            groups.entry(BucketKey::of(e)).or_default().push(e);
        } else {
            repeats += 1;
        }
    }
    (groups, repeats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_ids_escape_the_separator() {
        let a = BucketKey {
            learner_id: "a|b".into(),
            course_id: "c".into(),
            day: "2026-01-01".into(),
            source: SourceKind::Quiz,
        };
        let b = BucketKey {
            learner_id: "a".into(),
            course_id: "b|c".into(),
            ..a.clone()
        };
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id(), "a%7Cb|c|2026-01-01|quiz");
        let c = BucketKey {
            learner_id: "a%7Cb".into(),
            ..a.clone()
        };
        assert_ne!(a.id(), c.id());
    }
}
