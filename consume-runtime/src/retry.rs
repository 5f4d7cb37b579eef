//! [`RetryPolicy`]: how often and how fast a failing message is retried in place.

use std::time::Duration;

/// Retries happen in place, so the partition's order is kept: attempt `n` (from 2) waits
/// `min(cap, base · 2^(n-2))` first. After `max_attempts` attempts the message has failed
/// for good. Retries are cut short when the partition is revoked or the runtime shuts down
/// (the message is then not committed, and is redelivered to the next owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub base: Duration,
    /// Longest wait between two attempts.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts; waits 100 ms, 200 ms, 400 ms, 800 ms (cap 10 s).
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next_attempt` (2 for the first retry).
    pub fn backoff(&self, next_attempt: u32) -> Duration {
        let exp = next_attempt.saturating_sub(2).min(31);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(500),
        };
        let waits: Vec<u128> = (2..=6).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 500, 500]);
        assert_eq!(p.backoff(1000), Duration::from_millis(500));
    }
}
