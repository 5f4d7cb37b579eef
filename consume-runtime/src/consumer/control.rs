//! Signals between a partition's worker task and the consumer's control thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

/// Shared by one worker and the control thread.
#[derive(Debug, Default)]
pub(crate) struct WorkerControl {
    stop: CancellationToken,
    /// Set (before `stop` is cancelled) by [`request_stop`] and [`abandon`]: what the loop
    /// checks before every record. `CancellationToken::is_cancelled` takes the token's
    /// mutex; an atomic load does not (a lock and unlock per record showed in the profile
    /// of the Avro benchmark variant).
    ///
    /// [`request_stop`]: WorkerControl::request_stop
    /// [`abandon`]: WorkerControl::abandon
    stop_requested: AtomicBool,
    /// Set when the partition is gone (lost, or the drain deadline passed): the worker must
    /// not store offsets any more.
    abandoned: AtomicBool,
    done: Mutex<bool>,
    done_cv: Condvar,
}

impl WorkerControl {
    /// Asks the worker to stop after the message it is handling (retries are cut short).
    pub(crate) fn request_stop(&self) {
        self.stop_requested.store(true, Ordering::Release);
        self.stop.cancel();
    }

    /// Whether a stop was requested (no lock; see `stop_requested`).
    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop_requested.load(Ordering::Acquire)
    }

    pub(crate) fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Forbids further offset stores (the partition now belongs to someone else).
    pub(crate) fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.stop_requested.store(true, Ordering::Release);
        self.stop.cancel();
    }

    pub(crate) fn may_store(&self) -> bool {
        !self.abandoned.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_done(&self) {
        let mut d = self.done.lock().unwrap_or_else(|p| p.into_inner());
        *d = true;
        self.done_cv.notify_all();
    }

    /// Blocks the calling (non-async) thread until the worker finished or `deadline` passed.
    /// Returns whether it finished.
    pub(crate) fn wait_done(&self, deadline: Instant) -> bool {
        let mut d = self.done.lock().unwrap_or_else(|p| p.into_inner());
        while !*d {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            d = self
                .done_cv
                .wait_timeout(d, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}
