//! librdkafka callbacks of a handler's consumer: partition hand-over and logging.
//!
//! - Assign: each new partition's queue is split off *before* librdkafka starts fetching it
//!   (a split queue is flagged so fetch-start does not re-route it to the consumer queue),
//!   then a worker task is spawned for it.
//! - Revoke: the revoked partitions' workers finish the message in hand (bounded by the
//!   drain timeout), their offsets are committed synchronously, and only then does
//!   librdkafka release the partitions. On a *lost* assignment (session timeout) nothing is
//!   committed: the partitions may already belong to someone else.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

use super::control::WorkerControl;
use super::worker::{HandlerShared, Worker};
use crate::handler::ErasedHandler;

type PartitionKey = (Arc<str>, i32);

/// The consumer context of one handler's consumer.
pub(crate) struct RuntimeContext {
    consumer: OnceLock<Weak<BaseConsumer<RuntimeContext>>>,
    handler: ErasedHandler,
    shared: Arc<HandlerShared>,
    drain_timeout: Duration,
    workers: Mutex<HashMap<PartitionKey, Arc<WorkerControl>>>,
    /// Queues split in `pre_rebalance(Assign)`, started in `post_rebalance(Assign)`.
    pending: Mutex<Vec<Worker>>,
}

impl RuntimeContext {
    pub(crate) fn new(
        handler: ErasedHandler,
        shared: Arc<HandlerShared>,
        drain_timeout: Duration,
    ) -> Self {
        Self {
            consumer: OnceLock::new(),
            handler,
            shared,
            drain_timeout,
            workers: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Gives the context a handle on its own consumer (needed to split partition queues).
    pub(crate) fn attach(&self, consumer: &Arc<BaseConsumer<RuntimeContext>>) {
        let _ = self.consumer.set(Arc::downgrade(consumer));
    }

    fn consumer(&self) -> Option<Arc<BaseConsumer<RuntimeContext>>> {
        self.consumer.get().and_then(Weak::upgrade)
    }

    /// Splits the partition's queue and prepares its worker (not started yet).
    pub(crate) fn prepare_worker(&self, topic: &str, partition: i32) -> bool {
        let Some(consumer) = self.consumer() else {
            return false;
        };
        let key: PartitionKey = (Arc::from(topic), partition);
        if self.lock_workers().contains_key(&key) {
            return true;
        }
        let Some(queue) = consumer.split_partition_queue(topic, partition) else {
            tracing::error!(handler = %self.shared.name, topic, partition, "cannot split the partition queue");
            return false;
        };
        let worker = Worker {
            queue,
            consumer,
            control: Arc::new(WorkerControl::default()),
            shared: Arc::clone(&self.shared),
            topic: key.0,
            partition,
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(worker);
        true
    }

    /// Starts every prepared worker.
    pub(crate) fn start_pending(&self) {
        let pending: Vec<Worker> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut workers = self.lock_workers();
        for w in pending {
            let key = (Arc::clone(&w.topic), w.partition);
            workers.insert(key, Arc::clone(&w.control));
            // The task is detached: the control thread tracks it through `WorkerControl`.
            drop(self.handler.spawn_worker(w));
        }
        self.shared
            .metrics
            .assigned_partitions
            .store(workers.len() as i64, Ordering::Relaxed);
    }

    /// Stops the workers of `partitions` (all when `None`): asks each to stop after the
    /// message in hand and waits up to `timeout`; any still running is abandoned (it
    /// will not store offsets). Returns how many were abandoned.
    pub(crate) fn stop_workers(
        &self,
        partitions: Option<&TopicPartitionList>,
        lost: bool,
        timeout: Duration,
    ) -> usize {
        let stopping: Vec<(PartitionKey, Arc<WorkerControl>)> = {
            let mut workers = self.lock_workers();
            let keys: Vec<PartitionKey> = match partitions {
                None => workers.keys().cloned().collect(),
                Some(tpl) => tpl
                    .elements()
                    .iter()
                    .map(|e| (Arc::from(e.topic()), e.partition()))
                    .collect(),
            };
            let taken = keys
                .into_iter()
                .filter_map(|k| workers.remove(&k).map(|c| (k, c)))
                .collect();
            self.shared
                .metrics
                .assigned_partitions
                .store(workers.len() as i64, Ordering::Relaxed);
            taken
        };
        // Prepared but never started (e.g. revoked right after assign): just drop them.
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for (_, c) in &stopping {
            if lost {
                c.abandon();
            } else {
                c.request_stop();
            }
        }
        let deadline = Instant::now() + timeout;
        let mut abandoned = 0;
        for ((topic, partition), c) in &stopping {
            if !c.wait_done(deadline) {
                c.abandon();
                abandoned += 1;
                tracing::warn!(
                    handler = %self.shared.name, %topic, partition,
                    timeout_ms = timeout.as_millis() as u64,
                    "handler still running at the drain deadline; its message will be redelivered"
                );
            }
        }
        abandoned
    }

    /// Commits stored offsets synchronously; "nothing to commit" is not an error.
    pub(crate) fn commit_stored(&self, consumer: &BaseConsumer<RuntimeContext>) {
        self.note_commit(consumer.commit_consumer_state(CommitMode::Sync));
    }

    /// Counts and logs a failed commit (synchronous, or reported by librdkafka's callback).
    fn note_commit(&self, result: KafkaResult<()>) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                self.shared
                    .metrics
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(handler = %self.shared.name, error = %e, "offset commit failed");
            }
        }
    }

    fn lock_workers(&self) -> std::sync::MutexGuard<'_, HashMap<PartitionKey, Arc<WorkerControl>>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientContext for RuntimeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let handler = &*self.shared.name;
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(handler, fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(handler, fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(handler, fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(handler, fac, "librdkafka: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(handler = %self.shared.name, error = %error, "Kafka client error: {reason}");
    }
}

impl ConsumerContext for RuntimeContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.shared
            .metrics
            .rebalances
            .fetch_add(1, Ordering::Relaxed);
        match rebalance {
            Rebalance::Assign(tpl) => {
                for e in tpl.elements() {
                    self.prepare_worker(e.topic(), e.partition());
                }
            }
            Rebalance::Revoke(tpl) => {
                let lost = consumer.assignment_lost();
                tracing::info!(handler = %self.shared.name, partitions = tpl.count(), lost, "partitions revoked");
                self.stop_workers(Some(tpl), lost, self.drain_timeout);
                crate::failpoint::hit("revoke");
                if !lost {
                    self.commit_stored(consumer);
                }
            }
            Rebalance::Error(e) => {
                tracing::warn!(handler = %self.shared.name, error = %e, "rebalance error");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(handler = %self.shared.name, partitions = tpl.count(), "partitions assigned");
            self.start_pending();
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        self.note_commit(result);
    }
}
