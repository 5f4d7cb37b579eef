//! The runtime's metrics: recorded through the [`metrics`] facade, so the application picks
//! the exporter (Prometheus, OpenTelemetry, StatsD, …) and merges them with its own, and
//! kept as atomics the process can read ([`Metrics::snapshot`], [`Metrics::stalled_partitions`],
//! [`Metrics::unresponsive_handlers`]) for readiness and liveness.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `consume_messages_handled_total` | counter | `handler`, `group` | messages settled successfully |
//! | `consume_messages_failed_total` | counter | `handler`, `group` | messages that failed for good |
//! | `consume_retries_total` | counter | `handler`, `group` | retries performed |
//! | `consume_handler_panics_total` | counter | `handler`, `group` | handler panics caught |
//! | `consume_rebalances_total` | counter | `handler`, `group` | rebalance events (assign, revoke) |
//! | `consume_dead_letters_total` | counter | `handler`, `group`, `reason` | messages published to a dead-letter topic, by [`DeadLetterReason`] (`decode`, `key`, `rejected`, `permanent`, `retries_exhausted`, `worker_crashed`; every one registered at 0) |
//! | `consume_commit_failures_total` | counter | `handler`, `group` | offset commits that failed |
//! | `consume_worker_restarts_total` | counter | `handler`, `group` | partition loops restarted after a crash |
//! | `consume_fetch_errors_total` | counter | `handler`, `group` | errors librdkafka reported while fetching |
//! | `consume_partition_stalls_total` | counter | `handler`, `group` | times a partition became stalled |
//! | `consume_assigned_partitions` | gauge | `handler`, `group` | partitions assigned now |
//! | `consume_poll_timestamp_seconds` | gauge | `handler`, `group` | Unix time of the member's last poll-loop turn |
//! | `consume_handler_duration_seconds` | histogram | `handler`, `group` | one handler call (one attempt; a batch counts once) |
//! | `consume_partition_lag_messages` | gauge | `handler`, `group`, `topic`, `partition` | records not yet handled |
//! | `consume_partition_lag_seconds` | gauge | `handler`, `group`, `topic`, `partition` | age of the oldest record not yet handled |
//! | `consume_partition_stalled` | gauge | `handler`, `group`, `topic`, `partition` | 1 while the partition is stalled |
//!
//! Dead letters are also kept in process, per handler and bounded: the last hour's counts by
//! reason ([`Metrics::dead_letters_last_hour`]) and the [`RECENT_DEAD_LETTERS`] most recent
//! ones with where they came from and a short, quote-free summary of why
//! ([`Metrics::recent_dead_letters`]), for a service's own status page.
//!
//! The handles are registered when [`Runtime::run`](crate::Runtime::run) starts the
//! handlers: install the recorder before that. A revoked partition's gauges drop to 0 (its
//! new owner reports it), so sums and maxima over the replicas stay right. Histogram buckets
//! are the exporter's choice (`metrics-exporter-prometheus` renders a summary unless given
//! buckets for `consume_handler_duration_seconds`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Histogram, Unit};

mod dead_letters;

pub use dead_letters::{DeadLetterCount, RECENT_DEAD_LETTERS, RecentDeadLetter, SUMMARY_CHARS};
pub(crate) use dead_letters::{DeadLetters, Published};

pub use crate::consumer::DeadLetterReason;

