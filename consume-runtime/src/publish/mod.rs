//! [`Publisher`]: one long-lived, idempotent producer per process (the seed created, connected
//! and disconnected a producer for every send). Publishes Avro (Confluent wire format,
//! TopicNameStrategy subjects, schema ids cached), JSON or bytes, with a caller-chosen key
//! (per-entity order) and headers, and awaits the broker's acknowledgement.

mod error;

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apache_avro::writer::datum::GenericDatumWriter;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use serde::Serialize;
use tracing::Instrument as _;

pub use error::PublishError;

use crate::avro::{self, AvroSchema, wire};
use crate::config::Config;
use crate::oauth::ClientAuth;
use crate::schema_registry::SchemaRegistry;

/// The publisher's `message.max.bytes` unless configured: the broker's default largest
/// record batch (1 048 588 bytes) plus 64 KiB for dead-letter headers.
pub const PRODUCER_MAX_RECORD_BYTES: usize = 1_048_588 + 65_536;

/// Where a published record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Schema ids by type, then topic (few topics per type: a list beats hashing the topic).
type SchemaIds = HashMap<TypeId, Vec<(Arc<str>, Arc<tokio::sync::OnceCell<u32>>)>>;

/// Publishes to Kafka. Cheap to clone (one producer underneath); create it once. When the
/// last clone is dropped it flushes (up to 30 s) before closing, so records in flight are not
/// purged.
#[derive(Clone)]
pub struct Publisher {
    producer: Arc<Flushing>,
    registry: Option<SchemaRegistry>,
    auto_register: bool,
    timeout: Duration,
    /// type → (topic, schema id once known).
    ids: Arc<Mutex<SchemaIds>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("registry", &self.registry)
            .field("auto_register", &self.auto_register)
            .finish()
    }
}

impl Publisher {
    /// A producer with `acks=all` and idempotence on (no duplicates from its own retries,
    /// per-partition order kept), for the brokers and security settings of `config`.
    ///
    /// # Errors
    /// [`PublishError::Client`] when librdkafka refuses the configuration.
    pub fn new(config: &Config, registry: Option<SchemaRegistry>) -> Result<Self, PublishError> {
        let mut c = config.client_config();
        c.set("client.id", format!("{}-publisher", config.client_id))
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000");
        // librdkafka refuses records over 1 000 000 bytes by default, below the broker's
        // 1 048 588: a record the broker accepted could not be re-published (as a dead
        // letter, with extra headers) by a producer with that default. Allow the broker's
        // largest record plus 64 KiB of headers; a topic with a lower limit refuses it, and
        // the dead-letter path then publishes it without its value.
        if !config.properties.contains_key("message.max.bytes") {
            c.set("message.max.bytes", PRODUCER_MAX_RECORD_BYTES.to_string());
        }
        let oauth = config
            .token_provider()
            .map_err(|e| PublishError::Client(e.to_string()))?;
        let context = ClientAuth::new(oauth, format!("{}-publisher", config.client_id));
        let producer: FutureProducer<ClientAuth> = c
            .create_with_context(context)
            .map_err(|e| PublishError::Client(e.to_string()))?;
        Ok(Self {
            producer: Arc::new(Flushing(producer)),
            registry,
            auto_register: true,
            timeout: Duration::from_secs(30),
            ids: Arc::default(),
        })
    }

    /// Whether `send_avro` may register a type's schema under `<topic>-value` (default
    /// `true`, like Confluent's serializers). When `false` the schema must already be
    /// registered there.
    pub fn auto_register(mut self, yes: bool) -> Self {
        self.auto_register = yes;
        self
    }

