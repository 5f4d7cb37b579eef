//! Fills the benchmark topic once: N Avro `LectureProgress` records (Confluent-framed,
//! [`FRAMED_BYTES`](crate::lecture::FRAMED_BYTES) bytes each) over [`KEYS`] distinct keys, from
//! one `BaseProducer` tuned for throughput.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};

use crate::BoxError;
use crate::kafka::base_config;
use crate::lecture::{self, Encoder};

/// Distinct keys (record `i` has the key of learner `i % KEYS`).
pub(crate) const KEYS: u64 = 10_000;

/// Counts delivery reports.
#[derive(Default)]
struct Reports {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Produces `messages` records to `topic`, each encoded once with `encoder` (whose schema id
/// is registered under `<topic>-value`), and waits until every one is acknowledged.
/// Blocking: call it from a blocking thread. Returns how long it took.
pub(crate) fn fill(
    bootstrap: &str,
    topic: &str,
    messages: u64,
    encoder: &mut Encoder<'_>,
) -> Result<Duration, BoxError> {
    let producer: BaseProducer<Reports> = base_config(bootstrap)
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "100000")
        .set("compression.type", "none")
        .set("acks", "1")
        .set("enable.idempotence", "false")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "60000")
        .create_with_context(Reports::default())?;
    let started = Instant::now();
    let mut key = String::with_capacity(16);
    for seq in 0..messages {
        let value = encoder.frame(&lecture::record(seq))?;
        lecture::key(seq, &mut key);
        let mut record = BaseRecord::to(topic)
            .key(key.as_str())
            .payload(value.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(format!("producing to `{topic}` failed: {e}").into()),
            }
        }
        if seq % 10_000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| format!("flushing the producer failed: {e}"))?;
    producer.poll(Duration::ZERO);
    let reports = producer.context();
    let failed = reports.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let first = reports
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        return Err(format!(
            "{failed} of {messages} records were not delivered (first error: {first})"
        )
        .into());
    }
    let delivered = reports.delivered.load(Ordering::Relaxed);
    if delivered != messages {
        return Err(format!("only {delivered} of {messages} delivery reports arrived").into());
    }
    Ok(started.elapsed())
}
