//! `training-service`: consumes learners' activity from Kafka and keeps every learner's
//! training time exact, in MongoDB, behind an HTTP API with a live dashboard.
//! `training-service --help` lists the commands and every setting; without a command it runs
//! the self-contained demo.
//!
//! Exit codes: 0 done; 1 the service failed, or `reconcile` found differences; 2 a usage or
//! configuration error (nothing was started).

mod avro_types;
mod cli;
mod config;
mod consumers;
mod demo;
mod logging;
mod service;
mod simulate;
mod writer;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use consume_runtime::asyncapi::Info;
use consume_runtime::{Publisher, SchemaRegistry};
use training_service::auth::Verifier;
use training_service::store::{MemoryStore, MongoStore, Store};

use cli::{Cli, Command};
use config::{
    AsyncApiArgs, ConfigError, DocumentFormat, MongoConfig, ReconcileArgs, ServeArgs, SimulateArgs,
};

/// How a command failed.
enum Failure {
    /// Bad configuration: nothing was started (exit 2).
    Config(ConfigError),
    /// The command ran and failed (exit 1).
    Run(String),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Self::Run(e)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log.format);
    // The metrics recorder goes in before anything records (the runtime registers its
    // series when its handlers start).
    let _ = training_service::metrics::exporter();
    let command = cli.into_command().unwrap_or_else(|e| e.exit());
    let (name, result) = match command {
        Command::Serve(args) => ("serve", serve(*args).await),
        Command::Demo(args) => ("demo", demo::run(args).await.map_err(Failure::Run)),
        Command::Simulate(args) => ("simulate", simulate(*args).await),
        Command::Reconcile(args) => return reconcile(args).await,
        Command::Asyncapi(args) => ("asyncapi", asyncapi(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            eprintln!("training-service {name}: {e}\n(see `training-service {name} --help`)");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("training-service {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Connects to MongoDB, retrying for a minute while the server is not reachable yet (a pod
/// may start before its database); a bad URI was refused before this.
async fn mongo_store(m: &MongoConfig) -> Result<Arc<dyn Store>, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match MongoStore::connect(&m.uri, &m.db).await {
            Ok(store) => {
                let store = match m.guard {
                    Some(guard) => store.with_guard(guard),
                    None => store,
                };
                let store = match m.bucket_cache_ids {
                    0 => store,
                    n => store.with_bucket_cache(n),
                };
                return Ok(Arc::new(store));
            }
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tracing::warn!(error = %e, "MongoDB not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(format!("connecting to MongoDB: {e}")),
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let config = args.resolve().await?;
    let store: Arc<dyn Store> = match &config.mongo {
        Some(m) => mongo_store(m).await?,
        None => {
            tracing::warn!("TRAINING_STORE=memory: totals are kept in memory and lost on exit");
            Arc::new(MemoryStore::new())
        }
    };
    let registry = SchemaRegistry::new(config.registry).map_err(|e| e.to_string())?;
    let runtime = args.consumers.runtime(config.kafka, registry)?;
    let runtime = service::with_app(runtime, &store, args.consumers.write_settings());
    let (shutdown, trigger) = service::shutdown_on_signal();
    service::run(
        service::Service {
            runtime,
            store,
            http: config.http,
            verifier: Arc::new(Verifier::new(config.jwt)),
        },
        shutdown,
        trigger,
    )
    .await
    .map_err(Failure::Run)
}

async fn simulate(args: SimulateArgs) -> Result<(), Failure> {
    let (config, registry) = args.resolve()?;
    let registry = SchemaRegistry::new(registry).map_err(|e| e.to_string())?;
    let publisher = Publisher::new(&config, Some(registry)).map_err(|e| e.to_string())?;
    let c = args.load.sim_config();
    let truth = simulate::run(&c, &args.topics, &publisher).await?;
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

/// Prints the AsyncAPI document of the consumers, with the topics and groups these settings
/// give them.
fn asyncapi(args: &AsyncApiArgs) -> Result<(), Failure> {
    let info = Info::new("training-service", env!("CARGO_PKG_VERSION")).description(
        "Keeps every learner's cumulative training time exact and in real time: one batch \
         handler per event topic, each in its own consumer group, decoding Avro through the \
         schema registry; invalid events are dead-lettered with the reason and never counted.",
    );
    let doc = args
        .describing_runtime()?
        .asyncapi(&info)
        .map_err(|e| e.to_string())?;
    let text = match args.document_format {
        DocumentFormat::Json => doc.to_json(),
        DocumentFormat::Yaml => doc.to_yaml(),
    }
    .map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

async fn reconcile(args: ReconcileArgs) -> ExitCode {
    let store = match args.store.mongo().await {
        Ok(m) => mongo_store(&m).await,
        Err(e) => {
            eprintln!("training-service reconcile: {e}\n(see `training-service reconcile --help`)");
            return ExitCode::from(2);
        }
    };
    let store = match store {
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
