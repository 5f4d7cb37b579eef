//! Consumer processes for crash tests: start `crash_consumer` processes in one group, kill
//! or stop them, and read back what they handled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{endpoints, unique};

/// One topic + group, the file every process appends its handled messages to, and a
/// directory for the processes' logs.
pub struct Group {
    /// The topic.
    pub topic: String,
    /// The consumer group.
    pub group: String,
    dir: PathBuf,
    out: PathBuf,
    bin: PathBuf,
    started: usize,
}

impl Group {
    /// A fresh topic/group pair (the topic is not created here) for the binary `bin`
    /// (pass `env!("CARGO_BIN_EXE_crash_consumer")`).
    pub fn new(prefix: &str, bin: &str) -> Self {
        let dir = std::env::temp_dir().join(unique::name(prefix));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        Self {
            topic: unique::name(prefix),
            group: unique::name(&format!("{prefix}-g")),
            out: dir.join("handled.txt"),
            dir,
            bin: PathBuf::from(bin),
            started: 0,
        }
    }

    /// Starts a member running `handler` with extra environment `env`.
    pub fn spawn(&mut self, handler: &str, env: &[(&str, &str)]) -> Child {
        self.started += 1;
        let log = std::fs::File::create(self.log(self.started)).expect("log file");
        let mut cmd = Command::new(&self.bin);
        cmd.env("KAFKA_BROKERS", endpoints::kafka_bootstrap())
            .env("CRASH_TOPIC", &self.topic)
            .env("CRASH_GROUP", &self.group)
            .env("CRASH_OUT", &self.out)
            .env("CRASH_HANDLER", handler)
            .env("CRASH_DELAY_MS", "2")
            // A killed member is evicted after the session timeout (6 s is the broker's
            // minimum).
            .env("CONSUME_RDKAFKA_SESSION_TIMEOUT_MS", "6000")
            .env("CONSUME_RDKAFKA_HEARTBEAT_INTERVAL_MS", "1000")
            .env_remove("CONSUME_FAILPOINT")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("start crash_consumer")
    }

    /// The log file of the `n`-th process started (from 1).
    pub fn log(&self, n: usize) -> PathBuf {
        self.dir.join(format!("member-{n}.log"))
    }

    /// The log of the `n`-th process, as text.
    pub fn log_text(&self, n: usize) -> String {
        std::fs::read_to_string(self.log(n)).unwrap_or_default()
    }

    /// How many processes were started so far.
    pub fn started(&self) -> usize {
        self.started
    }

    /// (partition, offset) → how many times it was handled.
    pub fn handled(&self) -> BTreeMap<(i32, i64), usize> {
        handled(&self.out)
    }

    /// Waits until `at_least` distinct messages were handled; panics if any of `running`
    /// exits meanwhile or after `timeout`.
    pub fn wait_handled(&self, at_least: usize, timeout: Duration, running: &mut [&mut Child]) {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.handled().len();
            if n >= at_least {
                return;
            }
            for c in running.iter_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "a consumer exited early with {status} ({n} of {at_least} handled); logs in {}",
                        self.dir.display()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "only {n} of {at_least} handled within {timeout:?}; logs in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Checks every offset below each partition's end was handled at least once; returns
    /// how many handlings were duplicates.
    pub fn assert_none_lost(&self, ends: &[(i32, i64)]) -> usize {
        let counts = self.handled();
        for &(p, end) in ends {
            let missing: Vec<i64> = (0..end)
                .filter(|o| !counts.contains_key(&(p, *o)))
                .collect();
            assert!(
                missing.is_empty(),
                "partition {p}: {} messages never handled, e.g. offsets {:?}; logs in {}",
                missing.len(),
                &missing[..missing.len().min(10)],
                self.dir.display()
            );
        }
        counts.values().map(|c| c - 1).sum()
    }

    /// Removes the logs and output (call at the end of a passing test).
    pub fn cleanup(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends SIGTERM and waits for the exit (at most 60 s).
pub fn terminate(child: &mut Child) -> ExitStatus {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    wait_exit(child, Duration::from_secs(60)).expect("exited within 60 s of SIGTERM")
}

/// Sends SIGKILL and reaps the process.
pub fn kill_9(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// Waits for `child` to exit, up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn handled(out: &Path) -> BTreeMap<(i32, i64), usize> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.split(' ');
        let (Some(p), Some(o)) = (it.next(), it.next()) else {
            continue;
        };
        if let (Ok(p), Ok(o)) = (p.parse(), o.parse()) {
            *m.entry((p, o)).or_insert(0) += 1;
        }
    }
    m
}
