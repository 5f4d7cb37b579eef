//! Running the service: the consumers (framework runtime), the HTTP API and dashboard, and
//! one shutdown for both (first SIGTERM/SIGINT: drain and stop; second: exit 130).

use std::net::SocketAddr;
use std::sync::Arc;

use consume_runtime::Runtime;
use tokio::sync::watch;
use training_service::api::{self, ApiState};
use training_service::auth::JwtSecret;
use training_service::store::Store;

use crate::consumers::{App, Counters};
use crate::writer::Writer;

/// Everything `run` needs.
pub(crate) struct Service {
    /// The consumers, with the handlers' state (see [`with_app`]).
    pub(crate) runtime: Runtime,
    pub(crate) counters: Arc<Counters>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) addr: SocketAddr,
    pub(crate) secret: JwtSecret,
}

/// Gives the handlers their state (the store and the service counters).
pub(crate) fn with_app(
    runtime: Runtime,
    store: &Arc<dyn Store>,
) -> Result<(Runtime, Arc<Counters>), String> {
    let counters = Arc::new(Counters::default());
    // Every assignment and revocation of any handler counts; the writer tells the store to
    // forget cached buckets whenever this moves (see `MongoStore::with_bucket_cache`).
    let metrics = runtime.metrics();
    let ownership = move || metrics.snapshot().iter().map(|h| h.rebalances).sum();
    let app = App {
        writer: Writer::spawn(
            Arc::clone(store),
            Arc::clone(&counters),
            crate::writer::interval_from_env()?,
            ownership,
        ),
    };
    Ok((runtime.state(app), counters))
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

/// Runs consumers and API until shutdown; returns once both stopped.
pub(crate) async fn run(
    s: Service,
    shutdown: Shutdown,
    trigger: watch::Sender<bool>,
) -> Result<(), String> {
    let (runtime, counters) = (s.runtime, s.counters);
    let metrics = runtime.metrics();
    let ready_metrics = metrics.clone();
    // Ready: every handler joined its group and no partition is stalled (records waiting
    // on a position that has not moved for the runtime's stall timeout).
    let ready = Arc::new(move || {
        let handlers = ready_metrics.snapshot();
        !handlers.is_empty()
            && handlers.iter().all(|h| h.rebalances >= 1)
            && handlers
                .iter()
                .all(|h| h.partitions.iter().all(|p| !p.stalled))
    });
    let metrics_text = Arc::new(move || {
        let mut text = metrics.render_prometheus();
        text.push_str(&counters.render());
        text
    });
    let state = ApiState::new(Arc::clone(&s.store), s.secret)
        .with_readiness(ready)
        .with_metrics(metrics_text);
    let listener = tokio::net::TcpListener::bind(s.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", s.addr))?;
    tracing::info!(addr = %s.addr, "HTTP API listening");

    let consumers = {
        let shutdown = shutdown.clone();
        let trigger = trigger.clone();
        tokio::spawn(async move {
            let result = runtime.run_until(shutdown.requested()).await;
            // If the consumers stop on their own (a boot error), stop the API too.
            let _ = trigger.send(true);
            result
        })
    };
    let http = axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown.requested())
        .await
        .map_err(|e| format!("HTTP server: {e}"));
    let _ = trigger.send(true);
    let consumed = consumers
        .await
        .map_err(|e| format!("consumer task: {e}"))?
        .map_err(|e| e.to_string());
    http?;
    consumed
}
