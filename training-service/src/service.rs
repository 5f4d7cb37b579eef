//! Running the service: the consumers (framework runtime), the public API and dashboard, the
//! admin endpoints, and one shutdown for all (first SIGTERM/SIGINT: drain and stop; second:
//! exit 130).

use std::sync::Arc;
use std::time::Duration;

use consume_runtime::{Metrics, Runtime};
use tokio::net::TcpListener;
use tokio::sync::watch;
use training_service::api::{self, ApiState};
use training_service::auth::Verifier;
use training_service::store::Store;

use crate::config::HttpConfig;
use crate::consumers::App;
use crate::writer::{WriteSettings, Writer};

/// Everything `run` needs.
pub(crate) struct Service {
    /// The consumers, with the handlers' state (see [`with_app`]).
    pub(crate) runtime: Runtime,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) http: HttpConfig,
    pub(crate) verifier: Arc<Verifier>,
}

/// Gives the handlers their state: the group-commit writer in front of the store.
pub(crate) fn with_app(runtime: Runtime, store: &Arc<dyn Store>, write: WriteSettings) -> Runtime {
    // Every assignment and revocation of any handler counts; the writer tells the store to
    // forget cached buckets whenever this moves (see `MongoStore::with_bucket_cache`).
    let metrics = runtime.metrics();
    let ownership = move || metrics.snapshot().iter().map(|h| h.rebalances).sum();
    let app = App {
        writer: Writer::spawn(Arc::clone(store), write, ownership),
    };
    runtime.state(app)
}

/// Ready: every handler joined its group and no partition is stalled (records waiting on a
/// position that has not moved for the runtime's stall timeout).
fn ready(metrics: &Metrics) -> bool {
    let handlers = metrics.snapshot();
    !handlers.is_empty()
        && handlers.iter().all(|h| h.rebalances >= 1)
        && handlers
            .iter()
            .all(|h| h.partitions.iter().all(|p| !p.stalled))
}

/// How long a consumer's poll loop may go without turning before the process counts as
/// dead. The loop turns every 100 ms; it blocks only in a rebalance callback while
/// partitions drain (bounded by the runtime's drain timeout, 10 s by default).
const LIVENESS_MAX_POLL_AGE: Duration = Duration::from_secs(60);

/// Alive: every consumer's poll loop turned within [`LIVENESS_MAX_POLL_AGE`].
fn alive(metrics: &Metrics) -> bool {
    let stuck = metrics.unresponsive_handlers(LIVENESS_MAX_POLL_AGE);
    if !stuck.is_empty() {
        tracing::error!(handlers = ?stuck, max_age_s = LIVENESS_MAX_POLL_AGE.as_secs(), "liveness: consumer poll loop not turning");
    }
    stuck.is_empty()
}

/// A shutdown request every part can wait for.
#[derive(Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once shutdown was requested.
    pub(crate) async fn requested(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Installs the signal handling; returns the shutdown handle and the trigger.
pub(crate) fn shutdown_on_signal() -> (Shutdown, watch::Sender<bool>) {
    let (tx, rx) = watch::channel(false);
    let trigger = tx.clone();
    tokio::spawn(async move {
        consume_runtime::shutdown::signal().await;
        let _ = tx.send(true);
        consume_runtime::shutdown::signal().await;
        tracing::warn!("second termination signal: exiting at once");
        std::process::exit(130);
    });
    (Shutdown(rx), trigger)
}

async fn bind(addr: std::net::SocketAddr, setting: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({setting}): {e}"))
}

/// Runs consumers, API and admin endpoints until shutdown; returns once all stopped.
pub(crate) async fn run(
    s: Service,
    shutdown: Shutdown,
    trigger: watch::Sender<bool>,
) -> Result<(), String> {
    let runtime = s.runtime;
    let metrics = runtime.metrics();
    let probe = metrics.clone();
    let state = ApiState::new(Arc::clone(&s.store), s.verifier)
        .with_consumers(metrics.clone())
        .with_readiness(Arc::new(move || ready(&probe)))
        .with_liveness(Arc::new(move || alive(&metrics)))
        .with_limits(s.http.limits.clone());
    let public = bind(s.http.public, "TRAINING_HTTP_ADDR").await?;
    let admin = bind(s.http.admin, "TRAINING_ADMIN_ADDR").await?;
    tracing::info!(api = %s.http.public, admin = %s.http.admin, "HTTP listening");

    let upkeep = {
        let exporter = training_service::metrics::exporter();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let tick = async {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    exporter.run_upkeep();
                }
            };
            tokio::select! {
                () = stop.requested() => {}
                () = tick => {}
            }
        })
    };
    let consumers = {
        let shutdown = shutdown.clone();
        let trigger = trigger.clone();
        tokio::spawn(async move {
            let result = runtime.run_until(shutdown.requested()).await;
            // If the consumers stop on their own (a boot error), stop the HTTP side too.
            let _ = trigger.send(true);
            result
        })
    };
    let limits = s.http.limits;
    tokio::join!(
        api::server::serve(
            public,
            api::router(state.clone()),
            &limits,
            shutdown.clone().requested()
        ),
        api::server::serve(
            admin,
            api::admin_router(state),
            &limits,
            shutdown.requested()
        ),
    );
    let _ = trigger.send(true);
    let _ = upkeep.await;
    consumers
        .await
        .map_err(|e| format!("consumer task: {e}"))?
        .map_err(|e| e.to_string())
}
