//! The in-memory store: the same bucket model as MongoDB, behind one mutex.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use crate::domain::time::now_ms;
use crate::domain::{CoursePage, DayKey, DayTotals, LearnerTraining, RefinedEvent, Totals};

use super::{
    ApplyReport, BucketKey, OpsCounter, OpsSnapshot, Snapshot, Store, StoreError, StoreFuture,
    group,
};

#[derive(Debug, Default)]
struct Bucket {
    ids: HashSet<String>,
    events: Vec<RefinedEvent>,
    totals: DayTotals,
    updated_at: i64,
}

/// Keeps everything in memory (the embedded demo and tests). Each call counts as one command;
/// each bucket changed counts as one document write.
#[derive(Debug, Default)]
pub struct MemoryStore {
    buckets: Mutex<BTreeMap<BucketKey, Bucket>>,
    ops: OpsCounter,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<BucketKey, Bucket>> {
        // A panic while holding the lock cannot leave a bucket half-updated (every update is
        // computed first and then assigned), so a poisoned lock is still consistent.
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn day_totals<'a>(
        buckets: impl Iterator<Item = (&'a BucketKey, &'a Bucket)>,
    ) -> BTreeMap<DayKey, DayTotals> {
        let mut days: BTreeMap<DayKey, DayTotals> = BTreeMap::new();
        for (k, b) in buckets {
            days.entry(k.day_key()).or_default().merge(&b.totals);
        }
        days
    }

    fn apply_now(&self, events: &[RefinedEvent]) -> ApplyReport {
        let (groups, repeats) = group(events);
        let mut report = ApplyReport {
            received: events.len(),
            duplicates: repeats,
            ..ApplyReport::default()
        };
        let now = now_ms();
        let mut buckets = self.lock();
        for (key, batch) in groups {
            // `group` never yields an empty batch, so a new bucket always gets an event.
            let bucket = buckets.entry(key).or_default();
            let mut changed = false;
            for e in batch {
                if bucket.ids.insert(e.event_id.clone()) {
                    bucket.totals.add(e);
                    bucket.events.push(e.clone());
                    report.applied += 1;
                    changed = true;
                } else {
                    report.duplicates += 1;
                }
            }
            if changed {
                bucket.updated_at = now;
                report.buckets_written += 1;
            }
        }
        self.ops.apply_call();
        self.ops.writes(report.buckets_written as u64);
        report
    }
}

impl Store for MemoryStore {
    fn apply<'a>(&'a self, events: &'a [RefinedEvent]) -> StoreFuture<'a, ApplyReport> {
        Box::pin(async move { Ok(self.apply_now(events)) })
    }

    fn learner_training<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, LearnerTraining> {
        Box::pin(async move {
            self.ops.command();
            let buckets = self.lock();
            let mine = buckets.iter().filter(|(k, _)| k.learner_id == learner_id);
            let updated_at = mine.clone().map(|(_, b)| b.updated_at).max();
            let days = Self::day_totals(mine);
            Ok(LearnerTraining::from_days(
                learner_id,
                days.iter()
                    .map(|(k, t)| (k.course_id.as_str(), k.day.as_str(), t)),
                updated_at,
            ))
        })
    }

    fn course_learners<'a>(
        &'a self,
        course_id: &'a str,
        limit: usize,
        after: Option<&'a str>,
    ) -> StoreFuture<'a, CoursePage> {
        Box::pin(async move {
            self.ops.command();
            let buckets = self.lock();
            let days = Self::day_totals(buckets.iter().filter(|(k, _)| k.course_id == course_id));
            Ok(Totals { days }.course_learners(course_id, limit, after))
        })
    }

    fn courses(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            self.ops.command();
            let buckets = self.lock();
            let mut v: Vec<String> = buckets.keys().map(|k| k.course_id.clone()).collect();
            v.sort();
            v.dedup();
            Ok(v)
        })
    }

    fn learner_version<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.ops.command();
            let buckets = self.lock();
            let mine = buckets.iter().filter(|(k, _)| k.learner_id == learner_id);
            Ok(mine.map(|(_, b)| b.totals.events).sum())
        })
    }

    fn course_version<'a>(&'a self, course_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.ops.command();
            let buckets = self.lock();
            let course = buckets.iter().filter(|(k, _)| k.course_id == course_id);
            Ok(course.map(|(_, b)| b.totals.events).sum())
        })
    }

    fn snapshot(&self) -> StoreFuture<'_, Snapshot> {
        Box::pin(async move {
            self.ops.command();
            let buckets = self.lock();
            Ok(Snapshot {
                events: buckets.values().flat_map(|b| b.events.clone()).collect(),
                aggregates: Totals {
                    days: Self::day_totals(buckets.iter()),
                },
            })
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok::<(), StoreError>(()) })
    }

    fn ops(&self) -> OpsSnapshot {
        self.ops.snapshot()
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}
