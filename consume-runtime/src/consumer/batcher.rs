//! The per-partition loop of a batch handler: cut a batch → extract → handle it as a whole
//! (retrying in place) → store the offset of its last message.
//!
//! A batch starts with the first message available and takes every message already queued
//! up to `batch = N`; if fewer are there it waits up to `batch_linger` for more. Messages
//! whose extraction fails for good are dead-lettered one by one, before the handler runs,
//! and left out of the batch. A handler error retries the whole batch (same policy as single
//! messages); a batch that failed for good dead-letters each of its messages. Only then, or
//! after `Ok`, does the batch's last offset become committable: a crash anywhere in between
//! redelivers the whole batch.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::FutureExt as _;
use rdkafka::message::{BorrowedMessage, Message as _};

use super::control::WorkerControl;
use super::queue::AsyncPartitionQueue;
use super::worker::{
    AfterFailure, HandlerShared, PanicError, Settled, StoredOffset, Worker, after_failure, failed,
    panic_message,
};
use crate::batch::{Batch, BatchHandler};
use crate::error::HandlerError;
use crate::extract::delivery::Source;
use crate::extract::{Delivery, FromMessage};
use crate::options::BatchOptions;
use crate::outcome::Outcome;

/// Used if a batch handler was registered without options (only possible by hand).
const FALLBACK: BatchOptions = BatchOptions {
    max_size: 100,
    max_linger_ms: 0,
};

pub(super) async fn run<H, T, A>(worker: Worker, handler: H)
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
{
    let Worker {
        queue,
        consumer,
        control,
        shared,
        topic,
        partition,
    } = worker;
    let queue = AsyncPartitionQueue::new(queue);
    let opts = shared.options.batch.unwrap_or(FALLBACK);
    let max = opts.max_size.max(1) as usize;
    let mut stored = StoredOffset::new(&consumer, &topic, partition, &shared.metrics.handled);
    let mut msgs: Vec<BorrowedMessage<'_>> = Vec::with_capacity(max);
    tracing::debug!(handler = %shared.name, %topic, partition, max, "partition worker started (batches)");
    'batches: loop {
        match queue
            .recv(control.stop_token(), || stored.flush(&control))
            .await
        {
            None => break,
            Some(Err(e)) => {
                tracing::warn!(handler = %shared.name, %topic, partition, error = %e, "consume error");
                continue;
            }
            Some(Ok(m)) => msgs.push(m),
        }
        let deadline = tokio::time::Instant::now() + opts.linger();
        while msgs.len() < max {
            let next = match queue.try_recv() {
                Some(r) => Some(r),
                None if opts.max_linger_ms == 0 => break,
                None => {
                    match tokio::time::timeout_at(deadline, queue.recv(control.stop_token(), || {}))
                        .await
                    {
                        Ok(Some(r)) => Some(r),
                        // Stop requested: drop the unstarted batch (it was not stored).
                        Ok(None) => break 'batches,
                        Err(_linger_over) => None,
                    }
                }
            };
            match next {
                None => break,
                Some(Ok(m)) => msgs.push(m),
                Some(Err(e)) => {
                    tracing::warn!(handler = %shared.name, %topic, partition, error = %e, "consume error");
                }
            }
        }
        let last = msgs.last().map(|m| m.offset());
        match settle_batch(&handler, &msgs, &topic, &shared, &control).await {
            Settled::Handled | Settled::Done => {
                if let Some(last) = last {
                    stored.done(last, &control);
                }
            }
            Settled::Interrupted => break,
        }
        msgs.clear();
    }
    msgs.clear();
    stored.flush(&control);
    drop(msgs);
    drop(queue);
    tracing::debug!(handler = %shared.name, %topic, partition, "partition worker stopped");
    control.mark_done();
}

fn delivery<'a>(
    msg: &'a BorrowedMessage<'a>,
    topic: &'a Arc<str>,
    shared: &'a HandlerShared,
    attempt: u32,
) -> Delivery<'a> {
    Delivery {
        topic,
        partition: msg.partition(),
        offset: msg.offset(),
        key: msg.key(),
        payload: msg.payload(),
        state: &shared.state,
        attempt,
        source: Source::Kafka(msg),
    }
}

