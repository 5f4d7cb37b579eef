//! Small Kafka helpers for tests: client configs, topic creation, produce and drain.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::endpoints::{self, SaslSettings};

/// A config for the PLAINTEXT listener.
pub fn plaintext_config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", endpoints::kafka_bootstrap());
    c
}

/// A config for the SASL_SSL listener with SCRAM-SHA-512, trusting the test CA.
pub fn sasl_config(s: &SaslSettings, password: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &s.bootstrap)
        .set("security.protocol", "SASL_SSL")
        .set("sasl.mechanisms", "SCRAM-SHA-512")
        .set("sasl.username", &s.username)
        .set("sasl.password", password)
        .set("ssl.ca.location", &s.ca_location);
    c
}

/// Creates `topic` with `partitions` partitions and waits until the broker reports it.
pub async fn create_topic(base: &ClientConfig, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = base.create().expect("admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &opts,
        )
        .await
        .expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t} failed: {e}"));
    }
}

/// Produces `(key, value)` pairs in order and waits for every delivery report.
pub async fn produce(base: &ClientConfig, topic: &str, records: &[(String, String)]) {
    let producer: FutureProducer = base
        .clone()
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (k, v) in records {
        producer
            .send(
                FutureRecord::to(topic).key(k).payload(v),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("producing to {topic} failed: {e}"));
    }
}

/// Reads `n` records from the start of `topic` with a fresh group; panics after `timeout`.
/// Returns `(partition, key, value)` in the order they arrived.
pub async fn consume_n(
    base: &ClientConfig,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> Vec<(i32, String, String)> {
    let consumer: StreamConsumer = base
        .clone()
        .set("group.id", crate::unique::name("smoke"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {n} records arrived from {topic} within {timeout:?}",
                    out.len()
                )
            })
            .unwrap_or_else(|e| panic!("consuming {topic} failed: {e}"));
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        out.push((msg.partition(), text(msg.key()), text(msg.payload())));
    }
    out
}
