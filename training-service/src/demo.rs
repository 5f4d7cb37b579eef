//! The embedded demo (`training-service` without `KAFKA_BROKERS`): librdkafka's in-process
//! mock cluster, a `mock://` schema registry, the in-memory store, simulated learners
//! publishing through the framework's publisher, and the real consumers, API and dashboard.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use consume_runtime::schema_registry::{RegistryConfig, SchemaRegistry};
use consume_runtime::{Config, Publisher, Runtime};
use rdkafka::mocking::MockCluster;
use training_service::auth::{JwtSecret, Role, mint};
use training_service::store::{MemoryStore, Store};

use crate::service::{self, Service};
use crate::simulate::{Generator, SimConfig};
use crate::topics;

const PARTITIONS: i32 = 4;
/// How fast the simulated learners produce events.
const DEMO_RATE: f64 = 25.0;

/// Runs the demo until SIGTERM/SIGINT.
pub(crate) async fn run(addr: SocketAddr) -> Result<(), String> {
    let cluster = MockCluster::new(1).map_err(|e| format!("starting the mock cluster: {e}"))?;
    for t in topics::all() {
        cluster
            .create_topic(t, PARTITIONS, 1)
            .map_err(|e| format!("creating {t}: {e}"))?;
    }
    let mut config = Config::new(cluster.bootstrap_servers());
    config.client_id = "training-demo".to_owned();
    let registry = SchemaRegistry::new(RegistryConfig::new("mock://training-demo"))
        .map_err(|e| e.to_string())?;
    let secret = match JwtSecret::from_env() {
        Ok(s) => s,
        Err(_) => JwtSecret::new(format!("demo-{:x}", rand_seed())).map_err(|e| e.to_string())?,
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let runtime = Runtime::new(config.clone()).schema_registry(registry.clone());
    let (runtime, counters) = service::with_app(runtime, &store)?;
    // The mock cluster does not implement CreateTopics: make the dead-letter topics here.
    for plan in runtime.plan().map_err(|e| e.to_string())? {
        for t in &plan.topics {
            if let Some(dlq) = plan.dead_letter_topic(t) {
                cluster
                    .create_topic(&dlq, PARTITIONS, 1)
                    .map_err(|e| format!("creating {dlq}: {e}"))?;
            }
        }
    }
    let publisher = Publisher::new(&config, Some(registry)).map_err(|e| e.to_string())?;

    let (shutdown, trigger) = service::shutdown_on_signal();
    let sim = SimConfig {
        learners: 30,
        courses: 3,
        rate: DEMO_RATE,
        spread_days: 2,
        seed: rand_seed(),
        ..SimConfig::default()
    };
    let mut generator = Generator::new(&sim);
    let first_learner = generator
        .learner_ids()
        .next()
        .unwrap_or("learner-00001")
        .to_owned();
    let simulate = {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let tick = Duration::from_secs_f64(1.0 / DEMO_RATE);
            let run = async {
                loop {
                    let (event, _) = generator.next();
                    if let Err(e) = event.publish(&publisher).await {
                        tracing::warn!(error = %e, "demo publisher");
                    }
                    tokio::time::sleep(tick).await;
                }
            };
            tokio::select! {
                _ = stop.requested() => {}
                _ = run => {}
            }
        })
    };

    let day = Duration::from_secs(24 * 3600);
    let admin = mint(&secret, "demo-admin", Role::Admin, day);
    let learner = mint(&secret, &first_learner, Role::Learner, day);
    let port = addr.port();
    println!(
        "\ntraining-service demo: in-process Kafka ({} topics × {PARTITIONS} partitions), mock \
         schema registry, in-memory store, {} simulated learners at {DEMO_RATE} events/s\n\n\
         dashboard (admin):   http://127.0.0.1:{port}/dashboard?token={admin}\n\
         dashboard (learner): http://127.0.0.1:{port}/dashboard?token={learner}\n\
         API:                 curl -H 'Authorization: Bearer {learner}' \
         http://127.0.0.1:{port}/v1/learners/{first_learner}/training\n\
         metrics:             http://127.0.0.1:{port}/metrics\n\n\
         Ctrl-C stops it.\n",
        topics::all().len(),
        sim.learners
    );
    let result = service::run(
        Service {
            runtime,
            counters,
            store,
            addr,
            secret,
        },
        shutdown,
        trigger,
    )
    .await;
    let _ = simulate.await;
    drop(cluster);
    result
}

/// A seed that differs per run (the demo needs no reproducibility).
fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id())
}
