//! Dead letters: a record that failed for good is published, unchanged, to its dead-letter
//! topic (by default `<topic>.<group>.dlq`, scoped to the group so other groups reading the
//! topic never see it) with headers saying where it came from and why, **before** its
//! offset is stored: a crash in between makes a duplicate dead letter, never a lost record.
//!
//! Where a handler's dead letters go is decided once, at plan time
//! ([`HandlerPlan::dead_letter_topic`](crate::HandlerPlan::dead_letter_topic)); this module
//! only publishes to the [`Route`] it was given.
//!
//! Header names are Spring Kafka's (`kafka_dlt-*`, same encodings: partition as a 4-byte and
//! offset/timestamp as 8-byte big-endian integers, the rest UTF-8), so tooling written for
//! Spring's dead-letter topics reads ours; `consume-*` headers are ours. The record's own
//! headers are copied byte for byte (names that are not UTF-8 and null values included).
//!
//! **A dead letter the broker refuses for what it contains** (too large, invalid for the
//! topic, refused by a policy: errors that no retry can fix) is published again without the
//! record's value (`consume-value-dropped` says why, `consume-original-value-size` how big it
//! was), and if that is refused too, without its key and its original headers as well
//! (`consume-original-key-size`, `consume-original-header-count`). If even that is refused, or
//! on any other error (broker down, topic missing, not authorized), the offset stays where it
//! is and the whole record is tried again with back-off until it is published or the
//! partition is revoked: the partition then shows as stalled on `/metrics` instead of losing
//! the record.
//!
//! **Why**, as a word of a fixed set ([`DeadLetterReason`]), is decided once, by the settle
//! step (`settle.rs`), and the same word goes everywhere a dead letter is reported: the
//! `consume-reason` header, the `reason` label of `consume_dead_letters_total`, and the
//! record of recent dead letters the process keeps ([`Metrics::recent_dead_letters`]).
//!
//! [`Metrics::recent_dead_letters`]: crate::Metrics::recent_dead_letters

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio_util::sync::CancellationToken;

use super::settle::{DeadLetters, Failure};
use crate::extract::Delivery;
use crate::metrics::{HandlerMetrics, Published};
use crate::publish::Publisher;

/// Why a record was dead-lettered: one word of a fixed set, so it can label a metric
/// (`consume_dead_letters_total{reason}`) and a header (`consume-reason`) without letting
/// error texts or record contents into either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// `decode`: the value does not decode (`Json<T>`, `Avro<T>`: bad bytes, an unknown
    /// schema id, a writer schema that cannot be read as `T`, a tombstone), or an extractor
    /// said so with [`Rejection::undecodable`](crate::Rejection::undecodable).
    Decode,
    /// `key`: the key does not decode (`Key<T>`: null, not UTF-8), or an extractor said so
    /// with [`Rejection::bad_key`](crate::Rejection::bad_key).
    Key,
    /// `rejected`: another extractor refused the record for good
    /// ([`Rejection::permanent`](crate::Rejection::permanent)), typically an application's own
    /// validation.
    Rejected,
    /// `permanent`: the handler returned [`HandlerError::permanent`](crate::HandlerError::permanent).
    Permanent,
    /// `retries_exhausted`: the handler (or a retryable extractor) failed on every attempt
    /// the retry policy allows; panics count as failures.
    RetriesExhausted,
    /// `worker_crashed`: the partition's loop crashed on the record again and again (outside
    /// a handler call, e.g. in a batch handler's extractors), so it was dead-lettered unrun.
    WorkerCrashed,
}

impl DeadLetterReason {
    /// Every reason, in the order of their words below.
    pub const ALL: [DeadLetterReason; 6] = [
        DeadLetterReason::Decode,
        DeadLetterReason::Key,
        DeadLetterReason::Rejected,
        DeadLetterReason::Permanent,
        DeadLetterReason::RetriesExhausted,
        DeadLetterReason::WorkerCrashed,
    ];

    /// Its word: `decode`, `key`, `rejected`, `permanent`, `retries_exhausted` or
    /// `worker_crashed` (the metric label and the header value).
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::Decode => "decode",
            DeadLetterReason::Key => "key",
            DeadLetterReason::Rejected => "rejected",
            DeadLetterReason::Permanent => "permanent",
            DeadLetterReason::RetriesExhausted => "retries_exhausted",
            DeadLetterReason::WorkerCrashed => "worker_crashed",
        }
    }

    /// The reason with word `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Its position in [`DeadLetterReason::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The headers a dead letter carries besides the record's own, with what each holds; the