/// Messages settled successfully.
pub const MESSAGES_HANDLED: &str = "consume_messages_handled_total";
/// Messages that failed for good.
pub const MESSAGES_FAILED: &str = "consume_messages_failed_total";
/// Retries performed.
pub const RETRIES: &str = "consume_retries_total";
/// Handler panics caught.
pub const HANDLER_PANICS: &str = "consume_handler_panics_total";
/// Rebalance events.
pub const REBALANCES: &str = "consume_rebalances_total";
/// Messages published to a dead-letter topic (labels `handler`, `group`, `reason`).
pub const DEAD_LETTERS: &str = "consume_dead_letters_total";
/// Offset commits that failed.
pub const COMMIT_FAILURES: &str = "consume_commit_failures_total";
/// Partition loops restarted after a crash.
pub const WORKER_RESTARTS: &str = "consume_worker_restarts_total";
/// Fetch errors reported by librdkafka.
pub const FETCH_ERRORS: &str = "consume_fetch_errors_total";
/// Times a partition became stalled.
pub const PARTITION_STALLS: &str = "consume_partition_stalls_total";
/// Partitions assigned now.
pub const ASSIGNED_PARTITIONS: &str = "consume_assigned_partitions";
/// Unix time of the member's last poll-loop turn.
pub const POLL_TIMESTAMP: &str = "consume_poll_timestamp_seconds";
/// Duration of one handler call.
pub const HANDLER_DURATION: &str = "consume_handler_duration_seconds";
/// Records not yet handled, per partition.
pub const PARTITION_LAG_MESSAGES: &str = "consume_partition_lag_messages";
/// Age of the oldest record not yet handled, per partition.
pub const PARTITION_LAG_SECONDS: &str = "consume_partition_lag_seconds";
/// 1 while a partition is stalled.
pub const PARTITION_STALLED: &str = "consume_partition_stalled";

/// The counters, with their help text, in the order of [`HandlerSnapshot`]'s fields.
const COUNTERS: [(&str, &str); 10] = [
    (MESSAGES_HANDLED, "Messages settled successfully."),
    (MESSAGES_FAILED, "Messages that failed for good."),
    (RETRIES, "Retries performed."),
    (HANDLER_PANICS, "Handler panics caught."),
    (REBALANCES, "Rebalance events (assign and revoke)."),
    (COMMIT_FAILURES, "Offset commits that failed."),
    (DEAD_LETTERS, "Messages published to a dead-letter topic."),
    (WORKER_RESTARTS, "Partition loops restarted after a crash."),
    (
        FETCH_ERRORS,
        "Errors librdkafka reported while fetching a partition.",
    ),
    (PARTITION_STALLS, "Times a partition became stalled."),
];

/// Gives the exporter the help text and unit of every metric (idempotent).
fn describe() {
    for (name, help) in COUNTERS {
        metrics::describe_counter!(name, Unit::Count, help);
    }
    metrics::describe_gauge!(
        ASSIGNED_PARTITIONS,
        Unit::Count,
        "Partitions currently assigned."
    );
    metrics::describe_gauge!(
        POLL_TIMESTAMP,
        Unit::Seconds,
        "Unix time of the consumer's last poll-loop turn (liveness)."
    );
    metrics::describe_histogram!(
        HANDLER_DURATION,
        Unit::Seconds,
        "One handler call (one attempt; a batch call counts once)."
    );
    metrics::describe_gauge!(
        PARTITION_LAG_MESSAGES,
        Unit::Count,
        "Records not yet handled (end offset minus the oldest unsettled record)."
    );
    metrics::describe_gauge!(
        PARTITION_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest record not yet handled."
    );
    metrics::describe_gauge!(
        PARTITION_STALLED,
        "1 if records wait and the partition has not moved for the stall timeout."
    );
}

/// One counter: readable in-process, and exported through the facade.
#[derive(Debug)]
pub(crate) struct Count {
    local: AtomicU64,
    exported: Counter,
}

impl Count {
    fn new(exported: Counter) -> Self {
        Self {
            local: AtomicU64::new(0),
            exported,
        }
    }

    pub(crate) fn add(&self, n: u64) {
        self.local.fetch_add(n, Ordering::Relaxed);
        self.exported.increment(n);
    }

    pub(crate) fn get(&self) -> u64 {
        self.local.load(Ordering::Relaxed)
    }
}

/// The gauges of one partition at one observation of the lag monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Gauges {
    pub(crate) lag_messages: i64,
    pub(crate) lag_seconds: f64,
    pub(crate) stalled: bool,
}

