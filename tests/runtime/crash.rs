//! At-least-once across a hard kill: a consumer process is killed with SIGKILL mid-stream,
//! restarted, and must end up having handled every message (duplicates allowed and
//! counted, losses not). Needs `infra/up`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consume_tests::{endpoints, kafka, require, unique};

fn spawn(topic: &str, group: &str, out: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_crash_consumer"))
        .env("KAFKA_BROKERS", endpoints::kafka_bootstrap())
        .env("CRASH_TOPIC", topic)
        .env("CRASH_GROUP", group)
        .env("CRASH_OUT", out)
        .env("CRASH_DELAY_MS", "2")
        // A killed member is evicted after the session timeout; keep it short for the test.
        .env("CONSUME_RDKAFKA_SESSION_TIMEOUT_MS", "6000")
        .env("CONSUME_RDKAFKA_HEARTBEAT_INTERVAL_MS", "1000")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start crash_consumer")
}

/// (partition, offset) → how many times it was handled.
fn handled(out: &std::path::Path) -> BTreeMap<(i32, i64), usize> {
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

fn wait_handled(out: &std::path::Path, at_least: usize, timeout: Duration, child: &mut Child) {
    let deadline = Instant::now() + timeout;
    while handled(out).len() < at_least {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("crash_consumer exited early with {status}");
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {at_least} handled",
            handled(out).len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing() {
    require::kafka();
    let topic = unique::name("rt-crash");
    let group = unique::name("rt-crash-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 3).await;
    let n = 1500usize;
    let sent: Vec<(String, String)> = (0..n)
        .map(|i| (format!("k{}", i % 30), format!("v{i}")))
        .collect();
    kafka::produce(&base, &topic, &sent).await;

    let dir = std::env::temp_dir().join(unique::name("crash"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let out = dir.join("handled.txt");

    // Kill twice mid-stream, then let a third process finish.
    let mut kills = 0;
    for (round, upto) in [(1, n / 4), (2, n / 2)] {
        let mut child = spawn(&topic, &group, &out, &dir.join(format!("run{round}.log")));
        wait_handled(&out, upto, Duration::from_secs(90), &mut child);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        kills += 1;
    }
    let mut child = spawn(&topic, &group, &out, &dir.join("run3.log"));
    wait_handled(&out, n, Duration::from_secs(120), &mut child);
    // SIGTERM for a clean exit.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("reap");
    assert!(
        status.success(),
        "graceful exit after SIGTERM, got {status}"
    );

    let counts = handled(&out);
    let offsets: BTreeSet<(i32, i64)> = counts.keys().copied().collect();
    assert_eq!(
        offsets.len(),
        n,
        "every produced message was handled at least once"
    );
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    eprintln!("kill -9 x{kills}: {n} messages, {duplicates} handled twice or more (allowed)");
    let _ = std::fs::remove_dir_all(&dir);
}
