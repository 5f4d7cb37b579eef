//! librdkafka consumer settings applied identically to both variants.
//!
//! With librdkafka's defaults, reading a static topic as fast as possible measures two fetch
//! stalls rather than the consumers:
//!
//! - `fetch.queue.backoff.ms` (default 1000): once a partition's local queue holds
//!   `queued.min.messages` (100 000), its next fetch waits 1 s. The raw consumer forwards all
//!   partitions into one queue, whose *total* length is compared with that threshold, so it
//!   hits it after ~25 000 records per partition, drains the queue in ~50 ms and then idles
//!   for the rest of the second: about half of its rounds took ~1.0 s longer.
//! - `fetch.wait.max.ms` (default 500): librdkafka keeps one fetch in flight per broker. Once
//!   some partitions are at the end of the log and the others are not fetchable (their queue
//!   is full), the fetch contains only the finished ones and the broker holds it for 500 ms;
//!   partitions whose queue drains meanwhile wait for it. The runtime's per-partition workers
//!   progress unevenly, so some of its rounds stalled ~0.4 s near the end.
//!
//! Both stalls are librdkafka fetch scheduling, not per-message cost, and they made the ratio
//! swing between 0.5 and 2.5. Lowering both to 10 ms removes them for both variants.
//! `--librdkafka-defaults` measures without this tuning.

/// The settings (name, value), set on the raw consumer and passed to the runtime's `Config`.
pub(crate) const CONSUMER_TUNING: &[(&str, &str)] = &[
    ("fetch.wait.max.ms", "10"),
    ("fetch.queue.backoff.ms", "10"),
];

/// The settings in effect: [`CONSUMER_TUNING`], or none with `--librdkafka-defaults`.
pub(crate) fn selected(librdkafka_defaults: bool) -> &'static [(&'static str, &'static str)] {
    if librdkafka_defaults {
        &[]
    } else {
        CONSUMER_TUNING
    }
}

/// For the report: `` `a=1`, `b=2` `` or "none (librdkafka defaults)".
pub(crate) fn describe(tuning: &[(&str, &str)]) -> String {
    if tuning.is_empty() {
        return "none (librdkafka defaults)".to_owned();
    }
    tuning
        .iter()
        .map(|(k, v)| format!("`{k}={v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions() {
        assert_eq!(describe(&[]), "none (librdkafka defaults)");
        assert_eq!(describe(&[("a", "1"), ("b", "2")]), "`a=1`, `b=2`");
        assert!(selected(true).is_empty());
        assert_eq!(selected(false), CONSUMER_TUNING);
    }
}
