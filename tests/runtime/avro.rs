//! `Avro<T>` against the real schema registry (Apicurio's Confluent API) and real Kafka:
//! every field decoded, poison values reported without stopping the partition, and a
//! registry outage makes messages wait instead of being skipped. Needs `infra/up`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apache_avro::Schema;
use apache_avro::types::{Record, Value};
use apache_avro::writer::datum::GenericDatumWriter;
use consume_runtime::avro::{AvroSchema, wire};
use consume_runtime::{Avro, Meta, RegistryConfig, Runtime, SchemaRegistry, State, consume};
use consume_tests::runtime::{Running, config};
use consume_tests::{endpoints, kafka, require, unique};
use serde::{Deserialize, Serialize};

const SCHEMA: &str = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
  {"name":"event_id","type":"string"},{"name":"learner_id","type":"string"},
  {"name":"course_id","type":"string"},{"name":"lecture_id","type":"string"},
  {"name":"watched_seconds","type":"int"},
  {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
struct LectureProgress {
    event_id: String,
    learner_id: String,
    course_id: String,
    lecture_id: String,
    watched_seconds: i32,
    occurred_at: i64,
}

impl AvroSchema for LectureProgress {
    const SCHEMA: &'static str = SCHEMA;
}

fn record(i: i64) -> LectureProgress {
    LectureProgress {
        event_id: format!("rs-{i}"),
        learner_id: format!("learner-{}", i % 7),
        course_id: format!("course-{}", i % 3),
        lecture_id: format!("lecture-{i}"),
        watched_seconds: ((i * 10) % 3600) as i32,
        occurred_at: 1_764_000_000_000 + i * 1000,
    }
}

fn encode(id: u32, p: &LectureProgress) -> Vec<u8> {
    let schema = Schema::parse_str(SCHEMA).expect("schema");
    let mut r = Record::new(&schema).expect("record");
    r.put("event_id", p.event_id.as_str());
    r.put("learner_id", p.learner_id.as_str());
    r.put("course_id", p.course_id.as_str());
    r.put("lecture_id", p.lecture_id.as_str());
    r.put("watched_seconds", p.watched_seconds);
    r.put("occurred_at", Value::TimestampMillis(p.occurred_at));
    let body = GenericDatumWriter::builder(&schema)
        .build()
        .expect("writer")
        .write_value_to_vec(r)
        .expect("encode");
    wire::frame(id, &body)
}

fn real_registry() -> SchemaRegistry {
    require::registry();
    SchemaRegistry::new(RegistryConfig::new(endpoints::registry_url())).expect("registry client")
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(i64, LectureProgress)>>>);

impl Seen {
    fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
    fn values(&self) -> Vec<LectureProgress> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[consume(topic = "${AVRO_TOPIC}", group = "${AVRO_GROUP}")]
async fn avro_handler(Avro(p): Avro<LectureProgress>, meta: Meta, State(seen): State<Seen>) {
    seen.0.lock().expect("lock").push((meta.offset, p));
}

async fn produce_raw(topic: &str, values: Vec<Option<Vec<u8>>>) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = kafka::plaintext_config().create().expect("producer");
    for v in values {
        let mut rec: FutureRecord<'_, str, [u8]> = FutureRecord::to(topic).key("k");
        if let Some(bytes) = v.as_deref() {
            rec = rec.payload(bytes);
        }
        producer
            .send(rec, Duration::from_secs(10))
            .await
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
    }
}

fn runtime(topic: &str, registry: SchemaRegistry, seen: &Seen) -> Runtime {
    Runtime::new(config())
        .only(["avro_handler"])
        .var("AVRO_TOPIC", topic)
        .var("AVRO_GROUP", unique::name("rt-avro-g"))
        .schema_registry(registry)
        .state(seen.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_framed_avro_decodes_with_every_field() {
    require::kafka();
    let sr = real_registry();
    let topic = unique::name("rt-avro");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 2).await;
    let id = sr
        .register(&format!("{topic}-value"), SCHEMA)
        .await
        .expect("register");
    let sent: Vec<LectureProgress> = (0..50).map(record).collect();
    produce_raw(&topic, sent.iter().map(|p| Some(encode(id, p))).collect()).await;

    let seen = Seen::default();
    let mut run = Running::start(runtime(&topic, sr, &seen));
    let s = seen.clone();
    run.wait_for("every record decoded", Duration::from_secs(60), || {
        s.len() >= sent.len()
    })
    .await;
    run.stop().await.expect("runtime ran");
    let mut got = seen.values();
    got.sort_by_key(|p| p.occurred_at);
    assert_eq!(got, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_values_are_reported_and_the_partition_keeps_going() {
    require::kafka();
    let sr = real_registry();
    let topic = unique::name("rt-avro-poison");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let id = sr
        .register(&format!("{topic}-value"), SCHEMA)
        .await
        .expect("register");
    // A schema of another record, registered elsewhere: valid id, wrong shape.
    let other = r#"{"type":"record","name":"QuizSubmitted","namespace":"training.v1","fields":[{"name":"quiz_id","type":"string"}]}"#;
    let other_id = sr
        .register(&format!("{topic}-other-value"), other)
        .await
        .expect("register other");
    let good = |i| Some(encode(id, &record(i)));
    let mut truncated = encode(id, &record(100));
    truncated.truncate(truncated.len() - 3);
    let mut trailing = encode(id, &record(101));
    trailing.push(7);
    let mut huge = wire::frame(id, &[]);
    huge.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x0f, b'x']); // a 2 GiB string in 6 bytes
    let poisons: Vec<Option<Vec<u8>>> = vec![
        None,                                       // tombstone
        Some(vec![0, 0, 1]),                        // shorter than the header
        Some(b"{\"event_id\":\"json\"}".to_vec()),  // wrong magic byte
        Some(wire::frame(2_000_000_000, b"\x02a")), // unknown schema id
        Some(truncated),
        Some(huge),
        Some(trailing),
        Some(wire::frame(other_id, b"\x02q")), // schema mismatch
    ];
    let n_poison = poisons.len();
    let mut values = Vec::new();
    for (i, p) in poisons.into_iter().enumerate() {
        values.push(good(i as i64));
        values.push(p);
    }
    values.push(good(99));
    produce_raw(&topic, values).await;

    let seen = Seen::default();
    let group = unique::name("rt-avro-poison-g");
    let rt = runtime(&topic, sr, &seen).var("AVRO_GROUP", &group);
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let s = seen.clone();
    run.wait_for("the last good record", Duration::from_secs(60), || {
        s.values().iter().any(|p| p.event_id == "rs-99")
    })
    .await;
    run.stop().await.expect("runtime ran");
    let got: Vec<String> = seen.values().into_iter().map(|p| p.event_id).collect();
    let want: Vec<String> = (0..n_poison as i64)
        .chain(std::iter::once(99))
        .map(|i| format!("rs-{i}"))
        .collect();
    assert_eq!(got, want, "every good record, in order");
    let m = metrics
        .snapshot()
        .into_iter()
        .find(|m| m.handler == "avro_handler")
        .expect("metrics");
    assert_eq!(
        m.failed as usize, n_poison,
        "each poison value failed for good, once: {m:?}"
    );
    assert_eq!(m.retries, 0, "decode errors are never retried");
    assert_eq!(
        m.dead_lettered as usize, n_poison,
        "each poison value dead-lettered"
    );

    // In the dead-letter topic: each poison value, unchanged, in order, with where it came
    // from and why.
    let dlq = consume_runtime::dead_letter_topic(&topic, &group);
    let letters = kafka::records_with_headers(&dlq, n_poison).await;
    let reasons = [
        "no value",
        "too short",
        "magic byte",
        "unknown schema id 2000000000",
        "truncated",
        "declared length 2147483647 exceeds",
        "bytes left after the value",
        "schema mismatch",
    ];
    for (i, ((_, h), reason)) in letters.iter().zip(reasons).enumerate() {
        let text = |k: &str| String::from_utf8_lossy(&h[k]).into_owned();
        let msg = text("kafka_dlt-exception-message");
        assert_eq!(
            msg.matches("extractor rejected").count(),
            1,
            "the reason is said once: {msg}"
        );
        assert_eq!(
            h["kafka_dlt-original-offset"],
            (2 * i as i64 + 1).to_be_bytes(),
            "poison {i} in order"
        );
        assert_eq!(text("kafka_dlt-original-topic"), topic);
        assert_eq!(text("consume-attempts"), "1");
        assert!(
            msg.to_lowercase().contains(&reason.to_lowercase()),
            "poison {i}: reason `{msg}` does not mention `{reason}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_outage_makes_messages_wait_not_skip() {
    require::kafka();
    let scope = unique::name("outage");
    let sr = SchemaRegistry::new(RegistryConfig::new(format!("mock://{scope}"))).expect("mock");
    let topic = unique::name("rt-avro-outage");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    sr.register(&format!("{topic}-value"), SCHEMA)
        .await
        .expect("register v1");
    // A second schema id the consumer has never resolved.
    let schema_v2 = SCHEMA.replace(
        r#"{"name":"watched_seconds","type":"int"},"#,
        r#"{"name":"watched_seconds","type":"int"},{"name":"note","type":"string","default":""},"#,
    );
    let id2 = sr
        .register(&format!("{topic}-value"), &schema_v2)
        .await
        .expect("register v2");

    let seen = Seen::default();
    let rt = runtime(&topic, sr.clone(), &seen);
    let metrics = rt.metrics();
    let mut run = Running::start(rt);
    let m = metrics.clone();
    run.wait_for("the partition assigned", Duration::from_secs(30), || {
        m.snapshot()
            .iter()
            .any(|s| s.handler == "avro_handler" && s.assigned_partitions > 0)
    })
    .await;

    // The registry goes down; records written with the not-yet-resolved schema arrive.
    sr.mock_set_unavailable(true);
    let writer = Schema::parse_str(&schema_v2).expect("v2 parses");
    let sent: Vec<LectureProgress> = (0..10).map(record).collect();
    let values = sent
        .iter()
        .map(|p| {
            let mut r = Record::new(&writer).expect("record");
            r.put("event_id", p.event_id.as_str());
            r.put("learner_id", p.learner_id.as_str());
            r.put("course_id", p.course_id.as_str());
            r.put("lecture_id", p.lecture_id.as_str());
            r.put("watched_seconds", p.watched_seconds);
            r.put("note", "");
            r.put("occurred_at", Value::TimestampMillis(p.occurred_at));
            let body = GenericDatumWriter::builder(&writer)
                .build()
                .expect("writer")
                .write_value_to_vec(r)
                .expect("encode");
            Some(wire::frame(id2, &body))
        })
        .collect();
    produce_raw(&topic, values).await;
    let m = metrics.clone();
    run.wait_for(
        "a few retries against the unavailable registry",
        Duration::from_secs(30),
        || {
            m.snapshot()
                .iter()
                .any(|s| s.handler == "avro_handler" && s.retries >= 3)
        },
    )
    .await;
    assert_eq!(
        seen.len(),
        0,
        "nothing can be decoded while the registry is down"
    );

    sr.mock_set_unavailable(false);
    let s = seen.clone();
    run.wait_for(
        "every record after recovery",
        Duration::from_secs(60),
        || s.len() >= sent.len(),
    )
    .await;
    run.stop().await.expect("runtime ran");
    assert_eq!(seen.values(), sent, "all of them, in order, none skipped");
    let snap = metrics
        .snapshot()
        .into_iter()
        .find(|m| m.handler == "avro_handler")
        .expect("metrics");
    assert_eq!(snap.failed, 0, "nothing failed for good during the outage");
}

// ---- interop: what the clients our users run produce, `Avro<T>` decodes ----

use consume_tests::interop::{self, Peer};

async fn peer_produced_records_decode(peer: Peer) {
    require::kafka();
    let sr = real_registry();
    let topic = unique::name(&format!("rt-interop-{}", peer.event_prefix()));
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let n = 25;
    let out = interop::run(peer, "produce", &topic, n, &[]);
    assert!(
        out.starts_with(&format!("produced {n} schema_id=")),
        "{out}"
    );

    let seen = Seen::default();
    let mut run = Running::start(runtime(&topic, sr, &seen));
    let s = seen.clone();
    run.wait_for("every peer record decoded", Duration::from_secs(60), || {
        s.len() >= n
    })
    .await;
    run.stop().await.expect("runtime ran");
    let want: Vec<LectureProgress> = (0..n as i64)
        .map(|i| LectureProgress {
            event_id: format!("{}-{i}", peer.event_prefix()),
            ..record(i)
        })
        .collect();
    assert_eq!(seen.values(), want, "every field of every record, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_confluent_schema_registry_records_decode() {
    peer_produced_records_decode(Peer::Node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_confluent_kafka_avro_serializer_records_decode() {
    peer_produced_records_decode(Peer::Python).await;
}

// ---- interop: what our publisher produces, the clients our users run decode ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_avro_decodes_with_kafkajs_and_python_confluent_kafka() {
    require::kafka();
    let sr = real_registry();
    let topic = unique::name("rt-publish");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let publisher = consume_runtime::Publisher::new(&config(), Some(sr)).expect("publisher");
    let sent: Vec<LectureProgress> = (0..20).map(record).collect();
    for p in &sent {
        publisher
            .send_avro(
                &topic,
                Some(p.learner_id.as_bytes()),
                p,
                &[("source", b"rust")],
            )
            .await
            .expect("published");
    }
    publisher.flush(Duration::from_secs(10)).expect("flushed");

    let want: Vec<serde_json::Value> = sent
        .iter()
        .map(|p| serde_json::to_value(p).expect("json"))
        .collect();
    for peer in [Peer::Node, Peer::Python] {
        let out = tokio::task::spawn_blocking({
            let topic = topic.clone();
            move || interop::run(peer, "consume", &topic, 20, &["--timeout-ms", "60000"])
        })
        .await
        .expect("join");
        let got: Vec<serde_json::Value> = out
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{peer:?} printed {l:?}: {e}"))
            })
            .collect();
        assert_eq!(got, want, "{peer:?} decoded our records differently");
    }
}

// ---- schema evolution through the registry, and the boot-time check ----

const SCHEMA_V2: &str = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
  {"name":"event_id","type":"string"},{"name":"learner_id","type":"string"},
  {"name":"course_id","type":"string"},{"name":"lecture_id","type":"string"},
  {"name":"watched_seconds","type":"int"},
  {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"device","type":"string","default":"web"}]}"#;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
struct LectureProgressV2 {
    event_id: String,
    learner_id: String,
    course_id: String,
    lecture_id: String,
    watched_seconds: i32,
    occurred_at: i64,
    device: String,
}

impl AvroSchema for LectureProgressV2 {
    const SCHEMA: &'static str = SCHEMA_V2;
}

#[derive(Clone, Default)]
struct SeenV2(Arc<Mutex<Vec<LectureProgressV2>>>);

#[consume(topic = "${AVRO_V2_TOPIC}", group = "${AVRO_V2_GROUP}")]
async fn avro_v2_handler(Avro(p): Avro<LectureProgressV2>, State(seen): State<SeenV2>) {
    seen.0.lock().expect("lock").push(p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_evolution_both_ways_through_the_registry() {
    require::kafka();
    let sr = real_registry();
    let topic = unique::name("rt-evolve");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    let publisher =
        consume_runtime::Publisher::new(&config(), Some(sr.clone())).expect("publisher");
    // Five records written with v1, then v2 (a field added with a default: BACKWARD
    // compatible, so the registry accepts it), five more written with v2.
    for i in 0..5 {
        publisher
            .send_avro(&topic, None, &record(i), &[])
            .await
            .expect("v1");
    }
    for i in 5..10 {
        let r = record(i);
        let v2 = LectureProgressV2 {
            event_id: r.event_id,
            learner_id: r.learner_id,
            course_id: r.course_id,
            lecture_id: r.lecture_id,
            watched_seconds: r.watched_seconds,
            occurred_at: r.occurred_at,
            device: "ios".into(),
        };
        publisher
            .send_avro(&topic, None, &v2, &[])
            .await
            .expect("v2");
    }
    let latest = sr.latest(&format!("{topic}-value")).await.expect("latest");
    assert_eq!(latest.version, 2, "v2 registered as a new version");

    let (v1_seen, v2_seen) = (Seen::default(), SeenV2::default());
    let rt = Runtime::new(config())
        .only(["avro_handler", "avro_v2_handler"])
        .var("AVRO_TOPIC", &topic)
        .var("AVRO_GROUP", unique::name("rt-evolve-v1"))
        .var("AVRO_V2_TOPIC", &topic)
        .var("AVRO_V2_GROUP", unique::name("rt-evolve-v2"))
        .schema_registry(sr)
        .state(v1_seen.clone())
        .state(v2_seen.clone());
    let mut run = Running::start(rt);
    let (a, b) = (v1_seen.clone(), v2_seen.clone());
    run.wait_for("both readers done", Duration::from_secs(60), || {
        a.len() >= 10 && b.0.lock().expect("lock").len() >= 10
    })
    .await;
    run.stop().await.expect("runtime ran");
    // Old reader, new writer: the added field is skipped.
    assert_eq!(v1_seen.values(), (0..10).map(record).collect::<Vec<_>>());
    // New reader, old writer: the added field takes its default.
    let devices: Vec<String> = v2_seen
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|p| p.device.clone())
        .collect();
    assert_eq!(devices, [vec!["web"; 5], vec!["ios"; 5]].concat());
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct NeedsTitle {
    event_id: String,
    course_title: String,
}

impl AvroSchema for NeedsTitle {
    const SCHEMA: &'static str = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
      {"name":"event_id","type":"string"},{"name":"course_title","type":"string"}]}"#;
}

#[consume(topic = "${STRICT_TOPIC}", group = "consume-tests-strict")]
async fn avro_strict_handler(Avro(_p): Avro<NeedsTitle>) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_check_refuses_a_type_the_latest_schema_cannot_fill() {
    require::kafka();
    let sr = real_registry();
    let topic = unique::name("rt-strict");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 1).await;
    sr.register(&format!("{topic}-value"), SCHEMA)
        .await
        .expect("register");
    let runtime = |mode| {
        Runtime::new(config())
            .only(["avro_strict_handler"])
            .var("STRICT_TOPIC", &topic)
            .schema_registry(sr.clone())
            .schema_check(mode)
    };
    let err = runtime(consume_runtime::SchemaCheck::Fail)
        .run_until(async {})
        .await
        .expect_err("incompatible");
    let msg = err.to_string();
    for part in [
        "avro_strict_handler",
        &format!("{topic}-value"),
        "`course_title`",
        "CONSUME_SCHEMA_CHECK=warn",
    ] {
        assert!(msg.contains(part), "missing {part:?} in: {msg}");
    }
    // With `warn`, it starts (and stops at once here).
    runtime(consume_runtime::SchemaCheck::Warn)
        .run_until(async {})
        .await
        .expect("starts despite the mismatch");
}

#[tokio::test]
async fn registry_client_against_the_real_registry() {
    let sr = real_registry();
    let subject = format!("{}-value", unique::name("rt-client"));
    assert!(matches!(
        sr.latest(&subject).await,
        Err(consume_runtime::schema_registry::RegistryError::NotFound { .. })
    ));
    assert!(
        sr.is_compatible(&subject, SCHEMA)
            .await
            .expect("no subject yet: compatible")
    );
    let id = sr.register(&subject, SCHEMA).await.expect("register");
    assert_eq!(sr.lookup(&subject, SCHEMA).await.expect("lookup"), id);
    assert_eq!(sr.schema_by_id(id).await.expect("by id").id, id);
    // Adding a field with a default is BACKWARD compatible; without one it is not.
    let with_default = SCHEMA.replace(
        r#"{"name":"watched_seconds","type":"int"},"#,
        r#"{"name":"watched_seconds","type":"int"},{"name":"note","type":"string","default":""},"#,
    );
    let without_default = SCHEMA.replace(
        r#"{"name":"watched_seconds","type":"int"},"#,
        r#"{"name":"watched_seconds","type":"int"},{"name":"note","type":"string"},"#,
    );
    assert!(
        sr.is_compatible(&subject, &with_default)
            .await
            .expect("check")
    );
    assert!(
        !sr.is_compatible(&subject, &without_default)
            .await
            .expect("check")
    );
    let err = sr
        .register(&subject, &without_default)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            consume_runtime::schema_registry::RegistryError::Incompatible { .. }
        ),
        "{err}"
    );
}
