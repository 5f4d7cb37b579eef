//! Hostile records against real Kafka: whatever a record carries — header names that are
//! not UTF-8, binary keys, empty and null values, values at the producer's and the broker's
//! size limits, invalid and absurdly nested JSON, handlers and extractors that panic, every
//! compression codec, aborted transactions — the partition keeps moving, good records are
//! handled in per-key order, bad ones are where docs/hostile-records.md says, the committed
//! offset reaches the end, and lag and stalls are visible. Needs `infra/up`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consume_runtime::{
    Batch, Config, DeadLetterReason, Delivery, FromMessage, HandlerError, Headers, Json, Meta,
    Payload, Publisher, Rejection, Runtime, State, consume,
};
use consume_tests::runtime::{self, Running, config};
use consume_tests::{kafka, require, unique};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Ev {
    seq: u32,
}

/// The key as bytes (a user's extractor); panics on the key `panic-extractor`.
struct RawKey(Option<Vec<u8>>);

impl FromMessage for RawKey {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        if d.key() == Some(b"panic-extractor") {
            panic!("the user's extractor panicked");
        }
        Ok(RawKey(d.key().map(<[u8]>::to_vec)))
    }
}

/// (key, seq, headers, offset) of one handled record.
type Handled = (Option<Vec<u8>>, u32, Headers, i64);

/// Every handled record.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Handled>>>);

impl Seen {
    fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
    fn all(&self) -> Vec<Handled> {
        self.0.lock().expect("lock").clone()
    }
}

/// A dead letter as read back by a handler of ours: (headers, value).
type Letter = (Headers, Option<Vec<u8>>);

#[derive(Clone, Default)]
struct Letters(Arc<Mutex<Vec<Letter>>>);

impl Letters {
    fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
}

#[consume(
    topic = "${HOSTILE_TOPIC}",
    group = "${HOSTILE_GROUP}",
    max_attempts = 2,
    backoff = "10ms"
)]
async fn hostile_json(
    RawKey(key): RawKey,
    headers: Headers,
    meta: Meta,
    Json(ev): Json<Ev>,
    State(seen): State<Seen>,
) {
    if key.as_deref() == Some(b"panic-handler") {
        panic!("the handler panicked on its key");
    }
    seen.0
        .lock()
        .expect("lock")
        .push((key, ev.seq, headers, meta.offset));
}

#[consume(
    topic = "${HOSTILE_DLQ}",
    group = "${HOSTILE_DLQ_GROUP}",
    dead_letter = false
)]
async fn hostile_dlq_reader(headers: Headers, Payload(value): Payload, State(l): State<Letters>) {
    l.0.lock().expect("lock").push((headers, value));
}

const BAD_NAME: &[u8] = &[0xff, 0xfe, b'h'];
const BINARY_VALUE: &[u8] = &[0, 159, 146, 150, 255];
/// Just over librdkafka's default `message.max.bytes` (1 000 000).
const OVER_PRODUCER_LIMIT: usize = 1_000_100;
/// Just under the broker's default largest batch (1 048 588) once framed: the record fits
/// the topic, its dead letter (with our headers) does not.
const AT_BROKER_LIMIT: usize = 1_048_400;