/// One assigned partition: its last gauges and their exported handles.
#[derive(Debug)]
struct PartitionGauges {
    last: Gauges,
    lag_messages: Gauge,
    lag_seconds: Gauge,
    stalled: Gauge,
}

impl PartitionGauges {
    fn export(&self) {
        self.lag_messages.set(self.last.lag_messages as f64);
        self.lag_seconds.set(self.last.lag_seconds);
        self.stalled.set(f64::from(u8::from(self.last.stalled)));
    }
}

/// Counters of one handler, and the gauges of its assigned partitions.
#[derive(Debug)]
pub(crate) struct HandlerMetrics {
    handler: String,
    group: String,
    pub(crate) handled: Count,
    pub(crate) failed: Count,
    pub(crate) retries: Count,
    pub(crate) panics: Count,
    pub(crate) rebalances: Count,
    pub(crate) commit_failures: Count,
    pub(crate) dead_letters: DeadLetters,
    pub(crate) worker_restarts: Count,
    pub(crate) fetch_errors: Count,
    pub(crate) stalls: Count,
    assigned_partitions: (AtomicI64, Gauge),
    /// Milliseconds since the Unix epoch of the last poll-loop turn (0: never polled).
    last_poll_ms: (AtomicU64, Gauge),
    duration: Histogram,
    /// (topic, partition) → gauges, written by the lag monitor once per statistics interval.
    partitions: Mutex<BTreeMap<(String, i32), PartitionGauges>>,
}

impl HandlerMetrics {
    /// Registers the handler's series with the installed recorder.
    fn register(handler: &str, group: &str) -> Self {
        let labels = [("handler", handler.to_owned()), ("group", group.to_owned())];
        let count = |name: &'static str| Count::new(metrics::counter!(name, &labels));
        Self {
            handler: handler.to_owned(),
            group: group.to_owned(),
            handled: count(MESSAGES_HANDLED),
            failed: count(MESSAGES_FAILED),
            retries: count(RETRIES),
            panics: count(HANDLER_PANICS),
            rebalances: count(REBALANCES),
            commit_failures: count(COMMIT_FAILURES),
            dead_letters: DeadLetters::register(handler, group),
            worker_restarts: count(WORKER_RESTARTS),
            fetch_errors: count(FETCH_ERRORS),
            stalls: count(PARTITION_STALLS),
            assigned_partitions: (
                AtomicI64::new(0),
                metrics::gauge!(ASSIGNED_PARTITIONS, &labels),
            ),
            last_poll_ms: (AtomicU64::new(0), metrics::gauge!(POLL_TIMESTAMP, &labels)),
            duration: metrics::histogram!(HANDLER_DURATION, &labels),
            partitions: Mutex::new(BTreeMap::new()),
        }
    }

    /// Metrics that go nowhere but the atomics (unit tests).
    #[cfg(test)]
    pub(crate) fn detached() -> Self {
        metrics::with_local_recorder(&metrics::NoopRecorder, || Self::register("test", "test"))
    }

    /// One handler call took `elapsed`.
    pub(crate) fn record_call(&self, elapsed: Duration) {
        self.duration.record(elapsed);
    }