/// AsyncAPI export documents dead letters from this table.
pub(crate) const HEADERS: &[(&str, &str)] = &[
    (ORIGINAL_TOPIC, "The topic the record was read from."),
    (
        ORIGINAL_PARTITION,
        "Its partition: a 4-byte big-endian signed integer.",
    ),
    (
        ORIGINAL_OFFSET,
        "Its offset: an 8-byte big-endian signed integer.",
    ),
    (
        ORIGINAL_TIMESTAMP,
        "Its timestamp in milliseconds since the epoch (-1: none): an 8-byte big-endian \
         signed integer.",
    ),
    (ORIGINAL_TIMESTAMP_TYPE, "`CreateTime`."),
    (
        ORIGINAL_GROUP,
        "The consumer group that failed to handle it.",
    ),
    (
        EXCEPTION_FQCN,
        "Why it failed for good and the error's kind, e.g. `permanent error: Permanent`.",
    ),
    (EXCEPTION_MESSAGE, "The error, as text."),
    (HANDLER, "The handler that failed."),
    (
        ATTEMPTS,
        "How many times the handler was called, in decimal.",
    ),
    (
        REASON,
        "Why, as one word: `decode`, `key`, `rejected`, `permanent`, `retries_exhausted` or \
         `worker_crashed` (the `reason` label of `consume_dead_letters_total`).",
    ),
    (
        VALUE_DROPPED,
        "Only when the broker refused the whole record: why; the value is then left out.",
    ),
    (
        ORIGINAL_VALUE_SIZE,
        "With `consume-value-dropped`: the value's size in bytes, in decimal (-1: null).",
    ),
    (
        ORIGINAL_KEY_SIZE,
        "Only when the record without its value was refused too: the key's size in bytes, in \
         decimal (-1: null); key and original headers are then left out.",
    ),
    (
        ORIGINAL_HEADER_COUNT,
        "With `consume-original-key-size`: how many headers the record had, in decimal.",
    ),
];

const ORIGINAL_TOPIC: &str = "kafka_dlt-original-topic";
const ORIGINAL_PARTITION: &str = "kafka_dlt-original-partition";
const ORIGINAL_OFFSET: &str = "kafka_dlt-original-offset";
const ORIGINAL_TIMESTAMP: &str = "kafka_dlt-original-timestamp";
const ORIGINAL_TIMESTAMP_TYPE: &str = "kafka_dlt-original-timestamp-type";
const ORIGINAL_GROUP: &str = "kafka_dlt-original-consumer-group";
const EXCEPTION_FQCN: &str = "kafka_dlt-exception-fqcn";
const EXCEPTION_MESSAGE: &str = "kafka_dlt-exception-message";
const HANDLER: &str = "consume-handler";
const ATTEMPTS: &str = "consume-attempts";
const REASON: &str = "consume-reason";
const VALUE_DROPPED: &str = "consume-value-dropped";
const ORIGINAL_VALUE_SIZE: &str = "consume-original-value-size";
const ORIGINAL_KEY_SIZE: &str = "consume-original-key-size";
const ORIGINAL_HEADER_COUNT: &str = "consume-original-header-count";

/// The dead-letter topic of `topic` for `group` (the default route).
pub(crate) fn dead_letter_topic(topic: &str, group: &str) -> String {
    format!("{topic}.{group}.dlq")
}

/// Where one handler's failed records go: its source topics mapped to dead-letter topics.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) publisher: Publisher,
    /// `(source topic, dead-letter topic)`, resolved at plan time.
    pub(crate) topics: Vec<(Arc<str>, Arc<str>)>,
    pub(crate) handler: Arc<str>,
    pub(crate) group: Arc<str>,
    pub(crate) metrics: Arc<HandlerMetrics>,
}

/// How much of the record a dead letter carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Key, value and headers, as received.
    Whole,
    /// Without the value.
    WithoutValue,
    /// Only our headers.
    Bare,
}

impl Shape {
    fn smaller(self) -> Option<Shape> {
        match self {
            Shape::Whole => Some(Shape::WithoutValue),
            Shape::WithoutValue => Some(Shape::Bare),
            Shape::Bare => None,
        }
    }
}

/// Errors about the record itself, which retrying the same record cannot fix.
fn refused_for_content(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::PolicyViolation
        )
    )
}

