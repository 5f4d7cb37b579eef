//! The key-ordered benchmark's peers, each a child process with its own fresh group calling
//! the harness's echo stub once per record:
//!
//! - Confluent's Parallel Consumer (`bench/parallel-consumer-peer`, a Maven project built by
//!   its `build.sh` into `target/parallel-consumer-peer/`), `ProcessingOrder.KEY` and
//!   `maxConcurrency = c`, a blocking socket per worker thread.
//! - kafkajs `eachMessage` with `partitionsConsumedConcurrently = P` on a `P`-partition topic
//!   (`tests/interop/node/bench_key_ordered.js`), a pool of `net` sockets.
//!
//! Both print one JSON line: `{"count","timed","elapsed_s","checksum","join_s","cpu_s",
//! "first_unix_ms","violations","io_s","key_io_s"}` (`io_s`: the round trips' durations
//! summed; `key_io_s`: the largest per-key sum of them), parsed by [`parse_report`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::BoxError;
use crate::peers::{self, PeerLine};

/// What a peer should do.
#[derive(Debug, Clone)]
pub(crate) struct KoPeerRun<'a> {
    /// Kafka's bootstrap servers.
    pub(crate) bootstrap: &'a str,
    /// Topic to read from the beginning.
    pub(crate) topic: &'a str,
    /// Fresh group id.
    pub(crate) group: &'a str,
    /// Records to read (the whole topic).
    pub(crate) count: u64,
    /// Calls at once: Parallel Consumer's `maxConcurrency`, kafkajs'
    /// `partitionsConsumedConcurrently`.
    pub(crate) concurrency: u32,
    /// The echo stub.
    pub(crate) echo: SocketAddr,
    /// First, untimed: this many records of this topic with another group and instance
    /// (the JIT's warm-up).
    pub(crate) warmup: Option<(&'a str, u64)>,
}

/// What a peer reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KoPeerReport {
    /// Records handled.
    pub(crate) count: u64,
    /// From the first call's start to the last call's end.
    pub(crate) elapsed: Duration,
    /// Sum of the echoed values.
    pub(crate) checksum: u64,
    /// From the process's start to its first call.
    pub(crate) join: Duration,
    /// The process's CPU time over `elapsed`.
    pub(crate) cpu: Duration,
    /// Wall clock of its first call (Unix ms).
    pub(crate) first_unix_ms: u64,
    /// Per-key order violations.
    pub(crate) violations: u64,
    /// The round trips' durations, summed.
    pub(crate) io: Duration,
    /// The largest per-key sum of round trips.
    pub(crate) key_io: Duration,
}

/// Parses a key-ordered peer's JSON line (the last non-empty line of its stdout).
pub(crate) fn parse_report(who: &str, stdout: &str) -> Result<KoPeerReport, BoxError> {
    let r = PeerLine::parse(who, stdout)?;
    let count = r.count("count")?;
    let timed = r.count("timed")?;
    if timed != count {
        return Err(format!("{who}: timed {timed} of {count} records (all must be timed)").into());
    }
    Ok(KoPeerReport {
        count,
        elapsed: Duration::from_secs_f64(r.num("elapsed_s")?),
        checksum: r.count("checksum")?,
        join: Duration::from_secs_f64(r.num("join_s")?),
        cpu: Duration::from_secs_f64(r.num("cpu_s")?),
        first_unix_ms: r.count("first_unix_ms")?,
        violations: r.count("violations")?,
        io: Duration::from_secs_f64(r.num("io_s")?),
        key_io: Duration::from_secs_f64(r.num("key_io_s")?),
    })
}

/// Generous: the whole run (warm-up included) at 500 records/s plus a minute.
fn timeout_ms(count: u64) -> u64 {
    60_000 + count * 2
}

/// The Parallel Consumer peer's Maven project.
fn pc_dir() -> PathBuf {
    peers::repo_dir().join("bench/parallel-consumer-peer")
}

/// Where `build.sh` puts the jar and its `libs/`.
fn pc_out() -> PathBuf {
    peers::repo_dir().join("target/parallel-consumer-peer")
}

/// Builds the Parallel Consumer peer (`bench/parallel-consumer-peer/build.sh`: Maven, or
/// nothing when it is up to date). Blocking.
pub(crate) fn build_parallel_consumer() -> Result<(), BoxError> {
    crate::peers::run_build_script(&pc_dir().join("build.sh"), "the Parallel Consumer peer")
}

/// The JVM: `$JAVA_HOME/bin/java`, else `java` on the path.
fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME").map_or_else(
        || PathBuf::from("java"),
        |h| PathBuf::from(h).join("bin/java"),
    )
}

