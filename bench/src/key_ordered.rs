//! `--key-ordered`: key-ordered concurrency measured against the bound the keys allow.
//!
//! Every side makes one real round trip per record to one shared loopback I/O stub (a TCP
//! echo server answering after a fixed delay, `echo.rs`), on topics whose keys are drawn
//! uniformly or Zipf-distributed (`keyspace.rs`), each record carrying its sequence number
//! within its key, checked on arrival:
//!
//! - ours: `#[consume(…, concurrency = c)]` for `c` in 1, 4, 16, 64, 256 (one handler per
//!   `c`, `handlers.rs`), on a one-partition topic;
//! - Confluent's Parallel Consumer, `ProcessingOrder.KEY`, `maxConcurrency = 64`, on the
//!   same topics as ours at 64 (a JVM child process, `ko_peers.rs`);
//! - kafkajs `eachMessage` with `partitionsConsumedConcurrently = 16` on a 16-partition
//!   topic of the same key sequence (kafkajs overlaps only partitions).
//!
//! `BENCH_KO_ONLY=<text>` (a development aid) runs only the variants whose short name
//! (`ours c=64 uniform`, `PC c=64 Zipf`, `kafkajs p=16 uniform`, …) contains the text.
//!
//! Efficiency is the bound `max(N / c, n_max) · d` over the measured time (from the first
//! call's start to the last call's end). The variants run in a balanced order over the
//! rounds; medians come with 95 % bootstrap intervals and the targets with verdicts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consume_runtime::{Config, Runtime};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::BoxError;
use crate::echo::{self, EchoPool, EchoServer};
use crate::handlers::KO_HANDLERS;
use crate::kafka;
use crate::keyspace::{self, Dist, KEYS, WINDOW_PER_SLOT, Workload, ZIPF_S};
use crate::ko_peers::{self, KoPeerRun};
use crate::machine::Machine;
use crate::report::thousands;
use crate::stats::{Interval, Verdict, balanced_order, bootstrap, median, ratio};

/// The medians of one key-ordered run, for the comparison table and the chart.
#[derive(Debug, Clone)]
pub(crate) struct KeyOrdered {
    /// The markdown section.
    pub(crate) body: String,
    /// Median msgs/s of ours one at a time (`c = 1`), uniform keys.
    pub(crate) sequential: f64,
    /// Median msgs/s of ours at `concurrency = 64`, uniform keys.
    pub(crate) parallel: f64,
    /// Median msgs/s of kafkajs (16 partitions, `partitionsConsumedConcurrently = 16`),
    /// uniform keys, if it ran.
    pub(crate) kafkajs: Option<f64>,
    /// Median msgs/s of Parallel Consumer (`maxConcurrency = 64`), uniform keys, if it ran.
    pub(crate) parallel_consumer: Option<f64>,
    /// Order violations over every variant and round (0, or the run fails).
    pub(crate) violations: u64,
}

/// The echo stub's delay.
pub(crate) const DELAY: Duration = Duration::from_millis(2);
/// The concurrency the targets and the peers are compared at.
const HEADLINE: u32 = 64;
/// kafkajs' topic partitions and `partitionsConsumedConcurrently`.
const KAFKAJS_PARTITIONS: u32 = 16;
/// Rounds of the full run (`--rounds` overrides).
const ROUNDS: usize = 5;
/// Records of the peers' untimed warm-up (JIT) before their timed topic.
const WARMUP: usize = 3_000;
const SMOKE_WARMUP: usize = 300;
/// Round trips of the stub's calibration.
const CALIBRATION_TRIPS: usize = 200;
/// Efficiency targets (issue 17).
const TARGET_UNIFORM: f64 = 0.95;
const TARGET_ZIPF: f64 = 0.6;
/// Ours / Parallel Consumer at the same concurrency, same stub.
const TARGET_VS_PC: f64 = 1.0;
/// The markdown section id.
pub(crate) const SECTION_ID: &str = "key-ordered";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts handled messages and checks each key's sequence numbers arrive as 0, 1, 2, …
#[derive(Debug, Default)]
pub(crate) struct KeyOrderProbe {
    handled: AtomicU64,
    violations: AtomicU64,
    /// Per key: the next expected sequence number, and its calls' round trips summed.
    next: Mutex<HashMap<String, (u64, Duration)>>,
    started: OnceLock<Instant>,
    last: Mutex<Option<Instant>>,
    /// Handled messages at which `all_done` is notified (0: never).
    target: u64,
    /// Notified at the first call's start.
    first_call: tokio::sync::Notify,
    /// Notified when `target` messages were handled.
    all_done: tokio::sync::Notify,
}

impl KeyOrderProbe {
    /// The largest per-key sum of round trips.
    fn busiest_key_io(&self) -> Duration {
        lock(&self.next)
            .values()
            .map(|(_, io)| *io)
            .max()
            .unwrap_or_default()
    }

    /// A call starts (the clock starts at the first).
    pub(crate) fn begin(&self) {
        if self.started.get().is_none() && self.started.set(Instant::now()).is_ok() {
            self.first_call.notify_one();
        }
    }

    /// Records one handled message with its sequence number within its key and the time
    /// its round trip took.
    pub(crate) fn record(&self, key: &str, seq: Option<u64>, io: Duration) {
        {
            let mut next = lock(&self.next);
            if !next.contains_key(key) {
                next.insert(key.to_owned(), (0, Duration::ZERO));
            }
            if let Some((expected, key_io)) = next.get_mut(key) {
                if seq != Some(*expected) {
                    self.violations.fetch_add(1, Ordering::Relaxed);
                }
                *expected = seq.map_or(*expected + 1, |s| s + 1);
                *key_io += io;
            }
        }
        *lock(&self.last) = Some(Instant::now());
        if self.handled.fetch_add(1, Ordering::Release) + 1 == self.target {
            self.all_done.notify_one();
        }
    }
}

