//! The settle step: an attempt's outcome → retry in place, dead letter, or done.
//!
//! Works on a [`Delivery`] (not on a librdkafka message) and reaches the outside world only
//! through [`DeadLetters`], so the whole decision (how many attempts, which waits, what a
//! panic counts as, when a record goes to the dead letters and with which
//! [`DeadLetterReason`]) is unit-tested without a broker (see the tests below). The three
//! partition loops call it; none decides on its own.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::dead_letter::DeadLetterReason;
use crate::error::{ErrorKind, HandlerError};
use crate::extract::{Delivery, Rejection};
use crate::handler::Handler;
use crate::metrics::HandlerMetrics;
use crate::outcome::Outcome;
use crate::retry::RetryPolicy;

/// How a record (or a batch) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The handler acknowledged it.
    Handled,
    /// Failed for good and reported (dead-lettered, or logged without dead letters).
    Done,
    /// Cut short by a stop request before it settled: its offset must not be stored.
    Interrupted,
}

impl Settled {
    /// Whether the offset may move past it.
    pub(crate) fn settled(self) -> bool {
        self != Settled::Interrupted
    }
}

/// What follows one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Acknowledged.
    Ack,
    /// Run attempt `attempt` after `wait`.
    Retry {
        attempt: u32,
        wait: Duration,
        unavailable: bool,
    },
    /// Failed for good, for this reason.
    GiveUp(GiveUp),
}

/// Why a record failed for good, as far as the retry logic knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GiveUp {
    /// A permanent error or rejection: not retried.
    Permanent,
    /// The retry policy's attempts are used up.
    RetriesExhausted,
    /// The partition loop kept crashing on the record; it was not run again.
    Crashed,
}

impl GiveUp {
    /// As the `kafka_dlt-exception-fqcn` header and the log say it.
    pub(crate) fn text(self) -> &'static str {
        match self {
            GiveUp::Permanent => "permanent error",
            GiveUp::RetriesExhausted => "retries exhausted",
            GiveUp::Crashed => "the partition worker crashed on it",
        }
    }

    /// The reason a dead letter reports for `error`: the one place it is decided. A
    /// permanent failure is the rejecting extractor's (`decode`, `key`, `rejected`) when an
    /// extractor refused the record, the handler's (`permanent`) otherwise.
    pub(crate) fn reason(self, error: &HandlerError) -> DeadLetterReason {
        match self {
            GiveUp::Crashed => DeadLetterReason::WorkerCrashed,
            GiveUp::RetriesExhausted => DeadLetterReason::RetriesExhausted,
            GiveUp::Permanent => Rejection::reason_of(error).unwrap_or(DeadLetterReason::Permanent),
        }
    }
}

/// The decision after attempt `attempt` ended with `outcome`. An *unavailable* dependency
/// never exhausts the attempts (the record waits instead of being dead-lettered).
pub(crate) fn decide(outcome: &Outcome, attempt: u32, policy: &RetryPolicy) -> Next {
    let error = match outcome {
        Outcome::Ack => return Next::Ack,
        Outcome::Fail(_) => return Next::GiveUp(GiveUp::Permanent),
        Outcome::Retry(e) => e,
    };
    let unavailable = error.kind() == ErrorKind::Unavailable;
    if !unavailable && attempt >= policy.max_attempts {
        return Next::GiveUp(GiveUp::RetriesExhausted);
    }
    let attempt = attempt.saturating_add(1);
    Next::Retry {
        attempt,
        wait: policy.backoff(attempt),
        unavailable,
    }
}

/// Why a record failed for good, as its dead letter reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure<'a> {
    pub(crate) error: &'a HandlerError,
    pub(crate) attempts: u32,
    pub(crate) why: GiveUp,
    pub(crate) reason: DeadLetterReason,
}

/// Where records that failed for good go. Implemented by the dead-letter route
/// (`dead_letter.rs`) and by a recorder in tests.
pub(crate) trait DeadLetters: Send + Sync {
    /// Publishes `d` with the reason; returns `false` only if `stop` interrupted it (the
    /// offset must then stay where it is).
    fn send(
        &self,
        d: &Delivery<'_>,
        failure: Failure<'_>,
        stop: &CancellationToken,
    ) -> impl Future<Output = bool> + Send;
}

/// What the settle step needs besides the record, shared by a partition's loops.
pub(crate) struct Settle<'a, D> {
    pub(crate) handler: &'a str,
    pub(crate) group: &'a str,
    pub(crate) retry: RetryPolicy,
    pub(crate) metrics: &'a HandlerMetrics,
    pub(crate) stop: &'a CancellationToken,
    /// `None`: dead letters are off for this handler (failed records are logged and passed).
    pub(crate) dead_letters: Option<&'a D>,
}

