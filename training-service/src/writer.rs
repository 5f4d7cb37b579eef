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
/// How long one store call may take before the batches in it are retried.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(300);

struct Job {
    events: Vec<RefinedEvent>,
    /// Kafka timestamps (ms), for the latency histogram.
    published: Vec<Option<i64>>,
    done: oneshot::Sender<Result<(), HandlerError>>,
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
        interval: Duration,
        ownership: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, interval, ownership, rx));
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
    interval: Duration,
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
        match grouped {
            Some(Ok(report)) => {
                record(&report, jobs.iter().flat_map(|j| &j.published));
                for j in jobs {
                    let _ = j.done.send(Ok(()));
                }
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
                    let _ = j.done.send(result);
                }
            }
        }
    }
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