/// The state our key-ordered handlers get: the probe and the connections to the stub.
#[derive(Debug)]
pub(crate) struct KoContext {
    probe: KeyOrderProbe,
    echo: EchoPool,
    checksum: AtomicU64,
    errors: AtomicU64,
    io_nanos: AtomicU64,
}

impl KoContext {
    /// A context for a run of `n` messages.
    fn new(echo: SocketAddr, n: u64) -> Self {
        Self {
            probe: KeyOrderProbe {
                target: n,
                ..KeyOrderProbe::default()
            },
            echo: EchoPool::new(echo),
            checksum: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            io_nanos: AtomicU64::new(0),
        }
    }

    /// One record: a round trip to the stub carrying its sequence number, then the order
    /// check.
    pub(crate) async fn handle(&self, key: &str, value: Option<&[u8]>) {
        self.probe.begin();
        let seq: Option<u64> = value
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok());
        let sent = seq.unwrap_or(u64::MAX);
        let t = Instant::now();
        let echoed = self.echo.call(sent).await;
        let io = t.elapsed();
        self.io_nanos.fetch_add(
            u64::try_from(io.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        match echoed {
            Ok(v) if v == sent => {
                self.checksum.fetch_add(v, Ordering::Relaxed);
            }
            _ => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.probe.record(key, seq, io);
    }
}

/// Who consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Our `#[consume]` handler with `concurrency = c`.
    Ours,
    /// Confluent's Parallel Consumer, `ProcessingOrder.KEY`, `maxConcurrency = c`.
    ParallelConsumer,
    /// kafkajs with `partitionsConsumedConcurrently = c` on `c` partitions.
    Kafkajs,
}

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    side: Side,
    dist: Dist,
    /// Calls at once.
    c: u32,
}

impl Variant {
    fn label(self) -> String {
        match self.side {
            Side::Ours => format!("ours, `concurrency = {}`", self.c),
            Side::ParallelConsumer => format!("Parallel Consumer, `maxConcurrency = {}`", self.c),
            Side::Kafkajs => format!("kafkajs, {} partitions", self.c),
        }
    }

    fn short(self) -> String {
        match self.side {
            Side::Ours => format!("ours c={} {}", self.c, self.dist.name()),
            Side::ParallelConsumer => format!("PC c={} {}", self.c, self.dist.name()),
            Side::Kafkajs => format!("kafkajs p={} {}", self.c, self.dist.name()),
        }
    }

    fn partitions(self) -> u32 {
        if self.side == Side::Kafkajs {
            self.c
        } else {
            1
        }
    }

    /// Records read (the whole topic): about 350 calls one after another at the bound
    /// (0.75 s), so the full run stays near 3 minutes.
    fn records(self, smoke: bool) -> usize {
        if smoke {
            return if self.c == 1 { 40 } else { 300 };
        }
        match (self.dist, self.c) {
            (_, 1) => 350,
            (_, 4) => 1_400,
            (Dist::Uniform, 16) => 5_600,
            (Dist::Uniform, _) => 22_400,
            // The hottest key (about 13 %) bounds every c ≥ 8: 2 800 records take about 370
            // calls.
            (Dist::Zipf, _) => 2_800,
        }
    }
}

/// The variants: ours over the sweep, then the peers, for each distribution.
fn variants(with_peers: bool) -> Vec<Variant> {
    let mut v = Vec::new();
    for dist in Dist::ALL {
        for (c, _) in KO_HANDLERS {
            v.push(Variant {
                side: Side::Ours,
                dist,
                c,
            });
        }
        if with_peers {
            v.push(Variant {
                side: Side::ParallelConsumer,
                dist,
                c: HEADLINE,
            });
            v.push(Variant {
                side: Side::Kafkajs,
                dist,
                c: KAFKAJS_PARTITIONS,
            });
        }
    }
    v
}

/// One topic: its records and where they went.
#[derive(Debug)]
struct Topic {
    name: String,
    dist: Dist,
    workload: Workload,
    partitions: u32,
    /// Records per partition.
    per_partition: Vec<u64>,
}

/// One variant's result in one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    count: u64,
    /// First call's start to last call's end.
    elapsed: Duration,
    /// CPU time over `elapsed` (ours: the process less the stub's threads).
    cpu: Option<Duration>,
    /// Start to first call.
    join: Duration,
    violations: u64,
    checksum: u64,
    /// The stub's mean hold time over the variant's run.
    hold: Option<Duration>,
    /// The round trips' durations, summed (as the consumer timed them).
    io: Duration,
    /// The largest of the per-key sums of round trips (a key's calls run one at a time).
    key_io: Duration,
}

impl Sample {
    fn rate(&self) -> f64 {
        ratio(self.count as f64, self.elapsed.as_secs_f64())
    }

    /// The mean round trip as the consumer timed its calls.
    fn mean_round_trip(&self) -> Duration {
        self.io.div_f64(self.count.max(1) as f64)
    }
}

