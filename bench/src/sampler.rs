//! Watches a handler's counters from a plain thread while the runtime runs.
//!
//! The sampler deliberately does not run on the runtime's tokio workers or use tokio's
//! timer: a partition worker does not yield while its queue holds messages, so when the
//! handler is slower than the fetcher both workers can be busy for seconds, and a tokio
//! timer (driven by the workers) fires only when a queue runs dry. Sampling from an OS
//! thread keeps every (time, count) pair on schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use consume_runtime::Metrics;

use crate::measure::STALL_TIMEOUT;

/// How often the counters are read.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// How sampling ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sampled {
    /// `expected` records were handled; the clock ran from `start` (the first sample with a
    /// count above zero, at count `first`) to `end` (count `last`).
    Done {
        /// First sample above zero.
        start: Instant,
        /// Its count.
        first: u64,
        /// The sample that reached `expected`.
        end: Instant,
        /// Its count.
        last: u64,
    },
    /// No progress for [`STALL_TIMEOUT`] at `handled` records.
    Stalled {
        /// Records handled.
        handled: u64,
    },
    /// Records failed for good.
    Failed {
        /// Records handled.
        handled: u64,
        /// Records failed.
        failed: u64,
    },
    /// The runtime's task ended on its own.
    RuntimeEnded {
        /// Records handled.
        handled: u64,
    },
}

/// Samples `handler`'s counters every 5 ms until `expected` records were handled, one failed
/// for good, progress stalls, or `runtime_ended` is set. Blocking: run it on its own thread.
pub(crate) fn sample(
    metrics: &Metrics,
    handler: &str,
    expected: u64,
    runtime_ended: &Arc<AtomicBool>,
) -> Sampled {
    let counts = || {
        metrics
            .snapshot()
            .iter()
            .find(|s| s.handler == handler)
            .map_or((0, 0), |s| (s.handled, s.failed))
    };
    let mut start: Option<(Instant, u64)> = None;
    let mut progress = (Instant::now(), 0u64);
    loop {
        std::thread::sleep(SAMPLE_EVERY);
        let ended = runtime_ended.load(Ordering::SeqCst);
        let now = Instant::now();
        let (h, failed) = counts();
        if failed > 0 {
            return Sampled::Failed { handled: h, failed };
        }
        if start.is_none() && h > 0 {
            start = Some((now, h));
        }
        if h >= expected {
            let (t0, first) = start.unwrap_or((now, h));
            return Sampled::Done {
                start: t0,
                first,
                end: now,
                last: h,
            };
        }
        if ended {
            return Sampled::RuntimeEnded { handled: h };
        }
        if h != progress.1 {
            progress = (now, h);
        } else if progress.0.elapsed() > STALL_TIMEOUT {
            return Sampled::Stalled { handled: h };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_runtime_ends_sampling_at_once() {
        let ended = Arc::new(AtomicBool::new(true));
        let started = Instant::now();
        let got = sample(&Metrics::default(), "nobody", 10, &ended);
        assert_eq!(got, Sampled::RuntimeEnded { handled: 0 });
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
