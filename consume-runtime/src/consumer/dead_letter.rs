//! Dead letters: a message that failed for good is published, unchanged, to
//! `<topic>.<group>.dlq` (scoped to the group, so other groups reading the topic never see
//! it) with headers saying where it came from and why, **before** its offset is stored: a
//! crash in between makes a duplicate dead letter, never a lost message. If the dead letter
//! cannot be published the offset does not move; publishing is retried until it succeeds or
//! the partition is revoked.
//!
//! Header names are Spring Kafka's (`kafka_dlt-*`, same encodings: partition as a 4-byte and
//! offset/timestamp as 8-byte big-endian integers, the rest UTF-8), so tooling written for
//! Spring's dead-letter topics reads ours; `consume-handler` and `consume-attempts` are ours.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::message::{BorrowedMessage, Headers as _, Message as _};

use super::control::WorkerControl;
use super::worker::HandlerShared;
use crate::error::HandlerError;

/// The dead-letter topic of `topic` for `group`.
pub(crate) fn dead_letter_topic(topic: &str, group: &str) -> String {
    format!("{topic}.{group}.dlq")
}

/// Publishes `msg` to its dead-letter topic, retrying until it is acknowledged. Returns
/// `false` if a stop request interrupted it (the offset must then not be stored).
pub(crate) async fn publish(
    shared: &HandlerShared,
    msg: &BorrowedMessage<'_>,
    topic: &str,
    error: &HandlerError,
    attempts: u32,
    why: &str,
    control: &WorkerControl,
) -> bool {
    let Some(publisher) = &shared.dead_letters else {
        return true;
    };
    let dlq = match &shared.dead_letter_override {
        Some(t) => t.to_string(),
        None => dead_letter_topic(topic, &shared.group),
    };
    let mut owned: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(h) = msg.headers() {
        for header in h.iter() {
            if let Some(v) = header.value {
                owned.push((header.key.to_owned(), v.to_vec()));
            }
        }
    }
    let timestamp = msg.timestamp().to_millis().unwrap_or(-1);
    let kind = format!("{why}: {:?}", error.kind());
    owned.extend([
        (
            "kafka_dlt-original-topic".to_owned(),
            topic.as_bytes().to_vec(),
        ),
        (
            "kafka_dlt-original-partition".to_owned(),
            msg.partition().to_be_bytes().to_vec(),
        ),
        (
            "kafka_dlt-original-offset".to_owned(),
            msg.offset().to_be_bytes().to_vec(),
        ),
        (
            "kafka_dlt-original-timestamp".to_owned(),
            timestamp.to_be_bytes().to_vec(),
        ),
        (
            "kafka_dlt-original-timestamp-type".to_owned(),
            b"CreateTime".to_vec(),
        ),
        (
            "kafka_dlt-original-consumer-group".to_owned(),
            shared.group.as_bytes().to_vec(),
        ),
        ("kafka_dlt-exception-fqcn".to_owned(), kind.into_bytes()),
        (
            "kafka_dlt-exception-message".to_owned(),
            error.to_string().into_bytes(),
        ),
        (
            "consume-handler".to_owned(),
            shared.name.as_bytes().to_vec(),
        ),
        (
            "consume-attempts".to_owned(),
            attempts.to_string().into_bytes(),
        ),
    ]);
    let headers: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    let mut wait = Duration::from_millis(100);
    loop {
        match publisher
            .send_bytes(&dlq, msg.key(), msg.payload(), &headers)
            .await
        {
            Ok(d) => {
                crate::failpoint::hit("dead-letter");
                shared.metrics.dead_lettered.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    handler = %shared.name, %topic, partition = msg.partition(), offset = msg.offset(),
                    dead_letter_topic = %dlq, dead_letter_offset = d.offset, error = %error,
                    "message failed ({why}); dead-lettered"
                );
                return true;
            }
            Err(e) => {
                tracing::error!(
                    handler = %shared.name, %topic, partition = msg.partition(), offset = msg.offset(),
                    dead_letter_topic = %dlq, error = %e,
                    "cannot publish the dead letter; the offset stays put, retrying"
                );
                tokio::select! {
                    biased;
                    _ = control.stop_token().cancelled() => return false,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}