/// Runs the benchmark; returns the markdown section and the medians. `command` is the
/// command line shown in the section.
pub(crate) async fn run(
    rounds: Option<usize>,
    smoke: bool,
    with_peers: bool,
    command: &str,
) -> Result<KeyOrdered, BoxError> {
    let bootstrap = kafka::bootstrap();
    kafka::check_reachable(&bootstrap)?;
    let machine = Machine::detect();
    let rounds = if smoke {
        1
    } else {
        rounds.unwrap_or(ROUNDS).max(1)
    };
    let mut variants = variants(with_peers);
    // A development aid: only the variants whose short name contains this.
    if let Ok(only) = std::env::var("BENCH_KO_ONLY") {
        variants.retain(|v| v.short().contains(&only));
        if variants.is_empty() {
            return Err(format!("BENCH_KO_ONLY={only} selects no variant").into());
        }
    }
    if variants.iter().any(|v| v.side == Side::ParallelConsumer) {
        eprintln!(
            "building the Parallel Consumer peer (bench/parallel-consumer-peer; a no-op when up to date)…"
        );
        tokio::task::spawn_blocking(ko_peers::build_parallel_consumer).await??;
    }
    let server = EchoServer::start(DELAY)?;
    eprintln!(
        "key-ordered: echo stub on {}, delay {} ms",
        server.addr(),
        DELAY.as_millis()
    );

    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let mut topics: Vec<Topic> = Vec::new();
    let mut topic = |dist: Dist, n: usize, p: u32| -> usize {
        if let Some(i) = topics
            .iter()
            .position(|t| t.dist == dist && t.workload.len() == n && t.partitions == p)
        {
            return i;
        }
        topics.push(Topic {
            name: format!("bench-ko-{millis}-{}-{n}-p{p}", dist.name().to_lowercase()),
            dist,
            workload: Workload::new(dist, n),
            partitions: p,
            per_partition: Vec::new(),
        });
        topics.len() - 1
    };
    let topic_of: Vec<usize> = variants
        .iter()
        .map(|v| topic(v.dist, v.records(smoke), v.partitions()))
        .collect();
    // The peers' untimed warm-up: uniform keys, on a topic of their own partitioning.
    let warmup_n = if smoke { SMOKE_WARMUP } else { WARMUP };
    let warmup_of: Vec<Option<usize>> = variants
        .iter()
        .map(|v| (v.side != Side::Ours).then(|| topic(Dist::Uniform, warmup_n, v.partitions())))
        .collect();
    let measured = async {
        for t in &mut topics {
            kafka::create_topic_with(&bootstrap, &t.name, i32::try_from(t.partitions)?).await?;
            t.per_partition = fill(&bootstrap, &t.name, &t.workload, t.partitions).await?;
        }
        eprintln!(
            "key-ordered: {} topics, {} variants, {rounds} round(s) in a balanced order",
            topics.len(),
            variants.len()
        );
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); variants.len()];
        let mut calibrations = Vec::new();
        let mut loads = vec![echo::load_1m()];
        for r in 1..=rounds {
            let d = calibrate(&server).await?;
            eprintln!(
                "round {r}: calibrated round trip {:.3} ms",
                d.as_secs_f64() * 1e3
            );
            calibrations.push(d);
            for i in balanced_order(r, variants.len()) {
                let v = variants[i];
                let t = &topics[topic_of[i]];
                let group = format!("consume-bench-ko-{millis}-{r}-{i}");
                let n = t.workload.len() as u64;
                let wall = Instant::now();
                let s = match v.side {
                    Side::Ours => {
                        measure_ours(&bootstrap, &t.name, v.c, &group, n, &server).await?
                    }
                    side => {
                        let warmup =
                            warmup_of[i].map(|w| (topics[w].name.as_str(), warmup_n as u64));
                        let run = KoPeerRun {
                            bootstrap: &bootstrap,
                            topic: &t.name,
                            group: &group,
                            count: n,
                            concurrency: v.c,
                            echo: server.addr(),
                            warmup,
                        };
                        measure_peer(side, &run, &server).await?
                    }
                };
                check(v, t, &s)?;
                eprintln!(
                    "round {r}: {}: {} msgs/s, efficiency {:.3} ({:.3} at its calls' own \
                     durations, mean {:.3} ms), {} violations, {:.1} s in all",
                    v.short(),
                    thousands(s.rate()),
                    efficiency(v, t, d, &s),
                    occupancy(v, &s),
                    s.mean_round_trip().as_secs_f64() * 1e3,
                    s.violations,
                    wall.elapsed().as_secs_f64()
                );
                samples[i].push(s);
            }
            loads.push(echo::load_1m());
        }
        Ok::<_, BoxError>((samples, calibrations, loads))
    }
    .await;
    for t in &topics {
        if let Err(e) = kafka::delete_topic(&bootstrap, &t.name).await {
            eprintln!("warning: could not delete topic `{}`: {e}", t.name);
        }
    }
    let (samples, calibrations, loads) = measured?;
    // The bound's d: the median of the calibrations before each round.
    let d = Duration::from_secs_f64(median(
        calibrations.iter().map(Duration::as_secs_f64).collect(),
    ));
    let results: Vec<Result_> = variants
        .iter()
        .zip(&samples)
        .zip(&topic_of)
        .map(|((v, s), t)| Result_::new(*v, &topics[*t], d, s))
        .collect();
    let violations = results
        .iter()
        .flat_map(|r| &r.samples)
        .map(|s| s.violations)
        .sum();
    let rate = |side, dist, c| {
        results
            .iter()
            .find(|r| r.v.side == side && r.v.dist == dist && r.v.c == c)
            .map(|r| r.rate.median)
    };
    let body = section(&Section {
        command,
        machine: &machine,
        rounds,
        d,
        calibrations: &calibrations,
        loads: &loads,
        warmup: warmup_n,
        results: &results,
        smoke,
    });
    Ok(KeyOrdered {
        body,
        sequential: rate(Side::Ours, Dist::Uniform, 1).unwrap_or(0.0),
        parallel: rate(Side::Ours, Dist::Uniform, HEADLINE).unwrap_or(0.0),
        kafkajs: rate(Side::Kafkajs, Dist::Uniform, KAFKAJS_PARTITIONS),
        parallel_consumer: rate(Side::ParallelConsumer, Dist::Uniform, HEADLINE),
        violations,
    })
}

/// The stub's round trip as a lone blocking client sees it, now.
async fn calibrate(server: &EchoServer) -> Result<Duration, BoxError> {
    let addr = server.addr();
    Ok(tokio::task::spawn_blocking(move || echo::calibrate(addr, CALIBRATION_TRIPS)).await??)
}

/// A sample must have handled every record exactly once, in key order, each with its round
/// trip.
fn check(v: Variant, t: &Topic, s: &Sample) -> Result<(), BoxError> {
    let who = v.short();
    let n = t.workload.len() as u64;
    if s.count != n {
        return Err(format!("{who}: handled {} of {n} records", s.count).into());
    }
    if s.violations > 0 {
        return Err(format!("{who}: {} per-key order violations", s.violations).into());
    }
    let expected = t.workload.checksum();
    if s.checksum != expected {
        return Err(format!(
            "{who}: the echoed values add up to {}, the topic's sequence numbers to {expected}",
            s.checksum
        )
        .into());
    }
    Ok(())
}

