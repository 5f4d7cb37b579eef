//! Variants (c1), (c2), (j1), (j2), (d), (e) and (e2): consumers of other stacks, each started as a child process
//! with its own fresh group, reporting its own count and time.
//!
//! - (c1), (c2): `tests/interop/node/bench_consume.js`, kafkajs `eachMessage` one message at
//!   a time (no-op, or `registry.decode` of `@kafkajs/confluent-schema-registry`), installed
//!   by `tests/interop/setup.sh`. It prints one JSON line; its clock starts at its first
//!   message.
//! - (j1), (j2): `tests/interop/node/bench_consume_confluent.js`, Confluent's JavaScript client
//!   (`@confluentinc/kafka-javascript`, librdkafka underneath) through its KafkaJS-compatible
//!   promisified API, `eachBatch` (no-op, or the same `registry.decode` as (c2)), with the
//!   librdkafka tuning of the other librdkafka-based variants. Installed and built from source
//!   by `tests/interop/setup.sh`; it prints the common JSON line ([`parse_peer`]), its clock
//!   starting at its first message.
//! - (d): Kafka's `ConsumerPerformance` (`kafka-consumer-perf-test`) from the jars `infra/up`
//!   installed, run with the JVM options of Kafka's own `kafka-consumer-perf-test.sh`. Its
//!   `fetch.time.ms` is the time from `KafkaConsumer` creation to the last record minus the
//!   group join (the tool's `rebalance.time.ms`): JVM start and join are excluded, the first
//!   fetch and the JIT warm-up are included (see [`parse_java`]).
//! - (e), (e2): `bench/ruststream-peer`, a RustStream (`ruststream-rdkafka`) app with one
//!   `#[subscriber]` handler (no-op over the raw payload, or `&LectureProgress` through
//!   RustStream's registry `AvroCodec`). A crate of its own outside the workspace (RustStream's
//!   dependency tree stays out of the workspace's builds), built by [`build_ruststream`]. It
//!   prints one JSON line; its clock starts at its first message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::BoxError;
use crate::cpu::{self, Runs};
use crate::measure::Measurement;

/// The repository root (the bench crate's parent).
pub(crate) fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a peer's `build.sh` (blocking; its output goes to stderr): a no-op when the peer is
/// up to date. `who` names the peer in the error.
pub(crate) fn run_build_script(script: &Path, who: &str) -> Result<(), BoxError> {
    let status = Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("starting {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!(
            "building {who} ({}) failed with {status} (its output is above)",
            script.display()
        )
        .into());
    }
    Ok(())
}

/// The kafkajs benchmark script.
pub(crate) fn node_script() -> PathBuf {
    repo_dir().join("tests/interop/node/bench_consume.js")
}

/// The Confluent JavaScript client's benchmark script.
pub(crate) fn confluent_js_script() -> PathBuf {
    repo_dir().join("tests/interop/node/bench_consume_confluent.js")
}

/// The Confluent JavaScript client's package directory, and the native addon
/// `tests/interop/setup.sh` builds in it.
fn confluent_js_package() -> (PathBuf, PathBuf) {
    let package = node_script()
        .with_file_name("node_modules")
        .join("@confluentinc/kafka-javascript");
    let addon = package.join("build/Release/confluent-kafka-javascript.node");
    (package, addon)
}

/// The RustStream peer's manifest (its own workspace and lock file).
fn ruststream_manifest() -> PathBuf {
    repo_dir().join("bench/ruststream-peer/Cargo.toml")
}

/// Where the RustStream peer is built: under the git-ignored `target/`, apart from the
/// workspace's own artifacts.
fn ruststream_target_dir() -> PathBuf {
    repo_dir().join("target/ruststream-peer")
}

/// The cargo profile the RustStream peer is built with, and its directory: the harness's
/// own. A release harness (`cargo run --release`, `bench/run`: the measurements) runs a
/// release peer; a debug one (`./dev test`'s `--smoke` run, whose rates mean nothing) a
/// debug peer, built in about half the time of a release build.
const RUSTSTREAM_PROFILE: (&str, &str) = if cfg!(debug_assertions) {
    ("dev", "debug")
} else {
    ("release", "release")
};

