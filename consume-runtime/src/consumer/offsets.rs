//! The partition's offsets: which records settled, what is stored for the next commit, where
//! a restarted loop resumes, and what the lag monitor reads.
//!
//! An offset is stored in librdkafka's offset store (from where the periodic and the
//! revocation commits take it) only after its record settled, and records settle in offset
//! order (the lanes' window hands over only its contiguous settled prefix). Storing takes a
//! partition lock, so it is batched: at most every [`STORE_EVERY`] records or
//! [`STORE_INTERVAL`], whenever the queue runs empty, and always before the loop stops or
//! restarts. Batching delays commits (a crash may redeliver a few more records) but never
//! commits an unhandled one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};

use super::context::RuntimeContext;
use super::control::WorkerControl;
use super::progress::Progress;
use crate::metrics::HandlerMetrics;

const STORE_EVERY: u32 = 512;
const STORE_INTERVAL: Duration = Duration::from_millis(100);

/// One partition's offsets, owned by its supervisor across loop restarts.
pub(crate) struct StoredOffset {
    consumer: Arc<BaseConsumer<RuntimeContext>>,
    control: Arc<WorkerControl>,
    metrics: Arc<HandlerMetrics>,
    progress: Arc<Progress>,
    topic: Arc<str>,
    partition: i32,
    /// Last settled offset not yet stored.
    pending: Option<i64>,
    /// The offset after the last settled record (stored or pending): where a restart resumes.
    settled_next: Option<i64>,
    /// The first offset received in this assignment (the resume point before anything settled).
    first_received: Option<i64>,
    /// The highest offset received so far.
    highest_received: Option<i64>,
    since_store: u32,
    last_store: Instant,
    /// Records handled since the last flush, added to the handler's shared counter there:
    /// one shared atomic add per flush instead of one per record (a handler's partition
    /// loops run on every runtime thread, so a per-record add moves that counter's cache
    /// line between cores on most records).
    handled: u64,
}

impl StoredOffset {
    pub(crate) fn new(
        consumer: Arc<BaseConsumer<RuntimeContext>>,
        control: Arc<WorkerControl>,
        metrics: Arc<HandlerMetrics>,
        progress: Arc<Progress>,
        topic: Arc<str>,
        partition: i32,
    ) -> Self {
        Self {
            consumer,
            control,
            metrics,
            progress,
            topic,
            partition,
            pending: None,
            settled_next: None,
            first_received: None,
            highest_received: None,
            since_store: 0,
            last_store: Instant::now(),
            handled: 0,
        }
    }

    /// A record was read from the partition queue (`timestamp_ms`: its timestamp, if any).
    /// `oldest` says whether it is now the oldest record not yet settled (the lag monitor
    /// ages it).
    #[inline]
    pub(crate) fn received(&mut self, offset: i64, timestamp_ms: Option<i64>, oldest: bool) {
        if self.first_received.is_none() {
            self.first_received = Some(offset);
        }
        self.highest_received = Some(offset);
        if oldest {
            self.progress.in_hand(offset, timestamp_ms);
        }
    }

    /// One more record was handled (published to the shared counter at the next flush).
    #[inline]
    pub(crate) fn handled(&mut self, n: u64) {
        self.handled += n;
    }

    /// Every record up to `offset` settled. `next_oldest`: the offset and timestamp of the
    /// oldest record still unsettled behind it, if the loop holds one.
    #[inline]
    pub(crate) fn done(&mut self, offset: i64, next_oldest: Option<(i64, Option<i64>)>) {
        self.pending = Some(offset);
        self.settled_next = Some(offset + 1);
        self.since_store += 1;
        match next_oldest {
            Some((o, ts)) => self.progress.in_hand(o, ts),
            None => self.progress.caught_up_to(offset + 1),
        }
        // Reading the clock costs more than the rest of this; look at it every 16 records.
        if self.since_store >= STORE_EVERY
            || (self.since_store % 16 == 1 && self.last_store.elapsed() >= STORE_INTERVAL)
        {
            self.flush();
        }
    }

    /// Where a restarted loop must start so that nothing is skipped: after the last settled
    /// record, or at the first record received if none settled (`None`: nothing was read).
    pub(crate) fn resume_point(&self) -> Option<i64> {
        self.settled_next.or(self.first_received)
    }

    /// The highest offset read so far.
    pub(crate) fn highest_received(&self) -> Option<i64> {
        self.highest_received
    }

    /// Stores the pending offset (if the partition is still ours) and publishes the count
    /// of handled records.
    pub(crate) fn flush(&mut self) {
        if self.handled > 0 {
            self.metrics.handled.add(std::mem::take(&mut self.handled));
        }
        let Some(offset) = self.pending.take() else {
            return;
        };
        self.since_store = 0;
        self.last_store = Instant::now();
        if !self.control.may_store() {
            return;
        }
        // librdkafka stores `offset + 1`, the next record to read. ERR__STATE means the
        // partition was revoked meanwhile: the next owner redelivers (a duplicate, not a loss).
        match self
            .consumer
            .store_offset(&self.topic, self.partition, offset)
        {
            Ok(()) => crate::failpoint::hit("after-store"),
            Err(e) => {
                tracing::debug!(topic = %self.topic, partition = self.partition, offset, error = %e, "offset not stored")
            }
        }
    }
}
