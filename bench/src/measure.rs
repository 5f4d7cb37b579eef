//! One variant's result in one round, and what "complete" means.

use std::time::Duration;

use crate::cpu::Spent;

/// A variant that makes no progress for this long is stopped and reported incomplete.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The variants, in the order of the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Variant {
    /// (a) a raw rdkafka `BaseConsumer` poll loop.
    Raw,
    /// (a′) raw rdkafka on split partition queues (the framework's queues), one thread per
    /// partition, folding every payload byte.
    RawSplit,
    /// (a″) (a′) plus the framework's Avro decoder (`Prepared::decode` into the owned struct).
    RawDecode,
    /// (a0) librdkafka's own C `rdkafka_performance` consumer (a child process).
    CPerformance,
    /// (b1) a no-op `#[consume]` handler run by `consume_runtime::Runtime`.
    Framework,
    /// (b2) a `#[consume]` handler taking `Avro<LectureProgress>`.
    Avro,
    /// (b3) a `#[consume]` handler taking `AvroRef<…>`, decoding into `&str` fields.
    AvroBorrowed,
    /// (c1) kafkajs `eachMessage`, no-op (a Node child process).
    KafkajsNoop,
    /// (c2) kafkajs `eachMessage` + `@kafkajs/confluent-schema-registry` decode (the seed's
    /// stack; a Node child process).
    KafkajsAvro,
    /// (j1) Confluent's JavaScript client (`@confluentinc/kafka-javascript`, librdkafka
    /// underneath), KafkaJS-compatible `eachBatch`, no-op (a Node child process).
    ConfluentJsNoop,
    /// (j2) the same + `@kafkajs/confluent-schema-registry` decode of every value.
    ConfluentJsAvro,
    /// (d) Kafka's Java consumer through `kafka-consumer-perf-test` (a JVM child process).
    Java,
    /// (e) RustStream (`ruststream-rdkafka`), a no-op `#[subscriber]` handler (the
    /// `bench/ruststream-peer` child process).
    RustStreamNoop,
    /// (e2) RustStream, a `#[subscriber]` handler decoding `LectureProgress` with its registry
    /// `AvroCodec` (the same child process with `--registry`).
    RustStreamAvro,
    /// (f1) franz-go, no-op (the `bench/franz-peer` child process).
    FranzNoop,
    /// (f2) franz-go + hamba/avro decoding.
    FranzAvro,
    /// (s1) Spring for Apache Kafka, batch `@KafkaListener`, no-op (`bench/spring-peer`).
    SpringNoop,
    /// (s2) the same with Apache Avro decoding.
    SpringAvro,
}

impl Variant {
    /// Short label used in tables ("a", "b1", …).
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Variant::Raw => "a",
            Variant::RawSplit => "a′",
            Variant::RawDecode => "a″",
            Variant::CPerformance => "a0",
            Variant::Framework => "b1",
            Variant::Avro => "b2",
            Variant::AvroBorrowed => "b3",
            Variant::KafkajsNoop => "c1",
            Variant::KafkajsAvro => "c2",
            Variant::ConfluentJsNoop => "j1",
            Variant::ConfluentJsAvro => "j2",
            Variant::Java => "d",
            Variant::RustStreamNoop => "e",
            Variant::RustStreamAvro => "e2",
            Variant::FranzNoop => "f1",
            Variant::FranzAvro => "f2",
            Variant::SpringNoop => "s1",
            Variant::SpringAvro => "s2",
        }
    }

    /// Human-readable name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw rdkafka BaseConsumer",
            Variant::RawSplit => "raw rdkafka, split queues",
            Variant::RawDecode => "raw split queues + our decoder",
            Variant::CPerformance => "C rdkafka_performance",
            Variant::Framework => "#[consume] handler",
            Variant::Avro => "#[consume] Avro<T> handler",
            Variant::AvroBorrowed => "#[consume] AvroRef<T> handler",
            Variant::KafkajsNoop => "kafkajs eachMessage",
            Variant::KafkajsAvro => "kafkajs eachMessage + decode",
            Variant::ConfluentJsNoop => "Confluent JS eachBatch",
            Variant::ConfluentJsAvro => "Confluent JS eachBatch + decode",
            Variant::Java => "Java kafka-consumer-perf-test",
            Variant::RustStreamNoop => "RustStream #[subscriber]",
            Variant::RustStreamAvro => "RustStream #[subscriber] + Avro",
            Variant::FranzNoop => "franz-go PollFetches",
            Variant::FranzAvro => "franz-go + hamba/avro",
            Variant::SpringNoop => "Spring Kafka batch listener",
            Variant::SpringAvro => "Spring Kafka batch + Avro",
        }
    }

    /// Tag used in consumer group ids.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Variant::Raw => "raw",
            Variant::RawSplit => "raw-split",
            Variant::RawDecode => "raw-decode",
            Variant::CPerformance => "c-performance",
            Variant::Framework => "framework",
            Variant::Avro => "avro",
            Variant::AvroBorrowed => "avro-ref",
            Variant::KafkajsNoop => "kafkajs",
            Variant::KafkajsAvro => "kafkajs-avro",
            Variant::ConfluentJsNoop => "confluent-js",
            Variant::ConfluentJsAvro => "confluent-js-avro",
            Variant::Java => "java",
            Variant::RustStreamNoop => "ruststream",
            Variant::RustStreamAvro => "ruststream-avro",
            Variant::FranzNoop => "franz",
            Variant::FranzAvro => "franz-avro",
            Variant::SpringNoop => "spring",
            Variant::SpringAvro => "spring-avro",
        }
    }

    /// Whether the variant is another stack's consumer in a child process (Node, JVM, the
    /// RustStream peer binary): left out by `--no-peers` and by the warm-up round.
    pub(crate) fn is_peer(self) -> bool {
        matches!(
            self,
            Variant::CPerformance
                | Variant::KafkajsNoop
                | Variant::KafkajsAvro
                | Variant::ConfluentJsNoop
                | Variant::ConfluentJsAvro
                | Variant::Java
                | Variant::RustStreamNoop
                | Variant::RustStreamAvro
                | Variant::FranzNoop
                | Variant::FranzAvro
                | Variant::SpringNoop
                | Variant::SpringAvro
        )
    }

    /// Whether the variant is run by the RustStream peer binary (which must be built first).
    pub(crate) fn is_ruststream(self) -> bool {
        matches!(self, Variant::RustStreamNoop | Variant::RustStreamAvro)
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
    /// Unix time (s) when the clock started (0 where unknown).
    pub(crate) start_unix: f64,
    /// CPU spent over the timed interval (filled in by the schedule).
    pub(crate) cpu: Spent,
}

impl Measurement {
    /// Nothing read (a variant that did not run).
    pub(crate) const ZERO: Self = Self {
        read: 0,
        timed: 0,
        elapsed: Duration::ZERO,
        bytes: 0,
        start_unix: 0.0,
        cpu: Spent {
            process: None,
            broker: None,
        },
    };

    /// Records per second over the timed interval.
    pub(crate) fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.timed as f64 / secs
        } else {
            0.0
        }
    }

    /// Records per CPU second of the variant's own process (`None` if not measured).
    pub(crate) fn per_cpu_second(&self) -> Option<f64> {
        self.cpu
            .process
            .filter(|c| *c > 0.0)
            .map(|c| self.timed as f64 / c)
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
            cpu: Spent {
                process: Some(0.25),
                broker: None,
            },
            ..Measurement::ZERO
        };
        assert_eq!(m.per_cpu_second(), Some(4000.0));
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
