//! `ruststream-peer`: variant (e) of consume-bench (`bench/`): RustStream, the strongest Rust
//! peer, reading the benchmark topic through a `#[subscriber]` handler mounted on a
//! `KafkaBroker`, the way a RustStream service is written.
//!
//! - (e) a no-op handler over the raw payload (RustStream's self-deserializing lane: no codec),
//!   summing payload lengths;
//! - (e2) with `--registry`: a handler taking `&LectureProgress`, decoded by RustStream's
//!   `AvroCodec` in registry mode (Confluent framing, writer schema by id through a
//!   `SchemaPrefetch`), summing `watched_seconds`.
//!
//! consume-bench starts it as a child process with a fresh group and reads the one JSON line it
//! prints (see `args::USAGE`). The app is built as `#[ruststream::app]` would build it, but
//! driven by this `main` through `App::start` and `RunningApp::shutdown` (the macro's `main`
//! runs until SIGINT/SIGTERM): the peer stops once it has handled the expected count, prints
//! its line, then leaves the group outside the measured interval.

mod args;

use std::hint::black_box;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ruststream_rdkafka::avro::AvroCodec;
use ruststream_rdkafka::prelude::*;
use ruststream_rdkafka::{SchemaPrefetch, SchemaRegistry};
use serde::Deserialize;
use tokio::sync::Notify;

use args::{CommitMode, Parsed, Settings};

/// The settings, set once by `main` before the app is built: the `#[subscriber]` source
/// expressions and the handlers read them from here.
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The settings (defaults if `main` has not set them yet, which it always has).
fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

/// What the handlers count, and when.
struct Tally {
    /// Records handled.
    handled: AtomicU64,
    /// Σ payload lengths (e) or decoded `watched_seconds` (e2).
    checksum: AtomicU64,
    /// When the first record was handled.
    first: OnceLock<Instant>,
    /// When the expected count was reached.
    last: OnceLock<Instant>,
    /// Woken when the expected count is reached.
    done: Notify,
}

static TALLY: Tally = Tally {
    handled: AtomicU64::new(0),
    checksum: AtomicU64::new(0),
    first: OnceLock::new(),
    last: OnceLock::new(),
    done: Notify::const_new(),
};

impl Tally {
    /// Counts one handled record contributing `value` to the checksum.
    fn record(&self, value: u64) {
        self.first.get_or_init(Instant::now);
        self.checksum.fetch_add(value, Ordering::Relaxed);
        let n = self.handled.fetch_add(1, Ordering::Relaxed) + 1;
        if n == settings().count {
            let _ = self.last.set(Instant::now());
            self.done.notify_one();
        }
    }
}

/// One record's value as RustStream hands it to a raw-lane handler: a view of the payload, no
/// codec involved.
#[derive(Deserialized)]
struct Payload<'a>(&'a [u8]);

/// The bench's Avro record (`training.v1.LectureProgress`, see `bench/src/lecture.rs`), decoded
/// by RustStream's `AvroCodec` through serde.
#[derive(Debug, Deserialize)]
#[expect(
    dead_code,
    reason = "decoded in full like (b2) does; only watched_seconds is summed"
)]
struct LectureProgress {
    event_id: String,
    learner_id: String,
    course_id: String,
    lecture_id: String,
    watched_seconds: i32,
    occurred_at: i64,
}

/// The subscription settings every benchmark run shares, applied to the topic descriptor.
trait BenchSubscription {
    /// The fresh group, start at the earliest offset, the commit mode and the librdkafka
    /// properties from [`settings`].
    fn bench(self) -> Self;
}

impl BenchSubscription for KafkaTopic {
    fn bench(self) -> Self {
        let s = settings();
        let topic = self
            .group(s.group.clone())
            .start(StartOffset::Earliest)
            .commit(match s.commit {
                CommitMode::Auto => Commit::Auto,
                CommitMode::Tracked => Commit::Tracked,
            });
        s.properties
            .iter()
            .fold(topic, |t, (k, v)| t.config(k.clone(), v.clone()))
    }
}

/// (e): a no-op handler, acknowledging every record after adding its length to the checksum.
#[subscriber(KafkaTopic::new(settings().topic.clone()).bench())]
async fn bench_noop(payload: &Payload<'_>) -> HandlerOutcome {
    TALLY.record(payload.0.len() as u64);
    HandlerOutcome::ack()
}

