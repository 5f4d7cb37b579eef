//! `#[consume]` handlers run by the real runtime against real Kafka: per-key order with
//! partitions in parallel, two groups, retries and permanent errors, and graceful shutdown
//! (committed offset == last handled + 1, group left). Needs `infra/up`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{DeadLetterReason, HandlerError, Json, Key, Meta, Runtime, State, consume};
use consume_tests::runtime::{Running, config};
use consume_tests::{kafka, require, unique};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Ev {
    seq: u32,
    #[serde(default)]
    kind: String,
}

/// One handled message: (key, seq, partition, attempt).
type Record = (String, u32, i32, u32);

/// What handlers saw, plus concurrency tracking.
#[derive(Clone, Default)]
struct Seen {
    records: Arc<Mutex<Vec<Record>>>,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
}

impl Seen {
    fn len(&self) -> usize {
        self.records.lock().expect("lock").len()
    }
    fn push(&self, key: &str, ev: &Ev, meta: &Meta) {
        self.records.lock().expect("lock").push((
            key.to_owned(),
            ev.seq,
            meta.partition,
            meta.attempt,
        ));
    }
    fn by_key(&self) -> BTreeMap<String, Vec<u32>> {
        let mut m: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (k, s, _, _) in self.records.lock().expect("lock").iter() {
            m.entry(k.clone()).or_default().push(*s);
        }
        m
    }
}

fn events(keys: usize, per_key: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for seq in 0..per_key {
        for k in 0..keys {
            out.push((format!("learner-{k}"), format!("{{\"seq\":{seq}}}")));
        }
    }
    out
}

// ---- per-key order, partitions in parallel ----

#[consume(topic = "${ORDER_TOPIC}", group = "${ORDER_GROUP}")]
async fn order_handler(
    Key(k): Key<String>,
    Json(ev): Json<Ev>,
    meta: Meta,
    State(seen): State<Seen>,
) {
    let now = seen.running.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_running.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2)).await;
    seen.push(&k, &ev, &meta);
    seen.running.fetch_sub(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_key_order_with_partitions_in_parallel() {
    require::kafka();
    let topic = unique::name("rt-order");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 4).await;
    let sent = events(16, 25);
    kafka::produce(&base, &topic, &sent).await;

    let seen = Seen::default();
    let rt = Runtime::new(config())
        .only(["order_handler"])
        .var("ORDER_TOPIC", &topic)
        .var("ORDER_GROUP", unique::name("rt-order-g"))
        .state(seen.clone());
    let mut run = Running::start(rt);
    let s = seen.clone();
    run.wait_for("every message handled", Duration::from_secs(60), || {
        s.len() >= sent.len()
    })
    .await;
    run.stop().await.expect("runtime ran");

    let by_key = seen.by_key();
    assert_eq!(by_key.len(), 16);
    for (k, seqs) in &by_key {
        assert_eq!(
            seqs,
            &(0..25).collect::<Vec<u32>>(),
            "key {k}: lost, duplicated or reordered"
        );
    }
    assert!(
        seen.max_running.load(Ordering::SeqCst) >= 2,
        "partitions were not handled in parallel (max concurrency {})",
        seen.max_running.load(Ordering::SeqCst)
    );
}

// ---- two groups on one topic ----

#[derive(Clone, Default)]
struct SeenA(Seen);
#[derive(Clone, Default)]
struct SeenB(Seen);

#[consume(topic = "${TWO_TOPIC}", group = "${TWO_GROUP_A}")]
async fn group_a_handler(
    Key(k): Key<String>,
    Json(ev): Json<Ev>,
    meta: Meta,
    State(s): State<SeenA>,
) {
    s.0.push(&k, &ev, &meta);
}

#[consume(topic = "${TWO_TOPIC}", group = "${TWO_GROUP_B}")]
async fn group_b_handler(
    Key(k): Key<String>,
    Json(ev): Json<Ev>,
    meta: Meta,
    State(s): State<SeenB>,
) {
    s.0.push(&k, &ev, &meta);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_groups_each_get_every_message() {
    require::kafka();
    let topic = unique::name("rt-two");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 2).await;
    let sent = events(4, 20);
    kafka::produce(&base, &topic, &sent).await;

    let (a, b) = (SeenA::default(), SeenB::default());
    let rt = Runtime::new(config())
        .only(["group_a_handler", "group_b_handler"])
        .var("TWO_TOPIC", &topic)
        .var("TWO_GROUP_A", unique::name("rt-two-a"))
        .var("TWO_GROUP_B", unique::name("rt-two-b"))
        .state(a.clone())
        .state(b.clone());
    let mut run = Running::start(rt);
    let (a2, b2) = (a.clone(), b.clone());
    run.wait_for("both groups done", Duration::from_secs(60), || {
        a2.0.len() >= sent.len() && b2.0.len() >= sent.len()
    })
    .await;
    run.stop().await.expect("runtime ran");
    assert_eq!(a.0.by_key(), b.0.by_key());
    assert_eq!(a.0.len(), sent.len());
    assert_eq!(b.0.len(), sent.len());
}

