//! Per-handler options against real Kafka: key-ordered concurrency inside one partition,
//! batch handlers, per-handler retry and dead-letter settings, and a dead letter that cannot
//! be published holding its offset. Needs `infra/up`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{Batch, HandlerError, Json, Key, Meta, Runtime, State, consume};
use consume_tests::runtime::{Running, config};
use consume_tests::{kafka, require, unique};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Ev {
    seq: u32,
    #[serde(default)]
    kind: String,
}

#[derive(Debug)]
struct Flaky;
impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaky dependency")
    }
}
impl std::error::Error for Flaky {}

/// (key, seq, offset, attempt) of one call.
type Call = (String, u32, i64, u32);

/// Every call, plus concurrency tracking.
#[derive(Clone, Default)]
struct Calls {
    calls: Arc<Mutex<Vec<Call>>>,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
}

impl Calls {
    fn push(&self, k: &str, seq: u32, meta: &Meta) {
        self.calls
            .lock()
            .expect("lock")
            .push((k.to_owned(), seq, meta.offset, meta.attempt));
    }
    /// Seqs of the successful (last) attempt per key, in call order.
    fn by_key(&self) -> BTreeMap<String, Vec<u32>> {
        let mut m: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (k, s, _, _) in self.calls.lock().expect("lock").iter() {
            m.entry(k.clone()).or_default().push(*s);
        }
        m
    }
    fn len(&self) -> usize {
        self.calls.lock().expect("lock").len()
    }
}

// ---- key-ordered concurrency ----