impl<D: DeadLetters> Settle<'_, D> {
    /// Runs `handler` on `d` until it settles, retrying in place, inside the record's
    /// `process` span (`trace.rs`). `poison`: the record made the partition loop crash
    /// repeatedly; it is dead-lettered with that reason unrun.
    pub(crate) async fn message<H, A>(
        &self,
        handler: &H,
        d: Delivery<'_>,
        poison: Option<&str>,
    ) -> Settled
    where
        H: Handler<A>,
    {
        let span = crate::trace::process(&d, self.handler, self.group);
        self.attempts(handler, d, poison).instrument(span).await
    }

    async fn attempts<H, A>(
        &self,
        handler: &H,
        mut d: Delivery<'_>,
        poison: Option<&str>,
    ) -> Settled
    where
        H: Handler<A>,
    {
        if let Some(reason) = poison {
            let e = HandlerError::permanent(PoisonError(reason.to_owned()));
            return self.fail(&d, &e, GiveUp::Crashed).await;
        }
        loop {
            let outcome = self.guarded(handler.call(&d)).await;
            match decide(&outcome, d.attempt, &self.retry) {
                Next::Ack => {
                    crate::failpoint::hit("after-handler");
                    return Settled::Handled;
                }
                Next::GiveUp(why) => {
                    let (Outcome::Fail(e) | Outcome::Retry(e)) = &outcome else {
                        return Settled::Handled;
                    };
                    return self.fail(&d, e, why).await;
                }
                Next::Retry {
                    attempt,
                    wait,
                    unavailable,
                } => {
                    if let Outcome::Retry(e) = &outcome {
                        tracing::warn!(
                            handler = self.handler, topic = %d.topic(), partition = d.partition(),
                            offset = d.offset(), attempt, wait_ms = wait.as_millis() as u64, error = %e,
                            "{}", if unavailable { "dependency unavailable; waiting and retrying" } else { "handler failed; retrying" }
                        );
                    }
                    if !self.wait(wait).await {
                        return Settled::Interrupted;
                    }
                    d.attempt = attempt;
                }
            }
        }
    }

    /// Runs a handler call, timed (`consume_handler_duration_seconds`), turning a panic
    /// into a retryable error (counted).
    pub(crate) async fn guarded(&self, call: impl Future<Output = Outcome>) -> Outcome {
        let started = Instant::now();
        let outcome = AssertUnwindSafe(call).catch_unwind().await;
        self.metrics.record_call(started.elapsed());
        outcome.unwrap_or_else(|panic| {
            self.metrics.panics.add(1);
            Outcome::Retry(HandlerError::retryable(PanicError(panic_message(&*panic))))
        })
    }

    /// Counts a retry and waits out its back-off; `false` if a stop request cut it short.
    pub(crate) async fn wait(&self, wait: Duration) -> bool {
        self.metrics.retries.add(1);
        tokio::select! {
            biased;
            _ = self.stop.cancelled() => false,
            _ = tokio::time::sleep(wait) => true,
        }
    }

    /// A record that failed for good: counted, then dead-lettered (published before its
    /// offset may be stored) or, with dead letters off, logged at error level and passed.
    pub(crate) async fn fail(&self, d: &Delivery<'_>, e: &HandlerError, why: GiveUp) -> Settled {
        self.metrics.failed.add(1);
        let reason = why.reason(e);
        let Some(dead_letters) = self.dead_letters else {
            tracing::error!(
                handler = self.handler, group = self.group, topic = %d.topic(), partition = d.partition(),
                offset = d.offset(), attempts = d.attempt(), error = %e, reason = %reason,
                "message failed ({}); dead letters are off for this handler, skipping it", why.text()
            );
            return Settled::Done;
        };
        let failure = Failure {
            error: e,
            attempts: d.attempt(),
            why,
            reason,
        };
        if dead_letters.send(d, failure, self.stop).await {
            Settled::Done
        } else {
            Settled::Interrupted
        }
    }
}

/// A handler panic, as an error.
#[derive(Debug)]
pub(crate) struct PanicError(pub(crate) String);

impl std::fmt::Display for PanicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "handler panicked: {}", self.0)
    }
}

impl std::error::Error for PanicError {}

/// A record the partition loop kept crashing on.
#[derive(Debug)]
struct PoisonError(String);

impl std::fmt::Display for PoisonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PoisonError {}