/// The bound the calls' own durations set over the measured time: at most c calls at once
/// and a key's calls one at a time, so `T ≥ max(Σ round trips / c, max_k Σ_k round trips)`.
fn occupancy(v: Variant, s: &Sample) -> f64 {
    let slots = s.io.as_secs_f64() / f64::from(v.c.max(1));
    ratio(slots.max(s.key_io.as_secs_f64()), s.elapsed.as_secs_f64())
}

/// The bound over the measured time.
fn efficiency(v: Variant, t: &Topic, d: Duration, s: &Sample) -> f64 {
    ratio(bound(v, t, d).as_secs_f64(), s.elapsed.as_secs_f64())
}

/// `max(N / c, n_max) · d` for the variant's topic.
fn bound(v: Variant, t: &Topic, d: Duration) -> Duration {
    d.mul_f64(keyspace::lower_bound(
        t.workload.len() as u64,
        t.workload.hottest(),
        v.c,
    ))
}

/// Produces `workload` to `topic` (key `learner-<k>`, value the record's sequence number
/// within its key), in order; returns the records per partition (librdkafka's default
/// partitioner keeps each key in one partition).
async fn fill(
    bootstrap: &str,
    topic: &str,
    workload: &Workload,
    partitions: u32,
) -> Result<Vec<u64>, BoxError> {
    let producer: FutureProducer = kafka::base_config(bootstrap)
        .set("linger.ms", "20")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()?;
    let records = workload.records();
    let mut per_partition = vec![0u64; partitions as usize];
    for chunk in records.chunks(5_000) {
        // Enqueue the whole chunk, then wait for its delivery reports.
        let mut reports = Vec::with_capacity(chunk.len());
        for (k, seq) in chunk {
            let v = seq.to_string();
            let record = FutureRecord::to(topic).key(k).payload(&v);
            let report = producer
                .send_result(record)
                .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
            reports.push(report);
        }
        for r in reports {
            let delivered = r
                .await
                .map_err(|_| "the producer was dropped")?
                .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
            if let Some(c) = usize::try_from(delivered.partition)
                .ok()
                .and_then(|p| per_partition.get_mut(p))
            {
                *c += 1;
            }
        }
    }
    Ok(per_partition)
}

/// The process's CPU time less the stub's threads'.
fn own_cpu(server: &EchoServer) -> Option<Duration> {
    Some(echo::process_cpu()?.saturating_sub(server.cpu()?))
}

/// Runs our handler with `concurrency = c` with a fresh group until it handled the `n`
/// records of `topic`.
async fn measure_ours(
    bootstrap: &str,
    topic: &str,
    c: u32,
    group: &str,
    n: u64,
    server: &EchoServer,
) -> Result<Sample, BoxError> {
    let handler = KO_HANDLERS
        .iter()
        .find(|(k, _)| *k == c)
        .map(|(_, h)| *h)
        .ok_or_else(|| format!("no key-ordered handler with concurrency {c}"))?;
    let ctx = Arc::new(KoContext::new(server.addr(), n));
    let mut config = Config::new(bootstrap);
    config.client_id = "consume-bench-ko".to_owned();
    // The handlers never fail, and with dead letters on the runtime would create an empty
    // `<topic>.<group>.dlq` topic at every start (one per fresh group, left on the broker).
    let runtime = Runtime::new(config)
        .only([handler])
        .var("BENCH_KO_TOPIC", topic)
        .var("BENCH_KO_GROUP", group)
        .dead_letters(false)
        .state(Arc::clone(&ctx));
    let launched = Instant::now();
    let served = server.served();
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
    let deadline = launched + Duration::from_secs(60) + Duration::from_millis(2 * n);
    // The CPU samples are taken when the first call starts and when the n-th call ends
    // (notified by the probe; `/proc` counts in 10 ms ticks).
    let mut cpu_first = None;
    for (notify, first) in [(&ctx.probe.first_call, true), (&ctx.probe.all_done, false)] {
        loop {
            let woken = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
            if woken.is_ok() {
                break;
            }
            if ended.load(Ordering::SeqCst) || Instant::now() > deadline {
                let _ = stop.send(());
                let result = task.await;
                return Err(format!(
                    "ours, concurrency {c}: handled only {} of {n} messages ({result:?})",
                    ctx.probe.handled.load(Ordering::Acquire)
                )
                .into());
            }
        }
        if first {
            cpu_first = own_cpu(server);
        }
    }
    let cpu_last = own_cpu(server);
    let hold = server.served().mean_hold_since(&served);
    let end = *lock(&ctx.probe.last);
    let handled = ctx.probe.handled.load(Ordering::Acquire);
    let _ = stop.send(());
    task.await
        .map_err(|e| format!("the runtime task panicked: {e}"))?
        .map_err(|e| format!("the runtime failed: {e}"))?;
    let (Some(first), Some(end)) = (ctx.probe.started.get().copied(), end) else {
        return Err("no message was handled".into());
    };
    let errors = ctx.errors.load(Ordering::Relaxed);
    if errors > 0 {
        return Err(format!("ours, concurrency {c}: {errors} echo round trips failed").into());
    }
    Ok(Sample {
        count: handled,
        elapsed: end.duration_since(first),
        cpu: cpu_first.zip(cpu_last).map(|(a, b)| b.saturating_sub(a)),
        join: first.duration_since(launched),
        violations: ctx.probe.violations.load(Ordering::Relaxed),
        checksum: ctx.checksum.load(Ordering::Relaxed),
        hold,
        io: Duration::from_nanos(ctx.io_nanos.load(Ordering::Relaxed)),
        key_io: ctx.probe.busiest_key_io(),
    })
}

