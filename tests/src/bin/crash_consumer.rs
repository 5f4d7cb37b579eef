//! A consumer process for crash tests: handles `CRASH_TOPIC` in `CRASH_GROUP`, appending
//! `partition offset key value` to `CRASH_OUT` for every message it handles (flushed per
//! line, so a kill -9 loses nothing already reported). Slow on purpose (`CRASH_DELAY_MS`).

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{Config, Key, Meta, Payload, Runtime, State, consume};

#[derive(Clone)]
struct Out(Arc<Mutex<std::fs::File>>, Duration);

#[consume(topic = "${CRASH_TOPIC}", group = "${CRASH_GROUP}")]
async fn crash_handler(
    Key(k): Key<String>,
    Payload(v): Payload,
    meta: Meta,
    State(out): State<Out>,
) {
    tokio::time::sleep(out.1).await;
    let v = String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned();
    let mut f = out.0.lock().expect("lock");
    writeln!(f, "{} {} {k} {v}", meta.partition, meta.offset).expect("write");
    f.flush().expect("flush");
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
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut config = Config::from_env()?;
    config.drain_timeout = Duration::from_secs(5);
    Runtime::new(config)
        .only(["crash_handler"])
        .state(Out(
            Arc::new(Mutex::new(file)),
            Duration::from_millis(delay),
        ))
        .run()
        .await?;
    Ok(())
}
