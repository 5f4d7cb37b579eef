//! Fewer rebalances on deploys, against the real Kafka: static membership (a rolling
//! restart moves no other member's partitions) and the cooperative-sticky assignor (a
//! joining member takes partitions without the others stopping). Nothing lost in either.
//! Needs `infra/up`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{Assignor, Config, Key, Meta, Metrics, Payload, Runtime, State, consume};
use consume_tests::runtime::{Running, config};
use consume_tests::{kafka, require, unique};

/// (partition, offset) → the members that handled it.
type Handled = BTreeMap<(i32, i64), Vec<String>>;

#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Handled>>);

impl Ledger {
    fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }

    /// Records handled more than once.
    fn duplicates(&self) -> usize {
        self.0
            .lock()
            .expect("lock")
            .values()
            .filter(|m| m.len() > 1)
            .count()
    }
}

#[derive(Clone)]
struct Member(String);

#[consume(topic = "${MEMBERSHIP_TOPIC}", group = "${MEMBERSHIP_GROUP}")]
async fn membership_handler(
    _k: Key<String>,
    _p: Payload,
    meta: Meta,
    State(ledger): State<Ledger>,
    State(member): State<Member>,
) {
    tokio::time::sleep(Duration::from_millis(1)).await;
    ledger
        .0
        .lock()
        .expect("lock")
        .entry((meta.partition, meta.offset))
        .or_default()
        .push(member.0.clone());
}

struct Fixture {
    topic: String,
    group: String,
    ledger: Ledger,
    base: rdkafka::ClientConfig,
    sent: usize,
}

impl Fixture {
    async fn new(name: &str, partitions: i32) -> Self {
        require::kafka();
        let topic = unique::name(name);
        let base = kafka::plaintext_config();
        kafka::create_topic(&base, &topic, partitions).await;
        Self {
            group: unique::name(&format!("{name}-g")),
            topic,
            ledger: Ledger::default(),
            base,
            sent: 0,
        }
    }

    async fn produce(&mut self, n: usize) {
        let records: Vec<(String, String)> = (self.sent..self.sent + n)
            .map(|i| (format!("k{}", i % 97), format!("v{i}")))
            .collect();
        kafka::produce(&self.base, &self.topic, &records).await;
        self.sent += n;
    }

    /// A member with `config`, and its metrics.
    fn start(&self, member: &str, config: Config) -> (Running, Metrics) {
        let rt = Runtime::new(config)
            .only(["membership_handler"])
            .var("MEMBERSHIP_TOPIC", &self.topic)
            .var("MEMBERSHIP_GROUP", &self.group)
            .state(self.ledger.clone())
            .state(Member(member.to_owned()));
        let metrics = rt.metrics();
        (Running::start(rt), metrics)
    }

    async fn wait_all_handled(&self, run: &mut Running) {
        let (l, n) = (self.ledger.clone(), self.sent);
        run.wait_for(
            &format!("all {n} records handled"),
            Duration::from_secs(90),
            || l.len() >= n,
        )
        .await;
    }
}

fn assigned(m: &Metrics) -> i64 {
    m.snapshot().first().map_or(0, |h| h.assigned_partitions)
}

fn rebalances(m: &Metrics) -> u64 {
    m.snapshot().first().map_or(0, |h| h.rebalances)
}

