//! Variants (b) and (c): one `#[consume]` handler (see `handlers.rs`) run by
//! `consume_runtime::Runtime`, timed from its `handled` counter (see `sampler.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use consume_runtime::{Config, Runtime};
use tokio::sync::oneshot;

use crate::BoxError;
use crate::measure::Measurement;
use crate::rounds::Target;
use crate::sampler::{self, Sampled};

/// Runs the runtime with only `handler` (a name from `handlers.rs`), on `t.topic` with the
/// fresh group `group`, `t.tuning` as passthrough librdkafka properties and `t.registry` as
/// the schema registry, until `t.expected` records were handled; then shuts it down
/// gracefully (not timed). Fails at once if a record fails for good (e.g. does not decode).
///
/// The clock starts at the first sample where the handled count is above zero (group join
/// excluded) and stops at the first sample where it reaches `expected`; records handled
/// before the first sample are not counted in the rate. A stall is returned as an
/// incomplete measurement (the caller reports it).
pub(crate) async fn run(t: &Target, handler: &str, group: &str) -> Result<Measurement, BoxError> {
    let expected = t.expected;
    let mut config = Config::new(&t.bootstrap);
    for (k, v) in t.tuning {
        config = config.property(*k, *v);
    }
    config.client_id = "consume-bench".to_owned();
    config.boot_timeout = Duration::from_secs(10);
    let runtime = Runtime::new(config)
        .only([handler])
        .var("BENCH_TOPIC", &t.topic)
        .var("BENCH_GROUP", group)
        .schema_registry(t.registry.clone());
    let metrics = runtime.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let ended = Arc::new(AtomicBool::new(false));
    let task = {
        let ended = Arc::clone(&ended);
        tokio::spawn(async move {
            let result = runtime
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
            ended.store(true, Ordering::SeqCst);
            result
        })
    };
    let sampled = {
        let (ended, name) = (Arc::clone(&ended), handler.to_owned());
        tokio::task::spawn_blocking(move || sampler::sample(&metrics, &name, expected, &ended))
            .await
            .map_err(|e| format!("the sampler thread panicked: {e}"))?
    };

    let _ = stop.send(());
    let shutdown = tokio::time::timeout(Duration::from_secs(60), task).await;
    let measurement = match sampled {
        Sampled::Done {
            start,
            first,
            end,
            last,
        } => Measurement {
            read: last,
            timed: last - first,
            elapsed: end.duration_since(start),
            start_unix: crate::cpu::unix_now() - start.elapsed().as_secs_f64(),
            ..Measurement::ZERO
        },
        Sampled::Stalled { handled } => Measurement {
            read: handled,
            timed: 0,
            ..Measurement::ZERO
        },
        Sampled::Failed { handled, failed } => {
            return Err(format!(
                "{handler}: {failed} record(s) failed for good after {handled} were handled \
                 (the runtime logged why above; for `Avro<T>`: is the schema registry still up \
                 and the topic framed with its schema id? see `infra/status`, start it with \
                 `infra/up`)"
            )
            .into());
        }
        Sampled::RuntimeEnded { handled } => {
            let result = shutdown.map_err(|_| "the runtime did not shut down within 60 s")?;
            return Err(format!(
                "the runtime stopped after handling {handled} of {expected} records: {result:?}"
            )
            .into());
        }
    };
    shutdown
        .map_err(|_| "the runtime did not shut down within 60 s")?
        .map_err(|e| format!("the runtime task panicked: {e}"))?
        .map_err(|e| format!("the runtime failed: {e}"))?;
    Ok(measurement)
}
