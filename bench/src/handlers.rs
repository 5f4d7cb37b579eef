//! The `#[consume]` handlers under test. The throughput ones read `${BENCH_TOPIC}` with the
//! group `${BENCH_GROUP}`, the key-ordered ones `${BENCH_KO_TOPIC}`/`${BENCH_KO_GROUP}`; each
//! run selects one of them with `Runtime::only`.

use consume_runtime::{Avro, AvroRef, HandlerError, Key, Payload, State, consume};

use crate::decode::LectureProgressRef;

use crate::key_ordered::KoContext;
use crate::lecture::LectureProgress;

/// Variant (b): [`bench_noop`].
pub(crate) const NOOP: &str = "bench_noop";
/// Variant (c): [`bench_avro`].
pub(crate) const AVRO: &str = "bench_avro";

/// A no-op, so the measurement is the framework's own cost per message (receive, dispatch,
/// settle, offset bookkeeping). Decoding handlers extract from the borrowed record, so they
/// add only their decoder's cost on top of this.
#[consume(topic = "${BENCH_TOPIC}", group = "${BENCH_GROUP}")]
async fn bench_noop() {}

/// Decodes every value with `Avro<T>` (schema id from the Confluent header, writer schema
/// from the registry once, then the cached compiled decoder) and only keeps the result
/// alive, so the measurement is the framework plus Avro decoding.
#[consume(topic = "${BENCH_TOPIC}", group = "${BENCH_GROUP}")]
async fn bench_avro(Avro(p): Avro<LectureProgress>) {
    std::hint::black_box(&p);
}

/// Variant (b3): [`bench_avro_ref`].
pub(crate) const AVRO_REF: &str = "bench_avro_ref";

/// Decodes every value with `AvroRef<T>` into a struct whose strings borrow from the record
/// (same header, registry and cached decoder as `Avro<T>`, no allocation per string).
#[consume(topic = "${BENCH_TOPIC}", group = "${BENCH_GROUP}")]
async fn bench_avro_ref(p: AvroRef<LectureProgressRef<'static>>) -> Result<(), HandlerError> {
    std::hint::black_box(&p.decode()?);
    Ok(())
}

/// Key-ordered benchmark handlers, one per concurrency of the sweep (`concurrency` is a
/// literal of the attribute): `(concurrency, handler name)`.
pub(crate) const KO_HANDLERS: [(u32, &str); 5] = [
    (1, "bench_ko_c1"),
    (4, "bench_ko_c4"),
    (16, "bench_ko_c16"),
    (64, "bench_ko_c64"),
    (256, "bench_ko_c256"),
];

/// One message at a time per partition (no `concurrency`), one echo round trip each.
#[consume(topic = "${BENCH_KO_TOPIC}", group = "${BENCH_KO_GROUP}")]
async fn bench_ko_c1(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KoContext>>,
) {
    s.handle(&k, v.as_deref()).await;
}

/// Up to 4 calls at once in the partition, each key in order, one echo round trip each.
#[consume(
    topic = "${BENCH_KO_TOPIC}",
    group = "${BENCH_KO_GROUP}",
    concurrency = 4
)]
async fn bench_ko_c4(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KoContext>>,
) {
    s.handle(&k, v.as_deref()).await;
}

/// Up to 16 calls at once in the partition, each key in order, one echo round trip each.
#[consume(
    topic = "${BENCH_KO_TOPIC}",
    group = "${BENCH_KO_GROUP}",
    concurrency = 16
)]
async fn bench_ko_c16(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KoContext>>,
) {
    s.handle(&k, v.as_deref()).await;
}

/// Up to 64 calls at once in the partition, each key in order, one echo round trip each.
#[consume(
    topic = "${BENCH_KO_TOPIC}",
    group = "${BENCH_KO_GROUP}",
    concurrency = 64
)]
async fn bench_ko_c64(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KoContext>>,
) {
    s.handle(&k, v.as_deref()).await;
}

/// Up to 256 calls at once in the partition, each key in order, one echo round trip each.
#[consume(
    topic = "${BENCH_KO_TOPIC}",
    group = "${BENCH_KO_GROUP}",
    concurrency = 256
)]
async fn bench_ko_c256(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KoContext>>,
) {
    s.handle(&k, v.as_deref()).await;
}
