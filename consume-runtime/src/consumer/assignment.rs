//! The partition table of one handler's consumer: on assign, each new partition's queue is
//! split off *before* librdkafka starts fetching it (a split queue is flagged so fetch-start
//! does not re-route it to the consumer queue) and its supervisor task is started; on revoke
//! or shutdown, the partitions' supervisors are asked to stop after the record in hand and
//! waited for (bounded); on every statistics interval, the lag monitor reads each
//! partition's end offset and fetch position, and each loop's progress, into the lag and
//! stall gauges (`progress.rs`). `context.rs` calls in here through [`PartitionHooks`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::BaseConsumer;
use rdkafka::statistics::Statistics;
use tokio::task::JoinHandle;

use super::context::{MonitorSettings, PartitionHooks, RuntimeContext};
use super::control::WorkerControl;
use super::erased::ErasedHandler;
use super::partition::{HandlerShared, Partition};
use super::progress::{BrokerView, Gauges, Progress, Transition, Watch};
use super::queue::AsyncPartitionQueue;

type PartitionKey = (Arc<str>, i32);

/// One assigned partition, as the control thread tracks it.
struct Assigned {
    control: Arc<WorkerControl>,
    progress: Arc<Progress>,
    /// The supervisor task; watched so that a task that ended while its partition is still
    /// assigned is reported (it never should: the supervisor catches every panic).
    task: JoinHandle<()>,
    watch: Watch,
    reported_dead: bool,
}

/// The assigned partitions of one handler's consumer.
pub(crate) struct Assignments {
    consumer: Weak<BaseConsumer<RuntimeContext>>,
    handler: ErasedHandler,
    shared: Arc<HandlerShared>,
    drain_timeout: Duration,
    monitor: MonitorSettings,
    workers: Mutex<HashMap<PartitionKey, Assigned>>,
    /// Partitions whose queues were split in `pre_rebalance(Assign)`, started in
    /// `post_rebalance(Assign)`.
    pending: Mutex<Vec<Partition>>,
}

impl Assignments {
    pub(crate) fn new(
        consumer: &Arc<BaseConsumer<RuntimeContext>>,
        handler: ErasedHandler,
        shared: Arc<HandlerShared>,
        drain_timeout: Duration,
        monitor: MonitorSettings,
    ) -> Self {
        Self {
            consumer: Arc::downgrade(consumer),
            handler,
            shared,
            drain_timeout,
            monitor,
            workers: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
        }
    }

    fn consumer(&self) -> Option<Arc<BaseConsumer<RuntimeContext>>> {
        self.consumer.upgrade()
    }

    /// Splits the partition's queue and prepares its supervisor (not started yet).
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
        let p = Partition {
            queue: AsyncPartitionQueue::new(queue),
            consumer,
            control: Arc::new(WorkerControl::default()),
            shared: Arc::clone(&self.shared),
            topic: key.0,
            partition,
            progress: Arc::new(Progress::default()),
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(p);
        true
    }

    /// Starts every prepared partition's supervisor.
    pub(crate) fn start_pending(&self) {
        let pending: Vec<Partition> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut workers = self.lock_workers();
        for p in pending {
            let key = (Arc::clone(&p.topic), p.partition);
            let control = Arc::clone(&p.control);
            let progress = Arc::clone(&p.progress);
            let task = self.handler.supervise(p);
            workers.insert(
                key,
                Assigned {
                    control,
                    progress,
                    task,
                    watch: Watch::new(Instant::now()),
                    reported_dead: false,
                },
            );
        }
        self.shared.metrics.set_assigned(workers.len());
    }

    /// Stops the workers of `partitions` (all when `None`): asks each to stop after the
    /// record in hand and waits up to `timeout`; any still running is abandoned (it
    /// will not store offsets). Returns how many were abandoned.
    pub(crate) fn stop_workers(
        &self,
        partitions: Option<&TopicPartitionList>,
        lost: bool,
        timeout: Duration,
    ) -> usize {
        let stopping: Vec<(PartitionKey, Assigned)> = {
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
                .filter_map(|k| workers.remove(&k).map(|a| (k, a)))
                .collect();
            self.shared.metrics.set_assigned(workers.len());
            taken
        };
        // Prepared but never started (e.g. revoked right after assign): just drop them.
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for (_, a) in &stopping {
            if lost {
                a.control.abandon();
            } else {
                a.control.request_stop();
            }
        }
        let deadline = Instant::now() + timeout;
        let mut abandoned = 0;
        for ((topic, partition), a) in &stopping {
            self.shared.metrics.forget_partition(topic, *partition);
            if !a.control.wait_done(deadline) {
                a.control.abandon();
                abandoned += 1;
                tracing::warn!(
                    handler = %self.shared.name, %topic, partition,
                    timeout_ms = timeout.as_millis() as u64,
                    "handler still running at the drain deadline; its record will be redelivered"
                );
            }
        }
        abandoned
    }

    /// The lag monitor: one observation of every assigned partition, from librdkafka's
    /// statistics and each loop's progress.
    pub(crate) fn observe(&self, stats: &Statistics) {
        let now = Instant::now();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let valid = |o: i64| (o >= 0).then_some(o);
        let name = &*self.shared.name;
        let mut workers = self.lock_workers();
        for ((topic, partition), a) in workers.iter_mut() {
            let Some(s) = stats
                .topics
                .get(&**topic)
                .and_then(|t| t.partitions.get(partition))
            else {
                continue;
            };
            let end = if self.monitor.read_committed {
                valid(s.ls_offset).or(valid(s.hi_offset))
            } else {
                valid(s.hi_offset)
            };
            let view = BrokerView {
                end,
                start: valid(s.app_offset.max(s.committed_offset)),
                fetch_position: valid(s.next_offset),
                queued: s.fetchq_cnt,
            };
            let Some((mut gauges, transition)) = a.watch.observe(
                a.progress.read(),
                view,
                now,
                now_ms,
                self.monitor.stall_after,
            ) else {
                continue;
            };
            if a.task.is_finished() && !a.control.stop_token().is_cancelled() {
                // Never expected (the supervisor catches panics and only returns when asked
                // to stop), but if it happens the partition must not look healthy.
                gauges = Gauges {
                    stalled: true,
                    ..gauges
                };
                if !a.reported_dead {
                    a.reported_dead = true;
                    tracing::error!(handler = name, %topic, partition, "partition worker ended while its partition is assigned");
                }
            }
            match transition {
                Transition::Stalled => {
                    self.shared.metrics.stalls.add(1);
                    tracing::warn!(
                        handler = name, %topic, partition, lag_messages = gauges.lag_messages,
                        lag_seconds = gauges.lag_seconds, stall_after_s = self.monitor.stall_after.as_secs_f64(),
                        "partition stalled: records wait and its position has not moved"
                    );
                }
                Transition::Resumed => {
                    tracing::info!(handler = name, %topic, partition, "partition moving again");
                }
                Transition::None => {}
            }
            self.shared.metrics.set_partition(topic, *partition, gauges);
        }
    }

    fn lock_workers(&self) -> std::sync::MutexGuard<'_, HashMap<PartitionKey, Assigned>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PartitionHooks for Assignments {
    fn assigned(&self, partitions: &TopicPartitionList) {
        for e in partitions.elements() {
            self.prepare_worker(e.topic(), e.partition());
        }
    }

    fn started(&self) {
        self.start_pending();
    }

    fn revoked(&self, partitions: &TopicPartitionList, lost: bool) {
        self.stop_workers(Some(partitions), lost, self.drain_timeout);
    }

    fn statistics(&self, stats: &Statistics) {
        self.observe(stats);
    }
}
