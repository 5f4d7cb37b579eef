//! Counters per handler, readable while the runtime runs and renderable for Prometheus.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters of one handler.
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
}

/// A point-in-time copy of one handler's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
            })
            .collect()
    }

    /// The counters in Prometheus' text exposition format (`consume_*` metrics labelled by
    /// `handler` and `group`).
    pub fn render_prometheus(&self) -> String {
        let snap = self.snapshot();
        let mut out = String::new();
        let series: [Series; 8] = [
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
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