impl DeadLetters for Route {
    async fn send(&self, d: &Delivery<'_>, failure: Failure<'_>, stop: &CancellationToken) -> bool {
        let dlq = match self.topics.iter().find(|(t, _)| **t == *d.topic()) {
            Some((_, dlq)) => Arc::clone(dlq),
            // Not reachable through the runtime (every subscribed topic has a route); kept
            // total so a bug sends to the default topic rather than nowhere.
            None => Arc::from(dead_letter_topic(d.topic(), &self.group)),
        };
        let mut shape = Shape::Whole;
        let mut refused: Option<String> = None;
        let mut wait = Duration::from_millis(100);
        loop {
            let ours = headers(
                &self.handler,
                &self.group,
                d,
                failure,
                shape,
                refused.as_deref(),
            );
            let original = (shape != Shape::Bare)
                .then(|| d.headers().iter())
                .into_iter()
                .flatten();
            let headers: Vec<(&[u8], Option<&[u8]>)> = original
                .chain(ours.iter().map(|(n, v)| (n.as_bytes(), Some(&v[..]))))
                .collect();
            let key = if shape == Shape::Bare { None } else { d.key() };
            let value = if shape == Shape::Whole {
                d.payload()
            } else {
                None
            };
            match self.publisher.send_record(&dlq, key, value, &headers).await {
                Ok(delivered) => {
                    crate::failpoint::hit("dead-letter");
                    self.metrics.dead_letters.published(Published {
                        at: SystemTime::now(),
                        topic: d.topic(),
                        partition: d.partition(),
                        offset: d.offset(),
                        dead_letter_topic: &dlq,
                        reason: failure.reason,
                        attempts: failure.attempts,
                        error: failure.error,
                    });
                    tracing::warn!(
                        handler = %self.handler, topic = %d.topic(), partition = d.partition(), offset = d.offset(),
                        dead_letter_topic = %dlq, dead_letter_offset = delivered.offset, error = %failure.error,
                        reason = %failure.reason, shape = ?shape, "message failed ({}); dead-lettered", failure.why.text()
                    );
                    return true;
                }
                Err(e) if refused_for_content(&e) && shape.smaller().is_some() => {
                    tracing::warn!(
                        handler = %self.handler, topic = %d.topic(), partition = d.partition(), offset = d.offset(),
                        dead_letter_topic = %dlq, error = %e, shape = ?shape,
                        "the broker refused the dead letter for its content; publishing a smaller one"
                    );
                    refused = Some(e.to_string());
                    shape = shape.smaller().unwrap_or(Shape::Bare);
                }
                Err(e) => {
                    tracing::error!(
                        handler = %self.handler, topic = %d.topic(), partition = d.partition(), offset = d.offset(),
                        dead_letter_topic = %dlq, error = %e,
                        "cannot publish the dead letter; the offset stays put, retrying"
                    );
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => return false,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                    // Try the whole record again: a topic whose limit was raised meanwhile
                    // gets the record as it was.
                    shape = Shape::Whole;
                    refused = None;
                }
            }
        }
    }
}

/// Our headers for `d` in `shape`.
fn headers(
    handler: &str,
    group: &str,
    d: &Delivery<'_>,
    failure: Failure<'_>,
    shape: Shape,
    refused: Option<&str>,
) -> Vec<(&'static str, Vec<u8>)> {
    let timestamp = d.timestamp().to_millis().unwrap_or(-1);
    let mut h = vec![
        (ORIGINAL_TOPIC, d.topic().as_bytes().to_vec()),
        (ORIGINAL_PARTITION, d.partition().to_be_bytes().to_vec()),
        (ORIGINAL_OFFSET, d.offset().to_be_bytes().to_vec()),
        (ORIGINAL_TIMESTAMP, timestamp.to_be_bytes().to_vec()),
        (ORIGINAL_TIMESTAMP_TYPE, b"CreateTime".to_vec()),
        (ORIGINAL_GROUP, group.as_bytes().to_vec()),
        (
            EXCEPTION_FQCN,
            format!("{}: {:?}", failure.why.text(), failure.error.kind()).into_bytes(),
        ),
        (EXCEPTION_MESSAGE, failure.error.to_string().into_bytes()),
        (HANDLER, handler.as_bytes().to_vec()),
        (ATTEMPTS, failure.attempts.to_string().into_bytes()),
        (REASON, failure.reason.as_str().as_bytes().to_vec()),
    ];
    if shape != Shape::Whole {
        let size = d.payload().map_or(-1, |v| v.len() as i64);
        h.push((
            VALUE_DROPPED,
            refused.unwrap_or("refused").as_bytes().to_vec(),
        ));
        h.push((ORIGINAL_VALUE_SIZE, size.to_string().into_bytes()));
    }
    if shape == Shape::Bare {
        let key = d.key().map_or(-1, |k| k.len() as i64);
        h.push((ORIGINAL_KEY_SIZE, key.to_string().into_bytes()));
        h.push((
            ORIGINAL_HEADER_COUNT,
            d.headers().len().to_string().into_bytes(),
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::settle::GiveUp;
    use crate::{HandlerError, StateMap};

    #[test]
    fn reasons_have_one_word_each_and_their_index_is_their_place_in_all() {
        for (i, r) in DeadLetterReason::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
            assert_eq!(DeadLetterReason::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(DeadLetterReason::parse("Decode"), None);
    }

    #[test]
    fn every_header_is_documented_and_every_documented_header_is_sent() {
        let topic: Arc<str> = Arc::from("t");
        let state = StateMap::new();
        let d = Delivery::new(&topic, 0, 7, Some(b"k"), Some(b"v"), &state);
        let error = HandlerError::permanent("bad");
        let failure = Failure {
            error: &error,
            attempts: 1,
            why: GiveUp::Permanent,
            reason: DeadLetterReason::Permanent,
        };
        let sent: Vec<&str> = headers("h", "g", &d, failure, Shape::Bare, Some("too large"))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let documented: Vec<&str> = HEADERS.iter().map(|(name, _)| *name).collect();
        assert_eq!(sent, documented);
    }
}