/// Runs a peer (a child process) with a fresh group until it handled every record of its
/// topic.
async fn measure_peer(
    side: Side,
    run: &KoPeerRun<'_>,
    server: &EchoServer,
) -> Result<Sample, BoxError> {
    let served = server.served();
    let (b, t, g) = (
        run.bootstrap.to_owned(),
        run.topic.to_owned(),
        run.group.to_owned(),
    );
    let warmup = run.warmup.map(|(w, n)| (w.to_owned(), n));
    let (count, concurrency, echo) = (run.count, run.concurrency, run.echo);
    let report = tokio::task::spawn_blocking(move || {
        let run = KoPeerRun {
            bootstrap: &b,
            topic: &t,
            group: &g,
            count,
            concurrency,
            echo,
            warmup: warmup.as_ref().map(|(w, n)| (w.as_str(), *n)),
        };
        if side == Side::ParallelConsumer {
            ko_peers::run_parallel_consumer(&run)
        } else {
            ko_peers::run_kafkajs(&run)
        }
    })
    .await??;
    Ok(Sample {
        count: report.count,
        elapsed: report.elapsed,
        cpu: Some(report.cpu),
        join: report.join,
        violations: report.violations,
        checksum: report.checksum,
        hold: server.served().mean_hold_since(&served),
        io: report.io,
        key_io: report.key_io,
    })
}

/// One variant over the rounds.
#[derive(Debug)]
struct Result_ {
    v: Variant,
    samples: Vec<Sample>,
    records: u64,
    hottest: u64,
    /// The largest partition's records (kafkajs: one at a time per partition).
    largest_partition: u64,
    bound: Duration,
    /// Our loop's policy with calls of exactly `d` (ours only).
    lookahead: Option<Duration>,
    rate: Interval,
    efficiency: Interval,
    /// [`occupancy`]: the bound of the calls' own durations over the measured time.
    at_round_trip: Interval,
    /// CPU ms per 1 000 records.
    cpu_per_k: Option<f64>,
    /// Median of the stub's mean hold time.
    hold: Option<Duration>,
    /// Median of the mean round trip as the consumer timed it.
    call: Duration,
    join: Duration,
}

impl Result_ {
    fn new(v: Variant, t: &Topic, d: Duration, samples: &[Sample]) -> Self {
        let rates: Vec<f64> = samples.iter().map(Sample::rate).collect();
        let effs: Vec<f64> = samples.iter().map(|s| efficiency(v, t, d, s)).collect();
        let at_rt: Vec<f64> = samples.iter().map(|s| occupancy(v, s)).collect();
        let cpu: Vec<f64> = samples
            .iter()
            .filter_map(|s| Some(s.cpu?.as_secs_f64() * 1e6 / s.count.max(1) as f64))
            .collect();
        let holds: Vec<f64> = samples
            .iter()
            .filter_map(|s| Some(s.hold?.as_secs_f64()))
            .collect();
        let c = v.c as usize;
        Self {
            v,
            samples: samples.to_vec(),
            records: t.workload.len() as u64,
            hottest: t.workload.hottest(),
            largest_partition: t.per_partition.iter().copied().max().unwrap_or(0),
            bound: bound(v, t, d),
            lookahead: (v.side == Side::Ours).then(|| {
                let units = keyspace::window_makespan(&t.workload.keys, c, WINDOW_PER_SLOT * c);
                d * u32::try_from(units).unwrap_or(u32::MAX)
            }),
            rate: bootstrap(&rates),
            efficiency: bootstrap(&effs),
            at_round_trip: bootstrap(&at_rt),
            cpu_per_k: (cpu.len() == samples.len() && !cpu.is_empty()).then(|| median(cpu)),
            hold: (!holds.is_empty()).then(|| Duration::from_secs_f64(median(holds))),
            call: Duration::from_secs_f64(median(
                samples
                    .iter()
                    .map(|s| s.mean_round_trip().as_secs_f64())
                    .collect(),
            )),
            join: Duration::from_secs_f64(median(
                samples.iter().map(|s| s.join.as_secs_f64()).collect(),
            )),
        }
    }
}

/// What the section is made of.
struct Section<'a> {
    command: &'a str,
    machine: &'a Machine,
    rounds: usize,
    d: Duration,
    calibrations: &'a [Duration],
    /// The 1-minute load average before the rounds and after each.
    loads: &'a [Option<f64>],
    warmup: usize,
    results: &'a [Result_],
    smoke: bool,
}

/// `median (lo–hi)` with `f` for each number.
fn ci(i: &Interval, f: impl Fn(f64) -> String) -> String {
    format!("{} ({}–{})", f(i.median), f(i.lo), f(i.hi))
}

fn two(x: f64) -> String {
    format!("{x:.2}")
}

