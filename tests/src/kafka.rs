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

/// Creates `topic` with topic-level `configs` (e.g. `("max.message.bytes", "64")`).
pub async fn create_topic_with(
    base: &ClientConfig,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    let admin: AdminClient<DefaultClientContext> = base.create().expect("admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let mut t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    for r in admin
        .create_topics(&[t], &opts)
        .await
        .expect("create_topics request")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t} failed: {e}"));
    }
}

/// Changes topic-level configs of `topic` (incrementally: other settings are kept).
pub async fn alter_topic_config(base: &ClientConfig, topic: &str, configs: &[(&str, &str)]) {
    use rdkafka::admin::{AlterConfig, ResourceSpecifier};
    let admin: AdminClient<DefaultClientContext> = base.create().expect("admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let mut c = AlterConfig::new(ResourceSpecifier::Topic(topic));
    for (k, v) in configs {
        c = c.set(k, v);
    }
    for r in admin
        .alter_configs(&[c], &opts)
        .await
        .expect("alter_configs request")
    {
        r.unwrap_or_else(|(_, e)| panic!("altering {topic} failed: {e}"));
    }
}

/// Whether the cluster has `topic` (asks for all topics, so nothing is auto-created).
pub fn topic_exists(topic: &str) -> bool {
    use rdkafka::consumer::BaseConsumer;
    let probe: BaseConsumer = plaintext_config().create().expect("probe consumer");
    probe
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata")
        .topics()
        .iter()
        .any(|t| t.name() == topic)
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

/// The first `n` records of `topic` (read with a fresh group): (value, headers as name →
/// bytes). Panics if they do not arrive within 30 s.
pub async fn records_with_headers(
    topic: &str,
    n: usize,
) -> Vec<(String, std::collections::BTreeMap<String, Vec<u8>>)> {
    use rdkafka::message::Headers as _;
    let c: StreamConsumer = plaintext_config()
        .set("group.id", crate::unique::name("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(30), c.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} records arrived from {topic}", out.len()))
            .expect("consume");
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            headers,
        ));
    }
    out
}

/// The group's committed offset of `topic`/`partition` (`None` if nothing is committed).
pub fn committed(group: &str, topic: &str, partition: i32) -> Option<i64> {
    use rdkafka::consumer::BaseConsumer;
    let probe: BaseConsumer = plaintext_config()
        .set("group.id", group)
        .create()
        .expect("probe consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    let c = probe
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    c.elements()
        .first()
        .and_then(|e| e.offset().to_raw())
        .filter(|o| *o >= 0)
}

/// The high watermark (next offset to be written) of `topic`/`partition`.
pub fn high_watermark(topic: &str, partition: i32) -> i64 {
    use rdkafka::consumer::BaseConsumer;
    let probe: BaseConsumer = plaintext_config().create().expect("probe consumer");
    probe
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .expect("watermarks")
        .1
}

/// Reads `topic` from the start with a fresh group until every value in `expected` was
/// seen (duplicates allowed); returns how many records were read. Panics after `timeout`
/// naming what is missing.
pub async fn wait_for_values(
    topic: &str,
    expected: &std::collections::BTreeSet<String>,
    timeout: Duration,
) -> usize {
    let c: StreamConsumer = plaintext_config()
        .set("group.id", crate::unique::name("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut missing = expected.clone();
    let mut read = 0;
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(m) = tokio::time::timeout(left, c.recv()).await else {
            panic!(
                "{} values never arrived in {topic}, e.g. {:?}",
                missing.len(),
                missing.iter().next()
            );
        };
        let m = m.expect("consume");
        read += 1;
        missing.remove(String::from_utf8_lossy(m.payload().unwrap_or_default()).as_ref());
    }
    read
}
