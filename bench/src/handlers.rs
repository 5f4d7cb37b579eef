//! The `#[consume]` handlers under test. The throughput ones read `${BENCH_TOPIC}` with the
//! group `${BENCH_GROUP}`, the key-ordered ones `${BENCH_KO_TOPIC}`/`${BENCH_KO_GROUP}`; each
//! run selects one of them with `Runtime::only`.

use consume_runtime::{Avro, AvroRef, HandlerError, Key, Payload, State, consume};

use crate::decode::LectureProgressRef;

use crate::key_ordered::{KeyOrderProbe, SIMULATED_IO};
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

/// Key-ordered benchmark, sequential baseline: [`bench_ko_sequential`].
pub(crate) const KO_SEQUENTIAL: &str = "bench_ko_sequential";
/// Key-ordered benchmark, `concurrency = 64`: [`bench_ko_parallel`].
pub(crate) const KO_PARALLEL: &str = "bench_ko_parallel";

/// One message at a time per partition, 2 ms of simulated I/O each.
#[consume(topic = "${BENCH_KO_TOPIC}", group = "${BENCH_KO_GROUP}")]
async fn bench_ko_sequential(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KeyOrderProbe>>,
) {
    tokio::time::sleep(SIMULATED_IO).await;
    s.record(&k, v.as_deref());
}

/// Up to 64 calls at once in the partition, each key in order, 2 ms of simulated I/O each.
#[consume(
    topic = "${BENCH_KO_TOPIC}",
    group = "${BENCH_KO_GROUP}",
    concurrency = 64
)]
async fn bench_ko_parallel(
    Key(k): Key<String>,
    Payload(v): Payload,
    State(s): State<std::sync::Arc<KeyOrderProbe>>,
) {
    tokio::time::sleep(SIMULATED_IO).await;
    s.record(&k, v.as_deref());
}
