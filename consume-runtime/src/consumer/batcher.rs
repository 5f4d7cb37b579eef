//! The batch loop (`batch = N`): cut a batch → extract → handle it as a whole
//! (retrying in place) → store the offset of its last message.
//!
//! A batch starts with the first message available and takes every message already queued
//! up to `batch = N`; if fewer are there it waits up to `batch_linger` for more. Messages
//! whose extraction fails for good are dead-lettered one by one, before the handler runs,
//! and left out of the batch. A handler error retries the whole batch (same policy as single
//! messages); a batch that failed for good dead-letters each of its messages. Only then, or
//! after `Ok`, does the batch's last offset become committable: a crash anywhere in between
//! redelivers the whole batch.

use std::sync::Arc;

use rdkafka::message::{BorrowedMessage, Message as _};
use tracing::Instrument as _;

use super::partition::{Cursor, Exit, Mode, Partition};
use super::settle::{GiveUp, Next, Settled, decide};
use crate::batch::{Batch, BatchHandler};
use crate::error::HandlerError;
use crate::extract::FromMessage;
use crate::options::BatchOptions;
use crate::outcome::Outcome;

/// Used if a batch handler was registered without options (only possible by hand).
const FALLBACK: BatchOptions = BatchOptions {
    max_size: 100,
    max_linger_ms: 0,
};

pub(crate) async fn run<H, T, A>(handler: &H, p: &Partition, cur: &mut Cursor, mode: &Mode) -> Exit
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
{
    let opts = p.shared.options.batch.unwrap_or(FALLBACK);
    // Careful (after a crash): batches of one, so a crash that repeats names its record.
    let max = if mode.careful() {
        1
    } else {
        opts.max_size.max(1) as usize
    };
    let mut msgs: Vec<BorrowedMessage<'_>> = Vec::with_capacity(max);
    loop {
        let Some(first) = p.recv(cur).await else {
            return Exit::Stopped;
        };
        cur.stored
            .received(first.offset(), first.timestamp().to_millis(), true);
        msgs.push(first);
        let deadline = tokio::time::Instant::now() + opts.linger();
        while msgs.len() < max {
            if let Some(m) = p.try_recv(cur) {
                cur.stored.received(m.offset(), None, false);
                msgs.push(m);
                continue;
            }
            if opts.max_linger_ms == 0 {
                break;
            }
            match tokio::time::timeout_at(deadline, p.recv(cur)).await {
                Ok(Some(m)) => {
                    cur.stored.received(m.offset(), None, false);
                    msgs.push(m);
                }
                // Stop requested: drop the unstarted batch (it was not stored).
                Ok(None) => return Exit::Stopped,
                Err(_linger_over) => break,
            }
        }
        let (first, last) = match (msgs.first(), msgs.last()) {
            (Some(f), Some(l)) => (f.offset(), l.offset()),
            _ => continue,
        };
        let poison = mode.poison_at(first);
        let settled = if let (Some(reason), [only]) = (poison, &msgs[..]) {
            p.settle()
                .fail(
                    &p.delivery(only),
                    &HandlerError::permanent(reason.to_owned()),
                    GiveUp::Crashed,
                )
                .await
        } else {
            settle_batch(handler, &msgs, p).await
        };
        msgs.clear();
        if !settled.settled() {
            return Exit::Stopped;
        }
        cur.stored.done(last, None);
        if mode.careful_done_at(last) {
            return Exit::CarefulDone;
        }
    }
}

/// Runs the handler on one batch until it settles.
async fn settle_batch<H, T, A>(handler: &H, msgs: &[BorrowedMessage<'_>], p: &Partition) -> Settled
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
{
    let (Some(first), Some(last)) = (msgs.first(), msgs.last()) else {
        return Settled::Done;
    };
    let settle = p.settle();
    // Records rejected for good by extraction (already dead-lettered).
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
            let mut d = p.delivery(m);
            d.attempt = attempt;
            // Not guarded: a panic here is the supervisor's (restart, then batches of one
            // until the panicking record is found and dead-lettered).
            match T::from_message(&d).await {
                Ok(v) => items.push(v),
                Err(r) if r.is_permanent() => {
                    rejected[i] = true;
                    let e = r.into_handler_error();
                    if !settle.fail(&d, &e, GiveUp::Permanent).await.settled() {
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
                let mut d = p.delivery(head);
                d.attempt = attempt;
                let batch = Batch::new(
                    items,
                    Arc::clone(&p.topic),
                    first.partition(),
                    first.offset(),
                    last.offset(),
                );
                let span = crate::trace::process_batch(&d, n, settle.handler, settle.group);
                settle
                    .guarded(handler.call_batch(batch, &d))
                    .instrument(span)
                    .await
            }
        };
        let (why, error) = match decide(&outcome, attempt, &settle.retry) {
            Next::Ack => {
                crate::failpoint::hit("after-handler");
                p.shared.metrics.handled.add(n as u64);
                return Settled::Handled;
            }
            Next::Retry {
                attempt: next,
                wait,
                unavailable,
            } => {
                if let Outcome::Retry(error) = &outcome {
                    tracing::warn!(
                        handler = %p.shared.name, topic = %p.topic, partition = p.partition,
                        first_offset = first.offset(), last_offset = last.offset(), messages = msgs.len(),
                        attempt = next, wait_ms = wait.as_millis() as u64, error = %error,
                        "{}", if unavailable { "dependency unavailable; waiting and retrying the batch" } else { "batch failed; retrying" }
                    );
                }
                if !settle.wait(wait).await {
                    return Settled::Interrupted;
                }
                attempt = next;
                continue;
            }
            Next::GiveUp(why) => match outcome {
                Outcome::Fail(e) | Outcome::Retry(e) => (why, e),
                _ => return Settled::Handled,
            },
        };
        // The batch failed for good: every record in it not already rejected is
        // dead-lettered (or logged and passed without dead letters), in offset order.
        for (m, _) in msgs.iter().zip(&rejected).filter(|(_, r)| !**r) {
            let mut d = p.delivery(m);
            d.attempt = attempt;
            if !settle.fail(&d, &error, why).await.settled() {
                return Settled::Interrupted;
            }
        }
        return Settled::Done;
    }
}
