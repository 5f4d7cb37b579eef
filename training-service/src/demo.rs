//! The embedded demo (`training-service demo`, and `training-service` without a command):
//! librdkafka's in-process mock cluster, a `mock://` schema registry, the in-memory store,
//! simulated learners publishing through the framework's publisher, and the real consumers,
//! API, dashboard and admin endpoints. Explicitly a demo: it listens on 127.0.0.1 unless
//! told otherwise, signs with a random secret made for this run, and prints tokens that
//! expire within the hour.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use consume_runtime::schema_registry::{RegistryConfig, SchemaRegistry};
use consume_runtime::{Config, Publisher};
use rdkafka::mocking::MockCluster;
use training_service::auth::{JwtConfig, JwtSecret, Role, Verifier};
use training_service::store::{MemoryStore, Store};

use crate::config::DemoArgs;
use crate::service::{self, Service};
use crate::simulate::{Generator, SimConfig};

const PARTITIONS: i32 = 4;
/// How fast the simulated learners produce events.
const DEMO_RATE: f64 = 25.0;
/// The demo tokens' audience and issuer.
const DEMO_AUDIENCE: &str = "training-service-demo";

/// Runs the demo until SIGTERM/SIGINT.
pub(crate) async fn run(args: DemoArgs) -> Result<(), String> {
    let http = args.http.resolve(
        SocketAddr::from(([127, 0, 0, 1], 8080)),
        SocketAddr::from(([127, 0, 0, 1], 9090)),
    );
    for addr in [http.public, http.admin] {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the demo listens beyond this machine; its tokens are printed below");
        }
    }
    let topics = &args.consumers.subscriptions.topics;
    let cluster = MockCluster::new(1).map_err(|e| format!("starting the mock cluster: {e}"))?;
    for t in topics.all() {
        cluster
            .create_topic(t, PARTITIONS, 1)
            .map_err(|e| format!("creating {t}: {e}"))?;
    }
    let mut config = Config::new(cluster.bootstrap_servers());
    config.client_id = "training-demo".to_owned();
    let registry = SchemaRegistry::new(RegistryConfig::new("mock://training-demo"))
        .map_err(|e| e.to_string())?;
    let ttl = Duration::from_secs(args.token_ttl_s);
    let secret =
        JwtSecret::random().map_err(|e| format!("no randomness for the demo's secret: {e}"))?;
    let mut jwt = JwtConfig::new(secret, DEMO_AUDIENCE, DEMO_AUDIENCE);
    jwt.max_lifetime = ttl;
    let verifier = Arc::new(Verifier::new(jwt));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let runtime = args
        .consumers
        .runtime(config.clone(), registry.clone())
        .map_err(|e| e.to_string())?;
    let runtime = service::with_app(runtime, &store, args.consumers.write_settings());
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
        seed: u64::from(std::process::id()),
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
        let topics = topics.clone();
        tokio::spawn(async move {
            let tick = Duration::from_secs_f64(1.0 / DEMO_RATE);
            let run = async {
                loop {
                    let (event, _) = generator.next();
                    if let Err(e) = event.publish(&publisher, &topics).await {
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

    let admin = verifier.mint("demo-admin", Role::Admin, ttl);
    let learner = verifier.mint(&first_learner, Role::Learner, ttl);
    let (api, probes) = (shown(http.public), shown(http.admin));
    println!(
        "\ntraining-service DEMO: in-process Kafka ({} topics × {PARTITIONS} partitions), mock \
         schema registry, in-memory store, {} simulated learners at {DEMO_RATE} events/s.\n\
         Tokens below are signed with a random secret made for this run and expire in {} min.\n\n\
         dashboard (admin):   http://{api}/dashboard#token={admin}\n\
         dashboard (learner): http://{api}/dashboard#token={learner}\n\
         API:                 curl -H 'Authorization: Bearer {learner}' \
         http://{api}/v1/learners/{first_learner}/training\n\
         metrics:             http://{probes}/metrics\n\n\
         For real: training-service serve --help. Ctrl-C stops the demo.\n",
        topics.all().len(),
        sim.learners,
        ttl.as_secs() / 60,
    );
    let result = service::run(
        Service {
            runtime,
            store,
            http,
            verifier,
        },
        shutdown,
        trigger,
    )
    .await;
    let _ = simulate.await;
    drop(cluster);
    result
}

/// The address to print: loopback for a wildcard bind.
fn shown(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}
