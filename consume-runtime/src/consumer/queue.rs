//! An async receiver over a librdkafka partition queue.
//!
//! librdkafka calls a callback when the queue becomes non-empty; it wakes a `Notify`.
//! The fast path (a message is already queued) takes no lock and allocates nothing.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::context::RuntimeContext;

/// Longest idle wait before re-polling anyway (guards against a missed wake-up).
const IDLE_REPOLL: Duration = Duration::from_millis(500);

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

    /// The next message, or `None` once `stop` is cancelled.
    pub(crate) async fn recv(
        &self,
        stop: &CancellationToken,
    ) -> Option<KafkaResult<BorrowedMessage<'_>>> {
        loop {
            if stop.is_cancelled() {
                return None;
            }
            if let Some(m) = self.queue.poll(Duration::ZERO) {
                return Some(m);
            }
            tokio::select! {
                biased;
                _ = stop.cancelled() => return None,
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(IDLE_REPOLL) => {}
            }
        }
    }
}
