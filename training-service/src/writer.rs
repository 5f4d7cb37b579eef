//! Group commit: every handler's batch goes to one writer task, which applies everything that
//! arrived since its previous store call in **one** store call, starting a call at most every
//! 12 ms (`--write-interval-ms`, `TRAINING_WRITE_INTERVAL_MS`; a batch arriving after a quiet
//! spell goes out at once). The service's metrics (events applied, duplicates, batches, the
//! publish-to-visible latency) are recorded here, after each store call returned. At
//! 2 000 events/s over 12 partitions the framework's per-partition batches hold ~3 events; a
//! group holds all of them, so the database sees a few commands per group instead of a few per
//! partition batch. Each handler returns — and its offsets become committable — only after the
//! call that contained its batch succeeded, so nothing is committed before it is stored.
//!
//! **No double wait.** A partition has one batch in flight at a time (a batch handler's next
//! batch is cut when the previous call returned), so if handlers returned right after their
//! store call, each partition would cut its next batch at once, early in the interval, and an
//! event arriving just after that cut would wait for that batch's call *and* the one after it
//! (two intervals; p99 rose ~2 ms per ms of interval). Instead the writer holds the handlers'
//! results until [`RELEASE_LEAD`] (4 ms) before its next call may start: the events are already
//! visible (the store call returned; the latency histogram is recorded then), only their
//! offsets become committable a few ms later, and each partition cuts its next batch just in
//! time for the next call. An event then waits at most one interval (BENCHMARKS.md,
//! training-latency, has both).
//!
//! If a grouped call fails, each batch of the group is applied on its own, so one bad batch
//! fails (and is retried, then dead-lettered) alone. One channel hop per batch (not per
//! message): the measured reason is the command count (BENCHMARKS.md, training-latency).

use std::sync::Arc;
use std::time::Duration;

use consume_runtime::HandlerError;
use tokio::sync::{mpsc, oneshot};
use training_service::domain::RefinedEvent;
use training_service::domain::time::now_ms;
use training_service::metrics;
use training_service::store::{ApplyReport, Store, StoreError};

/// Most events in one group.
const MAX_GROUP_EVENTS: usize = 5_000;
/// How long before the next call may start the previous call's handlers get their results
/// (default of the hidden `--write-release-lead-ms`): enough for a partition to cut its next
/// batch (the handlers have no batch linger: what queued while they waited is the batch),
/// extract it and queue it here. A batch that misses the call waits a whole interval more;
/// the latency benchmark chose the value (BENCHMARKS.md, training-latency).
pub(crate) const RELEASE_LEAD: Duration = Duration::from_millis(4);
/// How long one store call may take before the batches in it are retried.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(300);

struct Job {
    events: Vec<RefinedEvent>,
    /// Kafka timestamps (ms), for the latency histogram.
    published: Vec<Option<i64>>,
    done: oneshot::Sender<Result<(), HandlerError>>,
}

/// How the writer turns handlers' batches into store calls (`--write-mode`, hidden: the
/// other modes exist so the latency benchmark can run its baselines in the same invocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum WriteMode {
    /// Group commit with results held until just before the next call (the default).
    #[default]
    Group,
    /// Group commit with results released as soon as the call returns: the double wait the
    /// module docs describe (the writer before it was removed).
    GroupReleaseAtOnce,
    /// One store call per event, as they come (no grouping, no interval): the
    /// one-update-per-event baseline.
    PerEvent,
}

/// The writer's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteSettings {
    /// Shortest time between two store calls.
    pub(crate) interval: Duration,
    pub(crate) mode: WriteMode,
    /// How long before the next call results are released ([`RELEASE_LEAD`]).
    pub(crate) release_lead: Duration,
}

