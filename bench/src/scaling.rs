//! `--scaling` (and part of `--all`): how the framework scales, in four runs.
//!
//! 1. **Partitions**: the no-op handler (b1) and the split-queue raw loop (a′) on topics of
//!    1, 4 and 16 partitions holding the same records, the six in a balanced order per round;
//!    the ratio rate(16) / rate(4) per round, with its bootstrap interval.
//! 2. **Two processes in one group**: one member process against two (each the benchmark
//!    binary as a `member.rs` child running the no-op handler), on the 4-partition topic;
//!    the clock runs from the first record any member handled to the moment their summed
//!    count reaches the topic's size (each member reports every 5 ms).
//! 3. **Memory and threads per handler**: a member process with 1, 10 and 50 no-op handlers
//!    (each its own group, so its own librdkafka consumer) that have all read a small topic;
//!    against it, one JVM with 1, 10 and 50 `KafkaConsumer`s, each in its own thread and
//!    group (`bench/java-scale/ManyConsumers.java`, compiled with `javac` against the Kafka
//!    jars `infra/up` installed). Per handler: (RSS at 50 − RSS at 1) / 49.
//! 4. **A backlog**: a member whose handler takes 1 ms per record, on the 4-partition topic
//!    of unread records, for a few seconds: librdkafka fills each partition's fetch queue up
//!    to `queued.min.messages` records or `queued.max.messages.kbytes`, whichever comes first,
//!    *per partition* (each queue is split off); the peak RSS with the defaults and with the
//!    bounds shown.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::machine::Machine;
use crate::measure::Variant;
use crate::member::{self, Settings};
use crate::peers::repo_dir;
use crate::report::thousands;
use crate::rounds::Target;
use crate::stats::{Interval, Verdict, balanced_order, bootstrap, median, ratio};
use crate::{BoxError, framework, handlers, kafka, raw, registry, setup};

/// The section id.
pub(crate) const SECTION_ID: &str = "scaling";

/// Partition counts compared.
const PARTITION_COUNTS: [i32; 3] = [1, 4, 16];
/// Handler counts compared for memory.
const HANDLER_COUNTS: [usize; 3] = [1, 10, 50];
/// Records in the memory run's topic.
const MEMORY_RECORDS: u64 = 10_000;
/// The backlog run's librdkafka settings on top of the runtime's: librdkafka's own
/// defaults, the runtime's (none), and tighter bounds.
const BACKLOG_SETTINGS: [(&str, &[(&str, &str)]); 3] = [
    (
        "librdkafka's defaults",
        &[
            ("queued.min.messages", "100000"),
            ("queued.max.messages.kbytes", "65536"),
        ],
    ),
    ("the runtime's defaults", &[]),
    (
        "tighter",
        &[
            ("queued.min.messages", "5000"),
            ("queued.max.messages.kbytes", "4096"),
        ],
    ),
];

/// What to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Records in each partition-scaling topic.
    pub(crate) messages: u64,
    /// Rounds of the partition and two-process runs.
    pub(crate) rounds: usize,
    /// Seconds of each backlog run.
    pub(crate) backlog_seconds: u64,
    /// Whether the Java side of the memory run runs.
    pub(crate) java: bool,
}

impl Plan {
    /// The full run, or a smoke run (seconds).
    pub(crate) fn new(smoke: bool, messages: u64, rounds: Option<usize>, java: bool) -> Self {
        if smoke {
            Self {
                messages: messages.min(20_000),
                rounds: 1,
                backlog_seconds: 2,
                java,
            }
        } else {
            Self {
                messages: messages / 2,
                rounds: rounds.unwrap_or(5),
                backlog_seconds: 6,
                java,
            }
        }
    }
}

/// Topics this run created (deleted at the end).
struct Topics {
    bootstrap: String,
    names: Vec<String>,
}