/// The RustStream peer binary [`build_ruststream`] produces.
fn ruststream_binary() -> PathBuf {
    ruststream_target_dir()
        .join(RUSTSTREAM_PROFILE.1)
        .join("ruststream-peer")
}

/// Builds the RustStream peer (`cargo build --locked`, release or not like the harness
/// ([`RUSTSTREAM_PROFILE`]), its own target directory under `target/`). Incremental: a no-op
/// when it is up to date; the first build takes a few minutes (RustStream, reqwest,
/// apache-avro and librdkafka from source). Blocking.
pub(crate) fn build_ruststream() -> Result<(), BoxError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = ruststream_manifest();
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--locked", "--profile", RUSTSTREAM_PROFILE.0])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", ruststream_target_dir());
    // Under `cargo run`, this process carries the variables cargo sets for the running crate
    // (`CARGO_MANIFEST_DIR` = bench/, `CARGO_PKG_*`, …). Some build scripts of the peer's
    // dependencies (ring's) rerun when those change, which would rebuild half of the peer on
    // every alternation between `cargo run` and `bench/run`: build it without them.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_the_crate) {
            cmd.env_remove(name);
        }
    }
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("starting `{}`: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "building the RustStream peer ({}) failed with {status} (cargo's output is above)",
            manifest.display()
        )
        .into());
    }
    Ok(())
}

/// Whether `name` is one of the variables cargo sets for the crate it runs (or builds), as
/// opposed to a setting of the user's.
fn set_by_cargo_for_the_crate(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

/// What a side-by-side peer process reads (RustStream, Confluent's JavaScript client,
/// franz-go, Spring Kafka): the topic from the beginning with a fresh group.
#[derive(Debug, Clone)]
pub(crate) struct PeerRun<'a> {
    /// Kafka's bootstrap servers.
    pub(crate) bootstrap: &'a str,
    /// Topic to read from the beginning.
    pub(crate) topic: &'a str,
    /// Fresh group id.
    pub(crate) group: &'a str,
    /// Records to read.
    pub(crate) count: u64,
    /// Decode every value as Avro with this registry (`None`: no-op).
    pub(crate) registry: Option<&'a str>,
    /// librdkafka consumer properties, for the peers built on librdkafka (RustStream, the
    /// Confluent JavaScript client); the others run with their clients' defaults.
    pub(crate) tuning: &'a [(&'a str, &'a str)],
}

/// What a peer printing the common JSON line (RustStream, franz-go, Spring) reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PeerReport {
    /// The measurement (clock from its first record to the last).
    pub(crate) measurement: Measurement,
    /// Sum of payload lengths (no-op) or of decoded `watched_seconds` (decode).
    pub(crate) checksum: u64,
    /// From the app's start (connect, subscribe, join) to its first record.
    pub(crate) join: Duration,
}

/// Runs the RustStream peer to completion (blocking: call it from a blocking thread). It must
/// have been built ([`build_ruststream`]).
pub(crate) fn run_ruststream(r: &PeerRun<'_>) -> Result<PeerReport, BoxError> {
    let binary = ruststream_binary();
    if !binary.is_file() {
        return Err(format!(
            "the RustStream peer is not built ({} is missing)",
            binary.display()
        )
        .into());
    }
    // Generous, as for kafkajs: the whole run at 20 000 msgs/s plus a minute.
    let timeout_ms = 60_000 + r.count / 20;
    let mut cmd = Command::new(&binary);
    cmd.env("KAFKA_BOOTSTRAP", r.bootstrap)
        .args(["--topic", r.topic, "--group", r.group])
        .args(["--count", &r.count.to_string()])
        .args(["--timeout-ms", &timeout_ms.to_string()]);
    for (k, v) in r.tuning {
        cmd.arg("--property").arg(format!("{k}={v}"));
    }
    if let Some(url) = r.registry {
        cmd.args(["--registry", url]);
    }
    run_json_peer(
        &mut cmd,
        &format!("the RustStream peer ({})", binary.display()),
    )
}

/// A peer child process that ran to its end.
pub(crate) struct Ran {
    /// Its stdout.
    pub(crate) stdout: String,
    /// Its pid (while it ran, its CPU was sampled: `cpu.rs`).
    pub(crate) pid: u32,
}

