//! Trace context across Kafka (feature `otel`), against the real Kafka: a record's
//! `traceparent` becomes the parent of its `process` span, and the `Publisher` injects the
//! context of the span it sends in. Spans are read back from OpenTelemetry's in-memory
//! exporter. Needs `infra/up`; run with `--features otel`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use consume_runtime::{Headers, Meta, Payload, Publisher, Runtime, State, consume};
use consume_tests::runtime::{Running, config};
use consume_tests::{kafka, require, unique};
use opentelemetry::trace::{SpanId, SpanKind, TraceId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// (offset, `traceparent`) of each handled record.
type Traceparents = Vec<(i64, Option<String>)>;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Traceparents>>);

#[consume(topic = "${TRACE_TOPIC}", group = "${TRACE_GROUP}")]
async fn traced_handler(_p: Payload, headers: Headers, meta: Meta, State(seen): State<Seen>) {
    let parent = headers.get_str("traceparent").map(str::to_owned);
    seen.0.lock().expect("lock").push((meta.offset, parent));
}

/// Installs the OpenTelemetry layer (in-memory exporter) and the W3C propagator once per
/// test binary, before anything else sets a subscriber.
fn exporter() -> InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER
        .get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let tracer = provider.tracer("consume-tests");
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::EnvFilter::new("info"))
                .with(tracing_opentelemetry::layer().with_tracer(tracer));
            tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            exporter
        })
        .clone()
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// The finished `process <topic>` span of the record at `offset`, waiting for it.
async fn process_span(exporter: &InMemorySpanExporter, topic: &str, offset: i64) -> SpanData {
    let name = format!("process {topic}");
    for _ in 0..500 {
        let found = exporter
            .get_finished_spans()
            .expect("spans")
            .into_iter()
            .find(|s| {
                s.name == name
                    && attribute(s, "messaging.kafka.offset").as_deref()
                        == Some(offset.to_string().as_str())
            });
        if let Some(s) = found {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no finished `{name}` span for offset {offset}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trace_crosses_kafka_from_the_publisher_to_the_handlers_span() {
    let exporter = exporter();
    require::kafka();
    let topic = unique::name("rt-trace");
    let group = unique::name("rt-trace-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;
    let publisher = Publisher::new(&config(), None).expect("publisher");

    // 1. A producer elsewhere set the W3C header itself: it is kept, and adopted.
    let foreign_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let foreign_parent = "00f067aa0ba902b7";
    let traceparent = format!("00-{foreign_trace}-{foreign_parent}-01");
    publisher
        .send_bytes(
            &topic,
            Some(b"k"),
            Some(b"first"),
            &[("traceparent", traceparent.as_bytes())],
        )
        .await
        .expect("published");

    // 2. Published inside an application span: the publisher injects the context.
    let root = tracing::info_span!("checkout");
    let root_trace = {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        root.context().span().span_context().trace_id()
    };
    publisher
        .send_bytes(&topic, Some(b"k"), Some(b"second"), &[])
        .instrument(root)
        .await
        .expect("published");

    let seen = Seen::default();
    let mut run = Running::start(
        Runtime::new(config())
            .only(["traced_handler"])
            .var("TRACE_TOPIC", &topic)
            .var("TRACE_GROUP", &group)
            .state(seen.clone()),
    );
    let s = seen.clone();
    run.wait_for("both records handled", Duration::from_secs(60), || {
        s.0.lock().expect("lock").len() >= 2
    })
    .await;

    let first = process_span(&exporter, &topic, 0).await;
    assert_eq!(
        first.span_context.trace_id(),
        TraceId::from_hex(foreign_trace).expect("hex")
    );
    assert_eq!(
        first.parent_span_id,
        SpanId::from_hex(foreign_parent).expect("hex")
    );
    assert_eq!(first.span_kind, SpanKind::Consumer);
    for (key, want) in [
        ("messaging.system", "kafka".to_owned()),
        ("messaging.operation.type", "process".to_owned()),
        ("messaging.destination.name", topic.clone()),
        ("messaging.destination.partition.id", "0".to_owned()),
        ("messaging.consumer.group.name", group.clone()),
        ("handler", "traced_handler".to_owned()),
    ] {
        assert_eq!(attribute(&first, key), Some(want), "{key}");
    }

    let second = process_span(&exporter, &topic, 1).await;
    assert_ne!(root_trace, TraceId::INVALID);
    assert_eq!(
        second.span_context.trace_id(),
        root_trace,
        "the consumer's span continues the publisher's trace"
    );
    let publish = exporter
        .get_finished_spans()
        .expect("spans")
        .into_iter()
        .find(|s| s.name == format!("send {topic}") && s.span_context.trace_id() == root_trace)
        .expect("the publish span");
    assert_eq!(publish.span_kind, SpanKind::Producer);
    assert_eq!(
        second.parent_span_id,
        publish.span_context.span_id(),
        "the process span's parent is the publish span"
    );
    let headers = seen.0.lock().expect("lock").clone();
    assert_eq!(headers[0], (0, Some(traceparent.clone())));
    let injected = headers[1].1.clone().expect("traceparent injected");
    assert!(
        injected.contains(&root_trace.to_string()),
        "{injected} carries trace {root_trace}"
    );
    run.stop().await.expect("runtime ran");
}