// ---- retries, panics and permanent errors ----

#[derive(Clone, Default)]
struct Attempts(Seen);

#[derive(Debug)]
struct Flaky;
impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaky dependency")
    }
}
impl std::error::Error for Flaky {}

#[consume(topic = "${RETRY_TOPIC}", group = "${RETRY_GROUP}")]
async fn retry_handler(
    Key(k): Key<String>,
    Json(ev): Json<Ev>,
    meta: Meta,
    State(s): State<Attempts>,
) -> Result<(), HandlerError> {
    s.0.push(&k, &ev, &meta);
    match ev.kind.as_str() {
        "flaky" if meta.attempt < 3 => Err(Flaky.into()),
        "panic" if meta.attempt == 1 => panic!("boom on first attempt"),
        "poison" => Err(HandlerError::permanent(Flaky)),
        _ => Ok(()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_are_retried_and_permanent_ones_do_not_block() {
    require::kafka();
    let topic = unique::name("rt-retry");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    let msgs: Vec<(String, String)> = [
        (0, "ok"),
        (1, "flaky"),
        (2, "poison"),
        (3, "panic"),
        (4, "ok"),
    ]
    .iter()
    .map(|(seq, kind)| {
        (
            "k".to_owned(),
            format!("{{\"seq\":{seq},\"kind\":\"{kind}\"}}"),
        )
    })
    .chain(std::iter::once(("k".to_owned(), "not json".to_owned())))
    .chain(std::iter::once(("k".to_owned(), "{\"seq\":5}".to_owned())))
    .collect();
    kafka::produce(&base, &topic, &msgs).await;

    let seen = Attempts::default();
    let group = unique::name("rt-retry-g");
    let rt = Runtime::new(config())
        .only(["retry_handler"])
        .var("RETRY_TOPIC", &topic)
        .var("RETRY_GROUP", &group)
        .state(seen.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let s = seen.clone();
    run.wait_for("the last message handled", Duration::from_secs(60), || {
        s.0.by_key().get("k").is_some_and(|v| v.contains(&5))
    })
    .await;
    run.stop().await.expect("runtime ran");

    let attempts: Vec<(u32, u32)> = seen
        .0
        .records
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, seq, _, attempt)| (*seq, *attempt))
        .collect();
    // flaky: attempts 1, 2, 3; poison: once; panic: twice; the bad JSON never reaches the
    // handler; everything after them is handled, in order.
    assert_eq!(
        attempts,
        vec![
            (0, 1),
            (1, 1),
            (1, 2),
            (1, 3),
            (2, 1),
            (3, 1),
            (3, 2),
            (4, 1),
            (5, 1)
        ]
    );
    let snap = metrics.snapshot();
    let m = snap
        .iter()
        .find(|m| m.handler == "retry_handler")
        .expect("metrics");
    assert_eq!(m.retries, 3, "two for flaky, one for the panic");
    assert_eq!(m.panics, 1);
    assert_eq!(
        m.failed, 2,
        "poison (permanent) and the undecodable message"
    );
    assert_eq!(m.handled, 5);
    assert_eq!(m.dead_lettered, 2);

    // Both failures are in the group's dead-letter topic, unchanged, with Spring's headers.
    let dlq = consume_runtime::dead_letter_topic(&topic, &group);
    let letters = kafka::records_with_headers(&dlq, 2).await;
    let text = |h: &BTreeMap<String, Vec<u8>>, k: &str| String::from_utf8_lossy(&h[k]).into_owned();
    let (poison, poison_h) = &letters[0];
    assert_eq!(poison, "{\"seq\":2,\"kind\":\"poison\"}");
    assert_eq!(text(poison_h, "kafka_dlt-original-topic"), topic);
    assert_eq!(poison_h["kafka_dlt-original-partition"], 0i32.to_be_bytes());
    assert_eq!(poison_h["kafka_dlt-original-offset"], 2i64.to_be_bytes());
    assert_eq!(text(poison_h, "kafka_dlt-original-consumer-group"), group);
    assert_eq!(text(poison_h, "consume-handler"), "retry_handler");
    assert_eq!(text(poison_h, "consume-attempts"), "1");
    assert!(text(poison_h, "kafka_dlt-exception-message").contains("flaky dependency"));
    let (bad_json, bad_h) = &letters[1];
    assert_eq!(bad_json, "not json");
    assert_eq!(bad_h["kafka_dlt-original-offset"], 5i64.to_be_bytes());
    assert!(text(bad_h, "kafka_dlt-exception-message").contains("Json extractor rejected"));

    // Why, in one word: the same in the header, the counter's label and the process's record.
    assert_eq!(text(poison_h, "consume-reason"), "permanent");
    assert_eq!(text(bad_h, "consume-reason"), "decode");
    let scrape = consume_tests::runtime::prometheus().render();
    for (reason, n) in [
        ("permanent", 1),
        ("decode", 1),
        ("key", 0),
        ("retries_exhausted", 0),
    ] {
        let series = format!(
            "consume_dead_letters_total{{handler=\"retry_handler\",group=\"{group}\",reason=\"{reason}\"}} {n}"
        );
        assert!(
            scrape.lines().any(|l| l == series),
            "no `{series}` in:\n{scrape}"
        );
    }
    let hour: Vec<(String, DeadLetterReason, u64)> = metrics
        .dead_letters_last_hour()
        .into_iter()
        .map(|c| (c.handler, c.reason, c.count))
        .collect();
    assert_eq!(
        hour,
        [
            ("retry_handler".to_owned(), DeadLetterReason::Decode, 1),
            ("retry_handler".to_owned(), DeadLetterReason::Permanent, 1)
        ]
    );
    let recent = metrics.recent_dead_letters();
    let seen: Vec<(i64, DeadLetterReason, u32, &str, &str)> = recent
        .iter()
        .map(|r| {
            (
                r.offset,
                r.reason,
                r.attempts,
                r.summary.as_str(),
                r.dead_letter_topic.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                5,
                DeadLetterReason::Decode,
                1,
                "Json extractor rejected the message: expected ident at line 1 column 2",
                dlq.as_str()
            ),
            (
                2,
                DeadLetterReason::Permanent,
                1,
                "flaky dependency",
                dlq.as_str()
            ),
        ],
        "newest first"
    );
    assert!(
        recent
            .iter()
            .all(|r| r.topic == topic && r.partition == 0 && r.group == group)
    );
}

// ---- graceful shutdown ----

#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

#[consume(topic = "${SHUTDOWN_TOPIC}", group = "${SHUTDOWN_GROUP}")]
async fn shutdown_handler(State(c): State<Count>) {
    tokio::time::sleep(Duration::from_millis(1)).await;
    c.0.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_commits_everything_and_leaves_the_group() {
    require::kafka();
    let topic = unique::name("rt-shutdown");
    let group = unique::name("rt-shutdown-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 3).await;
    let sent = events(6, 50);
    kafka::produce(&base, &topic, &sent).await;

    let count = Count::default();
    let rt = Runtime::new(config())
        .only(["shutdown_handler"])
        .var("SHUTDOWN_TOPIC", &topic)
        .var("SHUTDOWN_GROUP", &group)
        .state(count.clone());
    let mut run = Running::start(rt);
    let c = count.clone();
    run.wait_for("every message handled", Duration::from_secs(60), || {
        c.0.load(Ordering::SeqCst) >= sent.len()
    })
    .await;
    run.stop().await.expect("graceful shutdown");
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        sent.len(),
        "each message handled once"
    );

    let probe: BaseConsumer = base
        .clone()
        .set("group.id", &group)
        .create()
        .expect("probe");
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition(&topic, p);
    }
    let committed = probe
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    for e in committed.elements() {
        let (_, high) = probe
            .fetch_watermarks(&topic, e.partition(), Duration::from_secs(10))
            .expect("watermarks");
        assert_eq!(
            e.offset(),
            Offset::Offset(high),
            "partition {}: committed offset is not last handled + 1",
            e.partition()
        );
    }
    let groups = probe
        .fetch_group_list(Some(&group), Duration::from_secs(10))
        .expect("group list");
    let g = groups.groups().first().expect("group exists");
    assert!(
        g.members().is_empty(),
        "the consumer did not leave the group: {:?}",
        g.state()
    );
}
