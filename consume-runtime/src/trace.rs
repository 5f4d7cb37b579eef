//! Spans around the work on records, with the OpenTelemetry messaging semantic-convention
//! fields, and (feature `otel`) W3C trace context carried across Kafka in the `traceparent`
//! and `tracestate` headers.
//!
//! | span | where | fields |
//! |---|---|---|
//! | `process` | around one record's handling (every attempt, the dead letter included) or one batch call | `otel.name = "process <topic>"`, `otel.kind = "consumer"`, `messaging.system = "kafka"`, `messaging.operation.type`, `messaging.destination.name`, `messaging.destination.partition.id`, `messaging.kafka.offset` (a batch: its first), `messaging.batch.message_count` (batches), `messaging.consumer.group.name`, `handler` |
//! | `publish` | around [`Publisher::send_bytes`](crate::Publisher::send_bytes) and the sends built on it | `otel.name = "send <topic>"`, `otel.kind = "producer"`, `messaging.system`, `messaging.operation.type = "send"`, `messaging.destination.name` |
//!
//! Both are `INFO` spans with target `consume_runtime::message`; a filter such as
//! `consume_runtime::message=off` removes them. With `otel` (and the application's
//! `tracing-opentelemetry` layer and a global text-map propagator, e.g.
//! `TraceContextPropagator`), a record's trace context becomes its `process` span's parent,
//! and `publish` injects its own context into the record it sends unless the caller set
//! `traceparent` itself. Dead letters keep the failed record's headers as they were.

use tracing::Span;

use crate::extract::{Delivery, RecordHeaders};

/// Target of the runtime's record spans (filter on it).
pub const TARGET: &str = "consume_runtime::message";

/// The span of one record's handling.
pub(crate) fn process(d: &Delivery<'_>, handler: &str, group: &str) -> Span {
    let topic = d.topic();
    let span = tracing::info_span!(
        target: TARGET,
        "process",
        otel.name = %format_args!("process {topic}"),
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.destination.name = topic,
        messaging.destination.partition.id = d.partition(),
        messaging.kafka.offset = d.offset(),
        messaging.consumer.group.name = group,
        handler,
    );
    adopt_parent(&span, d.headers());
    span
}

/// The span of one batch call; `head` is its first record (whose trace context, if any,
/// becomes the parent).
pub(crate) fn process_batch(head: &Delivery<'_>, count: usize, handler: &str, group: &str) -> Span {
    let topic = head.topic();
    let span = tracing::info_span!(
        target: TARGET,
        "process",
        otel.name = %format_args!("process {topic}"),
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.destination.name = topic,
        messaging.destination.partition.id = head.partition(),
        messaging.kafka.offset = head.offset(),
        messaging.batch.message_count = count,
        messaging.consumer.group.name = group,
        handler,
    );
    adopt_parent(&span, head.headers());
    span
}

/// The span of one publish.
pub(crate) fn publish(topic: &str) -> Span {
    tracing::info_span!(
        target: TARGET,
        "publish",
        otel.name = %format_args!("send {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.destination.name = topic,
    )
}

/// Makes the record's trace context (if it carries one) the span's parent.
#[cfg(feature = "otel")]
fn adopt_parent(span: &Span, headers: RecordHeaders<'_>) {
    otel::adopt_parent(span, headers);
}

#[cfg(not(feature = "otel"))]
fn adopt_parent(_span: &Span, _headers: RecordHeaders<'_>) {}

/// The trace-context headers to add to a record published inside `span` (none without the
/// `otel` feature, or when `existing` already has `traceparent`).
#[cfg(feature = "otel")]
pub(crate) fn context_headers(span: &Span, existing: &[(&str, &[u8])]) -> Vec<(String, String)> {
    if existing
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
    {
        return Vec::new();
    }
    otel::inject(span)
}

#[cfg(not(feature = "otel"))]
pub(crate) fn context_headers(_span: &Span, _existing: &[(&str, &[u8])]) -> Vec<(String, String)> {
    Vec::new()
}

#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::propagation::{Extractor, Injector};
    use tracing::Span;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    use crate::extract::RecordHeaders;

    struct FromHeaders<'a>(RecordHeaders<'a>);

    impl Extractor for FromHeaders<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| std::str::from_utf8(v).ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0
                .iter()
                .filter_map(|(k, _)| std::str::from_utf8(k).ok())
                .collect()
        }
    }

    struct IntoList<'a>(&'a mut Vec<(String, String)>);

    impl Injector for IntoList<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.push((key.to_owned(), value));
        }
    }

    pub(super) fn adopt_parent(span: &Span, headers: RecordHeaders<'_>) {
        if span.is_disabled() || headers.get("traceparent").is_none() {
            return;
        }
        let cx =
            opentelemetry::global::get_text_map_propagator(|p| p.extract(&FromHeaders(headers)));
        if let Err(e) = span.set_parent(cx) {
            tracing::debug!(error = %e, "record trace context not adopted");
        }
    }

    pub(super) fn inject(span: &Span) -> Vec<(String, String)> {
        let mut out = Vec::new();
        // A filtered-out publish span: the caller's context still travels.
        let cx = if span.is_disabled() {
            Span::current().context()
        } else {
            span.context()
        };
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut IntoList(&mut out));
        });
        out
    }
}
