//! An async receiver over a librdkafka partition queue.
//!
//! librdkafka calls a callback when the queue goes from empty to non-empty (also when a
//! batch is moved into an empty queue); it wakes a `Notify`, which keeps a permit if nobody
//! waits yet, so a wake-up between "found empty" and "wait" is not lost. The fast path (a
//! message is already queued) takes no lock and allocates nothing.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use tokio::sync::Notify;

use super::context::RuntimeContext;
use super::control::WorkerControl;

pub(crate) struct AsyncPartitionQueue {
    queue: PartitionQueue<RuntimeContext>,
    notify: Arc<Notify>,
}

impl AsyncPartitionQueue {
    pub(crate) fn new(mut queue: PartitionQueue<RuntimeContext>) -> Self {
        let notify = Arc::new(Notify::new());
        let n = Arc::clone(&notify);
        queue.set_nonempty_callback(move || n.notify_one());
        Self { queue, notify }
    }

    /// A message if one is queued right now.
    pub(crate) fn try_recv(&self) -> Option<KafkaResult<BorrowedMessage<'_>>> {
        self.queue.poll(Duration::ZERO)
    }

    /// The next message, or `None` once the worker is asked to stop. `on_idle` runs each
    /// time the queue is found empty, before waiting.
    pub(crate) async fn recv(
        &self,
        control: &WorkerControl,
        mut on_idle: impl FnMut(),
    ) -> Option<KafkaResult<BorrowedMessage<'_>>> {
        // Counts against tokio's cooperative budget: a worker whose queue never runs dry and
        // whose handler never awaits would otherwise keep its thread forever and starve
        // other partitions' workers and every other task on the runtime.
        tokio::task::consume_budget().await;
        loop {
            if control.stop_requested() {
                return None;
            }
            if let Some(m) = self.queue.poll(Duration::ZERO) {
                return Some(m);
            }
            on_idle();
            tokio::select! {
                biased;
                _ = control.stop_token().cancelled() => return None,
                _ = self.notify.notified() => {}
            }
        }
    }
}