impl Ran {
    /// Fills in `m.cpu`: the child's CPU and the broker's over `m`'s timed interval when
    /// the peer reported when it started (`m.start_unix`), else over the child's whole life.
    pub(crate) fn account(&self, m: &mut Measurement) {
        m.cpu = if m.start_unix > 0.0 {
            let from = m.start_unix;
            cpu::spent(Runs::Child(self.pid), from, from + m.elapsed.as_secs_f64())
        } else {
            cpu::child_life(self.pid)
        };
    }
}

/// Runs a peer child process to its end (stdin closed, stderr passed through, its CPU
/// sampled while it runs) and returns its stdout; `who` names it in errors.
pub(crate) fn run_peer(cmd: &mut Command, who: &str) -> Result<Ran, BoxError> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {who}: {e}"))?;
    let pid = child.id();
    cpu::watch_child(pid);
    let out = child.wait_with_output();
    cpu::child_ended();
    let out = out.map_err(|e| format!("waiting for {who}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{who} exited with {} (its stderr is above)", out.status).into());
    }
    Ok(Ran { stdout, pid })
}

/// A peer's report: the last non-empty line of its stdout, as JSON.
pub(crate) struct PeerLine<'a> {
    who: &'a str,
    line: &'a str,
    value: serde_json::Value,
}

impl<'a> PeerLine<'a> {
    pub(crate) fn parse(who: &'a str, stdout: &'a str) -> Result<Self, BoxError> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .ok_or_else(|| format!("{who} printed nothing"))?;
        let value =
            serde_json::from_str(line).map_err(|e| format!("{who} printed `{line}`: {e}"))?;
        Ok(Self { who, line, value })
    }

    /// A finite, non-negative number.
    pub(crate) fn num(&self, k: &str) -> Result<f64, BoxError> {
        self.value
            .get(k)
            .and_then(serde_json::Value::as_f64)
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| format!("{}'s `{}` has no number `{k}`", self.who, self.line).into())
    }

    /// When the peer's clock started (Unix seconds, from its `first_unix_ms`), 0 if it did
    /// not say.
    fn first_unix(&self) -> f64 {
        self.value
            .get("first_unix_ms")
            .and_then(serde_json::Value::as_f64)
            .filter(|x| x.is_finite() && *x > 0.0)
            .map_or(0.0, |ms| ms / 1000.0)
    }

    /// A count (an integer ≥ 0).
    pub(crate) fn count(&self, k: &str) -> Result<u64, BoxError> {
        self.value
            .get(k)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| format!("{}'s `{}` has no count `{k}`", self.who, self.line).into())
    }
}

/// Runs a peer that prints the common JSON line (`count`, `timed`, `elapsed_s`, `checksum`,
/// `join_s`, `first_unix_ms`) and accounts its CPU. Blocking.
pub(crate) fn run_json_peer(cmd: &mut Command, who: &str) -> Result<PeerReport, BoxError> {
    let ran = run_peer(cmd, who)?;
    let mut r = parse_peer(who, &ran.stdout)?;
    ran.account(&mut r.measurement);
    Ok(r)
}

/// Parses the common JSON line (the last non-empty line of stdout) of peer `who`.
pub(crate) fn parse_peer(who: &str, stdout: &str) -> Result<PeerReport, BoxError> {
    let r = PeerLine::parse(who, stdout)?;
    Ok(PeerReport {
        measurement: Measurement {
            read: r.count("count")?,
            timed: r.count("timed")?,
            elapsed: Duration::from_secs_f64(r.num("elapsed_s")?),
            start_unix: r.first_unix(),
            ..Measurement::ZERO
        },
        checksum: r.count("checksum")?,
        join: Duration::from_secs_f64(r.num("join_s")?),
    })
}

/// The versions of RustStream's crates the peer is locked to (from its `Cargo.lock`).
fn ruststream_versions() -> String {
    let lock = std::fs::read_to_string(ruststream_manifest().with_file_name("Cargo.lock"))
        .unwrap_or_default();
    let version = |name: &str| locked_version(&lock, name).unwrap_or_else(|| "?".to_owned());
    format!(
        "RustStream: ruststream-rdkafka {}, ruststream {} (`bench/ruststream-peer/Cargo.lock`)",
        version("ruststream-rdkafka"),
        version("ruststream")
    )
}