/// Handle on the writer task (cheap to clone).
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Starts the writer task on the current tokio runtime. `ownership` returns a number
    /// that changes whenever this process gains or loses partitions (a rebalance count):
    /// before a store call, a change makes the store forget what it cached about buckets.
    pub(crate) fn spawn(
        store: Arc<dyn Store>,
        settings: WriteSettings,
        ownership: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, settings, ownership, rx));
        Self { tx }
    }

    /// Stores `events` (in a group with other handlers' batches); returns once they are
    /// stored.
    pub(crate) async fn apply(
        &self,
        events: Vec<RefinedEvent>,
        published: Vec<Option<i64>>,
    ) -> Result<(), HandlerError> {
        let (done, result) = oneshot::channel();
        self.tx
            .send(Job {
                events,
                published,
                done,
            })
            .map_err(|_| HandlerError::unavailable(WriterGone))?;
        result
            .await
            .map_err(|_| HandlerError::unavailable(WriterGone))?
    }
}

async fn run(
    store: Arc<dyn Store>,
    WriteSettings {
        interval,
        mode,
        release_lead,
    }: WriteSettings,
    ownership: impl Fn() -> u64 + Send + Sync,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let mut owned = ownership();
    let store = &*store;
    // Before every store call: partitions may have moved since the previous one.
    let check_ownership = |owned: &mut u64| {
        let now = ownership();
        if now != *owned {
            *owned = now;
            store.ownership_changed();
        }
    };
    let mut last_call: Option<tokio::time::Instant> = None;
    while let Some(first) = rx.recv().await {
        if mode == WriteMode::PerEvent {
            check_ownership(&mut owned);
            let result = per_event(store, &first).await;
            let _ = first.done.send(result);
            continue;
        }
        let mut jobs = vec![first];
        if let Some(last) = last_call {
            tokio::time::sleep_until(last + interval).await;
        }
        last_call = Some(tokio::time::Instant::now());
        let mut size = jobs[0].events.len();
        while size < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(j) => {
                    size += j.events.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let grouped = if jobs.len() == 1 {
            None
        } else {
            let all: Vec<RefinedEvent> = jobs.iter().flat_map(|j| j.events.clone()).collect();
            check_ownership(&mut owned);
            Some(apply(store, &all).await)
        };
        let mut results = Vec::with_capacity(jobs.len());
        match grouped {
            Some(Ok(report)) => {
                record(&report, jobs.iter().flat_map(|j| &j.published));
                results.extend(jobs.into_iter().map(|j| (j.done, Ok(()))));
            }
            // One batch, or the group failed: each batch on its own.
            _ => {
                for j in jobs {
                    check_ownership(&mut owned);
                    let result = match apply(store, &j.events).await {
                        Ok(report) => {
                            record(&report, &j.published);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    };
                    results.push((j.done, result));
                }
            }
        }
        // Hold the results until just before the next call may start (see the module docs).
        if let (Some(last), WriteMode::Group) = (last_call, mode) {
            tokio::time::sleep_until(last + interval.saturating_sub(release_lead)).await;
        }
        for (done, result) in results {
            let _ = done.send(result);
        }
    }
}

/// The baseline: one store call per event.
async fn per_event(store: &dyn Store, job: &Job) -> Result<(), HandlerError> {
    for (event, published) in job.events.iter().zip(&job.published) {
        let report = apply(store, std::slice::from_ref(event)).await?;
        record(&report, std::iter::once(published));
    }
    Ok(())
}

/// One store call, bounded by [`STORE_TIMEOUT`]; errors as the handler reports them.
async fn apply(store: &dyn Store, events: &[RefinedEvent]) -> Result<ApplyReport, HandlerError> {
    match tokio::time::timeout(STORE_TIMEOUT, store.apply(events)).await {
        Err(_) => Err(HandlerError::unavailable(StoreTimeout(events.len()))),
        Ok(Ok(report)) => Ok(report),
        // The database is down or busy: the batch waits and is retried, never skipped.
        Ok(Err(e)) if e.is_transient() => Err(HandlerError::unavailable(e)),
        // A bucket the store cannot read: retried (bounded), then dead-lettered, so an
        // operator sees it; never counted wrongly.
        Ok(Err(e @ StoreError::Corrupt { .. })) => Err(HandlerError::retryable(e)),
        Ok(Err(e)) => Err(HandlerError::retryable(e)),
    }
}

fn record<'a>(report: &ApplyReport, published: impl IntoIterator<Item = &'a Option<i64>>) {
    metrics::record_apply(report.applied as u64, report.duplicates as u64);
    let now = now_ms();
    for at in published.into_iter().flatten() {
        metrics::record_visible_latency_ms(u64::try_from(now - at).unwrap_or(0));
    }
}

/// The writer task is gone (the runtime is shutting down).
#[derive(Debug)]
struct WriterGone;

impl std::fmt::Display for WriterGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store writer has stopped")
    }
}