#[consume(topic = "${KO_TOPIC}", group = "${KO_GROUP}", concurrency = 16)]
async fn key_ordered(
    Key(k): Key<String>,
    Json(ev): Json<Ev>,
    meta: Meta,
    State(c): State<Calls>,
) -> Result<(), HandlerError> {
    let now = c.running.fetch_add(1, Ordering::SeqCst) + 1;
    c.max_running.fetch_max(now, Ordering::SeqCst);
    // Uneven durations, so that without per-key lanes later messages would overtake.
    tokio::time::sleep(Duration::from_millis(1 + u64::from((ev.seq * 7 + 3) % 5))).await;
    c.running.fetch_sub(1, Ordering::SeqCst);
    if ev.kind == "flaky" && meta.attempt < 3 {
        return Err(Flaky.into());
    }
    c.push(&k, ev.seq, &meta);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_ordered_concurrency_keeps_each_key_in_order() {
    require::kafka();
    let topic = unique::name("rt-keyorder");
    let group = unique::name("rt-keyorder-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    // 40 keys × 15 messages in one partition, interleaved; some are flaky (retried in place,
    // holding back only their own key).
    let mut sent = Vec::new();
    for seq in 0..15u32 {
        for k in 0..40 {
            let kind = if (k + seq as usize).is_multiple_of(37) {
                "flaky"
            } else {
                ""
            };
            sent.push((
                format!("key-{k}"),
                format!("{{\"seq\":{seq},\"kind\":\"{kind}\"}}"),
            ));
        }
    }
    kafka::produce(&base, &topic, &sent).await;

    let calls = Calls::default();
    let rt = Runtime::new(config())
        .only(["key_ordered"])
        .var("KO_TOPIC", &topic)
        .var("KO_GROUP", &group)
        .state(calls.clone());
    let mut run = Running::start(rt);
    let c = calls.clone();
    run.wait_for("every message handled", Duration::from_secs(60), || {
        c.len() >= sent.len()
    })
    .await;
    run.stop().await.expect("runtime ran");

    let by_key = calls.by_key();
    assert_eq!(by_key.len(), 40);
    for (k, seqs) in &by_key {
        assert_eq!(
            seqs,
            &(0..15).collect::<Vec<u32>>(),
            "key {k}: order violated, lost or duplicated"
        );
    }
    let max = calls.max_running.load(Ordering::SeqCst);
    assert!(
        (8..=16).contains(&max),
        "expected up to 16 concurrent calls in one partition, saw {max}"
    );
    assert_eq!(
        kafka::committed(&group, &topic, 0),
        Some(kafka::high_watermark(&topic, 0)),
        "the whole partition is committed after shutdown"
    );
}

// ---- batches ----

/// (first offset, last offset, seqs) of one successful batch call.
type BatchCall = (i64, i64, Vec<u32>);

#[derive(Clone, Default)]
struct Batches {
    calls: Arc<Mutex<Vec<BatchCall>>>,
    attempts: Arc<AtomicUsize>,
}

impl Batches {
    fn seqs(&self) -> Vec<u32> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .flat_map(|(_, _, s)| s.clone())
            .collect()
    }
}

#[consume(
    topic = "${BATCH_TOPIC}",
    group = "${BATCH_GROUP}",
    batch = 50,
    batch_linger = "30ms",
    max_attempts = 2,
    backoff = "10ms",
    dead_letter = "${BATCH_DLQ}"
)]
async fn batch_handler(
    batch: Batch<(Key<String>, Json<Ev>)>,
    State(b): State<Batches>,
) -> Result<(), HandlerError> {
    let n = b.attempts.fetch_add(1, Ordering::SeqCst);
    if batch.iter().any(|(_, Json(e))| e.kind == "poison") {
        return Err(HandlerError::permanent(Flaky));
    }
    // The second call fails once: the whole batch is retried.
    if n == 1 {
        return Err(Flaky.into());
    }
    let range = batch.offsets();
    let seqs = batch.iter().map(|(_, Json(e))| e.seq).collect();
    b.calls
        .lock()
        .expect("lock")
        .push((*range.start(), *range.end(), seqs));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_settle_as_a_whole_and_rejects_are_dead_lettered_alone() {
    require::kafka();
    let topic = unique::name("rt-batch");
    let group = unique::name("rt-batch-g");
    let dlq = unique::name("rt-batch-dlq");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    // 300 messages; seq 100 is not JSON (dead-lettered alone, the rest of its batch is
    // handled); seq 200 is poison (its whole batch fails for good and is dead-lettered).
    let sent: Vec<(String, String)> = (0..300u32)
        .map(|seq| {
            let v = match seq {
                100 => "not json".to_owned(),
                200 => format!("{{\"seq\":{seq},\"kind\":\"poison\"}}"),
                _ => format!("{{\"seq\":{seq}}}"),
            };
            (format!("k{}", seq % 7), v)
        })
        .collect();
    kafka::produce(&base, &topic, &sent).await;

    let b = Batches::default();
    let rt = Runtime::new(config())
        .only(["batch_handler"])
        .var("BATCH_TOPIC", &topic)
        .var("BATCH_GROUP", &group)
        .var("BATCH_DLQ", &dlq)
        .state(b.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let bb = b.clone();
    run.wait_for("the last message handled", Duration::from_secs(60), || {
        bb.seqs().contains(&299)
    })
    .await;
    run.stop().await.expect("runtime ran");

    let calls = b.calls.lock().expect("lock").clone();
    let handled = b.seqs();
    let poisoned: Vec<u32> = (0..300)
        .filter(|s| !handled.contains(s) && *s != 100)
        .collect();
    assert!(poisoned.contains(&200), "the poison batch was not handled");
    // Every other message exactly once, in order.
    let expected: Vec<u32> = (0..300)
        .filter(|s| *s != 100 && !poisoned.contains(s))
        .collect();
    assert_eq!(handled, expected, "lost, duplicated or reordered");
    assert!(calls.iter().all(|(_, _, s)| s.len() <= 50), "batch over 50");
    assert!(
        calls.iter().any(|(_, _, s)| s.len() > 1),
        "no batch had more than one message"
    );
    for w in calls.windows(2) {
        assert!(w[0].1 < w[1].0, "batches overlap or go backwards: {w:?}");
    }

    // Dead letters: the bad JSON alone, then the poison batch, message by message.
    let letters = kafka::records_with_headers(&dlq, 1 + poisoned.len()).await;
    assert_eq!(letters[0].0, "not json");
    let dead_seqs: Vec<u32> = letters[1..]
        .iter()
        .map(|(v, _)| {
            serde_json::from_str::<serde_json::Value>(v).expect("json")["seq"]
                .as_u64()
                .expect("seq") as u32
        })
        .collect();
    assert_eq!(dead_seqs, poisoned);
    let text = |h: &BTreeMap<String, Vec<u8>>, k: &str| String::from_utf8_lossy(&h[k]).into_owned();
    assert_eq!(text(&letters[1].1, "consume-handler"), "batch_handler");
    assert!(text(&letters[1].1, "kafka_dlt-exception-message").contains("flaky dependency"));
    let m = metrics.snapshot();
    let m = m.iter().find(|m| m.handler == "batch_handler").expect("m");
    assert_eq!(m.dead_lettered as usize, 1 + poisoned.len());
    assert_eq!(m.handled as usize, expected.len());
    assert_eq!(
        kafka::committed(&group, &topic, 0),
        Some(300),
        "everything committed"
    );
}

// ---- a dead letter that cannot be published holds the offset ----

#[consume(
    topic = "${STUCK_TOPIC}",
    group = "${STUCK_GROUP}",
    dead_letter = "${STUCK_DLQ}"
)]
async fn stuck_handler(
    Json(ev): Json<Ev>,
    meta: Meta,
    State(c): State<Calls>,
) -> Result<(), HandlerError> {
    c.push("k", ev.seq, &meta);
    if ev.kind == "poison" {
        return Err(HandlerError::permanent(Flaky));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_that_cannot_be_published_keeps_the_offset() {
    require::kafka();
    let topic = unique::name("rt-stuck");
    let group = unique::name("rt-stuck-g");
    let dlq = unique::name("rt-stuck-dlq");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    // The broker refuses every record to the dead-letter topic (too large for it, even
    // without value, key and original headers).
    kafka::create_topic_with(&base, &dlq, 1, &[("max.message.bytes", "64")]).await;
    let sent: Vec<(String, String)> = (0..20u32)
        .map(|seq| {
            let kind = if seq == 5 { "poison" } else { "" };
            (
                "k".to_owned(),
                format!("{{\"seq\":{seq},\"kind\":\"{kind}\"}}"),
            )
        })
        .collect();
    kafka::produce(&base, &topic, &sent).await;

    let calls = Calls::default();
    let rt = Runtime::new(config())
        .only(["stuck_handler"])
        .var("STUCK_TOPIC", &topic)
        .var("STUCK_GROUP", &group)
        .var("STUCK_DLQ", &dlq)
        .state(calls.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let c = calls.clone();
    run.wait_for(
        "the poison message handled",
        Duration::from_secs(60),
        || c.len() >= 6,
    )
    .await;
    // Several publish attempts fail; the partition waits and nothing past 5 is committed.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        calls.len(),
        6,
        "messages after the unpublishable dead letter ran"
    );
    let committed = kafka::committed(&group, &topic, 0).unwrap_or(0);
    assert!(
        committed <= 5,
        "offset moved past a message whose dead letter was not published: {committed}"
    );
    assert_eq!(metrics.snapshot()[0].dead_lettered, 0);

    // Fix the topic: the dead letter goes out and the partition moves on.
    kafka::alter_topic_config(&base, &dlq, &[("max.message.bytes", "1048588")]).await;
    let c = calls.clone();
    run.wait_for("every message handled", Duration::from_secs(60), || {
        c.len() >= 20
    })
    .await;
    run.stop().await.expect("runtime ran");
    let letters = kafka::records_with_headers(&dlq, 1).await;
    assert!(letters[0].0.contains("poison"));
    assert_eq!(kafka::committed(&group, &topic, 0), Some(20));
}

// ---- dead letters off for one handler ----

#[consume(
    topic = "${NODLQ_TOPIC}",
    group = "${NODLQ_GROUP}",
    dead_letter = false,
    max_attempts = 1
)]
async fn no_dlq_handler(
    Json(ev): Json<Ev>,
    meta: Meta,
    State(c): State<Calls>,
) -> Result<(), HandlerError> {
    c.push("k", ev.seq, &meta);
    if ev.kind == "flaky" {
        return Err(Flaky.into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_off_and_max_attempts_per_handler() {
    require::kafka();
    let topic = unique::name("rt-nodlq");
    let group = unique::name("rt-nodlq-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    let sent: Vec<(String, String)> = (0..5u32)
        .map(|seq| {
            let kind = if seq == 2 { "flaky" } else { "" };
            (
                "k".to_owned(),
                format!("{{\"seq\":{seq},\"kind\":\"{kind}\"}}"),
            )
        })
        .collect();
    kafka::produce(&base, &topic, &sent).await;
    let calls = Calls::default();
    let rt = Runtime::new(config())
        .only(["no_dlq_handler"])
        .var("NODLQ_TOPIC", &topic)
        .var("NODLQ_GROUP", &group)
        .state(calls.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let c = calls.clone();
    run.wait_for("every message handled", Duration::from_secs(60), || {
        c.len() >= 5
    })
    .await;
    run.stop().await.expect("runtime ran");
    // max_attempts = 1: the flaky message ran once, failed, and was passed.
    assert_eq!(calls.by_key()["k"], vec![0, 1, 2, 3, 4]);
    let snap = metrics.snapshot();
    assert_eq!(snap[0].failed, 1);
    assert_eq!(snap[0].retries, 0);
    assert_eq!(snap[0].dead_lettered, 0);
    // No dead-letter topic was created for this handler.
    let dlq = consume_runtime::dead_letter_topic(&topic, &group);
    assert!(
        !kafka::topic_exists(&dlq),
        "a dead-letter topic was created although dead letters are off"
    );
}