/// Runs the Parallel Consumer peer to completion (blocking). It must have been built
/// ([`build_parallel_consumer`]).
pub(crate) fn run_parallel_consumer(r: &KoPeerRun<'_>) -> Result<KoPeerReport, BoxError> {
    let out = pc_out();
    let jar = out.join("parallel-consumer-peer.jar");
    if !jar.is_file() {
        return Err(format!(
            "the Parallel Consumer peer is not built ({} is missing)",
            jar.display()
        )
        .into());
    }
    let classpath = format!("{}:{}", jar.display(), out.join("libs/*").display());
    let mut cmd = Command::new(java());
    cmd.args(["-Xms256m", "-Xmx512m"])
        .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
        .arg("-Dorg.slf4j.simpleLogger.logFile=System.err")
        .arg("-cp")
        .arg(classpath)
        .arg("local.bench.KeyOrderedPeer");
    common_args(&mut cmd, r, "--bootstrap");
    let stdout = peers::run_peer(&mut cmd, "the Parallel Consumer peer")?;
    parse_report("the Parallel Consumer peer", &stdout.stdout)
}

/// The kafkajs key-ordered script.
fn kafkajs_script() -> PathBuf {
    peers::node_script().with_file_name("bench_key_ordered.js")
}

/// Runs the kafkajs peer to completion (blocking).
pub(crate) fn run_kafkajs(r: &KoPeerRun<'_>) -> Result<KoPeerReport, BoxError> {
    let script = kafkajs_script();
    if !script.with_file_name("node_modules/kafkajs").is_dir() {
        return Err(format!(
            "kafkajs is not installed next to {} (run tests/interop/setup.sh)",
            script.display()
        )
        .into());
    }
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let mut cmd = Command::new(&node);
    cmd.arg(&script);
    common_args(&mut cmd, r, "--brokers");
    let stdout = peers::run_peer(
        &mut cmd,
        &format!(
            "the kafkajs key-ordered peer (`{node} {}`)",
            script.display()
        ),
    )?;
    parse_report("the kafkajs key-ordered peer", &stdout.stdout)
}

fn common_args(cmd: &mut Command, r: &KoPeerRun<'_>, bootstrap_flag: &str) {
    cmd.args([
        bootstrap_flag,
        r.bootstrap,
        "--topic",
        r.topic,
        "--group",
        r.group,
    ])
    .args(["--count", &r.count.to_string()])
    .args(["--concurrency", &r.concurrency.to_string()])
    .args(["--echo", &r.echo.to_string()])
    .args(["--timeout-ms", &timeout_ms(r.count).to_string()]);
    if let Some((topic, n)) = r.warmup {
        cmd.args(["--warmup-topic", topic, "--warmup-count", &n.to_string()]);
    }
}

/// The Parallel Consumer version the peer is built with (its `pom.xml`), `?` if unknown.
pub(crate) fn parallel_consumer_version() -> String {
    std::fs::read_to_string(pc_dir().join("pom.xml"))
        .ok()
        .and_then(|pom| xml_value(&pom, "parallel-consumer.version"))
        .unwrap_or_else(|| "?".to_owned())
}

/// The kafka-clients jar version in the peer's `libs/` (what Parallel Consumer resolved).
pub(crate) fn parallel_consumer_kafka_clients() -> String {
    std::fs::read_dir(pc_out().join("libs"))
        .ok()
        .and_then(|d| {
            d.filter_map(Result::ok).find_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_prefix("kafka-clients-")
                    .and_then(|r| r.strip_suffix(".jar"))
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// The JVM's version line (`java -version`, first line of its stderr), `?` if unknown.
pub(crate) fn java_version() -> String {
    Command::new(java())
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub(crate) fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports() {
        let r = parse_report(
            "pc",
            "log line\n{\"count\":4000,\"timed\":4000,\"elapsed_s\":1.25,\"checksum\":123,\"join_s\":0.5,\
             \"cpu_s\":0.75,\"first_unix_ms\":1764000000000,\"violations\":0,\"io_s\":8.5,\"key_io_s\":1.5}\n",
        )
        .unwrap();
        assert_eq!(r.count, 4_000);
        assert_eq!(r.elapsed, Duration::from_millis(1_250));
        assert_eq!(r.cpu, Duration::from_millis(750));
        assert_eq!(r.join, Duration::from_millis(500));
        assert_eq!((r.checksum, r.violations), (123, 0));
        assert_eq!(r.first_unix_ms, 1_764_000_000_000);
        assert_eq!(r.io, Duration::from_millis(8_500));
        assert_eq!(r.key_io, Duration::from_millis(1_500));
        assert!(parse_report("pc", "").is_err());
        assert!(parse_report("pc", "{\"count\":1}").is_err());
        // Every record must be inside the clock.
        assert!(
            parse_report(
                "pc",
                "{\"count\":2,\"timed\":1,\"elapsed_s\":1,\"checksum\":0,\"join_s\":0,\"cpu_s\":0,\
                 \"first_unix_ms\":0,\"violations\":0,\"io_s\":0,\"key_io_s\":0}"
            )
            .is_err()
        );
    }

    #[test]
    fn the_pom_names_the_version() {
        assert_eq!(xml_value("<a><v>1.2</v></a>", "v").as_deref(), Some("1.2"));
        assert_eq!(xml_value("<a></a>", "v"), None);
        assert_eq!(parallel_consumer_version(), "0.5.3.3");
        assert!(pc_dir().join("build.sh").is_file());
    }
}