fn good(seq: u32) -> Vec<u8> {
    format!(r#"{{"seq":{seq}}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_record_stops_the_partition_and_each_goes_where_the_docs_say() {
    require::kafka();
    let topic = unique::name("hostile");
    let group = unique::name("hostile-g");
    let dlq = consume_runtime::dead_letter_topic(&topic, &group);
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    let publisher = Publisher::new(&config(), None).expect("publisher");

    // 10 000 levels deep: as the value (a type error at once), and under a field the
    // handler's type ignores (the parser walks all of it, without a stack overflow).
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let nested = deep.clone().into_bytes();
    let nested_ignored = format!(r#"{{"deep":{deep},"seq":1}}"#).into_bytes();
    let over = vec![b'x'; OVER_PRODUCER_LIMIT];
    let at_limit = vec![b'y'; AT_BROKER_LIMIT];
    type Rec<'a> = (
        Option<&'a [u8]>,
        Option<&'a [u8]>,
        Vec<(&'a [u8], Option<&'a [u8]>)>,
    );
    let g = |s| good(s);
    let (a0, a1, b0, u0, n0, a2, b1, p0, e0) =
        (g(0), g(1), g(0), g(0), g(0), g(2), g(1), g(0), g(0));
    // (key, value, headers); `expect`: handled (key, seq) or dead-lettered (reason fragment).
    type Expect<'a> = Result<(&'a [u8], u32), &'a str>;
    let records: Vec<(Rec<'_>, Expect<'_>)> = vec![
        ((Some(b"a"), Some(&a0), vec![]), Ok((b"a", 0))),
        (
            (Some(b"a"), Some(&a1), vec![(BAD_NAME, Some(b"v"))]),
            Ok((b"a", 1)),
        ),
        (
            (
                Some(b"b"),
                Some(&b0),
                vec![(b"bin", Some(BINARY_VALUE)), (b"null", None)],
            ),
            Ok((b"b", 0)),
        ),
        (
            (Some(&[0xc3, 0x28]), Some(&u0), vec![]),
            Ok((&[0xc3, 0x28], 0)),
        ),
        ((None, Some(&n0), vec![]), Ok((b"", 0))),
        ((Some(b"a"), Some(b""), vec![]), Err("Json")),
        ((Some(b"b"), None, vec![]), Err("Json")),
        ((Some(b"c"), Some(&over), vec![]), Err("Json")),
        ((Some(b"c"), Some(&at_limit), vec![]), Err("Json")),
        (
            (
                Some(b"c"),
                Some(b"{not json"),
                vec![(BAD_NAME, Some(&[0x80]))],
            ),
            Err("Json"),
        ),
        ((Some(b"c"), Some(&nested), vec![]), Err("Json")),
        ((Some(b"c"), Some(&nested_ignored), vec![]), Ok((b"c", 1))),
        (
            (Some(b"panic-handler"), Some(&p0), vec![]),
            Err("handler panicked: the handler panicked"),
        ),
        (
            (Some(b"panic-extractor"), Some(&e0), vec![]),
            Err("handler panicked: the user's extractor"),
        ),
        ((Some(b"a"), Some(&a2), vec![]), Ok((b"a", 2))),
        ((Some(b"b"), Some(&b1), vec![]), Ok((b"b", 1))),
    ];
    for ((key, value, headers), _) in &records {
        publisher
            .send_raw(&topic, *key, *value, headers)
            .await
            .unwrap_or_else(|e| panic!("producing a hostile record: {e}"));
    }
    let end = kafka::high_watermark(&topic, 0);
    assert_eq!(end, records.len() as i64);

    let seen = Seen::default();
    let letters = Letters::default();
    let rt = Runtime::new(config())
        .only(["hostile_json", "hostile_dlq_reader"])
        .var("HOSTILE_TOPIC", &topic)
        .var("HOSTILE_GROUP", &group)
        .var("HOSTILE_DLQ", &dlq)
        .var("HOSTILE_DLQ_GROUP", unique::name("hostile-dlq-g"))
        .create_missing_topics(1)
        .state(seen.clone())
        .state(letters.clone());
    let metrics = rt.metrics();
    let expected_letters = records.iter().filter(|(_, e)| e.is_err()).count();
    let expected_handled = records.len() - expected_letters;
    let mut run = Running::start(rt);
    let (s, l) = (seen.clone(), letters.clone());
    run.wait_for(
        "every good record handled and every bad one dead-lettered",
        Duration::from_secs(90),
        || s.len() >= expected_handled && l.len() >= expected_letters,
    )
    .await;
    let committed_group = group.clone();
    let t = topic.clone();
    run.wait_for(
        "the committed offset at the end of the partition",
        Duration::from_secs(30),
        || kafka::committed(&committed_group, &t, 0) == Some(end),
    )
    .await;
    let m = metrics.clone();
    run.wait_for("the lag gauge at 0", Duration::from_secs(30), || {
        m.snapshot().iter().any(|h| {
            h.handler == "hostile_json"
                && h.partitions
                    .iter()
                    .any(|p| p.lag_messages == 0 && !p.stalled)
        })
    })
    .await;
    let prometheus = runtime::prometheus().render();
    run.stop().await.expect("runtime ran");

    // Good records: each once, in per-key order, headers byte for byte.
    let handled = seen.all();
    let want: Vec<(&[u8], u32)> = records.iter().filter_map(|(_, e)| e.ok()).collect();
    let got: Vec<(&[u8], u32)> = handled
        .iter()
        .map(|(k, s, _, _)| (k.as_deref().unwrap_or(b""), *s))
        .collect();
    assert_eq!(got, want, "good records lost, duplicated or reordered");
    assert_eq!(
        handled[1].2.get(BAD_NAME),
        Some(&b"v"[..]),
        "a name that is not UTF-8 reaches Headers"
    );
    assert_eq!(handled[2].2.get("bin"), Some(BINARY_VALUE));
    assert_eq!(
        handled[2].2.0[1].value, None,
        "a null header value stays null"
    );

    // Bad records: in the dead-letter topic, in order, with their reasons and headers.
    let letters = letters.0.lock().expect("lock").clone();
    let reasons: Vec<&str> = records.iter().filter_map(|(_, e)| e.err()).collect();
    assert_eq!(
        letters.len(),
        reasons.len(),
        "one dead letter per bad record"
    );
    for (i, ((h, _), why)) in letters.iter().zip(&reasons).enumerate() {
        let msg = h.get_str("kafka_dlt-exception-message").unwrap_or_default();
        assert!(
            msg.contains(why),
            "dead letter {i}: {msg:?} should mention {why:?}"
        );
    }
    let offsets: Vec<i64> = letters
        .iter()
        .map(|(h, _)| {
            i64::from_be_bytes(
                h.get("kafka_dlt-original-offset")
                    .and_then(|v| v.try_into().ok())
                    .expect("8-byte offset"),
            )
        })
        .collect();
    assert_eq!(offsets, vec![5, 6, 7, 8, 9, 10, 12, 13]);
    assert_eq!(letters[1].1, None, "a tombstone stays a tombstone");
    assert_eq!(
        letters[2].1.as_ref().map(Vec::len),
        Some(OVER_PRODUCER_LIMIT),
        "over the producer default: published whole"
    );
    let (h, v) = &letters[3];
    assert_eq!(
        v.as_ref().map(Vec::len),
        None,
        "at the broker's limit: published without its value"
    );
    assert_eq!(
        h.get_str("consume-original-value-size"),
        Some(AT_BROKER_LIMIT.to_string().as_str())
    );
    assert!(
        h.get_str("consume-value-dropped")
            .is_some_and(|w| w.contains("too large")),
        "{h:?}"
    );
    assert_eq!(
        letters[4].0.get(BAD_NAME),
        Some(&[0x80][..]),
        "header bytes kept in the dead letter"
    );

    let snap = metrics.snapshot();
    let h = snap
        .iter()
        .find(|h| h.handler == "hostile_json")
        .expect("metrics");
    assert_eq!(h.worker_restarts, 0);
    assert_eq!(h.dead_lettered, expected_letters as u64);
    assert!(
        prometheus.contains("consume_partition_lag_messages{handler=\"hostile_json\""),
        "{prometheus}"
    );
    assert!(
        prometheus.contains("consume_partition_lag_seconds{handler=\"hostile_json\""),
        "{prometheus}"
    );
    // The counters through the facade agree with the in-process snapshot.
    let line = |name: &str| {
        prometheus
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "{name}{{handler=\"hostile_json\",group=\"{group}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    assert_eq!(
        line("consume_messages_handled_total"),
        Some(h.handled),
        "{prometheus}"
    );
    // Dead letters by reason: each series counts the letters whose `consume-reason` says so.
    let mut by_header: BTreeMap<String, u64> = BTreeMap::new();
    for (h, _) in &letters {
        *by_header
            .entry(h.get_str("consume-reason").unwrap_or("none").to_owned())
            .or_default() += 1;
    }
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    for reason in DeadLetterReason::ALL {
        let series = format!(
            "consume_dead_letters_total{{handler=\"hostile_json\",group=\"{group}\",reason=\"{reason}\"}} "
        );
        let n = prometheus
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no `{series}` in:\n{prometheus}"));
        if n > 0 {
            by_label.insert(reason.to_string(), n);
        }
    }
    assert_eq!(by_label, by_header);
    assert_eq!(by_label.values().sum::<u64>(), expected_letters as u64);
    assert!(
        prometheus.contains(&format!(
            "consume_handler_duration_seconds_count{{handler=\"hostile_json\",group=\"{group}\"}}"
        )),
        "one duration observation per call: {prometheus}"
    );
}

