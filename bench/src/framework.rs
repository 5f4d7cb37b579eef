//! Variant (b): a no-op `#[consume]` handler run by `consume_runtime::Runtime`.

use std::time::{Duration, Instant};

use consume_runtime::{Config, Runtime, consume};
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

use crate::BoxError;
use crate::measure::{Measurement, STALL_TIMEOUT};

/// The handler's name, as given to `Runtime::only`.
pub(crate) const HANDLER: &str = "bench_noop";

/// How often the handled counter is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The handler under test: a no-op, so the measurement is the framework's own cost per
/// message (receive, dispatch, settle, offset bookkeeping). Decoding handlers extract from
/// the borrowed record (`Json<T>` parses the payload in place), so they add only their
/// decoder's cost on top of this.
#[consume(topic = "${BENCH_TOPIC}", group = "${BENCH_GROUP}")]
async fn bench_noop() {}

/// Runs the runtime with only [`HANDLER`], on `topic` with the fresh group `group` and
/// `tuning` as passthrough librdkafka properties, until `expected` records were handled;
/// then shuts it down gracefully (not timed).
///
/// The clock starts at the first sample where the handled count is above zero (group join
/// excluded) and stops at the first sample where it reaches `expected`; records handled
/// before the first sample are not counted in the rate.
pub(crate) async fn run(
    bootstrap: &str,
    topic: &str,
    group: &str,
    expected: u64,
    tuning: &[(&str, &str)],
) -> Result<Measurement, BoxError> {
    let mut config = Config::new(bootstrap);
    for (k, v) in tuning {
        config = config.property(*k, *v);
    }
    config.client_id = "consume-bench".to_owned();
    config.boot_timeout = Duration::from_secs(10);
    let runtime = Runtime::new(config)
        .only([HANDLER])
        .var("BENCH_TOPIC", topic)
        .var("BENCH_GROUP", group);
    let metrics = runtime.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut task = tokio::spawn(runtime.run_until(async {
        let _ = stopped.await;
    }));

    let handled = || {
        metrics
            .snapshot()
            .iter()
            .find(|s| s.handler == HANDLER)
            .map_or(0, |s| s.handled)
    };
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut start: Option<(Instant, u64)> = None;
    let mut progress = (Instant::now(), 0u64);
    let (end, last) = loop {
        tick.tick().await;
        if task.is_finished() {
            let result = (&mut task).await;
            return Err(
                format!("the runtime stopped before handling every record: {result:?}").into(),
            );
        }
        let now = Instant::now();
        let h = handled();
        if start.is_none() && h > 0 {
            start = Some((now, h));
        }
        if h >= expected {
            break (now, h);
        }
        if h != progress.1 {
            progress = (now, h);
        } else if progress.0.elapsed() > STALL_TIMEOUT {
            break (now, h);
        }
    };

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .map_err(|_| "the runtime did not shut down within 60 s")?
        .map_err(|e| format!("the runtime task panicked: {e}"))?
        .map_err(|e| format!("the runtime failed: {e}"))?;

    let (elapsed, timed) = match start {
        Some((t0, h0)) => (end.duration_since(t0), last - h0),
        None => (Duration::ZERO, 0),
    };
    Ok(Measurement {
        read: last,
        timed,
        elapsed,
        bytes: 0,
    })
}
