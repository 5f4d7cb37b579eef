//! Publish-to-visible latency: for every event, the time from its Kafka timestamp (set by the
//! producer when it sent the event) to the moment the store call that made it visible in the
//! API returned. Exported on `/metrics` as the histogram
//! `training_event_visible_latency_seconds`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the buckets, in milliseconds (the last bucket is unbounded).
const BOUNDS_MS: [u64; 23] = [
    1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 100, 200, 500, 1_000, 2_000, 5_000,
    10_000,
];

/// A lock-free histogram of latencies in milliseconds.
#[derive(Debug, Default)]
pub(crate) struct Latency {
    /// Per bucket (not cumulative); the extra one is `+Inf`.
    counts: [AtomicU64; BOUNDS_MS.len() + 1],
    sum_ms: AtomicU64,
}

impl Latency {
    /// Records one latency.
    pub(crate) fn record(&self, ms: u64) {
        let i = BOUNDS_MS.partition_point(|b| *b < ms);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Prometheus text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from(
            "# HELP training_event_visible_latency_seconds From the event's Kafka timestamp to its store write returning (visible in the API).\n\
             # TYPE training_event_visible_latency_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = BOUNDS_MS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| format!("{}", *b as f64 / 1000.0));
            let _ = writeln!(
                out,
                "training_event_visible_latency_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "training_event_visible_latency_seconds_sum {}\ntraining_event_visible_latency_seconds_count {cumulative}",
            self.sum_ms.load(Ordering::Relaxed) as f64 / 1000.0
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_with_inclusive_upper_bounds() {
        let l = Latency::default();
        for ms in [0, 1, 2, 4, 50, 60_000] {
            l.record(ms);
        }
        let text = l.render();
        assert!(text.contains("le=\"0.001\"} 2\n"), "{text}");
        assert!(text.contains("le=\"0.005\"} 4\n"), "{text}");
        assert!(text.contains("le=\"0.05\"} 5\n"), "{text}");
        assert!(text.contains("le=\"10\"} 5\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 6\n"), "{text}");
        assert!(text.contains("_count 6\n"), "{text}");
    }
}
