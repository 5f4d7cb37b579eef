//! `--key-ordered`: key-ordered concurrency (`concurrency = 64`) against sequential
//! per-partition handling, on one partition holding 1 000 keys, with a handler doing 2 ms of
//! simulated I/O; and, unless `--no-peers`, the seed's kafkajs `eachMessage` with
//! `partitionsConsumedConcurrently` on the same topic (a Node child process, see
//! `peers.rs`). Reports the rates, their ratios and per-key order violations (which must be
//! 0), measured in rotating order over several rounds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consume_runtime::{Config, Runtime};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::BoxError;
use crate::handlers::{KO_PARALLEL, KO_SEQUENTIAL};
use crate::kafka;
use crate::machine::Machine;
use crate::peers::{self, NodeRun};
use crate::report::thousands;
use crate::stats::{median, ratio};

/// The kafkajs variant's name in the schedule (not a `#[consume]` handler).
const KO_KAFKAJS: &str = "kafkajs";
/// `partitionsConsumedConcurrently` given to kafkajs: the seed's best case (more than the
/// topic's partitions, so every partition is processed at once).
const KAFKAJS_PARTITIONS_CONCURRENTLY: u32 = 4;

/// The medians of one key-ordered run, for the comparison table and the chart.
#[derive(Debug, Clone)]
pub(crate) struct KeyOrdered {
    /// The markdown section.
    pub(crate) body: String,
    /// Median msgs/s, sequential per partition.
    pub(crate) sequential: f64,
    /// Median msgs/s, key-parallel (`concurrency = 64`).
    pub(crate) parallel: f64,
    /// Median msgs/s of kafkajs with `partitionsConsumedConcurrently` (if it ran).
    pub(crate) kafkajs: Option<f64>,
    /// Order violations over every variant and round (0, or the run fails).
    pub(crate) violations: u64,
}

/// The simulated I/O of every call.
pub(crate) const SIMULATED_IO: Duration = Duration::from_millis(2);
/// Distinct keys in the partition.
const KEYS: u64 = 1_000;
/// Messages the concurrent variant reads per round (the topic's size).
const PARALLEL_MESSAGES: u64 = 40_000;
/// Messages the sequential variant reads per round (at ~400/s, a few seconds).
const SEQUENTIAL_MESSAGES: u64 = 2_000;
const ROUNDS: usize = 3;
/// The markdown section id.
pub(crate) const SECTION_ID: &str = "key-ordered";

/// Counts handled messages and checks each key's sequence numbers arrive as 0, 1, 2, …
#[derive(Debug, Default)]
pub(crate) struct KeyOrderProbe {
    handled: AtomicU64,
    violations: AtomicU64,
    next: Mutex<HashMap<String, u64>>,
    first: OnceLock<Instant>,
    last: Mutex<Option<Instant>>,
}

impl KeyOrderProbe {
    /// Records one handled message (value: its sequence number within its key).
    pub(crate) fn record(&self, key: &str, value: Option<&[u8]>) {
        let seq: Option<u64> = value
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok());
        {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let expected = next.entry(key.to_owned()).or_insert(0);
            if seq != Some(*expected) {
                self.violations.fetch_add(1, Ordering::Relaxed);
            }
            *expected = seq.map_or(*expected + 1, |s| s + 1);
        }
        let now = Instant::now();
        let _ = self.first.set(now);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        self.handled.fetch_add(1, Ordering::Release);
    }
}

/// One variant's result in one round.
#[derive(Debug, Clone, Copy)]
struct Measured {
    rate: f64,
    violations: u64,
}