impl Topics {
    async fn create(
        &mut self,
        base: &Target,
        name: String,
        partitions: i32,
        records: u64,
    ) -> Result<String, BoxError> {
        let id = registry::register_value_schema(&base.registry, &name).await?;
        kafka::create_topic_with(&self.bootstrap, &name, partitions).await?;
        self.names.push(name.clone());
        setup::fill_topic(&self.bootstrap, &name, records, id).await?;
        Ok(name)
    }

    async fn delete(self) {
        for t in &self.names {
            if let Err(e) = kafka::delete_topic(&self.bootstrap, t).await {
                eprintln!("warning: could not delete topic `{t}`: {e}");
            }
        }
    }
}

/// Runs the four scaling runs and returns the markdown section.
pub(crate) async fn run(
    base: &Target,
    plan: Plan,
    command: &str,
    machine: &Machine,
) -> Result<String, BoxError> {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let prefix = format!("bench-scale-{millis}");
    let mut topics = Topics {
        bootstrap: base.bootstrap.clone(),
        names: Vec::new(),
    };
    let result = async {
        let mut by_partitions = Vec::new();
        for p in PARTITION_COUNTS {
            let t = topics
                .create(base, format!("{prefix}-p{p}"), p, plan.messages)
                .await?;
            by_partitions.push((p, t));
        }
        let small = topics
            .create(base, format!("{prefix}-small"), 4, MEMORY_RECORDS)
            .await?;
        let partitions = partition_rounds(base, &by_partitions, plan, &prefix).await?;
        let four = &by_partitions[1].1;
        let processes = process_rounds(base, four, plan, &prefix).await?;
        let memory = memory_runs(base, &small, plan, &prefix).await?;
        let backlog = backlog_runs(base, four, plan, &prefix).await?;
        Ok::<_, BoxError>(section(
            plan,
            command,
            machine,
            &partitions,
            &processes,
            &memory,
            &backlog,
        ))
    }
    .await;
    topics.delete().await;
    result
}

/// One partition-scaling measurement.
#[derive(Debug, Clone, Copy)]
struct PartitionRate {
    round: usize,
    partitions: i32,
    variant: Variant,
    rate: f64,
}

