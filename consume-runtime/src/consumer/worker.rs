//! The per-partition loop: receive → handle (retrying in place) → store the offset.
//!
//! One task per assigned partition, spawned once per assignment; messages are handled one
//! at a time in offset order, with no per-message task or channel. An offset is stored (and
//! so becomes committable) only after its message settled.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{BorrowedMessage, Message as _};
use tokio::runtime::Handle;

use super::context::RuntimeContext;
use super::control::WorkerControl;
use super::queue::AsyncPartitionQueue;
use crate::batch::BatchHandler;
use crate::error::{ErrorKind, HandlerError};
use crate::extract::delivery::Source;
use crate::extract::{Delivery, FromMessage, StateMap};
use crate::handler::Handler;
use crate::metrics::HandlerMetrics;
use crate::outcome::Outcome;
use crate::retry::RetryPolicy;

/// What every worker of one handler shares.
#[derive(Debug)]
pub(crate) struct HandlerShared {
    pub(crate) name: Arc<str>,
    pub(crate) group: Arc<str>,
    pub(crate) state: Arc<StateMap>,
    pub(crate) retry: RetryPolicy,
    pub(crate) metrics: Arc<HandlerMetrics>,
    pub(crate) rt: Handle,
    /// Where messages that failed for good go (`None`: logged and skipped).
    pub(crate) dead_letters: Option<crate::publish::Publisher>,
    /// `dead_letter = "topic"` (resolved); `None`: `<topic>.<group>.dlq`.
    pub(crate) dead_letter_override: Option<Arc<str>>,
    /// The handler's `#[consume]` settings.
    pub(crate) options: crate::options::HandlerOptions,
}

/// Everything a partition worker needs except the handler (which the erased handler adds).
pub(crate) struct Worker {
    pub(crate) queue: PartitionQueue<RuntimeContext>,
    pub(crate) consumer: Arc<BaseConsumer<RuntimeContext>>,
    pub(crate) control: Arc<WorkerControl>,
    pub(crate) shared: Arc<HandlerShared>,
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
}

/// How one message ended.
pub(super) enum Settled {
    /// The handler acknowledged it: counted as handled (see [`StoredOffset::handled`]).
    Handled,
    /// Handled, or failed for good and reported: move past it.
    Done,
    /// Cut short by a stop request before it settled: do not store its offset.
    Interrupted,
}

impl Worker {
    pub(crate) fn spawn<H, A>(self, handler: H) -> tokio::task::JoinHandle<()>
    where
        H: Handler<A>,
        A: 'static,
    {
        let rt = self.shared.rt.clone();
        if self.shared.options.concurrency > 1 {
            rt.spawn(super::lanes::run(self, handler))
        } else {
            rt.spawn(self.run(handler))
        }
    }

    pub(crate) fn spawn_batch<H, T, A>(self, handler: H) -> tokio::task::JoinHandle<()>
    where
        H: BatchHandler<T, A>,
        T: FromMessage + 'static,
        A: 'static,
    {
        let rt = self.shared.rt.clone();
        rt.spawn(super::batcher::run(self, handler))
    }

    async fn run<H, A>(self, handler: H)
    where
        H: Handler<A>,
    {
        let Worker {
            queue,
            consumer,
            control,
            shared,
            topic,
            partition,
        } = self;
        let queue = AsyncPartitionQueue::new(queue);
        let mut stored = StoredOffset::new(&consumer, &topic, partition, &shared.metrics.handled);
        tracing::debug!(handler = %shared.name, %topic, partition, "partition worker started");
        while let Some(received) = queue
            .recv(control.stop_token(), || stored.flush(&control))
            .await
        {
            let msg = match received {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(handler = %shared.name, %topic, partition, error = %e, "consume error");
                    continue;
                }
            };
            match settle(&handler, &msg, &topic, &shared, &control).await {
                Settled::Handled => {
                    stored.handled();
                    stored.done(msg.offset(), &control);
                }
                Settled::Done => stored.done(msg.offset(), &control),
                Settled::Interrupted => break,
            }
        }
        // Everything settled so far becomes committable before the partition is released.
        stored.flush(&control);
        drop(queue);
        tracing::debug!(handler = %shared.name, %topic, partition, "partition worker stopped");
        control.mark_done();
    }
}

