//! Kafka smoke tests: produce and consume over PLAINTEXT and over SASL_SSL/SCRAM-SHA-512,
//! and a wrong password is refused. Needs `infra/up`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_tests::{kafka, require, unique};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};

fn records(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("learner-{}", i % 5), format!("{i}")))
        .collect()
}

/// Every record arrives once, and per key in the order it was produced.
async fn roundtrip(config: ClientConfig) {
    let topic = unique::name("smoke-roundtrip");
    kafka::create_topic(&config, &topic, 3).await;
    let sent = records(30);
    kafka::produce(&config, &topic, &sent).await;

    let got = kafka::consume_n(&config, &topic, sent.len(), Duration::from_secs(60)).await;

    let mut by_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut partition_of: BTreeMap<String, i32> = BTreeMap::new();
    for (partition, key, value) in &got {
        by_key
            .entry(key.clone())
            .or_default()
            .push(value.parse().expect("numeric value"));
        let p = *partition_of.entry(key.clone()).or_insert(*partition);
        assert_eq!(p, *partition, "key {key} landed in two partitions");
    }
    let mut expected: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (key, value) in &sent {
        expected
            .entry(key.clone())
            .or_default()
            .push(value.parse().expect("numeric value"));
    }
    assert_eq!(
        by_key, expected,
        "records lost, duplicated or reordered per key"
    );
}

#[tokio::test]
async fn plaintext_produce_and_consume() {
    require::kafka();
    roundtrip(kafka::plaintext_config()).await;
}

#[tokio::test]
async fn sasl_ssl_scram_produce_and_consume() {
    let sasl = require::kafka_sasl();
    roundtrip(kafka::sasl_config(&sasl, &sasl.password)).await;
}

/// An error librdkafka reported: its code (if any) and reason.
type ReportedError = (Option<RDKafkaErrorCode>, String);

/// Records every error librdkafka reports through the client context.
#[derive(Default, Clone)]
struct ErrorLog(Arc<Mutex<Vec<ReportedError>>>);

impl ClientContext for ErrorLog {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0
            .lock()
            .expect("error log lock")
            .push((error.rdkafka_error_code(), reason.to_owned()));
    }
}

impl ProducerContext for ErrorLog {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

#[tokio::test]
async fn sasl_ssl_wrong_password_is_refused() {
    let sasl = require::kafka_sasl();
    let wrong = format!("{}-wrong", sasl.password);
    let log = ErrorLog::default();
    let producer: BaseProducer<ErrorLog> = kafka::sasl_config(&sasl, &wrong)
        .create_with_context(log.clone())
        .expect("producer");

    let metadata = tokio::task::spawn_blocking(move || {
        let r = producer
            .client()
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|m| m.brokers().len());
        // Serve the error callback so the context sees the authentication failure.
        for _ in 0..20 {
            producer.poll(Duration::from_millis(100));
        }
        r
    })
    .await
    .expect("join");

    assert!(
        metadata.is_err(),
        "a wrong SCRAM password must not fetch metadata, got {metadata:?}"
    );
    let errors = log.0.lock().expect("error log lock").clone();
    assert!(
        errors.iter().any(|(code, reason)| {
            *code == Some(RDKafkaErrorCode::Authentication)
                || reason.contains("Authentication failed")
        }),
        "expected an authentication error, librdkafka reported: {errors:?}"
    );
}