/// The text of a panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::extract::{Headers, Key, StateMap};

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(250),
        }
    }

    #[test]
    fn decisions() {
        let p = policy(3);
        let retry = Outcome::Retry(HandlerError::retryable("boom"));
        assert_eq!(decide(&Outcome::Ack, 1, &p), Next::Ack);
        assert_eq!(
            decide(&Outcome::Fail(HandlerError::permanent("bad")), 1, &p),
            Next::GiveUp(GiveUp::Permanent)
        );
        assert_eq!(
            decide(&retry, 1, &p),
            Next::Retry {
                attempt: 2,
                wait: Duration::from_millis(100),
                unavailable: false
            }
        );
        assert_eq!(
            decide(&retry, 2, &p),
            Next::Retry {
                attempt: 3,
                wait: Duration::from_millis(200),
                unavailable: false
            }
        );
        assert_eq!(
            decide(&retry, 3, &p),
            Next::GiveUp(GiveUp::RetriesExhausted)
        );
        // An unavailable dependency never gives up; waits are capped.
        let down = Outcome::Retry(HandlerError::unavailable("registry down"));
        assert_eq!(
            decide(&down, 1000, &p),
            Next::Retry {
                attempt: 1001,
                wait: Duration::from_millis(250),
                unavailable: true
            }
        );
    }

    /// What would have been dead-lettered: offset, key, header names, attempts, why (with
    /// the error), reason.
    type Letter = (
        i64,
        Option<Vec<u8>>,
        Vec<Vec<u8>>,
        u32,
        String,
        DeadLetterReason,
    );

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Letter>>);

    impl DeadLetters for Recorder {
        async fn send(&self, d: &Delivery<'_>, f: Failure<'_>, _stop: &CancellationToken) -> bool {
            let names = d.headers().iter().map(|(n, _)| n.to_vec()).collect();
            self.0.lock().expect("lock").push((
                d.offset(),
                d.key().map(<[u8]>::to_vec),
                names,
                f.attempts,
                format!("{}: {}", f.why.text(), f.error),
                f.reason,
            ));
            true
        }
    }

    struct Fixture {
        metrics: HandlerMetrics,
        stop: CancellationToken,
        recorder: Recorder,
        state: StateMap,
        topic: Arc<str>,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                metrics: HandlerMetrics::detached(),
                stop: CancellationToken::new(),
                recorder: Recorder::default(),
                state: StateMap::new(),
                topic: Arc::from("t"),
            }
        }
        fn settle(&self, dead_letters: bool) -> Settle<'_, Recorder> {
            Settle {
                handler: "h",
                group: "g",
                retry: policy(3),
                metrics: &self.metrics,
                stop: &self.stop,
                dead_letters: dead_letters.then_some(&self.recorder),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_record_is_retried_then_dead_lettered_with_its_headers() {
        let f = Fixture::new();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c = Arc::clone(&calls);
        let handler = move |Key(k): Key<String>| {
            let c = Arc::clone(&c);
            async move {
                c.lock().expect("lock").push(tokio::time::Instant::now());
                Err::<(), _>(HandlerError::retryable(format!("no {k}")))
            }
        };
        let headers = Headers::default()
            .with(vec![0xff, 0xfe], Some(b"binary\0".to_vec()))
            .with("trace", None::<Vec<u8>>);
        let d = Delivery::new(&f.topic, 0, 42, Some(b"k1"), Some(b"v"), &f.state)
            .with_headers(&headers);
        let settled = f.settle(true).message(&handler, d, None).await;
        assert_eq!(settled, Settled::Done);
        let calls = calls.lock().expect("lock").clone();
        assert_eq!(calls.len(), 3, "max_attempts = 3");
        assert_eq!(calls[1] - calls[0], Duration::from_millis(100));
        assert_eq!(calls[2] - calls[1], Duration::from_millis(200));
        let letters = f.recorder.0.lock().expect("lock").clone();
        assert_eq!(letters.len(), 1);
        let (offset, key, names, attempts, why, reason) = &letters[0];
        assert_eq!(*reason, DeadLetterReason::RetriesExhausted);
        assert_eq!(
            (*offset, key.as_deref(), *attempts),
            (42, Some(&b"k1"[..]), 3)
        );
        assert_eq!(names, &vec![vec![0xff, 0xfe], b"trace".to_vec()]);
        assert!(why.starts_with("retries exhausted: no k1"), "{why}");
        assert_eq!(f.metrics.retries.get(), 2);
        assert_eq!(f.metrics.failed.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_is_a_retryable_error_and_a_permanent_error_is_not_retried() {
        let f = Fixture::new();
        let panicky = |Key(k): Key<String>| async move {
            if k == "bad" {
                panic!("cannot handle {k}");
            }
        };
        let d = Delivery::new(&f.topic, 0, 1, Some(b"bad"), None, &f.state);
        assert_eq!(
            f.settle(true).message(&panicky, d, None).await,
            Settled::Done
        );
        assert_eq!(f.metrics.panics.get(), 3);
        let d = Delivery::new(&f.topic, 0, 2, Some(b"good"), None, &f.state);
        assert_eq!(
            f.settle(true).message(&panicky, d, None).await,
            Settled::Handled
        );
        let permanent = || async { Err::<(), _>(HandlerError::permanent("never")) };
        let d = Delivery::new(&f.topic, 0, 3, None, None, &f.state);
        assert_eq!(
            f.settle(true).message(&permanent, d, None).await,
            Settled::Done
        );
        let letters = f.recorder.0.lock().expect("lock").clone();
        let whys: Vec<&str> = letters.iter().map(|l| l.4.as_str()).collect();
        assert!(
            whys[0].contains("handler panicked: cannot handle bad"),
            "{whys:?}"
        );
        assert!(whys[1].starts_with("permanent error: never"), "{whys:?}");
        assert_eq!(letters[1].3, 1, "a permanent error is not retried");
        let reasons: Vec<DeadLetterReason> = letters.iter().map(|l| l.5).collect();
        assert_eq!(
            reasons,
            [
                DeadLetterReason::RetriesExhausted,
                DeadLetterReason::Permanent
            ],
            "a handler that panics on every attempt exhausts its retries"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn poison_is_dead_lettered_unrun_and_a_stop_interrupts_retries() {
        let f = Fixture::new();
        let ran = Arc::new(Mutex::new(0));
        let r = Arc::clone(&ran);
        let handler = move || {
            let r = Arc::clone(&r);
            async move {
                *r.lock().expect("lock") += 1;
                Err::<(), _>(HandlerError::unavailable("down"))
            }
        };
        let d = Delivery::new(&f.topic, 0, 9, None, None, &f.state);
        let settled = f
            .settle(true)
            .message(&handler, d, Some("crashed 3 times"))
            .await;
        assert_eq!(settled, Settled::Done);
        assert_eq!(*ran.lock().expect("lock"), 0);
        let (why, reason) = {
            let letters = f.recorder.0.lock().expect("lock");
            (letters[0].4.clone(), letters[0].5)
        };
        assert!(why.contains("crashed 3 times"), "{why}");
        assert_eq!(reason, DeadLetterReason::WorkerCrashed);
        // Unavailable: retried until the stop request, then left unsettled.
        let stop = f.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stop.cancel();
        });
        let d = Delivery::new(&f.topic, 0, 10, None, None, &f.state);
        assert_eq!(
            f.settle(true).message(&handler, d, None).await,
            Settled::Interrupted
        );
        assert!(*ran.lock().expect("lock") > 10);
        assert_eq!(
            f.recorder.0.lock().expect("lock").len(),
            1,
            "never dead-lettered"
        );
    }

    /// A custom extractor that refuses every record, as an application's validation would.
    struct Validated;

    impl crate::extract::FromMessage for Validated {
        async fn from_message(_: &Delivery<'_>) -> Result<Self, Rejection> {
            Err(Rejection::permanent("Validated", "score 7 / max_score 5"))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_rejection_is_dead_lettered_with_its_extractors_reason_unretried() {
        let f = Fixture::new();
        let json = |crate::Json(_): crate::Json<u32>| async {};
        let key = |Key(_): Key<String>| async {};
        let validated = |_: Validated| async {};
        let d = || Delivery::new(&f.topic, 0, 1, None, Some(b"not json"), &f.state);
        for settled in [
            f.settle(true).message(&json, d(), None).await,
            f.settle(true).message(&key, d(), None).await,
            f.settle(true).message(&validated, d(), None).await,
        ] {
            assert_eq!(settled, Settled::Done);
        }
        let letters = f.recorder.0.lock().expect("lock").clone();
        let got: Vec<(u32, DeadLetterReason)> = letters.iter().map(|l| (l.3, l.5)).collect();
        assert_eq!(
            got,
            [
                (1, DeadLetterReason::Decode),
                (1, DeadLetterReason::Key),
                (1, DeadLetterReason::Rejected)
            ]
        );
        assert!(
            letters[2].4.contains("Validated extractor rejected"),
            "{letters:?}"
        );
        assert_eq!(f.metrics.retries.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn without_dead_letters_a_failed_record_is_counted_and_passed() {
        let f = Fixture::new();
        let permanent = || async { Err::<(), _>(HandlerError::permanent("never")) };
        let d = Delivery::new(&f.topic, 0, 3, None, None, &f.state);
        assert_eq!(
            f.settle(false).message(&permanent, d, None).await,
            Settled::Done
        );
        assert_eq!(f.metrics.failed.get(), 1);
        assert!(f.recorder.0.lock().expect("lock").is_empty());
    }
}
