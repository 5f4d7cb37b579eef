//! [`HandlerOptions`]: the per-handler settings of `#[consume(...)]` (concurrency, batches,
//! retries, dead letters), as plain constants the macro writes into the registration.

use std::time::Duration;

use crate::retry::RetryPolicy;

/// Per-handler settings. `#[consume]` fills this from its keys; anything unset falls back to
/// the runtime's configuration (`Config::retry`, dead letters on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerOptions {
    /// Handlers running at once per partition (`concurrency = N`): messages with different
    /// keys run concurrently, messages with the same key strictly in offset order. 1 (the
    /// default) handles a partition one message at a time.
    pub concurrency: u32,
    /// `batch = N` (with optional `batch_linger = "20ms"`): the handler takes a
    /// [`Batch`](crate::Batch) of up to `N` messages.
    pub batch: Option<BatchOptions>,
    /// `max_attempts = N` (the first attempt included).
    pub max_attempts: Option<u32>,
    /// `backoff = "100ms"`: wait before the first retry.
    pub backoff_ms: Option<u64>,
    /// `max_backoff = "10s"`: longest wait between attempts.
    pub max_backoff_ms: Option<u64>,
    /// `dead_letter = "topic"` or `dead_letter = false`.
    pub dead_letter: DeadLetter,
}

/// How a batch handler's batches are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Most messages in one batch.
    pub max_size: u32,
    /// How long a batch waits for more messages after its first one arrived.
    pub max_linger_ms: u64,
}

/// Where a handler's failed messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetter {
    /// `<topic>.<group>.dlq` (unless dead letters are off for the whole runtime).
    Default,
    /// No dead letters for this handler: failed messages are logged and passed.
    Off,
    /// This topic (placeholders allowed), for every topic of the handler.
    Topic(&'static str),
}

impl HandlerOptions {
    /// Sequential, runtime retry policy, default dead-letter topic.
    pub const DEFAULT: HandlerOptions = HandlerOptions {
        concurrency: 1,
        batch: None,
        max_attempts: None,
        backoff_ms: None,
        max_backoff_ms: None,
        dead_letter: DeadLetter::Default,
    };

    /// The runtime's retry policy with this handler's overrides applied.
    pub fn retry_policy(&self, runtime: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(runtime.max_attempts).max(1),
            base: self
                .backoff_ms
                .map(Duration::from_millis)
                .unwrap_or(runtime.base),
            cap: self
                .max_backoff_ms
                .map(Duration::from_millis)
                .unwrap_or(runtime.cap),
        }
    }
}

impl Default for HandlerOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl BatchOptions {
    /// The linger as a duration.
    pub fn linger(&self) -> Duration {
        Duration::from_millis(self.max_linger_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_set() {
        let runtime = RetryPolicy::default();
        assert_eq!(HandlerOptions::DEFAULT.retry_policy(runtime), runtime);
        let o = HandlerOptions {
            max_attempts: Some(2),
            max_backoff_ms: Some(50),
            ..HandlerOptions::DEFAULT
        };
        let p = o.retry_policy(runtime);
        assert_eq!(p.max_attempts, 2);
        assert_eq!(p.base, runtime.base);
        assert_eq!(p.cap, Duration::from_millis(50));
    }
}