/// Runs the handler on one batch until it settles.
async fn settle_batch<H, T, A>(
    handler: &H,
    msgs: &[BorrowedMessage<'_>],
    topic: &Arc<str>,
    shared: &HandlerShared,
    control: &WorkerControl,
) -> Settled
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
{
    let (Some(first), Some(last)) = (msgs.first(), msgs.last()) else {
        return Settled::Done;
    };
    // Messages rejected for good by extraction (already dead-lettered).
    let mut rejected = vec![false; msgs.len()];
    let mut attempt = 1u32;
    loop {
        let mut items = Vec::with_capacity(msgs.len());
        let mut extract_error: Option<HandlerError> = None;
        for (i, m) in msgs.iter().enumerate() {
            if i > 0 && i == msgs.len() / 2 {
                crate::failpoint::hit("mid-batch");
            }
            if rejected[i] {
                continue;
            }
            let d = delivery(m, topic, shared, attempt);
            match T::from_message(&d).await {
                Ok(v) => items.push(v),
                Err(r) if r.is_permanent() => {
                    rejected[i] = true;
                    let e = r.into_handler_error();
                    if let Settled::Interrupted =
                        failed(shared, m, &d, &e, "permanent error", control).await
                    {
                        return Settled::Interrupted;
                    }
                }
                Err(r) => {
                    extract_error = Some(r.into_handler_error());
                    break;
                }
            }
        }
        let n = items.len();
        let outcome = match extract_error {
            Some(e) => Outcome::Retry(e),
            None if n == 0 => return Settled::Done,
            None => {
                let Some(head) = msgs
                    .iter()
                    .zip(&rejected)
                    .find(|(_, r)| !**r)
                    .map(|(m, _)| m)
                else {
                    return Settled::Done;
                };
                let d = delivery(head, topic, shared, attempt);
                let batch = Batch::new(
                    items,
                    Arc::clone(topic),
                    first.partition(),
                    first.offset(),
                    last.offset(),
                );
                AssertUnwindSafe(handler.call_batch(batch, &d))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| {
                        shared.metrics.panics.fetch_add(1, Ordering::Relaxed);
                        Outcome::Retry(HandlerError::retryable(PanicError(panic_message(&panic))))
                    })
            }
        };
        let error = match outcome {
            Outcome::Ack => {
                crate::failpoint::hit("after-handler");
                shared
                    .metrics
                    .handled
                    .fetch_add(n as u64, Ordering::Relaxed);
                return Settled::Done;
            }
            Outcome::Fail(e) => {
                return fail_all(
                    shared,
                    msgs,
                    &rejected,
                    topic,
                    &e,
                    attempt,
                    "permanent error",
                    control,
                )
                .await;
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
                    handler = %shared.name, %topic, partition = first.partition(),
                    first_offset = first.offset(), last_offset = last.offset(), messages = msgs.len(),
                    attempt, wait_ms = wait.as_millis() as u64, error = %error,
                    "{}", if unavailable { "dependency unavailable; waiting and retrying the batch" } else { "batch failed; retrying" }
                );
            },
        );
        match next.await {
            AfterFailure::GiveUp => {
                return fail_all(
                    shared,
                    msgs,
                    &rejected,
                    topic,
                    &error,
                    attempt,
                    "retries exhausted",
                    control,
                )
                .await;
            }
            AfterFailure::Stopped => return Settled::Interrupted,
            AfterFailure::Retry(next) => attempt = next,
        }
    }
}

/// A batch failed for good: every message in it not already rejected is dead-lettered (or
/// logged and passed without dead letters), in offset order.
#[allow(clippy::too_many_arguments)]
async fn fail_all(
    shared: &HandlerShared,
    msgs: &[BorrowedMessage<'_>],
    rejected: &[bool],
    topic: &Arc<str>,
    error: &HandlerError,
    attempt: u32,
    why: &str,
    control: &WorkerControl,
) -> Settled {
    for (m, _) in msgs.iter().zip(rejected).filter(|(_, r)| !**r) {
        let d = delivery(m, topic, shared, attempt);
        if let Settled::Interrupted = failed(shared, m, &d, error, why, control).await {
            return Settled::Interrupted;
        }
    }
    Settled::Done
}