/// The version of package `name` in the text of a `Cargo.lock`.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let want = format!("name = \"{name}\"");
    let mut lines = lock.lines().map(str::trim);
    while let Some(l) = lines.next() {
        if l == want {
            return lines
                .next()
                .and_then(|v| v.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}

/// What the Node script should do.
#[derive(Debug, Clone)]
pub(crate) struct NodeRun<'a> {
    /// Kafka's bootstrap servers.
    pub(crate) bootstrap: &'a str,
    /// Topic to read from the beginning.
    pub(crate) topic: &'a str,
    /// Fresh group id.
    pub(crate) group: &'a str,
    /// Records to read.
    pub(crate) count: u64,
    /// Decode every value through this registry (`None`: no-op).
    pub(crate) registry: Option<&'a str>,
    /// `partitionsConsumedConcurrently`.
    pub(crate) concurrency: u32,
    /// Simulated I/O per message, ms (0: none).
    pub(crate) sleep_ms: u64,
}

/// What the Node script reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NodeReport {
    /// The measurement (clock from its first record to the last).
    pub(crate) measurement: Measurement,
    /// Sum of payload lengths (no-op) or of decoded `watched_seconds` (decode).
    pub(crate) checksum: u64,
    /// Per-key order violations (only with simulated I/O).
    pub(crate) violations: u64,
}

/// Runs the kafkajs script to completion (blocking: call it from a blocking thread).
pub(crate) fn run_node(r: &NodeRun<'_>) -> Result<NodeReport, BoxError> {
    let script = node_script();
    let modules = script.with_file_name("node_modules");
    if !modules.join("kafkajs").is_dir() {
        return Err(format!(
            "kafkajs is not installed in {} (run tests/interop/setup.sh)",
            modules.display()
        )
        .into());
    }
    // Generous: the whole run at 20 000 msgs/s (or simulated I/O rate) plus a minute.
    let per_msg_ms = (r.sleep_ms + 1).max(1) as f64 / 20.0;
    let timeout_ms = 60_000 + (r.count as f64 * per_msg_ms) as u64;
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let mut cmd = Command::new(&node);
    cmd.arg(&script)
        .args([
            "--brokers",
            r.bootstrap,
            "--topic",
            r.topic,
            "--group",
            r.group,
        ])
        .args(["--count", &r.count.to_string()])
        .args(["--concurrency", &r.concurrency.to_string()])
        .args(["--sleep-ms", &r.sleep_ms.to_string()])
        .args(["--timeout-ms", &timeout_ms.to_string()]);
    if let Some(url) = r.registry {
        cmd.args(["--registry", url]);
    }
    let ran = run_peer(
        &mut cmd,
        &format!("the kafkajs benchmark (`{node} {}`)", script.display()),
    )?;
    let mut r = parse_node(&ran.stdout)?;
    ran.account(&mut r.measurement);
    Ok(r)
}

/// Parses the script's JSON line (the last non-empty line of stdout).
pub(crate) fn parse_node(stdout: &str) -> Result<NodeReport, BoxError> {
    let r = PeerLine::parse("the kafkajs benchmark", stdout)?;
    Ok(NodeReport {
        measurement: Measurement {
            read: r.num("count")? as u64,
            timed: r.num("timed")? as u64,
            elapsed: Duration::from_secs_f64(r.num("elapsed_ms")? / 1000.0),
            start_unix: r.first_unix(),
            ..Measurement::ZERO
        },
        checksum: r.num("checksum")? as u64,
        violations: r.num("violations")? as u64,
    })
}