async fn partition_rounds(
    base: &Target,
    topics: &[(i32, String)],
    plan: Plan,
    prefix: &str,
) -> Result<Vec<PartitionRate>, BoxError> {
    let combos: Vec<(i32, &str, Variant)> = topics
        .iter()
        .flat_map(|(p, t)| {
            [Variant::RawSplit, Variant::Framework]
                .into_iter()
                .map(move |v| (*p, t.as_str(), v))
        })
        .collect();
    let mut out = Vec::new();
    for round in 1..=plan.rounds {
        for i in balanced_order(round, combos.len()) {
            let (p, topic, v) = combos[i];
            let group = format!("{prefix}-{}-p{p}-r{round}", v.tag());
            let t = Target {
                topic: topic.to_owned(),
                expected: plan.messages,
                partitions: p,
                variants: vec![v],
                ..base.clone()
            };
            let m = if v == Variant::Framework {
                framework::run(&t, handlers::NOOP, &group).await?
            } else {
                let (b, tp, g, n, tuning) = (
                    t.bootstrap.clone(),
                    t.topic.clone(),
                    group.clone(),
                    t.expected,
                    t.tuning,
                );
                tokio::task::spawn_blocking(move || {
                    raw::run_split(&b, &tp, &g, n, p, tuning, raw::Work::TouchBytes)
                })
                .await??
            };
            if !m.complete(plan.messages) {
                return Err(format!(
                    "({}) on {p} partition(s) read {} of {} records",
                    v.letter(),
                    m.read,
                    plan.messages
                )
                .into());
            }
            eprintln!(
                "  scaling r{round} ({:<2}) {p:>2} partition(s): {:>11} msgs/s",
                v.letter(),
                thousands(m.rate())
            );
            out.push(PartitionRate {
                round,
                partitions: p,
                variant: v,
                rate: m.rate(),
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(out)
}

/// A member child process and what it has reported so far.
struct Member {
    child: Child,
    lines: Arc<Mutex<Vec<Report>>>,
}

/// One line of a member: Unix time, handled, RSS, peak RSS, threads.
#[derive(Debug, Clone, Copy, Default)]
struct Report {
    at: f64,
    handled: u64,
    rss: u64,
    hwm: u64,
    threads: u64,
}

impl Member {
    fn start(s: &Settings) -> Result<Self, BoxError> {
        let exe = std::env::current_exe()?;
        let mut cmd = Command::new(exe);
        for (k, v) in s.env() {
            cmd.env(k, v);
        }
        let mut child = cmd
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting a member process: {e}"))?;
        let stdout = child.stdout.take().ok_or("a member has no stdout")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let f: Vec<f64> = line
                    .split_ascii_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                if let [at, handled, rss, hwm, threads] = f[..] {
                    sink.lock().unwrap_or_else(|p| p.into_inner()).push(Report {
                        at,
                        handled: handled as u64,
                        rss: rss as u64,
                        hwm: hwm as u64,
                        threads: threads as u64,
                    });
                }
            }
        });
        Ok(Self { child, lines })
    }

    fn last(&self) -> Option<Report> {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .copied()
    }

    fn reports(&self) -> Vec<Report> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Closes stdin (the member shuts down gracefully) and waits up to 30 s, then kills it.
    fn stop(mut self) -> Result<(), BoxError> {
        drop(self.child.stdin.take());
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("a member process exited with {status}").into())
                };
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                return Err("a member process did not stop within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits (blocking) until the members' summed count reaches `want` (or fails after 60 s
/// without progress); returns the summed rate from the first handled record to then.
fn wait_for(members: &[Member], want: u64) -> Result<f64, BoxError> {
    let mut progress = (Instant::now(), 0u64);
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let sum: u64 = members
            .iter()
            .filter_map(|m| m.last().map(|r| r.handled))
            .sum();
        if sum >= want {
            break;
        }
        if sum != progress.1 {
            progress = (Instant::now(), sum);
        } else if progress.0.elapsed() > Duration::from_secs(60) {
            return Err(format!("members handled {sum} of {want} records, then stalled").into());
        }
    }
    Ok(summed_rate(
        &members.iter().map(Member::reports).collect::<Vec<_>>(),
        want,
    ))
}

/// From each member's reports: the summed count over time, from the first report with any
/// record handled (time t0, sum s0) to the first at which the sum reaches `want` (t1):
/// (want − s0) / (t1 − t0). A member's count at a time is its last report before it.
fn summed_rate(members: &[Vec<Report>], want: u64) -> f64 {
    let mut times: Vec<f64> = members.iter().flatten().map(|r| r.at).collect();
    times.sort_by(f64::total_cmp);
    let sum_at = |t: f64| -> u64 {
        members
            .iter()
            .map(|rs| {
                rs.iter()
                    .take_while(|r| r.at <= t)
                    .last()
                    .map_or(0, |r| r.handled)
            })
            .sum()
    };
    let Some(&t0) = times.iter().find(|t| sum_at(**t) > 0) else {
        return 0.0;
    };
    let s0 = sum_at(t0);
    let Some(&t1) = times.iter().find(|t| sum_at(**t) >= want) else {
        return 0.0;
    };
    if t1 > t0 {
        (want.saturating_sub(s0)) as f64 / (t1 - t0)
    } else {
        0.0
    }
}

/// Rates of one and two member processes per round.
#[derive(Debug, Clone, Copy)]
struct ProcessRound {
    one: f64,
    two: f64,
}

async fn process_rounds(
    base: &Target,
    topic: &str,
    plan: Plan,
    prefix: &str,
) -> Result<Vec<ProcessRound>, BoxError> {
    let mut out = Vec::new();
    for round in 1..=plan.rounds {
        let mut rates = [0.0f64; 2];
        let order: [usize; 2] = if round % 2 == 1 { [1, 2] } else { [2, 1] };
        for n in order {
            let s = Settings {
                bootstrap: base.bootstrap.clone(),
                topic: topic.to_owned(),
                group: format!("{prefix}-members{n}-r{round}"),
                handlers: 1,
                properties: tuning(base),
            };
            let want = plan.messages;
            let rate = tokio::task::spawn_blocking(move || {
                let members: Vec<Member> = (0..n)
                    .map(|_| Member::start(&s))
                    .collect::<Result<_, _>>()?;
                let rate = wait_for(&members, want);
                for m in members {
                    m.stop()?;
                }
                rate
            })
            .await??;
            eprintln!(
                "  scaling r{round} {n} process(es) in one group: {:>11} msgs/s",
                thousands(rate)
            );
            rates[n - 1] = rate;
        }
        out.push(ProcessRound {
            one: rates[0],
            two: rates[1],
        });
    }
    Ok(out)
}

/// The shared tuning as member properties.
fn tuning(base: &Target) -> Vec<(String, String)> {
    base.tuning
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// RSS (bytes) and threads with `n` handlers (ours) or consumers (Java).
#[derive(Debug, Clone, Copy)]
struct MemoryRow {
    n: usize,
    ours: (u64, u64),
    java: Option<(u64, u64)>,
}

async fn memory_runs(
    base: &Target,
    topic: &str,
    plan: Plan,
    prefix: &str,
) -> Result<Vec<MemoryRow>, BoxError> {
    let java = if plan.java {
        Some(tokio::task::spawn_blocking(build_java).await??)
    } else {
        None
    };
    let mut out = Vec::new();
    for n in HANDLER_COUNTS {
        let s = Settings {
            bootstrap: base.bootstrap.clone(),
            topic: topic.to_owned(),
            group: format!("{prefix}-mem{n}"),
            handlers: n,
            properties: tuning(base),
        };
        let ours = tokio::task::spawn_blocking(move || -> Result<(u64, u64), BoxError> {
            let m = Member::start(&s)?;
            wait_for(std::slice::from_ref(&m), MEMORY_RECORDS * n as u64)?;
            // Settle: the last fetch responses, the first commits.
            std::thread::sleep(Duration::from_secs(1));
            let r = m.last().ok_or("the member reported nothing")?;
            m.stop()?;
            Ok((r.rss, r.threads))
        })
        .await??;
        let java_row = match &java {
            None => None,
            Some(classes) => {
                let (classes, b, t, g) = (
                    classes.clone(),
                    base.bootstrap.clone(),
                    topic.to_owned(),
                    format!("{prefix}-java{n}"),
                );
                Some(
                    tokio::task::spawn_blocking(move || java_memory(&classes, &b, &t, &g, n))
                        .await??,
                )
            }
        };
        eprintln!(
            "  scaling {n:>2} handler(s): ours {} MB, {} threads{}",
            ours.0 / 1_000_000,
            ours.1,
            java_row.map_or_else(String::new, |(rss, th)| format!(
                "; Java {} MB, {th} threads",
                rss / 1_000_000
            ))
        );
        out.push(MemoryRow {
            n,
            ours,
            java: java_row,
        });
    }
    Ok(out)
}

/// Kafka's jars (`infra/up` installs them).
fn kafka_libs() -> PathBuf {
    std::env::var_os("BENCH_KAFKA_LIBS")
        .map_or_else(|| repo_dir().join("infra/kafka/target/libs"), PathBuf::from)
}

/// Compiles `ManyConsumers.java` into `target/java-scale/` (when the source is newer);
/// returns that directory. Blocking.
fn build_java() -> Result<PathBuf, BoxError> {
    let src = repo_dir().join("bench/java-scale/ManyConsumers.java");
    let out = repo_dir().join("target/java-scale");
    let class = out.join("ManyConsumers.class");
    let mtime = |p: &PathBuf| p.metadata().and_then(|m| m.modified()).ok();
    if mtime(&class).is_some_and(|c| mtime(&src).is_some_and(|s| c > s)) {
        return Ok(out);
    }
    std::fs::create_dir_all(&out)?;
    let javac = std::env::var_os("JAVA_HOME").map_or_else(
        || PathBuf::from("javac"),
        |h| PathBuf::from(h).join("bin/javac"),
    );
    let status = Command::new(&javac)
        .arg("-cp")
        .arg(kafka_libs().join("*"))
        .arg("-d")
        .arg(&out)
        .arg(&src)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("starting {}: {e}", javac.display()))?;
    if !status.success() {
        return Err(format!(
            "compiling {} failed ({status}); are Kafka's jars in {} (infra/up)?",
            src.display(),
            kafka_libs().display()
        )
        .into());
    }
    Ok(out)
}

/// RSS and threads of a JVM with `n` consumers that have read the topic. Blocking.
fn java_memory(
    classes: &std::path::Path,
    bootstrap: &str,
    topic: &str,
    group: &str,
    n: usize,
) -> Result<(u64, u64), BoxError> {
    let java = std::env::var_os("JAVA_HOME").map_or_else(
        || PathBuf::from("java"),
        |h| PathBuf::from(h).join("bin/java"),
    );
    let mut child = Command::new(&java)
        .args(["-Xmx512M", "-XX:+UseG1GC"])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            repo_dir().join("infra/kafka/log4j2.properties").display()
        ))
        .arg("-Dkafka.root.level=WARN")
        .arg("-cp")
        .arg(format!(
            "{}:{}",
            kafka_libs().join("*").display(),
            classes.display()
        ))
        .arg("ManyConsumers")
        .args([bootstrap, topic, group, &n.to_string()])
        .arg(MEMORY_RECORDS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", java.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("the JVM has no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.trim() == "done" {
                let _ = tx.send(());
            }
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(120));
    let measured = got.ok().and_then(|()| {
        std::thread::sleep(Duration::from_secs(1));
        member::memory(pid)
    });
    drop(child.stdin.take());
    let until = Instant::now() + Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (rss, _, threads) = measured.ok_or_else(|| {
        format!(
            "the JVM with {n} consumers did not read {MEMORY_RECORDS} records each within 120 s"
        )
    })?;
    Ok((rss, threads))
}

