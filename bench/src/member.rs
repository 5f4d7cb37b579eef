//! The benchmark binary as a child process of the scaling runs (`scaling.rs`): a consumer
//! group member running `#[consume]` handlers in a process of its own, so that its memory
//! and threads are its own and two of them can share a group.
//!
//! Started with `CONSUME_BENCH_MEMBER=1` and its settings in the environment (see
//! [`Settings::from_env`]); it runs the selected handlers and prints one line every
//! [`EVERY`] to stdout, `<unix seconds> <handled, all handlers> <RSS bytes> <peak RSS bytes>
//! <threads>`, until its stdin reaches end of file; then it shuts down gracefully.

use std::io::{BufRead as _, Write as _};
use std::time::Duration;

use consume_runtime::{Config, Runtime};

use crate::BoxError;
use crate::cpu::unix_now;
use crate::scale_handlers::{BACKLOG, SCALE};

/// How often the member reports.
const EVERY: Duration = Duration::from_millis(10);

/// The variable that makes the binary a member.
pub(crate) const MEMBER_VAR: &str = "CONSUME_BENCH_MEMBER";

/// What a member runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// Kafka's bootstrap servers (`KAFKA_BOOTSTRAP`).
    pub(crate) bootstrap: String,
    /// The topic (`BENCH_SCALE_TOPIC`).
    pub(crate) topic: String,
    /// The group, or the groups' prefix with several handlers (`BENCH_SCALE_GROUP`).
    pub(crate) group: String,
    /// No-op handlers to run, each with its own group (`BENCH_HANDLERS`, 1–50), or 0 for the
    /// one slow backlog handler.
    pub(crate) handlers: usize,
    /// librdkafka properties, `k=v` separated by spaces (`BENCH_PROPERTIES`).
    pub(crate) properties: Vec<(String, String)>,
}

impl Settings {
    /// From the environment the parent set.
    pub(crate) fn from_env() -> Result<Self, BoxError> {
        let var = |n: &str| std::env::var(n).map_err(|_| format!("member: {n} is not set"));
        let properties = std::env::var("BENCH_PROPERTIES")
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| format!("member: property `{kv}` is not k=v"))
            })
            .collect::<Result<_, _>>()?;
        let handlers: usize = var("BENCH_HANDLERS")?
            .parse()
            .map_err(|e| format!("member: BENCH_HANDLERS: {e}"))?;
        if handlers > SCALE.len() {
            return Err(format!("member: at most {} handlers", SCALE.len()).into());
        }
        Ok(Self {
            bootstrap: var("KAFKA_BOOTSTRAP")?,
            topic: var("BENCH_SCALE_TOPIC")?,
            group: var("BENCH_SCALE_GROUP")?,
            handlers,
            properties,
        })
    }

    /// The environment that makes a child process a member with these settings.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (MEMBER_VAR, "1".to_owned()),
            ("KAFKA_BOOTSTRAP", self.bootstrap.clone()),
            ("BENCH_SCALE_TOPIC", self.topic.clone()),
            ("BENCH_SCALE_GROUP", self.group.clone()),
            ("BENCH_HANDLERS", self.handlers.to_string()),
            (
                "BENCH_PROPERTIES",
                self.properties
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ]
    }
}

/// Runs the member until stdin closes.
pub(crate) async fn run(s: Settings) -> Result<(), BoxError> {
    let mut config = Config::new(&s.bootstrap);
    for (k, v) in &s.properties {
        config = config.property(k.clone(), v.clone());
    }
    config.client_id = "consume-bench-member".to_owned();
    config.boot_timeout = Duration::from_secs(20);
    let names: Vec<&str> = if s.handlers == 0 {
        vec![BACKLOG]
    } else {
        SCALE[..s.handlers].to_vec()
    };
    let runtime = Runtime::new(config)
        .only(names)
        .var("BENCH_SCALE_TOPIC", &s.topic)
        .var("BENCH_SCALE_GROUP", &s.group);
    let metrics = runtime.metrics();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Stdin's end is the parent's "stop".
    std::thread::spawn(move || {
        for _ in std::io::stdin().lock().lines() {}
        let _ = stop.send(());
    });
    let reporter = std::thread::spawn(move || {
        let pid = std::process::id();
        let mut out = std::io::stdout().lock();
        loop {
            let handled: u64 = metrics.snapshot().iter().map(|h| h.handled).sum();
            let (rss, hwm, threads) = memory(pid).unwrap_or((0, 0, 0));
            if writeln!(out, "{:.4} {handled} {rss} {hwm} {threads}", unix_now())
                .and_then(|()| out.flush())
                .is_err()
            {
                return;
            }
            std::thread::sleep(EVERY);
        }
    });
    let result = runtime
        .run_until(async {
            let _ = stopped.await;
        })
        .await;
    drop(reporter);
    result.map_err(|e| format!("member: the runtime failed: {e}").into())
}

/// Current RSS, peak RSS (bytes) and threads of `pid`, from `/proc/<pid>/status`.
pub(crate) fn memory(pid: u32) -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((
        field("VmRSS:")? * 1024,
        field("VmHWM:")? * 1024,
        field("Threads:")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_environment() {
        let s = Settings {
            bootstrap: "127.0.0.1:9092".into(),
            topic: "t".into(),
            group: "g".into(),
            handlers: 10,
            properties: vec![("queued.max.messages.kbytes".into(), "4096".into())],
        };
        let env = s.env();
        assert!(env.contains(&(MEMBER_VAR, "1".to_owned())));
        assert!(env.contains(&(
            "BENCH_PROPERTIES",
            "queued.max.messages.kbytes=4096".to_owned()
        )));
        let (rss, hwm, threads) = memory(std::process::id()).unwrap();
        assert!(rss > 0 && hwm >= rss && threads >= 1);
    }
}
