//! One supervisor per assigned partition: it owns the partition (queue, offsets) for the
//! whole assignment, runs the handler's loop, and restarts the loop if anything inside it
//! panics — an extractor, the dead-letter path, rdkafka, the loop itself.
//!
//! A restart first stores what settled, then rewinds the partition to the first record that
//! did not settle (so nothing is skipped; records after it may be handled twice, as after
//! any crash), counts the crash (`consume_worker_restarts_total`) and logs it with the
//! partition and offset. The restarted loop runs *carefully* — one record at a time up to
//! the highest offset read before the crash — so a crash that repeats points at one record;
//! after [`POISON_AFTER`] crashes on the same record it is dead-lettered unrun, with the
//! panic as the reason, and the partition moves on. Restarts back off (100 ms doubling to
//! 5 s). The task's completion is always signalled to the control thread (even if the
//! supervisor itself unwound), and the control thread also watches the task's handle.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use rdkafka::Offset;
use rdkafka::consumer::Consumer as _;
use tokio::task::JoinHandle;

use super::control::WorkerControl;
use super::partition::{Cursor, Exit, Loop, Mode, Partition};
use super::settle::panic_message;

/// Crashes on the same record after which it is dead-lettered unrun.
pub(crate) const POISON_AFTER: u32 = 3;
const FIRST_RESTART_WAIT: Duration = Duration::from_millis(100);
const MAX_RESTART_WAIT: Duration = Duration::from_secs(5);

/// Starts the partition's supervisor task.
pub(crate) fn spawn<L: Loop>(lp: L, p: Partition) -> JoinHandle<()> {
    let rt = p.shared.rt.clone();
    rt.spawn(supervise(lp, p))
}

/// Marks the worker done when the task ends, however it ends.
struct DoneGuard(Arc<WorkerControl>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.mark_done();
    }
}

async fn supervise<L: Loop>(lp: L, p: Partition) {
    let _done = DoneGuard(Arc::clone(&p.control));
    let (shared, topic) = (Arc::clone(&p.shared), Arc::clone(&p.topic));
    let (name, topic, partition) = (&*shared.name, &*topic, p.partition);
    tracing::debug!(handler = name, topic, partition, "partition worker started");
    let mut cur = Cursor::new(&p);
    let mut mode = Mode::default();
    // (resume offset, crashes there in a row)
    let mut crashes: Option<(Option<i64>, u32)> = None;
    loop {
        let run = AssertUnwindSafe(lp.run(&p, &mut cur, &mode))
            .catch_unwind()
            .await;
        let panic = match run {
            Ok(Exit::Stopped) => break,
            Ok(Exit::CarefulDone) => {
                mode = Mode::default();
                continue;
            }
            Err(panic) => panic_message(&*panic),
        };
        // Everything that settled before the crash stays settled.
        cur.stored.flush();
        p.shared.metrics.worker_restarts.add(1);
        let resume = cur.stored.resume_point();
        let count = match crashes {
            Some((at, n)) if at == resume => n + 1,
            _ => 1,
        };
        crashes = Some((resume, count));
        tracing::error!(
            handler = name, topic, partition, resume_offset = resume, crashes = count, panic = %panic,
            "partition worker crashed; restarting it from the first record that did not settle"
        );
        if p.control.stop_token().is_cancelled() {
            break;
        }
        if let Some(offset) = resume {
            // Asynchronous (no wait): librdkafka bumps the partition's fetch version at
            // once, so records already queued from before the seek are discarded.
            if let Err(e) =
                p.consumer
                    .seek(topic, partition, Offset::Offset(offset), Duration::ZERO)
            {
                tracing::error!(handler = name, topic, partition, offset, error = %e, "rewind after a crash failed");
            }
        }
        mode = Mode {
            careful_until: cur.stored.highest_received(),
            poison: match resume {
                Some(offset) if count >= POISON_AFTER => Some((
                    offset,
                    format!(
                        "the partition worker crashed {count} times on this record; last: {panic}"
                    ),
                )),
                _ => None,
            },
        };
        let wait = FIRST_RESTART_WAIT
            .saturating_mul(1 << (count - 1).min(10))
            .min(MAX_RESTART_WAIT);
        tokio::select! {
            biased;
            _ = p.control.stop_token().cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // Everything settled so far becomes committable before the partition is released.
    cur.stored.flush();
    tracing::debug!(handler = name, topic, partition, "partition worker stopped");
    // The queue and this task's references to the consumer go before the control thread
    // hears that the partition is done (`_done`, dropped last): the consumer must close on
    // the control thread, never on a runtime thread.
    drop(cur);
    drop(p);
}