// ---- every codec, produced by Kafka's Java producer and by ours ----

#[consume(topic = "${CODEC_TOPIC}", group = "${CODEC_GROUP}")]
async fn codec_reader(
    RawKey(key): RawKey,
    headers: Headers,
    meta: Meta,
    Json(ev): Json<Ev>,
    State(seen): State<Seen>,
) {
    seen.0
        .lock()
        .expect("lock")
        .push((key, ev.seq, headers, meta.offset));
}

const CODECS: [&str; 4] = ["gzip", "snappy", "lz4", "zstd"];
const PER_CODEC: u32 = 20;

fn java_produce(topic: &str, codec: &str, first: u32) {
    let mut lines = String::new();
    for i in first..first + PER_CODEC {
        lines.push_str(&format!("{codec}:{{\"seq\":{i}}}\n"));
    }
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/kafka-tool");
    let mut child = std::process::Command::new(tool)
        .args([
            "console-producer",
            "--bootstrap-server",
            &consume_tests::endpoints::kafka_bootstrap(),
            "--topic",
            topic,
            "--compression-codec",
            codec,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("infra/kafka-tool console-producer");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(lines.as_bytes()).expect("write records");
    }
    let status = child.wait().expect("console producer");
    assert!(
        status.success(),
        "the Java console producer failed for {codec}"
    );
}

fn codecs_on_disk(topic: &str) -> BTreeMap<String, usize> {
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/kafka-tool");
    let segment = format!(
        "{}/../.infra/kafka/data/{topic}-0/00000000000000000000.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = std::process::Command::new(tool)
        .args(["dump-log", "--files", &segment])
        .output()
        .expect("infra/kafka-tool dump-log");
    let mut codecs = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(c) = line
            .split("compresscodec: ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
        {
            *codecs.entry(c.to_owned()).or_default() += 1;
        }
    }
    codecs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_compression_codec_is_consumed_and_published() {
    require::kafka();
    let topic = unique::name("codecs");
    let group = unique::name("codecs-g");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let mut seq = 0;
    for codec in CODECS {
        java_produce(&topic, codec, seq);
        seq += PER_CODEC;
    }
    for codec in CODECS {
        let p =
            Publisher::new(&config().property("compression.type", codec), None).expect("publisher");
        // Sent together (one batch) and compressible: librdkafka sends a batch uncompressed
        // when compressing would not make it smaller.
        let values: Vec<Vec<u8>> = (seq..seq + PER_CODEC)
            .map(|i| format!(r#"{{"seq":{i},"pad":"{}"}}"#, "a".repeat(200)).into_bytes())
            .collect();
        let sends = values
            .iter()
            .map(|v| p.send_bytes(&topic, Some(codec.as_bytes()), Some(v), &[]));
        for r in futures::future::join_all(sends).await {
            r.expect("publish");
        }
        seq += PER_CODEC;
    }
    let on_disk = codecs_on_disk(&topic);
    for codec in CODECS {
        assert!(
            on_disk.get(codec).is_some_and(|n| *n >= 2),
            "no {codec} batch from both producers: {on_disk:?}"
        );
    }

    let seen = Seen::default();
    let rt = Runtime::new(config())
        .only(["codec_reader"])
        .var("CODEC_TOPIC", &topic)
        .var("CODEC_GROUP", &group)
        .state(seen.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let s = seen.clone();
    run.wait_for(
        "every record of every codec",
        Duration::from_secs(60),
        || s.len() >= seq as usize,
    )
    .await;
    let (g, t) = (group.clone(), topic.clone());
    run.wait_for("the commit at the end", Duration::from_secs(30), || {
        kafka::committed(&g, &t, 0) == Some(i64::from(seq))
    })
    .await;
    run.stop().await.expect("runtime ran");
    let seqs: Vec<u32> = seen.all().iter().map(|r| r.1).collect();
    assert_eq!(seqs, (0..seq).collect::<Vec<_>>());
    assert_eq!(metrics.snapshot()[0].fetch_errors, 0);
}

// ---- transactions ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_of_an_aborted_transaction_are_not_delivered() {
    use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
    require::kafka();
    let topic = unique::name("txn");
    let group = unique::name("txn-g");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let producer: FutureProducer = kafka::plaintext_config()
        .set("transactional.id", unique::name("txn-producer"))
        .create()
        .expect("transactional producer");
    let t = Duration::from_secs(20);
    producer.init_transactions(t).expect("init transactions");
    let send = |seq: u32| {
        let v = good(seq);
        let p = &producer;
        let topic = &topic;
        async move {
            p.send(FutureRecord::to(topic).key("k").payload(&v), t)
                .await
                .expect("send");
        }
    };
    producer.begin_transaction().expect("begin");
    for i in 0..5 {
        send(i).await;
    }
    producer.commit_transaction(t).expect("commit");
    producer.begin_transaction().expect("begin");
    for i in 100..105 {
        send(i).await;
    }
    producer.abort_transaction(t).expect("abort");
    producer.begin_transaction().expect("begin");
    for i in 5..10 {
        send(i).await;
    }
    producer.commit_transaction(t).expect("commit");

    let seen = Seen::default();
    let rt = Runtime::new(config())
        .only(["codec_reader"])
        .var("CODEC_TOPIC", &topic)
        .var("CODEC_GROUP", &group)
        .state(seen.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let s = seen.clone();
    run.wait_for("the committed records", Duration::from_secs(60), || {
        s.len() >= 10
    })
    .await;
    let m = metrics.clone();
    run.wait_for(
        "lag 0 (transaction markers are not lag)",
        Duration::from_secs(30),
        || {
            m.snapshot()[0]
                .partitions
                .iter()
                .any(|p| p.lag_messages == 0)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    run.stop().await.expect("runtime ran");
    let seqs: Vec<u32> = seen.all().iter().map(|r| r.1).collect();
    assert_eq!(
        seqs,
        (0..10).collect::<Vec<_>>(),
        "aborted records delivered or committed ones lost"
    );
    // The last committed record is followed by its commit marker.
    let last = seen.all().last().map(|r| r.3).expect("records");
    assert!(kafka::committed(&group, &topic, 0) >= Some(last + 1));
}

// ---- lag and stall ----

#[derive(Clone, Default)]
struct Gate(Arc<AtomicBool>);

#[consume(topic = "${LAG_TOPIC}", group = "${LAG_GROUP}")]
async fn lag_handler(
    RawKey(key): RawKey,
    meta: Meta,
    Json(ev): Json<Ev>,
    State(seen): State<Seen>,
    State(gate): State<Gate>,
) {
    if key.as_deref() == Some(b"block") {
        while !gate.0.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    seen.0
        .lock()
        .expect("lock")
        .push((key, ev.seq, Headers::default(), meta.offset));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lag_grows_while_a_handler_blocks_and_a_stall_is_reported_in_time() {
    require::kafka();
    let topic = unique::name("lag");
    let group = unique::name("lag-g");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let publisher = Publisher::new(&config(), None).expect("publisher");
    publisher
        .send_bytes(&topic, Some(b"block"), Some(&good(0)), &[])
        .await
        .expect("publish");
    for i in 1..=20 {
        publisher
            .send_bytes(&topic, Some(b"k"), Some(&good(i)), &[])
            .await
            .expect("publish");
    }
    let stall_after = Duration::from_secs(2);
    let mut cfg = config();
    cfg.stall_after = stall_after;
    let seen = Seen::default();
    let gate = Gate::default();
    let rt = Runtime::new(cfg)
        .only(["lag_handler"])
        .var("LAG_TOPIC", &topic)
        .var("LAG_GROUP", &group)
        .state(seen.clone())
        .state(gate.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let started = std::time::Instant::now();
    let m = metrics.clone();
    run.wait_for("the stall reported", Duration::from_secs(30), || {
        !m.stalled_partitions().is_empty()
    })
    .await;
    let took = started.elapsed();
    let (_, p) = metrics.stalled_partitions().remove(0);
    assert_eq!(p.lag_messages, 21, "{p:?}");
    assert!(p.lag_seconds >= stall_after.as_secs_f64(), "{p:?}");
    // Reported within stall_after + one statistics interval + the time to assign.
    assert!(
        took < stall_after + Duration::from_secs(8),
        "stall reported after {took:?}"
    );
    assert!(
        runtime::prometheus()
            .render()
            .contains("consume_partition_stalled{handler=\"lag_handler\"")
    );
    assert_eq!(seen.len(), 0);
    gate.0.store(true, Ordering::SeqCst);
    let m = metrics.clone();
    run.wait_for("lag 0 and not stalled", Duration::from_secs(30), || {
        m.snapshot()[0]
            .partitions
            .iter()
            .any(|p| p.lag_messages == 0 && !p.stalled && p.lag_seconds == 0.0)
    })
    .await;
    run.stop().await.expect("runtime ran");
    assert_eq!(seen.len(), 21);
    assert_eq!(metrics.snapshot()[0].stalls, 1);
    assert_eq!(kafka::committed(&group, &topic, 0), Some(21));
}

// ---- a panic inside the loop ----

/// A batch item extractor that panics on the key `boom`: batch items are extracted by the
/// loop itself, outside the handler call, so this panic reaches the supervisor.
struct Item(u32);

impl FromMessage for Item {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        if d.key() == Some(b"boom") {
            panic!("item extractor panicked");
        }
        let v: Ev = serde_json::from_slice(d.payload().unwrap_or_default())
            .map_err(|e| Rejection::permanent("Item", e))?;
        Ok(Item(v.seq))
    }
}

#[derive(Clone, Default)]
struct Items(Arc<Mutex<Vec<u32>>>);

#[consume(topic = "${CRASH_TOPIC}", group = "${CRASH_GROUP}", batch = 10)]
async fn crashing_batches(
    batch: Batch<Item>,
    State(items): State<Items>,
) -> Result<(), HandlerError> {
    items
        .0
        .lock()
        .expect("lock")
        .extend(batch.into_iter().map(|i| i.0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_loop_that_keeps_crashing_on_one_record_restarts_and_dead_letters_it() {
    require::kafka();
    let topic = unique::name("crash-loop");
    let group = unique::name("crash-loop-g");
    let dlq = consume_runtime::dead_letter_topic(&topic, &group);
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let publisher = Publisher::new(&config(), None).expect("publisher");
    for i in 0..30u32 {
        let key: &[u8] = if i == 15 { b"boom" } else { b"k" };
        publisher
            .send_bytes(&topic, Some(key), Some(&good(i)), &[])
            .await
            .expect("publish");
    }
    let items = Items::default();
    let rt = Runtime::new(config())
        .only(["crashing_batches"])
        .var("CRASH_TOPIC", &topic)
        .var("CRASH_GROUP", &group)
        .state(items.clone());
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let (g, t) = (group.clone(), topic.clone());
    run.wait_for("the partition to finish", Duration::from_secs(60), || {
        kafka::committed(&g, &t, 0) == Some(30)
    })
    .await;
    run.stop().await.expect("runtime ran");
    let snap = &metrics.snapshot()[0];
    assert!(snap.worker_restarts >= 3, "{snap:?}");
    assert_eq!(snap.dead_lettered, 1, "only the record it crashed on");
    let mut got = items.0.lock().expect("lock").clone();
    got.sort_unstable();
    got.dedup();
    let want: Vec<u32> = (0..30).filter(|i| *i != 15).collect();
    assert_eq!(got, want, "every other record handled");
    let letters = kafka::records_with_headers(&dlq, 1).await;
    let why = String::from_utf8_lossy(&letters[0].1["kafka_dlt-exception-message"]).into_owned();
    assert!(
        why.contains("crashed 3 times") && why.contains("item extractor panicked"),
        "{why}"
    );
    assert_eq!(
        letters[0].1["kafka_dlt-original-offset"],
        15i64.to_be_bytes()
    );
    assert_eq!(letters[0].1["consume-reason"], b"worker_crashed");
    let recent = metrics.recent_dead_letters();
    assert_eq!(
        recent
            .iter()
            .map(|r| (r.offset, r.reason.as_str(), r.attempts))
            .collect::<Vec<_>>(),
        [(15, "worker_crashed", 1)]
    );
}

#[test]
fn config_default_stall_timeout_is_a_minute() {
    assert_eq!(Config::new("b:9092").stall_after, Duration::from_secs(60));
}