/// Runs the Confluent JavaScript client's script to completion (blocking: call it from a
/// blocking thread). Its native addon must have been built (`tests/interop/setup.sh`).
pub(crate) fn run_confluent_js(r: &PeerRun<'_>) -> Result<PeerReport, BoxError> {
    let script = confluent_js_script();
    let (package, addon) = confluent_js_package();
    if !addon.is_file() {
        return Err(format!(
            "@confluentinc/kafka-javascript is not installed and built in {} ({} is missing; \
             run tests/interop/setup.sh)",
            package.display(),
            addon.display()
        )
        .into());
    }
    // Generous, as for kafkajs: the whole run at 20 000 msgs/s plus a minute.
    let timeout_ms = 60_000 + r.count / 20;
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let mut cmd = Command::new(&node);
    cmd.arg(&script)
        .args([
            "--brokers",
            r.bootstrap,
            "--topic",
            r.topic,
            "--group",
            r.group,
        ])
        .args(["--count", &r.count.to_string()])
        .args(["--timeout-ms", &timeout_ms.to_string()]);
    if !r.tuning.is_empty() {
        let properties: Vec<String> = r.tuning.iter().map(|(k, v)| format!("{k}={v}")).collect();
        cmd.arg("--properties").arg(properties.join(","));
    }
    if let Some(url) = r.registry {
        cmd.args(["--registry", url]);
    }
    run_json_peer(
        &mut cmd,
        &format!(
            "the Confluent JavaScript client's benchmark (`{node} {}`)",
            script.display()
        ),
    )
}

/// The JVM options Kafka's `bin/kafka-consumer-perf-test.sh` uses (`KAFKA_HEAP_OPTS=-Xmx512M`
/// and `kafka-run-class.sh`'s default performance options), so (d) runs as Kafka ships it.
const JVM_OPTS: [&str; 7] = [
    "-Xmx512M",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
];

/// What `kafka-consumer-perf-test` reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JavaReport {
    /// Records over `fetch.time.ms` (join excluded).
    pub(crate) measurement: Measurement,
    /// The tool's `rebalance.time.ms` (subscribe to first assignment).
    pub(crate) rebalance_ms: u64,
    /// The tool's `nMsg.sec` (join included).
    pub(crate) with_join_rate: f64,
}

/// Runs Kafka's consumer performance tool on `topic` with group `group` until it read
/// `count` records (blocking: call it from a blocking thread).
pub(crate) fn run_java(
    bootstrap: &str,
    topic: &str,
    group: &str,
    count: u64,
) -> Result<JavaReport, BoxError> {
    let infra = repo_dir().join("infra");
    let libs = std::env::var_os("BENCH_KAFKA_LIBS")
        .map_or_else(|| infra.join("kafka/target/libs"), PathBuf::from);
    let has_jar = std::fs::read_dir(&libs).is_ok_and(|d| {
        d.filter_map(Result::ok).any(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("kafka-tools-") && n.ends_with(".jar")
        })
    });
    if !has_jar {
        return Err(format!(
            "Kafka's jars (kafka-tools-*.jar) are not in {} (run infra/up)",
            libs.display()
        )
        .into());
    }
    let java = std::env::var_os("JAVA_HOME").map_or_else(
        || PathBuf::from("java"),
        |h| PathBuf::from(h).join("bin/java"),
    );
    let mut cmd = Command::new(&java);
    cmd.args(JVM_OPTS)
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            infra.join("kafka/log4j2.properties").display()
        ))
        .arg("-Dkafka.root.level=WARN")
        // Its summary's times are local: UTC, so that they map onto the CPU samples.
        .arg("-Duser.timezone=UTC")
        .arg("-cp")
        .arg(libs.join("*"))
        .arg("org.apache.kafka.tools.ConsumerPerformance")
        .args([
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--group",
            group,
        ])
        .args(["--num-records", &count.to_string(), "--timeout", "60000"]);
    let ran = run_peer(&mut cmd, "kafka-consumer-perf-test")?;
    let mut r = parse_java(&ran.stdout)?;
    ran.account(&mut r.measurement);
    Ok(r)
}

