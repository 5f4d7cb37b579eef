//! A consumer process for crash tests: handles `CRASH_TOPIC` in `CRASH_GROUP`, appending
//! `partition offset key value` to `CRASH_OUT` for every message it handles (flushed per
//! line, so a kill -9 loses nothing already reported). Slow on purpose (`CRASH_DELAY_MS`).
//!
//! `CRASH_HANDLER` picks the handler shape (default `crash_handler`):
//! - `crash_handler`: one message at a time per partition;
//! - `crash_concurrent`: `concurrency = 8` (key-ordered);
//! - `crash_batch`: `batch = 20` (every line of a batch is written before it returns);
//! - `crash_poison`: values starting with `poison` fail for good and are dead-lettered.
//!
//! Failpoints (`CONSUME_FAILPOINT`, see `consume_runtime::failpoint`) are compiled in.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{Batch, Config, HandlerError, Key, Meta, Payload, Runtime, State, consume};

#[derive(Clone)]
struct Out(Arc<Mutex<std::fs::File>>, Duration);

impl Out {
    fn record(&self, key: &str, value: Option<&[u8]>, meta: &Meta) {
        let v = String::from_utf8_lossy(value.unwrap_or_default());
        // One `write` call per line: several processes append to the same file (O_APPEND),
        // and `writeln!` on a `File` would issue one write per formatted piece, letting
        // lines of different processes interleave.
        let line = format!("{} {} {key} {v}\n", meta.partition, meta.offset);
        let mut f = self.0.lock().expect("lock");
        f.write_all(line.as_bytes()).expect("write");
    }
}

#[consume(topic = "${CRASH_TOPIC}", group = "${CRASH_GROUP}")]
async fn crash_handler(
    Key(k): Key<String>,
    Payload(v): Payload,
    meta: Meta,
    State(out): State<Out>,
) {
    tokio::time::sleep(out.1).await;
    out.record(&k, v.as_deref(), &meta);
}

#[consume(topic = "${CRASH_TOPIC}", group = "${CRASH_GROUP}", concurrency = 8)]
async fn crash_concurrent(
    Key(k): Key<String>,
    Payload(v): Payload,
    meta: Meta,
    State(out): State<Out>,
) {
    tokio::time::sleep(out.1).await;
    out.record(&k, v.as_deref(), &meta);
}

#[consume(
    topic = "${CRASH_TOPIC}",
    group = "${CRASH_GROUP}",
    batch = 20,
    batch_linger = "5ms"
)]
async fn crash_batch(batch: Batch<(Key<String>, Payload, Meta)>, State(out): State<Out>) {
    tokio::time::sleep(out.1).await;
    for (Key(k), Payload(v), meta) in &batch {
        out.record(k, v.as_deref(), meta);
    }
}

#[derive(Debug)]
struct Poison;
impl std::fmt::Display for Poison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("poison message")
    }
}
impl std::error::Error for Poison {}

#[consume(topic = "${CRASH_TOPIC}", group = "${CRASH_GROUP}", max_attempts = 1)]
async fn crash_poison(
    Key(k): Key<String>,
    Payload(v): Payload,
    meta: Meta,
    State(out): State<Out>,
) -> Result<(), HandlerError> {
    tokio::time::sleep(out.1).await;
    out.record(&k, v.as_deref(), &meta);
    if v.as_deref().is_some_and(|v| v.starts_with(b"poison")) {
        return Err(HandlerError::permanent(Poison));
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("crash_consumer: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let path = std::env::var("CRASH_OUT")?;
    let delay = std::env::var("CRASH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let handler = std::env::var("CRASH_HANDLER").unwrap_or_else(|_| "crash_handler".to_owned());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut config = Config::from_env()?;
    config.drain_timeout = Duration::from_secs(5);
    Runtime::new(config)
        .only([handler])
        .state(Out(
            Arc::new(Mutex::new(file)),
            Duration::from_millis(delay),
        ))
        .run()
        .await?;
    Ok(())
}
