//! Helpers for tests that run `consume_runtime::Runtime` against the real Kafka.

use std::time::{Duration, Instant};

use consume_runtime::{Config, Error, RetryPolicy, Runtime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::endpoints;

/// Sends the runtime's logs to the test output (`RUST_LOG`, default `info`); idempotent.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
}

/// The test binary's Prometheus exporter, installed as the global `metrics` recorder on
/// the first call (before any runtime starts: [`config`] calls it), so tests read the
/// runtime's series as a scrape would.
pub fn prometheus() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .expect("the only metrics recorder of this test binary")
        })
        .clone()
}

/// Runtime settings for tests: the PLAINTEXT listener, short timeouts, fast retries.
pub fn config() -> Config {
    init_logs();
    let _ = prometheus();
    let mut c = Config::new(endpoints::kafka_bootstrap());
    c.boot_timeout = Duration::from_secs(20);
    c.drain_timeout = Duration::from_secs(5);
    c.shutdown_timeout = Duration::from_secs(10);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    };
    c
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A runtime running in the background of a test, stopped gracefully with [`Running::stop`].
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Error>>,
}

impl Running {
    /// Starts `rt.run_until(<stop>)` on the test's tokio runtime.
    pub fn start(rt: Runtime) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(rt.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Waits until `cond` holds; fails at once (with the runtime's error) if the runtime
    /// stops, and after `timeout` otherwise.
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !cond() {
            if self.task.is_finished() {
                let result = (&mut self.task).await;
                panic!("the runtime stopped while waiting for {what}: {result:?}");
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Signals shutdown and waits (at most 30 s) for the runtime to return.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the runtime shut down within 30 s")
            .expect("the runtime task did not panic")
    }
}