/// (e2): the record decoded into [`LectureProgress`]; a value that does not decode stops the
/// app (`fail_fast`) rather than being dropped and missing from the count.
#[subscriber(
    KafkaTopic::new(settings().topic.clone()).bench(),
    on_failure(decode = fail_fast)
)]
async fn bench_avro(progress: &LectureProgress) -> HandlerOutcome {
    black_box(progress);
    TALLY.record(u64::try_from(progress.watched_seconds).unwrap_or(0));
    HandlerOutcome::ack()
}

fn info() -> AppInfo {
    AppInfo::new("consume-bench-ruststream", env!("CARGO_PKG_VERSION"))
}

fn broker() -> KafkaBroker {
    KafkaBroker::new([settings().bootstrap.as_str()])
        .config("client.id", "consume-bench-ruststream")
}

/// The (e) app.
fn noop_app() -> impl App {
    RustStream::new(info()).with_broker(broker(), |b| {
        b.include(bench_noop);
    })
}

/// The (e2) app: the registry codec decodes every delivery with the writer schema its
/// envelope names, which the broker's prefetch has fetched before the codec runs.
fn avro_app(registry_url: &str) -> impl App {
    let prefetch = SchemaPrefetch::new(SchemaRegistry::new(registry_url));
    let codec = AvroCodec::registry(&prefetch);
    RustStream::new(info()).with_broker_codec(broker().schema_prefetch(prefetch), codec, |b| {
        b.include(bench_avro);
    })
}

fn main() -> ExitCode {
    let parsed = args::parse(
        std::env::args().skip(1),
        std::env::var("KAFKA_BOOTSTRAP").ok(),
    );
    let s = match parsed {
        Ok(Parsed::Run(s)) => s,
        Ok(Parsed::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ruststream-peer: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .init();
    let s = SETTINGS.get_or_init(|| s);
    // The runtime `#[ruststream::app]` builds by default: multi-threaded, a worker per core.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ruststream-peer: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match &s.registry {
            Some(url) => drive(avro_app(url), s).await,
            None => drive(noop_app(), s).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ruststream-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts `app`, waits until the expected count was handled (or the time limit, or the app
/// stopping by itself), prints the JSON line, then shuts the app down (not timed).
async fn drive(app: impl App, s: &Settings) -> Result<(), String> {
    let started = Instant::now();
    let running = app.start().await.map_err(|e| {
        format!(
            "RustStream did not start (is Kafka up at {}? see infra/status): {e}",
            s.bootstrap
        )
    })?;
    let stopping = running.stopping();
    let remaining = s.timeout.saturating_sub(started.elapsed());
    let outcome = tokio::select! {
        () = TALLY.done.notified() => Ok(()),
        () = stopping => Err("the app stopped by itself (its error is logged above)".to_owned()),
        () = tokio::time::sleep(remaining) => Err(format!(
            "handled {} of {} records from `{}` within {} ms",
            TALLY.handled.load(Ordering::Relaxed),
            s.count,
            s.topic,
            s.timeout.as_millis()
        )),
    };
    if outcome.is_ok() {
        println!("{}", report_line(started));
    }
    // Leaving the group is not timed; a slow shutdown must not hold the benchmark up.
    match tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if outcome.is_ok() => eprintln!("ruststream-peer: warning: shutdown: {e}"),
        Ok(Err(e)) => {
            return Err(format!(
                "{}; shutdown: {e}",
                outcome.err().unwrap_or_default()
            ));
        }
        Err(_) => eprintln!("ruststream-peer: warning: shutdown took over 10 s"),
    }
    outcome
}

/// `first` as Unix milliseconds.
fn first_unix_ms(first: Instant) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.saturating_sub(first.elapsed())).as_secs_f64() * 1000.0
}

/// The JSON line: count, timed records, seconds from the first record to the last, seconds from
/// the start to the first record, checksum.
fn report_line(started: Instant) -> String {
    let handled = TALLY.handled.load(Ordering::Relaxed);
    let first = TALLY.first.get().copied().unwrap_or(started);
    let last = TALLY.last.get().copied().unwrap_or(first);
    serde_json::json!({
        "count": handled,
        "timed": handled.saturating_sub(1),
        "elapsed_s": last.duration_since(first).as_secs_f64(),
        "join_s": first.duration_since(started).as_secs_f64(),
        "checksum": TALLY.checksum.load(Ordering::Relaxed),
        // When the clock started, for the harness's CPU accounting.
        "first_unix_ms": first_unix_ms(first),
    })
    .to_string()
}
