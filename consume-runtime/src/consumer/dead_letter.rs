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

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio_util::sync::CancellationToken;

use super::settle::{DeadLetters, Failure};
use crate::extract::Delivery;
use crate::metrics::HandlerMetrics;
use crate::publish::Publisher;

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
            let ours = self.headers(d, failure, shape, refused.as_deref());
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
                    self.metrics.dead_lettered.add(1);
                    tracing::warn!(
                        handler = %self.handler, topic = %d.topic(), partition = d.partition(), offset = d.offset(),
                        dead_letter_topic = %dlq, dead_letter_offset = delivered.offset, error = %failure.error,
                        shape = ?shape, "message failed ({}); dead-lettered", failure.why
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

impl Route {
    /// Our headers for `d` in `shape`.
    fn headers(
        &self,
        d: &Delivery<'_>,
        failure: Failure<'_>,
        shape: Shape,
        refused: Option<&str>,
    ) -> Vec<(&'static str, Vec<u8>)> {
        let timestamp = d.timestamp().to_millis().unwrap_or(-1);
        let mut h = vec![
            ("kafka_dlt-original-topic", d.topic().as_bytes().to_vec()),
            (
                "kafka_dlt-original-partition",
                d.partition().to_be_bytes().to_vec(),
            ),
            (
                "kafka_dlt-original-offset",
                d.offset().to_be_bytes().to_vec(),
            ),
            (
                "kafka_dlt-original-timestamp",
                timestamp.to_be_bytes().to_vec(),
            ),
            ("kafka_dlt-original-timestamp-type", b"CreateTime".to_vec()),
            (
                "kafka_dlt-original-consumer-group",
                self.group.as_bytes().to_vec(),
            ),
            (
                "kafka_dlt-exception-fqcn",
                format!("{}: {:?}", failure.why, failure.error.kind()).into_bytes(),
            ),
            (
                "kafka_dlt-exception-message",
                failure.error.to_string().into_bytes(),
            ),
            ("consume-handler", self.handler.as_bytes().to_vec()),
            (
                "consume-attempts",
                failure.attempts.to_string().into_bytes(),
            ),
        ];
        if shape != Shape::Whole {
            let size = d.payload().map_or(-1, |v| v.len() as i64);
            h.push((
                "consume-value-dropped",
                refused.unwrap_or("refused").as_bytes().to_vec(),
            ));
            h.push(("consume-original-value-size", size.to_string().into_bytes()));
        }
        if shape == Shape::Bare {
            let key = d.key().map_or(-1, |k| k.len() as i64);
            h.push(("consume-original-key-size", key.to_string().into_bytes()));
            h.push((
                "consume-original-header-count",
                d.headers().len().to_string().into_bytes(),
            ));
        }
        h
    }
}
