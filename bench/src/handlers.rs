//! The `#[consume]` handlers under test. Both read `${BENCH_TOPIC}` with the group
//! `${BENCH_GROUP}`; each run selects one of them with `Runtime::only`.

use consume_runtime::{Avro, consume};

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