fn static_member(id: &str) -> Config {
    let mut c = config();
    c.group_instance_id = Some(id.to_owned());
    // The window in which a restarted member takes its partitions back without a rebalance.
    c.property("session.timeout.ms", "30000")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_static_members_moves_no_other_members_partitions() {
    let mut f = Fixture::new("rt-static", 6).await;
    f.produce(1500).await;
    let ids = ["pod-0", "pod-1", "pod-2"];
    let mut members: Vec<(Running, Metrics)> = ids
        .iter()
        .map(|id| f.start(id, static_member(id)))
        .collect();
    let views: Vec<Metrics> = members.iter().map(|(_, m)| m.clone()).collect();
    members[0]
        .0
        .wait_for(
            "the three static members share the 6 partitions",
            Duration::from_secs(90),
            || views.iter().all(|m| assigned(m) == 2),
        )
        .await;
    f.wait_all_handled(&mut members[0].0).await;

    // Restart each member in turn, producing while it is away.
    for (i, id) in ids.iter().enumerate() {
        let others: Vec<(usize, u64, i64)> = members
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, (_, m))| (j, rebalances(m), assigned(m)))
            .collect();
        let (old, _) = members.remove(i);
        old.stop().await.expect("member ran");
        f.produce(500).await;
        let (mut new, metrics) = f.start(&format!("{id} (restarted)"), static_member(id));
        let m = metrics.clone();
        new.wait_for(
            &format!("{id} back with its partitions"),
            Duration::from_secs(60),
            || assigned(&m) == 2,
        )
        .await;
        f.wait_all_handled(&mut new).await;
        members.insert(i, (new, metrics));
        for (j, before, parts) in others {
            let m = &members[j].1;
            assert_eq!(
                (rebalances(m), assigned(m)),
                (before, parts),
                "member {} was rebalanced while {id} restarted",
                ids[j]
            );
        }
    }
    for (run, _) in members {
        run.stop().await.expect("member ran");
    }
    assert_eq!(f.ledger.len(), f.sent, "every record handled");
    assert_eq!(
        f.ledger.duplicates(),
        0,
        "graceful restarts commit what they handled"
    );
    for p in 0..6 {
        assert!(kafka::committed(&f.group, &f.topic, p).is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_cooperative_sticky_a_joining_member_does_not_stop_the_others() {
    let mut f = Fixture::new("rt-coop", 6).await;
    f.produce(3000).await;
    let coop = || {
        let mut c = config();
        c.assignor = Assignor::CooperativeSticky;
        c
    };
    let (mut a, ma) = f.start("a", coop());
    let m = ma.clone();
    a.wait_for("a owns every partition", Duration::from_secs(60), || {
        assigned(&m) == 6
    })
    .await;
    let l = f.ledger.clone();
    a.wait_for("a quarter handled", Duration::from_secs(60), || {
        l.len() >= 750
    })
    .await;

    // Watch a's assignment while b joins: eager protocols revoke everything first.
    let min_assigned = Arc::new(AtomicI64::new(i64::MAX));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (min, on, m) = (Arc::clone(&min_assigned), Arc::clone(&watching), ma.clone());
        tokio::spawn(async move {
            while on.load(Ordering::SeqCst) {
                min.fetch_min(assigned(&m), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let (mut b, mb) = f.start("b", coop());
    let (ma2, mb2) = (ma.clone(), mb.clone());
    b.wait_for(
        "a and b share the partitions",
        Duration::from_secs(60),
        || assigned(&ma2) == 3 && assigned(&mb2) == 3,
    )
    .await;
    watching.store(false, Ordering::SeqCst);
    watcher.await.expect("watcher");
    assert!(
        min_assigned.load(Ordering::SeqCst) >= 3,
        "a kept its remaining partitions throughout (saw {})",
        min_assigned.load(Ordering::SeqCst)
    );

    f.produce(1000).await;
    f.wait_all_handled(&mut b).await;
    // a leaves: b takes its partitions incrementally, nothing lost.
    a.stop().await.expect("a ran");
    let m = mb.clone();
    b.wait_for("b owns every partition", Duration::from_secs(60), || {
        assigned(&m) == 6
    })
    .await;
    f.produce(1000).await;
    f.wait_all_handled(&mut b).await;
    b.stop().await.expect("b ran");
    assert_eq!(f.ledger.len(), f.sent, "every record handled");
    let dups = f.ledger.duplicates();
    let commit_failures: u64 = [&ma, &mb]
        .iter()
        .flat_map(|m| m.snapshot())
        .map(|h| h.commit_failures)
        .sum();
    eprintln!("cooperative-sticky: {dups} duplicates, {commit_failures} failed commits");
    assert_eq!(
        dups, 0,
        "graceful hand-overs commit before the partitions move"
    );
}