/// Parses the tool's summary line: `start.time, end.time, data.consumed.in.MB, MB.sec,
/// data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec,
/// fetch.nMsg.sec`.
///
/// The tool's clock starts right after `new KafkaConsumer(…)` and stops after the last
/// record; `fetch.time.ms` subtracts the time from `subscribe` to the first assignment. So
/// JVM start-up, class loading of the client and the group join are excluded, while the
/// first `ListOffsets`/fetch round trip after the assignment and the JIT's warm-up are
/// included (ours start at the first record instead). The timed records are all of them
/// over `fetch.time.ms`, with millisecond resolution.
pub(crate) fn parse_java(stdout: &str) -> Result<JavaReport, BoxError> {
    if let Some(w) = stdout.lines().find(|l| l.starts_with("WARNING")) {
        return Err(format!("kafka-consumer-perf-test: {w}").into());
    }
    let fields: Vec<&str> = stdout
        .lines()
        .rev()
        .map(|l| l.split(',').map(str::trim).collect::<Vec<_>>())
        .find(|f| f.len() == 10 && f[4].parse::<u64>().is_ok())
        .ok_or_else(|| {
            format!("no summary line in kafka-consumer-perf-test's output:\n{stdout}")
        })?;
    let int = |i: usize| {
        fields[i]
            .parse::<u64>()
            .map_err(|e| format!("kafka-consumer-perf-test field {i} `{}`: {e}", fields[i]))
    };
    let float = |i: usize| {
        fields[i]
            .parse::<f64>()
            .map_err(|e| format!("kafka-consumer-perf-test field {i} `{}`: {e}", fields[i]))
    };
    let read = int(4)?;
    let elapsed = Duration::from_millis(int(7)?);
    // The fetch interval ends at `end.time` (UTC: the JVM runs with -Duser.timezone=UTC).
    let start_unix = utc_seconds(fields[1]).map_or(0.0, |end| end - elapsed.as_secs_f64());
    Ok(JavaReport {
        measurement: Measurement {
            read,
            timed: read,
            elapsed,
            start_unix,
            ..Measurement::ZERO
        },
        rebalance_ms: int(6)?,
        with_join_rate: float(5)?,
    })
}

/// `yyyy-MM-dd HH:mm:ss:SSS` (UTC) as Unix seconds.
fn utc_seconds(t: &str) -> Option<f64> {
    let n: Vec<i64> = t
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [y, mo, d, h, mi, sec, ms] = n[..] else {
        return None;
    };
    // Days from 1970-01-01 to y-mo-d in the proleptic Gregorian calendar.
    let (y, mo) = if mo <= 2 { (y - 1, mo + 12) } else { (y, mo) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo - 3) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) as f64 + ms as f64 / 1000.0)
}