/// Runs the benchmark; returns the markdown section and the medians. `command` is the
/// command line shown in the section.
pub(crate) async fn run(
    rounds: Option<usize>,
    smoke: bool,
    with_kafkajs: bool,
    command: &str,
) -> Result<KeyOrdered, BoxError> {
    let bootstrap = kafka::bootstrap();
    kafka::check_reachable(&bootstrap)?;
    let machine = Machine::detect();
    let (par_n, seq_n, rounds) = if smoke {
        (2_000, 300, 1)
    } else {
        (
            PARALLEL_MESSAGES,
            SEQUENTIAL_MESSAGES,
            rounds.unwrap_or(ROUNDS),
        )
    };
    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let topic = format!("bench-ko-{millis}");
    kafka::create_topic_with(&bootstrap, &topic, 1).await?;
    fill(&bootstrap, &topic, par_n).await?;
    eprintln!("key-ordered: {par_n} messages, {KEYS} keys, 1 partition, {rounds} round(s)");
    let mut seq = Vec::new();
    let mut par = Vec::new();
    let mut kjs = Vec::new();
    let mut variants = vec![KO_SEQUENTIAL, KO_PARALLEL];
    if with_kafkajs {
        variants.push(KO_KAFKAJS);
    }
    for r in 0..rounds {
        let mut order = variants.clone();
        order.rotate_left(r % variants.len());
        for handler in order {
            let n = if handler == KO_PARALLEL { par_n } else { seq_n };
            let group = format!("consume-bench-ko-{millis}-{r}-{handler}");
            let m = if handler == KO_KAFKAJS {
                measure_kafkajs(&bootstrap, &topic, &group, n).await?
            } else {
                measure(&bootstrap, &topic, handler, &group, n).await?
            };
            eprintln!(
                "round {}: {handler}: {} msgs/s, {} order violations",
                r + 1,
                thousands(m.rate),
                m.violations
            );
            match handler {
                KO_PARALLEL => par.push(m),
                KO_KAFKAJS => kjs.push(m),
                _ => seq.push(m),
            }
        }
    }
    if let Err(e) = kafka::delete_topic(&bootstrap, &topic).await {
        eprintln!("warning: could not delete topic `{topic}`: {e}");
    }
    let violations: u64 = seq
        .iter()
        .chain(&par)
        .chain(&kjs)
        .map(|m| m.violations)
        .sum();
    if violations > 0 {
        return Err(format!("{violations} per-key order violations").into());
    }
    let rates = |v: &[Measured]| median(v.iter().map(|m| m.rate).collect());
    Ok(KeyOrdered {
        body: section(command, &machine, &seq, &par, &kjs, par_n, seq_n),
        sequential: rates(&seq),
        parallel: rates(&par),
        kafkajs: (!kjs.is_empty()).then(|| rates(&kjs)),
        violations,
    })
}

/// kafkajs `eachMessage` with `partitionsConsumedConcurrently` and the same 2 ms timer per
/// message, in a Node child process with the fresh group `group`, until it handled `n`.
async fn measure_kafkajs(
    bootstrap: &str,
    topic: &str,
    group: &str,
    n: u64,
) -> Result<Measured, BoxError> {
    let (b, t, g) = (bootstrap.to_owned(), topic.to_owned(), group.to_owned());
    let r = tokio::task::spawn_blocking(move || {
        peers::run_node(&NodeRun {
            bootstrap: &b,
            topic: &t,
            group: &g,
            count: n,
            registry: None,
            concurrency: KAFKAJS_PARTITIONS_CONCURRENTLY,
            sleep_ms: u64::try_from(SIMULATED_IO.as_millis()).unwrap_or(2),
        })
    })
    .await??;
    Ok(Measured {
        rate: r.measurement.rate(),
        violations: r.violations,
    })
}

/// Produces `n` messages: message `i` has key `learner-{i % KEYS}` and value `i / KEYS`
/// (its sequence number within the key).
async fn fill(bootstrap: &str, topic: &str, n: u64) -> Result<(), BoxError> {
    let producer: FutureProducer = kafka::base_config(bootstrap)
        .set("linger.ms", "20")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()?;
    let mut i = 0;
    while i < n {
        let chunk: Vec<(String, String)> = (i..n.min(i + 5_000))
            .map(|j| (format!("learner-{}", j % KEYS), (j / KEYS).to_string()))
            .collect();
        // Enqueue the whole chunk, then wait for its delivery reports.
        let mut reports = Vec::with_capacity(chunk.len());
        for (k, v) in &chunk {
            let record = FutureRecord::to(topic).key(k).payload(v);
            let report = producer
                .send_result(record)
                .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
            reports.push(report);
        }
        for r in reports {
            r.await
                .map_err(|_| "the producer was dropped")?
                .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
        }
        i += chunk.len() as u64;
    }
    Ok(())
}

