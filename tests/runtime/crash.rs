//! At-least-once across hard kills and deploys, with consumer *processes*: every produced
//! message must end up handled (duplicates allowed and reported, losses not). Needs
//! `infra/up`.
//!
//! - kill -9 mid-stream twice, then a clean finish;
//! - two members, 10 seeded-random kill -9s with restarts while a producer runs
//!   (`CRASH_SEED` replays a run);
//! - rolling restart (SIGTERM, start a replacement) of 3 members under load.

use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use consume_tests::procs::{Group, kill_9, terminate};
use consume_tests::{kafka, require};

const BIN: &str = env!("CARGO_BIN_EXE_crash_consumer");

fn ends(topic: &str, partitions: i32) -> Vec<(i32, i64)> {
    (0..partitions)
        .map(|p| (p, kafka::high_watermark(topic, p)))
        .collect()
}

/// Produces `total` messages in the background, `per_tick` every 20 ms (≈ 50 ticks/s) with
/// one idempotent producer; returns the task and a counter of messages acknowledged so far.
fn background_producer(
    topic: &str,
    total: usize,
    per_tick: usize,
) -> (tokio::task::JoinHandle<()>, Arc<AtomicUsize>) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let sent = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&sent);
    let topic = topic.to_owned();
    let task = tokio::spawn(async move {
        let producer: FutureProducer = kafka::plaintext_config()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        let mut i = 0;
        while i < total {
            let n = per_tick.min(total - i);
            let keys: Vec<(String, String)> = (i..i + n)
                .map(|j| (format!("learner-{}", j % 97), format!("v{j}")))
                .collect();
            let sends = keys.iter().map(|(k, v)| {
                producer.send(
                    FutureRecord::to(&topic).key(k).payload(v),
                    Duration::from_secs(30),
                )
            });
            for r in futures::future::join_all(sends).await {
                r.unwrap_or_else(|(e, _)| panic!("producing failed: {e}"));
            }
            i += n;
            s.store(i, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (task, sent)
}

/// xorshift64*: a small deterministic generator, so a failing run can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing() {
    require::kafka();
    let mut g = Group::new("rt-crash", BIN);
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &g.topic, 3).await;
    let n = 1500usize;
    let sent: Vec<(String, String)> = (0..n)
        .map(|i| (format!("k{}", i % 30), format!("v{i}")))
        .collect();
    kafka::produce(&base, &g.topic, &sent).await;

    // Kill twice mid-stream, then let a third process finish.
    for upto in [n / 4, n / 2] {
        let mut child = g.spawn("crash_handler", &[]);
        g.wait_handled(upto, Duration::from_secs(90), &mut [&mut child]);
        kill_9(&mut child);
    }
    let mut child = g.spawn("crash_handler", &[]);
    g.wait_handled(n, Duration::from_secs(120), &mut [&mut child]);
    let status = terminate(&mut child);
    assert!(
        status.success(),
        "graceful exit after SIGTERM, got {status}"
    );

    let duplicates = g.assert_none_lost(&ends(&g.topic, 3));
    eprintln!("kill -9 x2: {n} messages, none lost, {duplicates} handled more than once");
    g.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_ten_random_kills_while_producing() {
    require::kafka();
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026);
    eprintln!("CRASH_SEED={seed}");
    let mut rng = Rng(seed.max(1));
    let mut g = Group::new("rt-kills", BIN);
    kafka::create_topic(&kafka::plaintext_config(), &g.topic, 4).await;
    let total = 6000;
    let (producer, produced) = background_producer(&g.topic, total, 10);

    let mut members: Vec<Child> = vec![
        g.spawn("crash_concurrent", &[]),
        g.spawn("crash_handler", &[]),
    ];
    for kill in 0..10 {
        tokio::time::sleep(Duration::from_millis(rng.between(300, 1500))).await;
        let victim = (rng.next() % 2) as usize;
        kill_9(&mut members[victim]);
        eprintln!(
            "kill {}: member {victim} (produced so far {}, handled {})",
            kill + 1,
            produced.load(Ordering::SeqCst),
            g.handled().len()
        );
        // Alternate the handler shape of the replacement: sequential or key-concurrent.
        let shape = if rng.next().is_multiple_of(2) {
            "crash_handler"
        } else {
            "crash_concurrent"
        };
        members[victim] = g.spawn(shape, &[]);
    }
    producer.await.expect("producer task");
    let [a, b] = &mut members[..] else {
        unreachable!("two members")
    };
    g.wait_handled(total, Duration::from_secs(180), &mut [a, b]);
    for m in &mut members {
        let status = terminate(m);
        assert!(
            status.success(),
            "graceful exit after SIGTERM, got {status}"
        );
    }
    let duplicates = g.assert_none_lost(&ends(&g.topic, 4));
    eprintln!(
        "2 members, 10 kill -9s (seed {seed}): {total} messages, none lost, {duplicates} handled more than once"
    );
    g.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_of_three_members_under_load() {
    require::kafka();
    let mut g = Group::new("rt-rolling", BIN);
    kafka::create_topic(&kafka::plaintext_config(), &g.topic, 6).await;
    let total = 6000;
    let (producer, produced) = background_producer(&g.topic, total, 10);
    let mut members: Vec<Child> = (0..3).map(|_| g.spawn("crash_handler", &[])).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Deploy: replace each member in turn, the way a Kubernetes rolling update does
    // (SIGTERM, wait for exit, start the new pod).
    for (i, member) in members.iter_mut().enumerate() {
        let status = terminate(member);
        assert!(
            status.success(),
            "member {i} did not exit cleanly on SIGTERM: {status}"
        );
        *member = g.spawn("crash_handler", &[]);
        eprintln!(
            "restarted member {i} (produced {}, handled {})",
            produced.load(Ordering::SeqCst),
            g.handled().len()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    producer.await.expect("producer task");
    {
        let mut running: Vec<&mut Child> = members.iter_mut().collect();
        g.wait_handled(total, Duration::from_secs(180), &mut running);
    }
    for m in &mut members {
        let status = terminate(m);
        assert!(
            status.success(),
            "graceful exit after SIGTERM, got {status}"
        );
    }
    let duplicates = g.assert_none_lost(&ends(&g.topic, 6));
    eprintln!(
        "rolling restart of 3 members: {total} messages, none lost, {duplicates} handled more than once"
    );
    g.cleanup();
}
