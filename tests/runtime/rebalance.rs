//! Rebalances against the real Kafka: a second member joining mid-stream takes partitions
//! over cleanly (in-flight work drained, offsets committed before release, so nothing is
//! lost or handled twice), and a handler slower than `max.poll.interval.ms` does not get
//! its member evicted. Needs `infra/up`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{Key, Meta, Payload, Runtime, State, consume};
use consume_tests::runtime::{Running, config};
use consume_tests::{kafka, require, unique};

/// (partition, offset) → the members that handled it, in order.
type Handled = BTreeMap<(i32, i64), Vec<&'static str>>;

#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Handled>>);

#[derive(Clone)]
struct Member(&'static str);

#[consume(topic = "${REB_TOPIC}", group = "${REB_GROUP}")]
async fn rebalance_handler(
    _k: Key<String>,
    _p: Payload,
    meta: Meta,
    State(ledger): State<Ledger>,
    State(member): State<Member>,
) {
    tokio::time::sleep(Duration::from_millis(5)).await;
    ledger
        .0
        .lock()
        .expect("lock")
        .entry((meta.partition, meta.offset))
        .or_default()
        .push(member.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_joining_mid_stream_causes_no_loss_and_no_duplicate() {
    require::kafka();
    let topic = unique::name("rt-rebalance");
    let group = unique::name("rt-rebalance-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 4).await;
    let n = 2000usize;
    let sent: Vec<(String, String)> = (0..n)
        .map(|i| (format!("k{}", i % 40), format!("v{i}")))
        .collect();
    kafka::produce(&base, &topic, &sent).await;

    let ledger = Ledger::default();
    let start = |name: &'static str| {
        Running::start(
            Runtime::new(config())
                .only(["rebalance_handler"])
                .var("REB_TOPIC", &topic)
                .var("REB_GROUP", &group)
                .state(ledger.clone())
                .state(Member(name)),
        )
    };
    let mut a = start("a");
    let l = ledger.clone();
    a.wait_for(
        "a quarter handled by the first member",
        Duration::from_secs(60),
        || l.0.lock().expect("lock").len() >= n / 4,
    )
    .await;
    let mut b = start("b");
    let l = ledger.clone();
    b.wait_for("every message handled", Duration::from_secs(90), || {
        l.0.lock().expect("lock").len() >= n
    })
    .await;
    a.stop().await.expect("member a ran");
    b.stop().await.expect("member b ran");

    let ledger = ledger.0.lock().expect("lock");
    assert_eq!(ledger.len(), n, "every message handled");
    let duplicates: Vec<_> = ledger.iter().filter(|(_, who)| who.len() > 1).collect();
    assert!(
        duplicates.is_empty(),
        "a clean hand-over must not redeliver: {} duplicates, e.g. {:?}",
        duplicates.len(),
        duplicates.first()
    );
    let by_b = ledger.values().filter(|who| who[0] == "b").count();
    assert!(by_b > 0, "the second member never got partitions");
}

#[derive(Clone, Default)]
struct Slow(Arc<AtomicUsize>);

#[consume(topic = "${SLOW_TOPIC}", group = "${SLOW_GROUP}")]
async fn slow_handler(State(done): State<Slow>) {
    tokio::time::sleep(Duration::from_secs(9)).await;
    done.0.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_max_poll_interval_keeps_its_partitions() {
    require::kafka();
    let topic = unique::name("rt-slow");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    kafka::produce(
        &base,
        &topic,
        &[
            ("k".to_owned(), "a".to_owned()),
            ("k".to_owned(), "b".to_owned()),
        ],
    )
    .await;

    let done = Slow::default();
    let cfg = config()
        .property("session.timeout.ms", "6000")
        .property("max.poll.interval.ms", "6000");
    let rt = Runtime::new(cfg)
        .only(["slow_handler"])
        .var("SLOW_TOPIC", &topic)
        .var("SLOW_GROUP", unique::name("rt-slow-g"))
        .state(done.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let d = done.clone();
    run.wait_for("two 9-second messages", Duration::from_secs(60), || {
        d.0.load(Ordering::SeqCst) >= 2
    })
    .await;
    run.stop().await.expect("runtime ran");
    let m = metrics
        .snapshot()
        .into_iter()
        .find(|m| m.handler == "slow_handler")
        .expect("metrics");
    // One assignment at start and one revocation at shutdown: no eviction in between.
    assert_eq!(
        m.rebalances, 2,
        "the member was evicted and rejoined: {m:?}"
    );
    assert_eq!(m.handled, 2);
}