fn three(x: f64) -> String {
    format!("{x:.3}")
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Per-round ratios `num / den` of two variants' rates (rounds where both ran).
fn ratio_interval(num: &Result_, den: &Result_) -> Interval {
    let per_round: Vec<f64> = num
        .samples
        .iter()
        .zip(&den.samples)
        .map(|(a, b)| ratio(a.rate(), b.rate()))
        .collect();
    bootstrap(&per_round)
}

fn find(results: &[Result_], side: Side, dist: Dist, c: u32) -> Option<&Result_> {
    results
        .iter()
        .find(|r| r.v.side == side && r.v.dist == dist && r.v.c == c)
}

/// The markdown section.
fn section(s: &Section<'_>) -> String {
    let mut out = String::new();
    let d_ms = s.d.as_secs_f64() * 1e3;
    let results = s.results;
    let _ = writeln!(
        out,
        "## Key-ordered concurrency: efficiency against the bound, a concurrency sweep, Parallel Consumer and kafkajs\n"
    );
    let _ = writeln!(out, "- Command: `{}`", s.command);
    let _ = writeln!(
        out,
        "- Machine: {}; 1-minute load average before the rounds and after each: {} (2 cores: \
         above 2, processes wait for a core, this run's and any other's)",
        s.machine.one_line(),
        s.loads
            .iter()
            .map(|l| l.map_or_else(|| "?".to_owned(), |l| format!("{l:.2}")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if s.smoke {
        let _ = writeln!(
            out,
            "- **Smoke run**: tiny topics and one round; the numbers below mean nothing."
        );
    }
    let pc = results.iter().any(|r| r.v.side == Side::ParallelConsumer);
    let kjs = results.iter().any(|r| r.v.side == Side::Kafkajs);
    let _ = writeln!(
        out,
        "- **I/O stub, the same for every side**: a TCP echo server on 127.0.0.1 started by the \
         harness (`bench/src/echo.rs`): each 8-byte request (the record's sequence number) is \
         answered with the same bytes {} ms after it arrived, many connections at once, one \
         request at a time per connection. tokio's 1 ms timer is too coarse for that, so a \
         thread of its own answers the requests at their deadlines (precision: the kernel's \
         timer slack, plus the run queue's delay on a busy machine). Calibrated before each round: a lone blocking client's median round \
         trip over {CALIBRATION_TRIPS} round trips ({} ms); the bound uses their median, \
         **d = {d_ms:.3} ms**.",
        DELAY.as_millis(),
        s.calibrations
            .iter()
            .map(|c| ms(*c))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = writeln!(
        out,
        "- **Keys**: each record's key drawn independently from {KEYS} keys, **uniform** or \
         **Zipf with s = {ZIPF_S}** (key of rank r with probability r^-s / H; the hottest key \
         13.4 % of the records, the ten hottest 39 %), by a fixed-seed generator, every topic \
         of a distribution holding a prefix of one sequence (`bench/src/keyspace.rs`). A \
         record's value is its sequence number within its key; every side checks each key's \
         numbers arrive as 0, 1, 2, … (violations must be 0) and sums the echoed values (must \
         equal the topic's sum)."
    );
    let _ = writeln!(
        out,
        "- **Ours**: a `#[consume(…, concurrency = c)]` handler per c (`bench_ko_c1` … \
         `bench_ko_c256` in `bench/src/handlers.rs`; c = 1 is the default one-at-a-time \
         handler; dead letters off, as the handlers never fail) on a one-partition topic; \
         each call takes a connection from a pool (opened \
         when none is free, so at most c), does the round trip and gives it back. A \
         connection per call would add a TCP handshake, an accept and a close to every call: \
         measured here (16 tasks × 300 calls, `cargo test --release -p consume-bench -- \
         --ignored pool_vs --nocapture`), about 85 µs of CPU per call (client and stub) and \
         0.6 ms more per call, against about 25 µs pooled."
    );
    if pc {
        let _ = writeln!(
            out,
            "- **Confluent Parallel Consumer {}** (Maven Central, kafka-clients {} as it \
             resolves; `bench/parallel-consumer-peer`, built by its `build.sh`), a JVM child \
             process (`{}`, `-Xmx512m`): `ProcessingOrder.KEY`, `maxConcurrency = {HEADLINE}`, \
             the other options at their defaults (commit mode \
             `PERIODIC_CONSUMER_ASYNCHRONOUS`, batch size 1, buffer sized by its dynamic load \
             factor), `poll(…)` doing the round trip on a blocking socket kept per worker \
             thread; the same topics as ours at c = {HEADLINE}. Its clock, CPU and checks are \
             its own and defined as ours.",
            ko_peers::parallel_consumer_version(),
            ko_peers::parallel_consumer_kafka_clients(),
            ko_peers::java_version(),
        );
    }
    if kjs {
        let _ = writeln!(
            out,
            "- **kafkajs** (the seed's stack), `eachMessage` with \
             `partitionsConsumedConcurrently = {KAFKAJS_PARTITIONS}` on a \
             {KAFKAJS_PARTITIONS}-partition topic holding the same key sequence (keyed \
             partitioner: each key in one partition, in order), a pool of `net` sockets \
             (`tests/interop/node/bench_key_ordered.js`). kafkajs handles each partition one \
             message at a time, so it overlaps at most {KAFKAJS_PARTITIONS} calls and a \
             partition's records never overlap: its own limit is the largest partition's \
             records × d, above the key-ordered bound at c = {KAFKAJS_PARTITIONS}."
        );
    }
    if pc || kjs {
        let _ = writeln!(
            out,
            "- **Warm-up**: before its timed topic, each peer process reads the first {} \
             records of a uniform topic (its own partitioning) with another instance and \
             group, untimed, so the JIT (HotSpot, V8) has compiled the same code paths; the \
             timed instance starts warm, its adaptive buffers (Parallel Consumer's load \
             factor) at their initial size as after any restart. Ours needs no JIT and runs in \
             the harness process, which the calibration and the earlier variants have run.",
            s.warmup
        );
    }
    let _ = writeln!(
        out,
        "- **Clock and CPU**: each variant reads its whole topic from offset 0 with a fresh \
         group; the clock runs from the first call's start to the last call's end (group join \
         and start-up excluded); msgs/s = records / that time. CPU: the consumer process's \
         user + system time over the same span (ours: the harness process less the stub's two \
         threads), in ms per 1 000 records. *Round trip*: the mean of the consumer's own timing of its \
         calls (send to reply read) in the run, against d from the calibration: what the load \
         (ours, the stub, the broker, the machine's other work) added to each call. *Stub \
         hold*: request read to reply about to be written, mean over the variant's run: the \
         stub's own share of that."
    );
    let _ = writeln!(
        out,
        "- **Efficiency** = T_bound / T_measured with T_bound = **max(N / c, n_max) · d**: N \
         records, at most c calls at once, n_max the hottest key's records (they run one after \
         another), d the calibrated round trip. No key-ordered schedule can beat it, whatever \
         its look-ahead, as long as its calls take d (d is measured, so a round whose calls \
         ran a little faster than the calibration's median can show slightly above 1). \
         *Efficiency at the calls' own durations* replaces N·d and n_max·d by what the \
         consumer's calls actually took, as it timed them: max(Σ round trips / c, the largest \
         per-key Σ round trips) / T_measured, a true bound (at most c calls overlap, a key's \
         never do): near 1 means the consumer kept its slots (or its busiest key) busy the \
         whole time and lost only through slower calls; below it, slots stood empty. Ours \
         reads ahead at most {WINDOW_PER_SLOT}·c records from the oldest unsettled one, so a hot key can stop it from reading far enough to fill its slots: \
         the *look-ahead ideal* plays exactly that policy on the topic's keys with calls of \
         exactly d and no other cost (`keyspace::window_makespan`); ideal / bound is what the \
         window alone gives away."
    );
    let _ = writeln!(
        out,
        "- **Rounds**: {} round(s); each round runs the {} variants in a balanced (Williams) \
         order (`stats::balanced_order`); medians over the rounds with 95 % bootstrap \
         intervals (4 000 resamples; min–max below 3 rounds); a target is met only when its \
         interval clears it.\n",
        s.rounds,
        results.len()
    );

    // Targets.
    let _ = writeln!(
        out,
        "| target | measured: median (95 % interval) | verdict |"
    );
    let _ = writeln!(out, "|---|---:|---|");
    for (dist, target) in [(Dist::Uniform, TARGET_UNIFORM), (Dist::Zipf, TARGET_ZIPF)] {
        if let Some(r) = find(results, Side::Ours, dist, HEADLINE) {
            let _ = writeln!(
                out,
                "| efficiency, {} keys, `concurrency = {HEADLINE}` ≥ {target} | {} | **{}** |",
                dist.name(),
                ci(&r.efficiency, three),
                r.efficiency.at_least(target).word()
            );
        }
    }
    for dist in Dist::ALL {
        if let (Some(o), Some(p)) = (
            find(results, Side::Ours, dist, HEADLINE),
            find(results, Side::ParallelConsumer, dist, HEADLINE),
        ) {
            let i = ratio_interval(o, p);
            let _ = writeln!(
                out,
                "| ours / Parallel Consumer, {} keys, both at {HEADLINE} ≥ {TARGET_VS_PC}× | {}× | **{}** |",
                dist.name(),
                ci(&i, two),
                i.at_least(TARGET_VS_PC).word()
            );
        }
    }
    let total: u64 = results
        .iter()
        .flat_map(|r| &r.samples)
        .map(|s| s.count)
        .sum();
    let _ = writeln!(
        out,
        "| per-key order violations = 0 | 0 in {} records handled | **{}** |\n",
        thousands(total as f64),
        Verdict::Met.word()
    );

    // The variants.
    let _ = writeln!(
        out,
        "| variant | keys | records | hottest key | bound, s | look-ahead ideal / bound | msgs/s: median (95 % interval) | efficiency: median (95 % interval) | round trip, ms | efficiency at the calls' own durations | CPU ms / 1 000 records | stub hold, ms | start to first call, s |"
    );
    let _ = writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({:.1} %) | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.v.label(),
            r.v.dist.name(),
            thousands(r.records as f64),
            r.hottest,
            ratio(r.hottest as f64, r.records as f64) * 100.0,
            secs(r.bound),
            r.lookahead.map_or_else(
                || "—".to_owned(),
                |l| format!("{:.3}", ratio(l.as_secs_f64(), r.bound.as_secs_f64()))
            ),
            ci(&r.rate, thousands),
            ci(&r.efficiency, three),
            ms(r.call),
            ci(&r.at_round_trip, three),
            r.cpu_per_k
                .map_or_else(|| "—".to_owned(), |c| format!("{c:.0}")),
            r.hold.map_or_else(|| "—".to_owned(), ms),
            secs(r.join),
        );
    }
    let _ = writeln!(out);

    // Context ratios.
    let mut context = Vec::new();
    for dist in Dist::ALL {
        let head = find(results, Side::Ours, dist, HEADLINE);
        if let (Some(o), Some(seq)) = (head, find(results, Side::Ours, dist, 1)) {
            context.push(format!(
                "ours `concurrency = {HEADLINE}` / one at a time, {} keys: {}×",
                dist.name(),
                ci(&ratio_interval(o, seq), |x| format!("{x:.1}"))
            ));
        }
        if let (Some(o), Some(k)) = (head, find(results, Side::Kafkajs, dist, KAFKAJS_PARTITIONS)) {
            context.push(format!(
                "ours `concurrency = {HEADLINE}` / kafkajs on {KAFKAJS_PARTITIONS} partitions, {} keys: {}× \
                 (kafkajs' own limit, its largest partition: {} records, {} s)",
                dist.name(),
                ci(&ratio_interval(o, k), |x| format!("{x:.1}")),
                k.largest_partition,
                secs(s.d * u32::try_from(k.largest_partition).unwrap_or(u32::MAX)),
            ));
        }
    }
    if !context.is_empty() {
        let _ = writeln!(
            out,
            "Ratios of rates, per round then median (95 % interval):\n"
        );
        for c in context {
            let _ = writeln!(out, "- {c}");
        }
        let _ = writeln!(out);
    }

    // What the numbers say.
    let _ = writeln!(out, "Reading the results:\n");
    for line in reading(s) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out);

    // Every number.
    let _ = write!(
        out,
        "msgs/s per round (round r ran the variants in `balanced_order(r, {})`):\n\n| variant |",
        results.len()
    );
    for r in 1..=s.rounds {
        let _ = write!(out, " round {r} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in 0..s.rounds {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);
    for r in results {
        let _ = write!(out, "| {} |", r.v.short());
        for smp in &r.samples {
            let _ = write!(out, " {} |", thousands(smp.rate()));
        }
        let _ = writeln!(out);
    }
    out
}

/// A few sentences on what limits each side, with this run's numbers.
fn reading(s: &Section<'_>) -> Vec<String> {
    let results = s.results;
    let mut out = Vec::new();
    let uniform: Vec<&Result_> = results
        .iter()
        .filter(|r| r.v.side == Side::Ours && r.v.dist == Dist::Uniform)
        .collect();
    if !uniform.is_empty() {
        let rows: Vec<String> = uniform
            .iter()
            .map(|r| {
                format!(
                    "c = {}: bound {} msgs/s, measured {} ({:.2}), round trip {} ms, {:.2} at the \
                     calls' own durations",
                    r.v.c,
                    thousands(ratio(r.records as f64, r.bound.as_secs_f64())),
                    thousands(r.rate.median),
                    r.efficiency.median,
                    ms(r.call),
                    r.at_round_trip.median
                )
            })
            .collect();
        out.push(format!(
            "**Uniform keys, ours**: the bound is the slots, c calls every d, so it asks c / d \
             msgs/s of one partition: {}. Our key-ordered loop runs a partition's calls in one \
             task (one thread at a time: receive, dispatch, a socket write and read per call, \
             settle, store offsets), on 2 cores shared with the broker, the stub and the \
             machine's other work: as the rate the bound asks for grows, each call waits longer \
             for that task and the round trip grows past d (the efficiency at the calls' own \
             durations stays higher: the slots stay mostly full, the calls get slower).",
            rows.join("; ")
        ));
    }
    let zipf: Vec<&Result_> = results
        .iter()
        .filter(|r| r.v.side == Side::Ours && r.v.dist == Dist::Zipf && r.v.c >= 16)
        .collect();
    if let Some(first) = zipf.first() {
        out.push(format!(
            "**Zipf keys, ours**: from c = 16 on, the hottest key ({} of {} records) is the \
             bound, {} msgs/s whatever c; ours reaches {} of it (c = {}), and the look-ahead \
             window costs nothing here (look-ahead ideal / bound {}): the hottest key's next \
             record is always within 4·c records.",
            first.hottest,
            thousands(first.records as f64),
            thousands(ratio(first.records as f64, first.bound.as_secs_f64())),
            zipf.iter()
                .map(|r| format!("{:.2}", r.efficiency.median))
                .collect::<Vec<_>>()
                .join(", "),
            zipf.iter()
                .map(|r| r.v.c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            zipf.iter()
                .filter_map(|r| r.lookahead)
                .map(|l| format!("{:.3}", ratio(l.as_secs_f64(), first.bound.as_secs_f64())))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    for dist in Dist::ALL {
        if let (Some(o), Some(p)) = (
            find(results, Side::Ours, dist, HEADLINE),
            find(results, Side::ParallelConsumer, dist, HEADLINE),
        ) {
            out.push(format!(
                "**Parallel Consumer, {} keys**: {} msgs/s against ours {}; its calls' mean \
                 round trip {} ms (ours {}), {:.2} at its calls' own durations (ours {:.2}), \
                 {} ms of CPU per 1 000 records (ours {}): {} worker threads each blocking \
                 on its socket, on 2 cores.",
                dist.name(),
                thousands(p.rate.median),
                thousands(o.rate.median),
                ms(p.call),
                ms(o.call),
                p.at_round_trip.median,
                o.at_round_trip.median,
                p.cpu_per_k
                    .map_or_else(|| "?".to_owned(), |c| format!("{c:.0}")),
                o.cpu_per_k
                    .map_or_else(|| "?".to_owned(), |c| format!("{c:.0}")),
                HEADLINE,
            ));
        }
    }
    for dist in Dist::ALL {
        if let Some(k) = find(results, Side::Kafkajs, dist, KAFKAJS_PARTITIONS) {
            let own = s.d * u32::try_from(k.largest_partition).unwrap_or(u32::MAX);
            out.push(format!(
                "**kafkajs, {} keys**: one call at a time per partition, so its own limit is \
                 its largest partition, {} records × d = {} s (the key-ordered bound at c = \
                 {KAFKAJS_PARTITIONS}: {} s); it took {:.3} s (median).",
                dist.name(),
                k.largest_partition,
                secs(own),
                secs(k.bound),
                ratio(k.records as f64, k.rate.median),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_counts_order_violations_per_key() {
        let p = KeyOrderProbe::default();
        let ms = Duration::from_millis;
        p.begin();
        p.record("a", Some(0), ms(2));
        p.record("b", Some(0), ms(3));
        p.record("a", Some(1), ms(2));
        assert_eq!(p.violations.load(Ordering::Relaxed), 0);
        assert_eq!(p.busiest_key_io(), ms(4));
        p.record("a", Some(3), ms(2));
        p.record("b", None, ms(4));
        assert_eq!(p.busiest_key_io(), ms(7));
        assert_eq!(p.violations.load(Ordering::Relaxed), 2);
        assert_eq!(p.handled.load(Ordering::Relaxed), 5);
        assert!(p.started.get().is_some());
    }

    #[test]
    fn every_variant_has_a_handler_and_a_topic_size() {
        let v = variants(true);
        assert_eq!(v.len(), 2 * (KO_HANDLERS.len() + 2));
        for x in &v {
            assert!(x.records(false) >= 350 && x.records(true) >= 40);
            assert_eq!(x.partitions() > 1, x.side == Side::Kafkajs);
        }
        assert_eq!(variants(false).len(), 2 * KO_HANDLERS.len());
        // Parallel Consumer reads the topic ours reads at the same concurrency.
        let pc = v.iter().find(|x| x.side == Side::ParallelConsumer).unwrap();
        let ours = Variant {
            side: Side::Ours,
            ..*pc
        };
        assert_eq!(pc.records(false), ours.records(false));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handler_call_makes_a_round_trip_and_checks_order() {
        let server = EchoServer::start(Duration::from_millis(2)).unwrap();
        let ctx = KoContext::new(server.addr(), 3);
        ctx.handle("k", Some(b"0")).await;
        ctx.handle("k", Some(b"1")).await;
        ctx.handle("j", Some(b"5")).await;
        assert_eq!(ctx.checksum.load(Ordering::Relaxed), 6);
        assert_eq!(ctx.errors.load(Ordering::Relaxed), 0);
        assert_eq!(ctx.probe.violations.load(Ordering::Relaxed), 1);
        assert_eq!(server.served().requests, 3);
    }
}
