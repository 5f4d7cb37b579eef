//! Sends a few learner events to Kafka and reads them back, printing each one.
//!
//! Run with `./dev run` (starts the servers first) or, with `infra/up` done:
//! `cargo run -p consume-examples --bin hello_kafka`.
//! This plain-rdkafka example stands in until the `#[consume]` quickstart exists.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let bootstrap =
        std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_owned());
    let topic = "examples.hello";

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .set("message.timeout.ms", "10000")
        .create()?;
    let run_id = std::process::id();
    for (learner, seconds) in [("learner-1", 30), ("learner-2", 45), ("learner-1", 60)] {
        let value = format!(
            "{{\"run\":{run_id},\"learner_id\":\"{learner}\",\"watched_seconds\":{seconds}}}"
        );
        producer
            .send(
                FutureRecord::to(topic).key(learner).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| {
                format!("sending to {topic} at {bootstrap} failed: {e} (is `infra/up` running?)")
            })?;
    }

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", format!("examples.hello.{run_id}"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut seen = 0;
    while seen < 3 {
        let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| "no message within 30s")??;
        let payload = String::from_utf8_lossy(msg.payload().unwrap_or_default()).into_owned();
        if payload.contains(&format!("\"run\":{run_id},")) {
            seen += 1;
        }
        println!(
            "{}[{}]@{} key={} {}",
            msg.topic(),
            msg.partition(),
            msg.offset(),
            String::from_utf8_lossy(msg.key().unwrap_or_default()),
            payload
        );
    }
    println!("read back all 3 events of this run");
    Ok(())
}