impl std::error::Error for WriterGone {}

/// The store did not answer in time.
#[derive(Debug)]
struct StoreTimeout(usize);

impl std::fmt::Display for StoreTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the store did not finish a call of {} events within {} s",
            self.0,
            STORE_TIMEOUT.as_secs()
        )
    }
}

impl std::error::Error for StoreTimeout {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::time::Instant;
    use training_service::domain::{RefinedEvent, Source};
    use training_service::store::{MemoryStore, Store};

    use super::{RELEASE_LEAD, WriteMode, WriteSettings, Writer};

    /// Long, so that "not before" and "well before" hold on a busy machine too.
    const INTERVAL: Duration = Duration::from_millis(800);

    fn event(id: &str) -> RefinedEvent {
        RefinedEvent {
            event_id: id.into(),
            learner_id: "learner".into(),
            course_id: "course".into(),
            day: "2026-12-03".into(),
            source: Source::Lecture {
                lecture_id: "l".into(),
                seconds: 60,
            },
            occurred_at: 0,
        }
    }

    fn writer(mode: WriteMode) -> (Arc<MemoryStore>, Writer) {
        let store = Arc::new(MemoryStore::new());
        let settings = WriteSettings {
            interval: INTERVAL,
            mode,
            release_lead: RELEASE_LEAD,
        };
        let w = Writer::spawn(Arc::clone(&store) as Arc<dyn Store>, settings, || 0);
        (store, w)
    }

    /// A batch after a quiet spell is stored at once, but its result waits until
    /// `RELEASE_LEAD` before the next call may start; batches arriving meanwhile share one
    /// call, which starts no earlier than one interval after the previous one.
    #[tokio::test]
    async fn batches_are_grouped_and_results_held_until_just_before_the_next_call() {
        let (store, w) = writer(WriteMode::Group);
        let start = Instant::now();
        let first = tokio::spawn({
            let w = w.clone();
            async move { w.apply(vec![event("a")], vec![None]).await }
        });
        // Stored at once (visible), while the handler still waits.
        let stored = Instant::now();
        while store.ops().apply_commands == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(stored.elapsed() < INTERVAL / 2, "not stored at once");
        assert!(!first.is_finished(), "released before the next slot");
        first.await.expect("task").expect("first");
        assert!(
            start.elapsed() >= INTERVAL - RELEASE_LEAD,
            "{:?}",
            start.elapsed()
        );
        let (x, y) = tokio::join!(
            w.apply(vec![event("b"), event("c")], vec![None, None]),
            w.apply(vec![event("d")], vec![None]),
        );
        x.expect("b, c");
        y.expect("d");
        assert_eq!(
            store.ops().apply_commands,
            2,
            "the two batches shared a call"
        );
        assert!(
            start.elapsed() >= 2 * INTERVAL - RELEASE_LEAD,
            "{:?}",
            start.elapsed()
        );
        let t = store.learner_training("learner").await.expect("read");
        assert_eq!(t.total_seconds, 4 * 60);
    }

    #[tokio::test]
    async fn the_baselines_release_at_once_or_call_per_event() {
        let (store, w) = writer(WriteMode::GroupReleaseAtOnce);
        let start = Instant::now();
        w.apply(vec![event("a")], vec![None]).await.expect("a");
        assert!(start.elapsed() < INTERVAL / 2, "not released at once");
        w.apply(vec![event("b")], vec![None]).await.expect("b");
        assert!(
            start.elapsed() >= INTERVAL,
            "the next call did not wait for its slot"
        );
        assert_eq!(store.ops().apply_commands, 2);

        let (store, w) = writer(WriteMode::PerEvent);
        let events: Vec<_> = (0..5).map(|i| event(&format!("e{i}"))).collect();
        w.apply(events, vec![None; 5]).await.expect("per event");
        assert_eq!(store.ops().apply_commands, 5, "one call per event");
    }
}