    pub(crate) fn set_assigned(&self, n: usize) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.assigned_partitions.0.store(n, Ordering::Relaxed);
        self.assigned_partitions.1.set(n as f64);
    }

    /// The member's poll loop turned (called at most every poll interval).
    pub(crate) fn polled(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.last_poll_ms
            .0
            .store(now.as_millis() as u64, Ordering::Relaxed);
        self.last_poll_ms.1.set(now.as_secs_f64());
    }

    pub(crate) fn set_partition(&self, topic: &str, partition: i32, gauges: Gauges) {
        let mut p = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        let entry = p
            .entry((topic.to_owned(), partition))
            .or_insert_with(|| self.partition_gauges(topic, partition));
        entry.last = gauges;
        entry.export();
    }

    fn partition_gauges(&self, topic: &str, partition: i32) -> PartitionGauges {
        let labels = [
            ("handler", self.handler.clone()),
            ("group", self.group.clone()),
            ("topic", topic.to_owned()),
            ("partition", partition.to_string()),
        ];
        PartitionGauges {
            last: Gauges::default(),
            lag_messages: metrics::gauge!(PARTITION_LAG_MESSAGES, &labels),
            lag_seconds: metrics::gauge!(PARTITION_LAG_SECONDS, &labels),
            stalled: metrics::gauge!(PARTITION_STALLED, &labels),
        }
    }

    /// The partition was revoked: its gauges drop to 0 (its new owner reports it).
    pub(crate) fn forget_partition(&self, topic: &str, partition: i32) {
        let removed = self
            .partitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(topic.to_owned(), partition));
        if let Some(mut g) = removed {
            g.last = Gauges::default();
            g.export();
        }
    }

    fn partitions(&self) -> Vec<PartitionSnapshot> {
        self.partitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|((topic, partition), g)| PartitionSnapshot {
                topic: topic.clone(),
                partition: *partition,
                lag_messages: g.last.lag_messages,
                lag_seconds: g.last.lag_seconds,
                stalled: g.last.stalled,
            })
            .collect()
    }

    fn snapshot(&self) -> HandlerSnapshot {
        let last_poll = match self.last_poll_ms.0.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
        };
        HandlerSnapshot {
            handler: self.handler.clone(),
            group: self.group.clone(),
            handled: self.handled.get(),
            failed: self.failed.get(),
            retries: self.retries.get(),
            panics: self.panics.get(),
            rebalances: self.rebalances.get(),
            assigned_partitions: self.assigned_partitions.0.load(Ordering::Relaxed),
            commit_failures: self.commit_failures.get(),
            dead_lettered: self.dead_letters.total(),
            worker_restarts: self.worker_restarts.get(),
            fetch_errors: self.fetch_errors.get(),
            stalls: self.stalls.get(),
            last_poll,
            partitions: self.partitions(),
        }
    }
}

/// One assigned partition's lag and state, as last observed by the lag monitor (once per
/// librdkafka statistics interval, 1 s by default).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PartitionSnapshot {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Records not yet handled: the partition's end (last stable offset under
    /// `read_committed`) minus the oldest record not yet settled.
    pub lag_messages: i64,
    /// Age in seconds of the oldest record not yet handled (from its timestamp; for records
    /// not yet received, the time they have been seen waiting).
    pub lag_seconds: f64,
    /// Records wait and the partition's position has not moved for `Config::stall_after`.
    pub stalled: bool,
}

/// A point-in-time copy of one handler's counters.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct HandlerSnapshot {
    /// Handler name.
    pub handler: String,
    /// Its group.
    pub group: String,
    /// Messages settled successfully.
    pub handled: u64,
    /// Messages that failed for good (permanent error or retries exhausted).
    pub failed: u64,
    /// Retries performed.
    pub retries: u64,
    /// Handler panics caught.
    pub panics: u64,
    /// Rebalance events (assign and revoke).
    pub rebalances: u64,
    /// Partitions currently assigned.
    pub assigned_partitions: i64,
    /// Offset commits that failed.
    pub commit_failures: u64,
    /// Messages published to the dead-letter topic.
    pub dead_lettered: u64,
    /// Partition loops restarted after a panic.
    pub worker_restarts: u64,
    /// Errors librdkafka reported while fetching (e.g. a batch it cannot decompress).
    pub fetch_errors: u64,
    /// Times a partition became stalled.
    pub stalls: u64,
    /// When the member's poll loop last turned (`None` before it started).
    pub last_poll: Option<SystemTime>,
    /// The assigned partitions' lag and state.
    pub partitions: Vec<PartitionSnapshot>,
}

/// The runtime's metrics; clone it freely (it is shared).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    handlers: Arc<Mutex<BTreeMap<String, Arc<HandlerMetrics>>>>,
}