    async fn schema_id<T: AvroSchema>(&self, topic: &str) -> Result<u32, PublishError> {
        // One cell per (type, topic), looked up without allocating; the first caller
        // registers (or looks up) the schema and concurrent first callers wait for it, so a
        // burst of first sends makes one registry request, not one per send.
        let cell = {
            let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
            let topics = ids.entry(TypeId::of::<T>()).or_default();
            match topics.iter().find(|(t, _)| &**t == topic) {
                Some((_, cell)) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    topics.push((Arc::from(topic), Arc::clone(&cell)));
                    cell
                }
            }
        };
        if let Some(id) = cell.get() {
            return Ok(*id);
        }
        let registry = self.registry.as_ref().ok_or(PublishError::NoRegistry)?;
        cell.get_or_try_init(|| async {
            let subject = format!("{topic}-value");
            if self.auto_register {
                registry.register(&subject, T::SCHEMA).await
            } else {
                registry.lookup(&subject, T::SCHEMA).await
            }
            .map_err(|e| PublishError::Registry { subject, source: e })
        })
        .await
        .copied()
    }

    /// Encodes `value` with `T`'s schema in the Confluent wire format (subject
    /// `<topic>-value`) and publishes it.
    ///
    /// # Errors
    /// Registry, encoding or delivery failures, each naming the topic.
    pub async fn send_avro<T: AvroSchema + Serialize>(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &T,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivered, PublishError> {
        let id = self.schema_id::<T>(topic).await?;
        let schema = avro::reader_schema::<T>().map_err(PublishError::Encode)?;
        let body = GenericDatumWriter::builder(&schema)
            .build()
            .and_then(|w| w.write_ser_to_vec(value))
            .map_err(|e| PublishError::Encode(format!("{}: {e}", std::any::type_name::<T>())))?;
        self.send_bytes(topic, key, Some(&wire::frame(id, &body)), headers)
            .await
    }

    /// Publishes `value` as JSON.
    ///
    /// # Errors
    /// Serialization or delivery failures.
    pub async fn send_json<T: Serialize>(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &T,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivered, PublishError> {
        let bytes = serde_json::to_vec(value).map_err(|e| PublishError::Encode(e.to_string()))?;
        self.send_bytes(topic, key, Some(&bytes), headers).await
    }

    /// Publishes raw bytes (`None` value: a tombstone) and waits for the acknowledgement.
    ///
    /// # Errors
    /// [`PublishError::Delivery`] when the broker did not acknowledge within the timeout.
    pub async fn send_bytes(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivered, PublishError> {
        let span = crate::trace::publish(topic);
        let context = crate::trace::context_headers(&span, headers);
        let headers: Vec<(&[u8], Option<&[u8]>)> = headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), Some(*v)))
            .chain(
                context
                    .iter()
                    .map(|(k, v)| (k.as_bytes(), Some(v.as_bytes()))),
            )
            .collect();
        self.send_record(topic, key, value, &headers)
            .instrument(span)
            .await
            .map_err(|e| PublishError::Delivery {
                topic: topic.to_owned(),
                cause: e.to_string(),
            })
    }

    /// Publishes a record whose header names and values are bytes (names need not be
    /// UTF-8; a `None` value is a null header). Dead letters are published this way, so a
    /// record's headers survive byte for byte.
    ///
    /// # Errors
    /// [`PublishError::Delivery`] when the broker did not acknowledge within the timeout.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&[u8], Option<&[u8]>)],
    ) -> Result<Delivered, PublishError> {
        self.send_record(topic, key, value, headers)
            .await
            .map_err(|e| PublishError::Delivery {
                topic: topic.to_owned(),
                cause: e.to_string(),
            })
    }

    /// [`Publisher::send_raw`], keeping librdkafka's error (the dead-letter path classifies
    /// it).
    pub(crate) async fn send_record(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&[u8], Option<&[u8]>)],
    ) -> Result<Delivered, rdkafka::error::KafkaError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        if !headers.is_empty() {
            record = record.headers(crate::raw_headers::owned(headers.iter().copied()));
        }
        self.producer
            .0
            .send(record, self.timeout)
            .await
            .map(|d| Delivered {
                partition: d.partition,
                offset: d.offset,
            })
            .map_err(|(e, _)| e)
    }

    /// Waits until every queued record is acknowledged (call on shutdown).
    ///
    /// # Errors
    /// [`PublishError::Delivery`] when records are still unacknowledged at the deadline.
    pub fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        self.producer
            .0
            .flush(timeout)
            .map_err(|e| PublishError::Delivery {
                topic: "(all)".to_owned(),
                cause: e.to_string(),
            })
    }
}

/// The producer, flushed before it is dropped (rdkafka's own drop purges what is queued).
struct Flushing(FutureProducer<ClientAuth>);

impl Drop for Flushing {
    fn drop(&mut self) {
        if let Err(e) = self.0.flush(Duration::from_secs(30)) {
            tracing::warn!(error = %e, "records were still unacknowledged when the publisher closed");
        }
    }
}