/// The peers' versions, one line: Node, kafkajs, Confluent's JavaScript client and its
/// librdkafka, the schema-registry client, the JVM, Kafka's client jar and RustStream's crates
/// (`?` where unknown).
pub(crate) fn versions() -> String {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let node_v = Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "?".to_owned());
    let modules = node_script().with_file_name("node_modules");
    let field = |name: &str, key: &str| {
        std::fs::read_to_string(modules.join(name).join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get(key).and_then(|v| v.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    };
    let package = |name: &str| field(name, "version");
    let java = std::env::var_os("JAVA_HOME").map_or_else(
        || PathBuf::from("java"),
        |h| PathBuf::from(h).join("bin/java"),
    );
    // `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` on stderr.
    let java_v = Command::new(&java)
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned());
    let libs = repo_dir().join("infra/kafka/target/libs");
    let clients = std::fs::read_dir(&libs)
        .ok()
        .and_then(|d| {
            d.filter_map(Result::ok).find_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_prefix("kafka-clients-")
                    .and_then(|r| r.strip_suffix(".jar"))
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| "?".to_owned());
    format!(
        "Node {node_v}, kafkajs {}, @confluentinc/kafka-javascript {} (librdkafka {}, built from \
         source), @kafkajs/confluent-schema-registry {}; {java_v} (`java -version`), \
         Kafka clients {clients}; {}; {}",
        package("kafkajs"),
        package("@confluentinc/kafka-javascript"),
        field("@confluentinc/kafka-javascript", "librdkafka"),
        package("@kafkajs/confluent-schema-registry"),
        crate::other_stacks::versions(),
        ruststream_versions(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_report() {
        let r = parse_node(
            "\n{\"count\":1000,\"timed\":999,\"elapsed_ms\":500,\"join_ms\":120.5,\"checksum\":100000,\"violations\":0}\n",
        )
        .unwrap();
        assert_eq!((r.measurement.read, r.measurement.timed), (1000, 999));
        assert!((r.measurement.rate() - 1998.0).abs() < 1e-6);
        assert_eq!((r.checksum, r.violations), (100_000, 0));
        assert!(parse_node("").is_err());
        assert!(parse_node("{\"count\":1}").is_err());
    }

    #[test]
    fn ruststream_report() {
        let r = parse_peer("the RustStream peer", 
            "{\"checksum\":2000000,\"count\":20000,\"elapsed_s\":0.5,\"join_s\":0.25,\"timed\":19999}\n",
        )
        .unwrap();
        assert_eq!((r.measurement.read, r.measurement.timed), (20_000, 19_999));
        assert!((r.measurement.rate() - 39_998.0).abs() < 1e-6);
        assert_eq!(r.checksum, 2_000_000);
        assert_eq!(r.join, Duration::from_millis(250));
        assert!(parse_peer("the RustStream peer", "").is_err());
        assert!(parse_peer("the RustStream peer", "{\"count\":1}").is_err());
        assert!(
            parse_peer(
                "the RustStream peer",
                "{\"checksum\":1,\"count\":1,\"elapsed_s\":-1,\"join_s\":0,\"timed\":0}"
            )
            .is_err()
        );
    }

    #[test]
    fn the_confluent_js_peer_is_pinned() {
        assert!(confluent_js_script().is_file());
        let package =
            std::fs::read_to_string(node_script().with_file_name("package.json")).unwrap();
        let package: serde_json::Value = serde_json::from_str(&package).unwrap();
        let pinned = package["dependencies"]["@confluentinc/kafka-javascript"]
            .as_str()
            .unwrap();
        assert!(
            pinned.starts_with(|c: char| c.is_ascii_digit()),
            "an exact version, not a range: {pinned}"
        );
    }

    #[test]
    fn cargo_run_variables_are_recognised() {
        assert!(set_by_cargo_for_the_crate("CARGO_MANIFEST_DIR"));
        assert!(set_by_cargo_for_the_crate("CARGO_PKG_VERSION"));
        assert!(!set_by_cargo_for_the_crate("CARGO_HOME"));
        assert!(!set_by_cargo_for_the_crate("CARGO_TARGET_DIR"));
        assert!(!set_by_cargo_for_the_crate("CARGO"));
    }

    #[test]
    fn versions_from_a_lock_file() {
        let lock = "[[package]]\nname = \"ruststream\"\nversion = \"0.7.7\"\n\n[[package]]\n\
                    name = \"ruststream-rdkafka\"\nversion = \"0.7.1\"\n";
        assert_eq!(locked_version(lock, "ruststream").as_deref(), Some("0.7.7"));
        assert_eq!(
            locked_version(lock, "ruststream-rdkafka").as_deref(),
            Some("0.7.1")
        );
        assert_eq!(locked_version(lock, "ruststream-cli"), None);
        // The committed lock file names the crate the report says is measured.
        let committed =
            std::fs::read_to_string(ruststream_manifest().with_file_name("Cargo.lock")).unwrap();
        assert_eq!(
            locked_version(&committed, "ruststream-rdkafka").as_deref(),
            Some("0.7.1")
        );
    }

    #[test]
    fn java_summary() {
        let out = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
                   2026-11-24 21:40:28:996, 2026-11-24 21:40:30:309, 215.5304, 164.1511, 2000000, 1523229.2460, 316, 997, 216.1789, 2006018.0542\n";
        let r = parse_java(out).unwrap();
        assert_eq!(r.measurement.read, 2_000_000);
        assert_eq!(r.measurement.elapsed, Duration::from_millis(997));
        assert!((r.measurement.rate() - 2_006_018.05).abs() < 1.0);
        assert_eq!(r.rebalance_ms, 316);
        // 2026-11-24 21:40:30.309 UTC is 1795556430.309; minus the 997 ms of fetching.
        assert!((r.measurement.start_unix - (1_795_556_430.309 - 0.997)).abs() < 1e-6);
        assert_eq!(utc_seconds("1970-01-01 00:00:01:500"), Some(1.5));
        assert_eq!(utc_seconds("2000-03-01 00:00:00:000"), Some(951_868_800.0));
        assert!((r.with_join_rate - 1_523_229.246).abs() < 1e-3);
        assert!(parse_java("WARNING: Exiting before consuming the expected number of messages: timeout (10 ms) exceeded.\n").is_err());
        assert!(parse_java("nothing\n").is_err());
    }
}
