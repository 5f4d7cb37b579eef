//! One variant's result in one round, and what "complete" means.

use std::time::Duration;

/// A variant that makes no progress for this long is stopped and reported incomplete.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The variants, in the order of the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// (a) a raw rdkafka `BaseConsumer` poll loop.
    Raw,
    /// (b) a no-op `#[consume]` handler run by `consume_runtime::Runtime`.
    Framework,
    /// (c) a `#[consume]` handler taking `Avro<LectureProgress>`.
    Avro,
}

impl Variant {
    /// Short label used in the table's "order" column.
    pub(crate) fn letter(self) -> char {
        match self {
            Variant::Raw => 'a',
            Variant::Framework => 'b',
            Variant::Avro => 'c',
        }
    }

    /// Human-readable name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw rdkafka BaseConsumer",
            Variant::Framework => "#[consume] handler",
            Variant::Avro => "#[consume] Avro<T> handler",
        }
    }

    /// Tag used in consumer group ids.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Variant::Raw => "raw",
            Variant::Framework => "framework",
            Variant::Avro => "avro",
        }
    }
}

/// How one variant did in one round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measurement {
    /// Records read (or handled) in total.
    pub(crate) read: u64,
    /// Records read inside the timed interval (those after the clock started).
    pub(crate) timed: u64,
    /// From the first record to the last.
    pub(crate) elapsed: Duration,
    /// Payload bytes seen (raw variant; 0 where not tracked).
    pub(crate) bytes: u64,
}

impl Measurement {
    /// Records per second over the timed interval.
    pub(crate) fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.timed as f64 / secs
        } else {
            0.0
        }
    }

    /// Whether every expected record was read.
    pub(crate) fn complete(&self, expected: u64) -> bool {
        self.read >= expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_only_timed_records() {
        let m = Measurement {
            read: 1001,
            timed: 1000,
            elapsed: Duration::from_millis(500),
            bytes: 0,
        };
        assert!((m.rate() - 2000.0).abs() < 1e-9);
        assert!(m.complete(1001));
        assert!(!m.complete(1002));
        assert_eq!(
            Measurement {
                elapsed: Duration::ZERO,
                ..m
            }
            .rate(),
            0.0
        );
    }
}
