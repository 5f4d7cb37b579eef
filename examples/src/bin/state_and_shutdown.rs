//! Shared state and graceful shutdown: sums learners' watched seconds in a `State<Totals>`,
//! publishes a few demo events itself, and on Ctrl-C (or SIGTERM) finishes in-flight
//! messages, commits, leaves the group and prints the totals.
//!
//! ```text
//! infra/up
//! cargo run -p consume-examples --bin state_and_shutdown
//! ```
//! (`./dev run` does both.) Set `DEMO_EXIT_AFTER_MS` to stop on its own after that long.
//! `state_and_shutdown --asyncapi` prints the AsyncAPI document of its handler (YAML) instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::asyncapi::Info;
use consume_runtime::{HandlerError, Json, Key, Runtime, State, consume};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Deserialize;

const TOPIC: &str = "examples.watch-time";

#[derive(Debug, Deserialize)]
struct Watched {
    watched_seconds: u64,
}

/// Seconds per learner, shared by every partition worker.
#[derive(Clone, Default)]
struct Totals(Arc<Mutex<BTreeMap<String, u64>>>);

#[consume(topic = "examples.watch-time", group = "examples-state-and-shutdown")]
async fn add_watch_time(
    Key(learner): Key<String>,
    Json(w): Json<Watched>,
    State(totals): State<Totals>,
) -> Result<(), HandlerError> {
    let mut t = totals
        .0
        .lock()
        .map_err(|_| HandlerError::permanent("totals lock poisoned"))?;
    *t.entry(learner.clone()).or_default() += w.watched_seconds;
    println!(
        "{learner}: +{}s (total {}s)",
        w.watched_seconds, t[&learner]
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = Runtime::from_env()?.create_missing_topics(3);
    if std::env::args().any(|a| a == "--asyncapi") {
        let info = Info::new("state_and_shutdown", env!("CARGO_PKG_VERSION"));
        println!("{}", runtime.asyncapi(&info)?.to_yaml()?);
        return Ok(());
    }
    let brokers = std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "localhost:9092".into());
    let totals = Totals::default();

    // Publish demo events once the consumer is up (the group starts from the earliest offset,
    // so events from earlier runs are counted too).
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Err(e) = publish_demo_events(&brokers).await {
            eprintln!("could not publish demo events: {e}");
        }
    });

    let exit_after = std::env::var("DEMO_EXIT_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    runtime
        .state(totals.clone())
        .run_until(async move {
            match exit_after {
                Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                None => consume_runtime::shutdown::signal().await,
            }
        })
        .await?;

    println!("totals after shutdown:");
    for (learner, secs) in totals.0.lock().map_err(|_| "totals lock poisoned")?.iter() {
        println!("  {learner}: {secs}s");
    }
    Ok(())
}

async fn publish_demo_events(brokers: &str) -> Result<(), rdkafka::error::KafkaError> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .create()?;
    for (learner, secs) in [
        ("learner-1", 30),
        ("learner-2", 45),
        ("learner-1", 60),
        ("learner-3", 15),
    ] {
        let value = format!("{{\"watched_seconds\":{secs}}}");
        producer
            .send(
                FutureRecord::to(TOPIC).key(learner).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}
