//! Counters per handler and gauges per partition, readable while the runtime runs and
//! renderable for Prometheus.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The gauges of one partition at one observation of the lag monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Gauges {
    pub(crate) lag_messages: i64,
    pub(crate) lag_seconds: f64,
    pub(crate) stalled: bool,
}

/// Counters of one handler, and the gauges of its assigned partitions.
#[derive(Debug, Default)]
pub(crate) struct HandlerMetrics {
    pub(crate) handled: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) rebalances: AtomicU64,
    pub(crate) assigned_partitions: AtomicI64,
    pub(crate) commit_failures: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) worker_restarts: AtomicU64,
    pub(crate) fetch_errors: AtomicU64,
    pub(crate) stalls: AtomicU64,
    /// (topic, partition) → gauges, written by the lag monitor once per statistics interval.
    partitions: Mutex<BTreeMap<(String, i32), Gauges>>,
}

impl HandlerMetrics {
    pub(crate) fn set_partition(&self, topic: &str, partition: i32, gauges: Gauges) {
        let mut p = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        match p.get_mut(&(topic.to_owned(), partition)) {
            Some(g) => *g = gauges,
            None => {
                p.insert((topic.to_owned(), partition), gauges);
            }
        }
    }

    pub(crate) fn forget_partition(&self, topic: &str, partition: i32) {
        self.partitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(topic.to_owned(), partition));
    }

    fn partitions(&self) -> Vec<PartitionSnapshot> {
        self.partitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|((topic, partition), g)| PartitionSnapshot {
                topic: topic.clone(),
                partition: *partition,
                lag_messages: g.lag_messages,
                lag_seconds: g.lag_seconds,
                stalled: g.stalled,
            })
            .collect()
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
    /// The assigned partitions' lag and state.
    pub partitions: Vec<PartitionSnapshot>,
}

/// Handler name → (group, counters).
type HandlerTable = BTreeMap<String, (String, Arc<HandlerMetrics>)>;

/// One exposed series: name, type, help, value of a snapshot.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&HandlerSnapshot) -> i128,
);

/// The runtime's metrics; clone it freely (it is shared).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    handlers: Arc<Mutex<HandlerTable>>,
}

impl Metrics {
    pub(crate) fn handler(&self, name: &str, group: &str) -> Arc<HandlerMetrics> {
        let mut map = self.handlers.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            &map.entry(name.to_owned())
                .or_insert_with(|| (group.to_owned(), Arc::default()))
                .1,
        )
    }

    /// Copies every handler's counters, sorted by handler name.
    pub fn snapshot(&self) -> Vec<HandlerSnapshot> {
        let map = self.handlers.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(name, (group, m))| HandlerSnapshot {
                handler: name.clone(),
                group: group.clone(),
                handled: m.handled.load(Ordering::Relaxed),
                failed: m.failed.load(Ordering::Relaxed),
                retries: m.retries.load(Ordering::Relaxed),
                panics: m.panics.load(Ordering::Relaxed),
                rebalances: m.rebalances.load(Ordering::Relaxed),
                assigned_partitions: m.assigned_partitions.load(Ordering::Relaxed),
                commit_failures: m.commit_failures.load(Ordering::Relaxed),
                dead_lettered: m.dead_lettered.load(Ordering::Relaxed),
                worker_restarts: m.worker_restarts.load(Ordering::Relaxed),
                fetch_errors: m.fetch_errors.load(Ordering::Relaxed),
                stalls: m.stalls.load(Ordering::Relaxed),
                partitions: m.partitions(),
            })
            .collect()
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

    /// The counters in Prometheus' text exposition format (`consume_*` metrics labelled by
    /// `handler` and `group`).
    pub fn render_prometheus(&self) -> String {
        let snap = self.snapshot();
        let mut out = String::new();
        let series: [Series; 11] = [
            (
                "consume_messages_handled_total",
                "counter",
                "Messages settled successfully.",
                |s| s.handled.into(),
            ),
            (
                "consume_messages_failed_total",
                "counter",
                "Messages that failed for good.",
                |s| s.failed.into(),
            ),
            (
                "consume_retries_total",
                "counter",
                "Retries performed.",
                |s| s.retries.into(),
            ),
            (
                "consume_handler_panics_total",
                "counter",
                "Handler panics caught.",
                |s| s.panics.into(),
            ),
            (
                "consume_rebalances_total",
                "counter",
                "Rebalance events.",
                |s| s.rebalances.into(),
            ),
            (
                "consume_assigned_partitions",
                "gauge",
                "Partitions currently assigned.",
                |s| s.assigned_partitions.into(),
            ),
            (
                "consume_dead_letters_total",
                "counter",
                "Messages published to the dead-letter topic.",
                |s| s.dead_lettered.into(),
            ),
            (
                "consume_commit_failures_total",
                "counter",
                "Offset commits that failed.",
                |s| s.commit_failures.into(),
            ),
            (
                "consume_worker_restarts_total",
                "counter",
                "Partition loops restarted after a panic.",
                |s| s.worker_restarts.into(),
            ),
            (
                "consume_fetch_errors_total",
                "counter",
                "Errors librdkafka reported while fetching a partition.",
                |s| s.fetch_errors.into(),
            ),
            (
                "consume_partition_stalls_total",
                "counter",
                "Times a partition became stalled.",
                |s| s.stalls.into(),
            ),
        ];
        for (name, kind, help, get) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for s in &snap {
                let _ = writeln!(
                    out,
                    "{name}{{handler=\"{}\",group=\"{}\"}} {}",
                    escape(&s.handler),
                    escape(&s.group),
                    get(s)
                );
            }
        }
        type PartitionSeries = (&'static str, &'static str, fn(&PartitionSnapshot) -> String);
        let partition_series: [PartitionSeries; 3] = [
            (
                "consume_partition_lag_messages",
                "Records not yet handled (end offset minus the oldest unsettled record).",
                |p| p.lag_messages.to_string(),
            ),
            (
                "consume_partition_lag_seconds",
                "Age of the oldest record not yet handled.",
                |p| format!("{:.3}", p.lag_seconds),
            ),
            (
                "consume_partition_stalled",
                "1 if records wait and the partition has not moved for the stall timeout.",
                |p| u8::from(p.stalled).to_string(),
            ),
        ];
        for (name, help, get) in partition_series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for s in &snap {
                for p in &s.partitions {
                    let _ = writeln!(
                        out,
                        "{name}{{handler=\"{}\",group=\"{}\",topic=\"{}\",partition=\"{}\"}} {}",
                        escape(&s.handler),
                        escape(&s.group),
                        escape(&p.topic),
                        p.partition,
                        get(p)
                    );
                }
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
