//! What the three partition loops share: the assigned partition ([`Partition`]), reading
//! from its queue ([`Partition::recv`], which also serves idle flushes and fetch errors),
//! the loop's position ([`Cursor`]), how a loop runs ([`Mode`]) and ends ([`Exit`]).
//!
//! The loops themselves are peers: `sequential.rs` (one record at a time), `lanes.rs`
//! (`concurrency = N`, per-key order) and `batcher.rs` (`batch = N`). The supervisor
//! (`supervisor.rs`) opens the partition, runs one of them, restarts it if it crashes, and
//! closes the partition; a loop only reads, settles and reports offsets.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message as _};
use tokio::runtime::Handle;

use super::context::RuntimeContext;
use super::control::WorkerControl;
use super::dead_letter::Route;
use super::offsets::StoredOffset;
use super::progress::Progress;
use super::queue::AsyncPartitionQueue;
use super::settle::Settle;
use crate::extract::delivery::Source;
use crate::extract::{Delivery, StateMap};
use crate::metrics::HandlerMetrics;
use crate::options::HandlerOptions;
use crate::retry::RetryPolicy;

/// What every partition of one handler shares.
#[derive(Debug)]
pub(crate) struct HandlerShared {
    pub(crate) name: Arc<str>,
    pub(crate) group: Arc<str>,
    pub(crate) state: Arc<StateMap>,
    pub(crate) retry: RetryPolicy,
    pub(crate) metrics: Arc<HandlerMetrics>,
    pub(crate) rt: Handle,
    /// Where records that failed for good go; `None`: dead letters are off (logged, passed).
    pub(crate) dead_letters: Option<Route>,
    /// The handler's `#[consume]` settings.
    pub(crate) options: HandlerOptions,
}

/// One assigned partition: its queue and everything its loop reports to.
pub(crate) struct Partition {
    pub(crate) queue: AsyncPartitionQueue,
    pub(crate) consumer: Arc<BaseConsumer<RuntimeContext>>,
    pub(crate) control: Arc<WorkerControl>,
    pub(crate) shared: Arc<HandlerShared>,
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) progress: Arc<Progress>,
}

/// How a loop run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Stop requested (revocation, shutdown) or the queue closed.
    Stopped,
    /// A careful run (see [`Mode`]) settled everything up to its limit.
    CarefulDone,
}

/// How a loop runs. The default is the handler's configured shape; after a crash the
/// supervisor asks for a *careful* run: one record at a time up to the highest offset read
/// before the crash, so that a crash that repeats points at one record, which is then
/// dead-lettered unrun as `poison`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Mode {
    /// One record at a time until this offset settled.
    pub(crate) careful_until: Option<i64>,
    /// `(offset, reason)`: dead-letter this record without running the handler.
    pub(crate) poison: Option<(i64, String)>,
}

impl Mode {
    pub(crate) fn careful(&self) -> bool {
        self.careful_until.is_some()
    }

    /// The poison reason if `offset` is the poisoned record.
    pub(crate) fn poison_at(&self, offset: i64) -> Option<&str> {
        match &self.poison {
            Some((o, why)) if *o == offset => Some(why),
            _ => None,
        }
    }

    /// Whether a careful run is finished once `offset` settled.
    pub(crate) fn careful_done_at(&self, offset: i64) -> bool {
        self.careful_until.is_some_and(|u| offset >= u)
    }
}

/// One of the three loops, as the supervisor runs it.
pub(crate) trait Loop: Send + Sync + 'static {
    /// Runs until a stop request (or, in careful mode, its limit).
    fn run<'a>(
        &'a self,
        p: &'a Partition,
        cur: &'a mut Cursor,
        mode: &'a Mode,
    ) -> impl Future<Output = Exit> + Send + 'a;
}

/// A loop's position: the offsets (kept across restarts) and the current streak of fetch
/// errors.
pub(crate) struct Cursor {
    pub(crate) stored: StoredOffset,
    streak: ErrorStreak,
}

impl Cursor {
    pub(crate) fn new(p: &Partition) -> Self {
        Self {
            stored: StoredOffset::new(
                Arc::clone(&p.consumer),
                Arc::clone(&p.control),
                Arc::clone(&p.shared.metrics),
                Arc::clone(&p.progress),
                Arc::clone(&p.topic),
                p.partition,
            ),
            streak: ErrorStreak::default(),
        }
    }
}

impl Partition {
    /// The next record, or `None` once a stop is requested. Flushes stored offsets whenever
    /// the queue runs empty. Fetch errors (librdkafka reports them on the partition's queue,
    /// e.g. a batch it cannot decompress) are counted and logged once per streak.
    pub(crate) async fn recv(&self, cur: &mut Cursor) -> Option<BorrowedMessage<'_>> {
        loop {
            let got = self
                .queue
                .recv(&self.control, || cur.stored.flush())
                .await?;
            match got {
                Ok(m) => {
                    cur.streak.end(self);
                    return Some(m);
                }
                Err(e) => cur.streak.error(self, &e),
            }
        }
    }

    /// A record if one is queued right now (fetch errors are handled as in [`recv`]).
    ///
    /// [`recv`]: Partition::recv
    pub(crate) fn try_recv(&self, cur: &mut Cursor) -> Option<BorrowedMessage<'_>> {
        loop {
            match self.queue.try_recv()? {
                Ok(m) => {
                    cur.streak.end(self);
                    return Some(m);
                }
                Err(e) => cur.streak.error(self, &e),
            }
        }
    }

    /// The delivery of `msg` (first attempt).
    pub(crate) fn delivery<'a>(&'a self, msg: &'a BorrowedMessage<'a>) -> Delivery<'a> {
        Delivery {
            topic: &self.topic,
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key(),
            payload: msg.payload(),
            state: &self.shared.state,
            attempt: 1,
            source: Source::Kafka(msg),
        }
    }

    /// The settle step for this partition's records.
    pub(crate) fn settle(&self) -> Settle<'_, Route> {
        Settle {
            handler: &self.shared.name,
            group: &self.shared.group,
            retry: self.shared.retry,
            metrics: &self.shared.metrics,
            stop: self.control.stop_token(),
            dead_letters: self.shared.dead_letters.as_ref(),
        }
    }
}

/// How often a fetch error that keeps repeating is logged again.
const STREAK_REMINDER: Duration = Duration::from_secs(60);

/// Consecutive fetch errors: logged when the streak starts, every minute while it lasts, and
/// when it ends, with the count (not once per retry, which librdkafka makes every 500 ms).
#[derive(Default)]
struct ErrorStreak {
    count: u64,
    since: Option<Instant>,
    last_log: Option<Instant>,
}

impl ErrorStreak {
    fn error(&mut self, p: &Partition, e: &KafkaError) {
        p.shared.metrics.fetch_errors.add(1);
        self.count += 1;
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        let due = self
            .last_log
            .is_none_or(|l| now.duration_since(l) >= STREAK_REMINDER);
        if due {
            self.last_log = Some(now);
            tracing::warn!(
                handler = %p.shared.name, topic = %p.topic, partition = p.partition, error = %e,
                errors = self.count, for_s = now.duration_since(since).as_secs(),
                "cannot read from the partition (librdkafka retries); records behind this error wait"
            );
        }
    }

    #[inline]
    fn end(&mut self, p: &Partition) {
        if self.count == 0 {
            return;
        }
        tracing::info!(
            handler = %p.shared.name, topic = %p.topic, partition = p.partition,
            errors = self.count, for_ms = self.since.map_or(0, |s| s.elapsed().as_millis() as u64),
            "reading from the partition again"
        );
        *self = Self::default();
    }
}