impl Metrics {
    /// The metrics of handler `name`, registered with the installed recorder on first use.
    pub(crate) fn handler(&self, name: &str, group: &str) -> Arc<HandlerMetrics> {
        let mut map = self.handlers.lock().unwrap_or_else(|p| p.into_inner());
        if map.is_empty() {
            describe();
        }
        Arc::clone(
            map.entry(name.to_owned())
                .or_insert_with(|| Arc::new(HandlerMetrics::register(name, group))),
        )
    }

    /// Copies every handler's counters, sorted by handler name.
    pub fn snapshot(&self) -> Vec<HandlerSnapshot> {
        let map = self.handlers.lock().unwrap_or_else(|p| p.into_inner());
        map.values().map(|m| m.snapshot()).collect()
    }

    /// The dead letters published in the last hour (the current minute and the 59 before
    /// it), per handler and [`DeadLetterReason`], by handler name then reason; reasons with
    /// none are left out.
    pub fn dead_letters_last_hour(&self) -> Vec<DeadLetterCount> {
        let now = SystemTime::now();
        self.each(|m| m.dead_letters.last_hour(now))
    }

    /// The most recent dead letters, newest first: at most [`RECENT_DEAD_LETTERS`] per
    /// handler (a handler that publishes many does not push another's out).
    pub fn recent_dead_letters(&self) -> Vec<RecentDeadLetter> {
        let mut all = self.each(|m| m.dead_letters.recent());
        all.sort_by_key(|l| std::cmp::Reverse(l.at));
        all
    }

    /// `f` of every handler, concatenated in handler-name order.
    fn each<T>(&self, f: impl Fn(&HandlerMetrics) -> Vec<T>) -> Vec<T> {
        let map = self.handlers.lock().unwrap_or_else(|p| p.into_inner());
        map.values().flat_map(|m| f(m)).collect()
    }

    /// The partitions that are stalled right now, as `(handler, partition)`: a service can
    /// fail its readiness on a non-empty list.
    pub fn stalled_partitions(&self) -> Vec<(String, PartitionSnapshot)> {
        self.snapshot()
            .into_iter()
            .flat_map(|h| {
                let name = h.handler;
                h.partitions
                    .into_iter()
                    .filter(|p| p.stalled)
                    .map(move |p| (name.clone(), p))
            })
            .collect()
    }

    /// The handlers whose poll loop has not turned for `max_age` (it turns at least every
    /// 100 ms while the consumer is healthy, even while handlers run): a service can fail
    /// its liveness on a non-empty list. A handler whose loop has not started yet is not
    /// listed.
    pub fn unresponsive_handlers(&self, max_age: Duration) -> Vec<String> {
        let now = SystemTime::now();
        self.snapshot()
            .into_iter()
            .filter(|h| {
                h.last_poll
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age > max_age)
            })
            .map(|h| h.handler)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_back_and_revoked_partitions_are_forgotten() {
        let m = HandlerMetrics::detached();
        m.handled.add(3);
        m.set_assigned(2);
        m.set_partition(
            "t",
            1,
            Gauges {
                lag_messages: 5,
                lag_seconds: 1.5,
                stalled: true,
            },
        );
        let s = m.snapshot();
        assert_eq!((s.handled, s.assigned_partitions), (3, 2));
        assert_eq!(s.partitions.len(), 1);
        assert!(s.partitions[0].stalled);
        m.forget_partition("t", 1);
        assert!(m.snapshot().partitions.is_empty());
    }

    #[test]
    fn a_loop_that_stopped_turning_is_unresponsive() {
        let metrics = Metrics::default();
        let h = metrics.handler("h", "g");
        assert!(
            metrics
                .unresponsive_handlers(Duration::from_millis(1))
                .is_empty(),
            "not started yet"
        );
        h.polled();
        assert!(
            metrics
                .unresponsive_handlers(Duration::from_secs(60))
                .is_empty()
        );
        h.last_poll_ms.0.store(1, Ordering::Relaxed);
        assert_eq!(
            metrics.unresponsive_handlers(Duration::from_secs(60)),
            ["h"]
        );
    }
}