/// Stores the offset of the last settled message in librdkafka's offset store (from where
/// the periodic and the revocation commits take it). Storing takes a partition lock, so it
/// is batched: at most every [`STORE_EVERY`] messages or [`STORE_INTERVAL`], whenever the
/// queue runs empty, and always before the worker stops. Only settled messages are ever
/// stored, and they settle in offset order, so batching delays commits (a crash may
/// redeliver a few more messages) but never commits an unhandled one.
pub(super) struct StoredOffset<'a> {
    consumer: &'a BaseConsumer<RuntimeContext>,
    topic: &'a str,
    partition: i32,
    pending: Option<i64>,
    since_store: u32,
    last_store: Instant,
    /// Messages handled since the last flush, added to the handler's shared counter there:
    /// one shared atomic add per flush instead of one per message (the partition workers of
    /// a handler run on every runtime thread, so a per-message add moves that counter's
    /// cache line between cores on most messages).
    handled: u64,
    handled_total: &'a AtomicU64,
}

const STORE_EVERY: u32 = 512;
const STORE_INTERVAL: Duration = Duration::from_millis(100);

impl<'a> StoredOffset<'a> {
    pub(super) fn new(
        consumer: &'a BaseConsumer<RuntimeContext>,
        topic: &'a str,
        partition: i32,
        handled_total: &'a AtomicU64,
    ) -> Self {
        Self {
            consumer,
            topic,
            partition,
            pending: None,
            since_store: 0,
            last_store: Instant::now(),
            handled: 0,
            handled_total,
        }
    }

    /// One more message was handled (published to the shared counter at the next flush).
    pub(super) fn handled(&mut self) {
        self.handled += 1;
    }

    /// The message at `offset` settled.
    pub(super) fn done(&mut self, offset: i64, control: &WorkerControl) {
        self.pending = Some(offset);
        self.since_store += 1;
        // Reading the clock costs more than the rest of this; look at it every 16 messages.
        if self.since_store >= STORE_EVERY
            || (self.since_store % 16 == 1 && self.last_store.elapsed() >= STORE_INTERVAL)
        {
            self.flush(control);
        }
    }

    pub(super) fn flush(&mut self, control: &WorkerControl) {
        if self.handled > 0 {
            self.handled_total
                .fetch_add(std::mem::take(&mut self.handled), Ordering::Relaxed);
        }
        let Some(offset) = self.pending.take() else {
            return;
        };
        self.since_store = 0;
        self.last_store = Instant::now();
        if !control.may_store() {
            return;
        }
        // librdkafka stores `offset + 1`, the next message to read. ERR__STATE means the
        // partition was revoked meanwhile: the next owner redelivers (a duplicate, not a loss).
        match self
            .consumer
            .store_offset(self.topic, self.partition, offset)
        {
            Ok(()) => crate::failpoint::hit("after-store"),
            Err(e) => {
                tracing::debug!(topic = self.topic, partition = self.partition, offset, error = %e, "offset not stored")
            }
        }
    }
}