/// One backlog run.
#[derive(Debug, Clone)]
struct BacklogRow {
    label: &'static str,
    settings: &'static [(&'static str, &'static str)],
    peak_rss: u64,
    handled: u64,
}

async fn backlog_runs(
    base: &Target,
    topic: &str,
    plan: Plan,
    prefix: &str,
) -> Result<Vec<BacklogRow>, BoxError> {
    let mut out = Vec::new();
    for (i, (label, settings)) in BACKLOG_SETTINGS.into_iter().enumerate() {
        let mut properties = tuning(base);
        properties.extend(
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let s = Settings {
            bootstrap: base.bootstrap.clone(),
            topic: topic.to_owned(),
            group: format!("{prefix}-backlog{i}"),
            handlers: 0,
            properties,
        };
        let seconds = plan.backlog_seconds;
        let (peak, handled) =
            tokio::task::spawn_blocking(move || -> Result<(u64, u64), BoxError> {
                let m = Member::start(&s)?;
                std::thread::sleep(Duration::from_secs(seconds));
                let reports = m.reports();
                m.stop()?;
                let peak = reports.iter().map(|r| r.hwm).max().unwrap_or(0);
                let handled = reports.last().map_or(0, |r| r.handled);
                if handled == 0 {
                    return Err("the backlog member handled nothing".into());
                }
                Ok((peak, handled))
            })
            .await??;
        eprintln!(
            "  scaling backlog, {label} {}: peak RSS {} MB after {handled} records",
            describe(settings),
            peak / 1_000_000
        );
        out.push(BacklogRow {
            label,
            settings,
            peak_rss: peak,
            handled,
        });
    }
    Ok(out)
}

/// `k=v, k=v` or "none".
fn describe(settings: &[(&str, &str)]) -> String {
    if settings.is_empty() {
        "(none)".to_owned()
    } else {
        settings
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

/// Per-round ratios of `variant`'s rate at `num` partitions to its rate at `den`.
fn partition_ratio(rates: &[PartitionRate], variant: Variant, num: i32, den: i32) -> Interval {
    let rounds: Vec<usize> = {
        let mut r: Vec<usize> = rates.iter().map(|x| x.round).collect();
        r.dedup();
        r
    };
    let of = |round: usize, p: i32| {
        rates
            .iter()
            .find(|x| x.round == round && x.partitions == p && x.variant == variant)
            .map_or(0.0, |x| x.rate)
    };
    bootstrap(
        &rounds
            .iter()
            .map(|r| ratio(of(*r, num), of(*r, den)))
            .collect::<Vec<_>>(),
    )
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "met",
        Verdict::Missed => "**missed**",
        Verdict::Undecided => "undecided",
    }
}

fn section(
    plan: Plan,
    command: &str,
    machine: &Machine,
    partitions: &[PartitionRate],
    processes: &[ProcessRound],
    memory: &[MemoryRow],
    backlog: &[BacklogRow],
) -> String {
    let mut out =
        String::from("## Scaling: partitions, processes, handlers, a backlog (issue 17)\n\n");
    let _ = writeln!(out, "- Command: `{command}`");
    let _ = writeln!(out, "- Date: {}", machine.date);
    let _ = writeln!(out, "- Machine: {}", machine.one_line());
    let _ = writeln!(
        out,
        "- Data: topics of 1, 4 and 16 partitions, {} records each (the side-by-side run's \
         records); a 4-partition topic of {} records for the memory run",
        thousands(plan.messages as f64),
        thousands(MEMORY_RECORDS as f64)
    );
    out.push_str(
        "- Method: see the module docs of `bench/src/scaling.rs`; medians over the rounds, \
         95 % bootstrap intervals of the per-round ratios, a target met only when its \
         interval clears it\n\n",
    );

    out.push_str("### Partitions\n\n| variant | 1 partition | 4 partitions | 16 partitions | 16 / 4 (95 % interval) | 1 / 4 |\n|:---|---:|---:|---:|---:|---:|\n");
    for v in [Variant::RawSplit, Variant::Framework] {
        let med = |p: i32| {
            median(
                partitions
                    .iter()
                    .filter(|x| x.partitions == p && x.variant == v)
                    .map(|x| x.rate)
                    .collect(),
            )
        };
        let r16 = partition_ratio(partitions, v, 16, 4);
        let r1 = partition_ratio(partitions, v, 1, 4);
        let _ = writeln!(
            out,
            "| ({}) {} | {} | {} | {} | **{:.3}** ({:.3} – {:.3}) | {:.3} |",
            v.letter(),
            v.name(),
            thousands(med(1)),
            thousands(med(4)),
            thousands(med(16)),
            r16.median,
            r16.lo,
            r16.hi,
            r1.median
        );
    }
    let b1 = partition_ratio(partitions, Variant::Framework, 16, 4);
    let _ = writeln!(
        out,
        "\nTarget: (b1) rate at 16 partitions ≥ 0.95 of the rate at 4: {} ({:.3}, {:.3} – \
         {:.3}, {} rounds).\n",
        verdict_word(b1.at_least(0.95)),
        b1.median,
        b1.lo,
        b1.hi,
        plan.rounds
    );

    let two = bootstrap(
        &processes
            .iter()
            .map(|r| ratio(r.two, r.one))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        out,
        "### Two processes in one group\n\n| member processes | msgs/s (median) |\n|---:|---:|\n\
         | 1 | {} |\n| 2 | {} |\n\nTwo / one: **{:.3}** ({:.3} – {:.3}, {} rounds). The \
         machine has {} cores shared with the broker, so a second process adds no CPU: this \
         shows what the group's rebalance and the split of partitions cost, not a speed-up.\n",
        thousands(median(processes.iter().map(|r| r.one).collect())),
        thousands(median(processes.iter().map(|r| r.two).collect())),
        two.median,
        two.lo,
        two.hi,
        processes.len(),
        machine.nproc,
    );

    out.push_str(
        "### Memory and threads per handler\n\n| handlers (ours) / consumers (Java) | ours: RSS MB | ours: threads | Java: RSS MB | Java: threads |\n|---:|---:|---:|---:|---:|\n",
    );
    for r in memory {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.n,
            mb(r.ours.0),
            r.ours.1,
            r.java.map_or_else(|| "–".to_owned(), |j| mb(j.0)),
            r.java.map_or_else(|| "–".to_owned(), |j| j.1.to_string()),
        );
    }
    let per = |f: &dyn Fn(&MemoryRow) -> Option<u64>| -> Option<f64> {
        let (first, last) = (memory.first()?, memory.last()?);
        let span = (last.n - first.n) as f64;
        if span <= 0.0 {
            return None;
        }
        Some((f(last)? as f64 - f(first)? as f64) / span)
    };
    let ours_per = per(&|r| Some(r.ours.0));
    let java_per = per(&|r| r.java.map(|j| j.0));
    let threads_per = per(&|r| Some(r.ours.1));
    let _ = writeln!(
        out,
        "\nPer handler (from {} to {}): ours {} MB and {} threads; Java {} MB per consumer. \
         Target: ours no worse than the Java client's: {} (one measurement each, no \
         interval: memory does not vary from round to round the way rates do).\n",
        memory.first().map_or(0, |r| r.n),
        memory.last().map_or(0, |r| r.n),
        ours_per.map_or_else(|| "?".to_owned(), |b| format!("{:.2}", b / 1e6)),
        threads_per.map_or_else(|| "?".to_owned(), |t| format!("{t:.1}")),
        java_per.map_or_else(|| "?".to_owned(), |b| format!("{:.2}", b / 1e6)),
        match (ours_per, java_per) {
            (Some(o), Some(j)) if o <= j => "met",
            (Some(_), Some(_)) => "**missed**",
            _ => "not measured",
        }
    );

    let _ = writeln!(
        out,
        "### A backlog\n\nA handler taking 1 ms per record on the 4-partition topic for {} s, \
         so librdkafka's prefetching, not the handler, decides the memory.\n\n\
         | settings | librdkafka properties | peak RSS MB | records handled |\n|:---|:---|---:|---:|",
        plan.backlog_seconds
    );
    for r in backlog {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.label,
            describe(r.settings),
            mb(r.peak_rss),
            thousands(r.handled as f64)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(at: f64, handled: u64) -> Report {
        Report {
            at,
            handled,
            ..Report::default()
        }
    }

    #[test]
    fn summed_rates_run_from_the_first_record_to_the_total() {
        // Member A handles 0, 100, 600; member B 0, 0, 400 (total 1000 at t = 2).
        let a = vec![r(0.0, 0), r(1.0, 100), r(2.0, 600)];
        let b = vec![r(0.5, 0), r(1.5, 0), r(2.0, 400)];
        // From t0 = 1.0 (sum 100) to t1 = 2.0 (sum 1000): 900 records in 1 s.
        assert!((summed_rate(&[a.clone(), b], 1000) - 900.0).abs() < 1e-9);
        assert_eq!(summed_rate(&[a], 1000), 0.0, "never reached");
        assert_eq!(summed_rate(&[], 1), 0.0);
    }

    #[test]
    fn partition_ratios_pair_rounds() {
        let x = |round, partitions, rate| PartitionRate {
            round,
            partitions,
            variant: Variant::Framework,
            rate,
        };
        let rates = [
            x(1, 4, 100.0),
            x(1, 16, 90.0),
            x(2, 4, 200.0),
            x(2, 16, 200.0),
            x(3, 16, 100.0),
            x(3, 4, 100.0),
        ];
        let i = partition_ratio(&rates, Variant::Framework, 16, 4);
        assert_eq!(i.median, 1.0);
        assert_eq!(i.at_least(0.95), Verdict::Undecided);
    }
}