/// Runs `handler` with a fresh group until it handled `n` messages; the rate is timed from
/// the first handled message to the n-th (group join excluded).
async fn measure(
    bootstrap: &str,
    topic: &str,
    handler: &str,
    group: &str,
    n: u64,
) -> Result<Measured, BoxError> {
    let probe = Arc::new(KeyOrderProbe::default());
    let mut config = Config::new(bootstrap);
    config.client_id = "consume-bench-ko".to_owned();
    let runtime = Runtime::new(config)
        .only([handler])
        .var("BENCH_KO_TOPIC", topic)
        .var("BENCH_KO_GROUP", group)
        .state(Arc::clone(&probe));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ended = Arc::new(AtomicBool::new(false));
    let task = {
        let ended = Arc::clone(&ended);
        tokio::spawn(async move {
            let r = runtime
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
            ended.store(true, Ordering::SeqCst);
            r
        })
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while probe.handled.load(Ordering::Acquire) < n {
        if ended.load(Ordering::SeqCst) || Instant::now() > deadline {
            let _ = stop.send(());
            let result = task.await;
            return Err(format!(
                "{handler}: handled only {} of {n} messages ({result:?})",
                probe.handled.load(Ordering::Acquire)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The n-th message's time: everything after it is not counted.
    let end = *probe.last.lock().unwrap_or_else(|p| p.into_inner());
    let handled = probe.handled.load(Ordering::Acquire);
    let _ = stop.send(());
    task.await
        .map_err(|e| format!("the runtime task panicked: {e}"))?
        .map_err(|e| format!("the runtime failed: {e}"))?;
    let (Some(first), Some(end)) = (probe.first.get().copied(), end) else {
        return Err("no message was handled".into());
    };
    let secs = end.duration_since(first).as_secs_f64();
    Ok(Measured {
        rate: ratio((handled.min(n) - 1) as f64, secs),
        violations: probe.violations.load(Ordering::Relaxed),
    })
}

/// The markdown section.
fn section(
    command: &str,
    machine: &Machine,
    seq: &[Measured],
    par: &[Measured],
    kjs: &[Measured],
    par_n: u64,
    seq_n: u64,
) -> String {
    let seq_rates: Vec<f64> = seq.iter().map(|m| m.rate).collect();
    let par_rates: Vec<f64> = par.iter().map(|m| m.rate).collect();
    let kjs_rates: Vec<f64> = kjs.iter().map(|m| m.rate).collect();
    let (s, p, k) = (median(seq_rates), median(par_rates), median(kjs_rates));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Key-ordered concurrency vs sequential per partition\n"
    );
    let _ = writeln!(out, "- Command: `{command}`");
    let _ = writeln!(out, "- Machine: {}", machine.one_line());
    let _ = writeln!(
        out,
        "- One partition, {KEYS} keys (message `i` has key `learner-{{i % {KEYS}}}` and carries \
         its sequence number within the key), a handler doing {} ms of simulated I/O \
         (`tokio::time::sleep`). Sequential: the default handler (one message at a time per \
         partition), timed over {seq_n} messages. Key-parallel: the same handler with \
         `concurrency = 64`, timed over {par_n} messages. Each variant starts from offset 0 \
         with a fresh group; the clock runs from its first handled message to the last \
         counted one (group join excluded); the variants' order rotates from round to round.",
        SIMULATED_IO.as_millis()
    );
    if !kjs.is_empty() {
        let _ = writeln!(
            out,
            "- kafkajs (the seed's stack): `eachMessage` awaiting a {} ms `setTimeout` per \
             message, `partitionsConsumedConcurrently: {KAFKAJS_PARTITIONS_CONCURRENTLY}` (its \
             only concurrency setting), timed over {seq_n} messages in a Node child process \
             (`tests/interop/node/bench_consume.js --sleep-ms`), same order check. kafkajs \
             processes each partition one message at a time, so on this one-partition topic it \
             cannot overlap calls whatever the setting; with P partitions it would reach at \
             most P× its rate here.",
            SIMULATED_IO.as_millis()
        );
    }
    let _ = writeln!(
        out,
        "- Order check: every handled message's sequence number must be exactly one more than \
         the previous one of its key.\n"
    );
    let with_kjs = !kjs.is_empty();
    let _ = writeln!(
        out,
        "| round | sequential, msgs/s | key-parallel (`concurrency = 64`), msgs/s | ratio |{} order violations |",
        if with_kjs {
            " kafkajs `partitionsConsumedConcurrently`, msgs/s | key-parallel / kafkajs |"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|{}---:|",
        if with_kjs { "---:|---:|" } else { "" }
    );
    for (i, (a, b)) in seq.iter().zip(par).enumerate() {
        let kjs_cells = kjs.get(i).map_or_else(String::new, |k| {
            format!(" {} | {:.1}× |", thousands(k.rate), ratio(b.rate, k.rate))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1}× |{kjs_cells} {} |",
            i + 1,
            thousands(a.rate),
            thousands(b.rate),
            ratio(b.rate, a.rate),
            a.violations + b.violations + kjs.get(i).map_or(0, |k| k.violations)
        );
    }
    let _ = writeln!(
        out,
        "| **median** | **{}** | **{}** | **{:.1}×** |{} **0** |\n",
        thousands(s),
        thousands(p),
        ratio(p, s),
        if with_kjs {
            format!(" **{}** | **{:.1}×** |", thousands(k), ratio(p, k))
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "Target (issue: delivery guarantees): ≥ 20× with zero violations. A call takes \
         {:.2} ms sequentially (2 ms of sleep plus timer resolution and the framework), so \
         64 calls at once bound the key-parallel rate near {} msgs/s.",
        ratio(1000.0, s),
        thousands(64.0 * s)
    );
    out
}
