//! `training-service`: consumes learners' activity from Kafka and keeps every learner's
//! training time exact, in MongoDB, behind an HTTP API with a live dashboard.
//! `training-service --help` lists the commands; without `KAFKA_BROKERS` it runs a
//! self-contained demo.

mod avro_types;
mod cli;
mod consumers;
mod demo;
mod latency;
mod service;
mod simulate;
mod topics;
mod writer;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use consume_runtime::{Config, Publisher, Runtime};
use training_service::auth::JwtSecret;
use training_service::store::{Guard, MemoryStore, MongoStore, Store};

use cli::Command;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,librdkafka=warn".into()),
        )
        .init();
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("training-service: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Command::Serve => serve().await,
        Command::Simulate(c) => simulate(c).await,
        Command::Reconcile => return reconcile().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("training-service: {e}");
            ExitCode::FAILURE
        }
    }
}

fn http_addr() -> Result<SocketAddr, String> {
    let v = std::env::var("TRAINING_HTTP_ADDR").unwrap_or_else(|_| "0.0.0.0:8080".to_owned());
    v.parse()
        .map_err(|e| format!("TRAINING_HTTP_ADDR={v:?} is not an address: {e}"))
}

/// `TRAINING_MONGO_GUARD`: `version` or `id-only` overrides the guard chosen at connect
/// (`id-only` on FerretDB, `version` on MongoDB); the tests use it to run MongoDB's code path
/// on FerretDB. Unset or `auto`: the default.
fn mongo_guard() -> Result<Option<Guard>, String> {
    match std::env::var("TRAINING_MONGO_GUARD").as_deref() {
        Err(_) | Ok("auto") => Ok(None),
        Ok("version") => Ok(Some(Guard::Version)),
        Ok("id-only") => Ok(Some(Guard::IdOnly)),
        Ok(v) => Err(format!(
            "TRAINING_MONGO_GUARD={v:?}: expected auto, version or id-only"
        )),
    }
}

/// `TRAINING_BUCKET_CACHE_IDS`: event ids the MongoDB store may keep in memory to skip
/// reading buckets it wrote lately (default 500 000, about 50 MB; `0` turns the cache off).
fn bucket_cache_ids() -> Result<usize, String> {
    match std::env::var("TRAINING_BUCKET_CACHE_IDS") {
        Err(_) => Ok(500_000),
        Ok(v) => v
            .parse()
            .map_err(|e| format!("TRAINING_BUCKET_CACHE_IDS={v:?} is not a count: {e}")),
    }
}

async fn mongo_store() -> Result<Arc<dyn Store>, String> {
    let uri = std::env::var("MONGODB_URI").map_err(|_| "MONGODB_URI is not set".to_owned())?;
    let db = std::env::var("TRAINING_DB").unwrap_or_else(|_| "training".to_owned());
    // The database may still be starting (or busy) when a pod starts: retry for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match MongoStore::connect(&uri, &db).await {
            Ok(store) => {
                let store = match mongo_guard()? {
                    Some(guard) => store.with_guard(guard),
                    None => store,
                };
                let store = match bucket_cache_ids()? {
                    0 => store,
                    n => store.with_bucket_cache(n),
                };
                return Ok(Arc::new(store));
            }
            Err(e) if e.is_transient() && std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "MongoDB not reachable yet; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(format!("connecting to MongoDB: {e}")),
        }
    }
}

async fn serve() -> Result<(), String> {
    let addr = http_addr()?;
    if std::env::var_os("KAFKA_BROKERS").is_none() {
        return demo::run(addr).await;
    }
    let secret = JwtSecret::from_env().map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = if std::env::var_os("MONGODB_URI").is_some() {
        mongo_store().await?
    } else {
        tracing::warn!("MONGODB_URI is not set: totals are kept in memory and lost on exit");
        Arc::new(MemoryStore::new())
    };
    let runtime = Runtime::from_env().map_err(|e| e.to_string())?;
    let (runtime, counters) = service::with_app(runtime, &store)?;
    let (shutdown, trigger) = service::shutdown_on_signal();
    service::run(
        service::Service {
            runtime,
            counters,
            store,
            addr,
            secret,
        },
        shutdown,
        trigger,
    )
    .await
}

async fn simulate(c: simulate::SimConfig) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let registry = consume_runtime::schema_registry::RegistryConfig::from_env()
        .ok_or("SCHEMA_REGISTRY_URL is not set")?;
    let registry = consume_runtime::SchemaRegistry::new(registry).map_err(|e| e.to_string())?;
    let publisher = Publisher::new(&config, Some(registry)).map_err(|e| e.to_string())?;
    let truth = simulate::run(&c, &publisher).await?;
    eprintln!(
        "simulate: sent {} ({} distinct valid events, {} duplicate sends, {} invalid) for {} learners{}",
        truth.sent,
        truth.unique_valid,
        truth.duplicates,
        truth.invalid,
        truth.learners.len(),
        c.truth
            .as_ref()
            .map(|p| format!("; truth in {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

async fn reconcile() -> ExitCode {
    let store = match mongo_store().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("training-service reconcile: {e}");
            return ExitCode::from(2);
        }
    };
    match store.reconcile().await {
        Ok(report) if report.is_exact() => {
            println!(
                "reconcile: {} events over {} learner-course-days; every stored total matches",
                report.events, report.days
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!(
                "reconcile: {} of {} learner-course-days differ ({} duplicate event ids)",
                report.differences.len(),
                report.days,
                report.duplicate_event_ids.len()
            );
            for d in report.differences.iter().take(50) {
                println!(
                    "  {:?}: expected {:?}, stored {:?}",
                    d.key, d.expected, d.stored
                );
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("training-service reconcile: {e}");
            ExitCode::from(2)
        }
    }
}
