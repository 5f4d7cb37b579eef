//! The service's own metrics, recorded through the `metrics` facade and exported in the
//! Prometheus text format by `metrics-exporter-prometheus` (no hand-written exposition).
//!
//! | metric | type | what |
//! |---|---|---|
//! | `training_events_applied_total` | counter | events counted for the first time |
//! | `training_events_duplicate_total` | counter | events whose `event_id` was already counted |
//! | `training_batches_total` | counter | batches applied to the store |
//! | `training_event_visible_latency_seconds` | histogram | from the event's Kafka timestamp to its store write returning |
//! | `training_store_commands_total{store,command}` | counter | database commands (round trips) issued by the store, by name (`find`, `getMore`, `update`, `insert`, `delete`, `aggregate`, `other`; the memory store: `call`) |
//! | `training_store_apply_commands_total{store}` | counter | the part of those the writer's store calls issued (the API's reads excluded; the memory store: its `apply` calls) |
//! | `training_store_document_writes_total{store}` | counter | documents inserted or updated by the store |
//! | `training_store_bucket_cache_total{store,result}` | counter | bucket-cache lookups (`hit`: written without a read) |
//!
//! The consume runtime records its own metrics (`consume_*`, listed in
//! `consume_runtime::metrics`) through the same facade, so [`Exporter::render`] shows both;
//! its handler-duration histogram gets [`HANDLER_DURATION_BUCKETS`].

use std::sync::OnceLock;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::Store;

/// Events counted for the first time.
pub const EVENTS_APPLIED: &str = "training_events_applied_total";
/// Events whose `event_id` was already counted.
pub const EVENTS_DUPLICATE: &str = "training_events_duplicate_total";
/// Batches applied to the store.
pub const BATCHES: &str = "training_batches_total";
/// Publish-to-visible latency.
pub const VISIBLE_LATENCY: &str = "training_event_visible_latency_seconds";
/// The store's database commands.
pub const STORE_COMMANDS: &str = "training_store_commands_total";
/// The store's database commands issued by the writer's store calls.
pub const STORE_APPLY_COMMANDS: &str = "training_store_apply_commands_total";
/// The store's document writes.
pub const STORE_DOCUMENT_WRITES: &str = "training_store_document_writes_total";
/// The store's bucket-cache lookups.
pub const STORE_BUCKET_CACHE: &str = "training_store_bucket_cache_total";

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: [f64; 23] = [
    0.001, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05,
    0.06, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// Upper bounds of the runtime's handler-duration histogram's buckets, in seconds.
pub const HANDLER_DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Renders the process's metrics. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Exporter(PrometheusHandle);

/// The process's exporter: installs the Prometheus recorder as the global `metrics` recorder
/// on the first call. If another recorder was installed first, the service's metrics go to
/// that one and this exporter renders nothing of them (logged once).
pub fn exporter() -> Exporter {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    let handle = HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(VISIBLE_LATENCY.to_owned()), &LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(consume_runtime::metrics::HANDLER_DURATION.to_owned()),
                    &HANDLER_DURATION_BUCKETS,
                )
            })
            .unwrap_or_else(|_| unreachable!("the bucket lists are not empty"))
            .build_recorder();
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; the service's metrics are not exported");
        }
        describe();
        handle
    });
    Exporter(handle.clone())
}

fn describe() {
    describe_counter!(EVENTS_APPLIED, "Events counted for the first time.");
    describe_counter!(
        EVENTS_DUPLICATE,
        "Events whose event_id was already counted."
    );
    describe_counter!(BATCHES, "Batches applied to the store.");
    describe_histogram!(
        VISIBLE_LATENCY,
        Unit::Seconds,
        "From the event's Kafka timestamp to its store write returning (visible in the API)."
    );
    describe_counter!(
        STORE_COMMANDS,
        "Database commands (round trips) issued by the store."
    );
    describe_counter!(
        STORE_APPLY_COMMANDS,
        "Database commands issued by the writer's store calls (the API's reads excluded)."
    );
    describe_counter!(
        STORE_DOCUMENT_WRITES,
        "Documents inserted or updated by the store."
    );
    describe_counter!(
        STORE_BUCKET_CACHE,
        "Buckets looked up in the store's bucket cache (hit: written without a read)."
    );
}

impl Exporter {
    /// The Prometheus text of every metric recorded so far, with `store`'s counters read
    /// now.
    pub fn render(&self, store: &dyn Store) -> String {
        record_store(store);
        self.0.render()
    }

    /// Drains histogram samples into their buckets; run it every few seconds so memory stays
    /// bounded when nobody scrapes.
    pub fn run_upkeep(&self) {
        self.0.run_upkeep();
    }
}

/// One store call's outcome: events applied, duplicates, one batch.
pub fn record_apply(applied: u64, duplicates: u64) {
    counter!(EVENTS_APPLIED).increment(applied);
    counter!(EVENTS_DUPLICATE).increment(duplicates);
    counter!(BATCHES).increment(1);
}

/// One event's publish-to-visible latency, in milliseconds.
pub fn record_visible_latency_ms(ms: u64) {
    histogram!(VISIBLE_LATENCY).record(ms as f64 / 1000.0);
}

/// Copies the store's own operation counts (kept by the store) into the registry.
fn record_store(store: &dyn Store) {
    let ops = store.ops();
    let kind = store.kind();
    if ops.by_command.total() == 0 {
        // No database (the memory store): one series of its calls.
        counter!(STORE_COMMANDS, "store" => kind, "command" => "call").absolute(ops.commands);
    } else {
        for (name, n) in ops.by_command.iter() {
            counter!(STORE_COMMANDS, "store" => kind, "command" => name).absolute(n);
        }
    }
    counter!(STORE_APPLY_COMMANDS, "store" => kind).absolute(ops.apply_commands);
    counter!(STORE_DOCUMENT_WRITES, "store" => kind).absolute(ops.document_writes);
    counter!(STORE_BUCKET_CACHE, "store" => kind, "result" => "hit").absolute(ops.cache_hits);
    counter!(STORE_BUCKET_CACHE, "store" => kind, "result" => "miss").absolute(ops.cache_misses);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative_with_inclusive_upper_bounds() {
        let e = exporter();
        for ms in [0, 1, 2, 4, 50, 60_000] {
            record_visible_latency_ms(ms);
        }
        let store = crate::store::MemoryStore::new();
        let text = e.render(&store);
        let bucket = |le: &str| format!("{VISIBLE_LATENCY}_bucket{{le=\"{le}\"}} ");
        for (le, n) in [
            ("0.001", 2),
            ("0.005", 4),
            ("0.05", 5),
            ("10", 5),
            ("+Inf", 6),
        ] {
            assert!(
                text.contains(&format!("{}{n}\n", bucket(le))),
                "{le}: {text}"
            );
        }
        assert!(
            text.contains(&format!("{VISIBLE_LATENCY}_count 6\n")),
            "{text}"
        );
        assert!(text.contains("# TYPE training_event_visible_latency_seconds histogram"));
        assert!(
            text.contains("training_store_commands_total{store=\"memory\",command=\"call\"} 0"),
            "{text}"
        );
    }
}