/// Runs the handler on one message until it settles, retrying in place.
pub(super) async fn settle<H, A>(
    handler: &H,
    msg: &BorrowedMessage<'_>,
    topic: &Arc<str>,
    shared: &HandlerShared,
    control: &WorkerControl,
) -> Settled
where
    H: Handler<A>,
{
    let mut attempt = 1u32;
    loop {
        let delivery = Delivery {
            topic,
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key(),
            payload: msg.payload(),
            state: &shared.state,
            attempt,
            source: Source::Kafka(msg),
        };
        let outcome = AssertUnwindSafe(handler.call(&delivery))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                shared.metrics.panics.fetch_add(1, Ordering::Relaxed);
                Outcome::Retry(HandlerError::retryable(PanicError(panic_message(&panic))))
            });
        let error = match outcome {
            Outcome::Ack => {
                crate::failpoint::hit("after-handler");
                return Settled::Handled;
            }
            Outcome::Fail(e) => {
                return failed(shared, msg, &delivery, &e, "permanent error", control).await;
            }
            Outcome::Retry(e) => e,
        };
        let next = after_failure(
            shared,
            control,
            &error,
            attempt,
            |attempt, wait, unavailable| {
                tracing::warn!(
                    handler = %shared.name, topic = %delivery.topic, partition = delivery.partition,
                    offset = delivery.offset, attempt, wait_ms = wait.as_millis() as u64,
                    error = %error,
                    "{}", if unavailable { "dependency unavailable; waiting and retrying" } else { "handler failed; retrying" }
                );
            },
        );
        match next.await {
            AfterFailure::GiveUp => {
                return failed(shared, msg, &delivery, &error, "retries exhausted", control).await;
            }
            AfterFailure::Stopped => return Settled::Interrupted,
            AfterFailure::Retry(next) => attempt = next,
        }
    }
}

/// What follows a failed attempt (of one message or one batch).
pub(super) enum AfterFailure {
    /// Retries exhausted (an *unavailable* dependency never exhausts them).
    GiveUp,
    /// A stop was requested during the back-off: leave the message(s) unsettled.
    Stopped,
    /// The back-off has passed: run attempt number `.0`.
    Retry(u32),
}

/// Decides whether attempt `attempt` that failed with `error` gets another one; if so, logs it
/// through `log(next_attempt, wait, unavailable)`, counts the retry and waits out the back-off
/// (cut short by a stop request).
pub(super) async fn after_failure(
    shared: &HandlerShared,
    control: &WorkerControl,
    error: &HandlerError,
    attempt: u32,
    log: impl FnOnce(u32, Duration, bool),
) -> AfterFailure {
    let unavailable = error.kind() == ErrorKind::Unavailable;
    if !unavailable && attempt >= shared.retry.max_attempts {
        return AfterFailure::GiveUp;
    }
    let next = attempt.saturating_add(1);
    let wait = shared.retry.backoff(next);
    log(next, wait, unavailable);
    shared.metrics.retries.fetch_add(1, Ordering::Relaxed);
    tokio::select! {
        biased;
        _ = control.stop_token().cancelled() => AfterFailure::Stopped,
        _ = tokio::time::sleep(wait) => AfterFailure::Retry(next),
    }
}

/// A message that failed for good: counted, then dead-lettered (published before its
/// offset may be stored) or, without dead letters, logged at error level and passed.
pub(super) async fn failed(
    shared: &HandlerShared,
    msg: &BorrowedMessage<'_>,
    d: &Delivery<'_>,
    e: &HandlerError,
    why: &str,
    control: &WorkerControl,
) -> Settled {
    shared.metrics.failed.fetch_add(1, Ordering::Relaxed);
    if shared.dead_letters.is_none() {
        tracing::error!(
            handler = %shared.name, group = %shared.group, topic = %d.topic, partition = d.partition,
            offset = d.offset, attempts = d.attempt, error = %e,
            "message failed ({why}); no dead-letter topic, skipping it"
        );
        return Settled::Done;
    }
    if super::dead_letter::publish(shared, msg, d.topic, e, d.attempt, why, control).await {
        Settled::Done
    } else {
        Settled::Interrupted
    }
}

/// A handler panic, as an error.
#[derive(Debug)]
pub(super) struct PanicError(pub(super) String);

impl std::fmt::Display for PanicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "handler panicked: {}", self.0)
    }
}

impl std::error::Error for PanicError {}

pub(super) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}
