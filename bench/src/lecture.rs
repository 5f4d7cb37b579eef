//! The Avro data of the benchmark: `training.v1.LectureProgress`, its schema, the record
//! stored at each position of the topic, and its encoding in the Confluent wire format.
//!
//! The string contents have fixed widths and the numbers stay inside one varint width, so
//! every framed value is exactly [`FRAMED_BYTES`] long (checked by the tests).

use apache_avro::Schema;
use apache_avro::writer::datum::GenericDatumWriter;
use consume_runtime::avro::{AvroSchema, wire};
use serde::{Deserialize, Serialize};

use crate::BoxError;
use crate::produce::KEYS;

/// The writer and reader schema (the same text), registered under `<topic>-value`.
pub(crate) const SCHEMA: &str = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
  {"name":"event_id","type":"string"},{"name":"learner_id","type":"string"},
  {"name":"course_id","type":"string"},{"name":"lecture_id","type":"string"},
  {"name":"watched_seconds","type":"int"},
  {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#;

/// Size of every framed value: 5 header bytes and a 95-byte Avro body.
pub(crate) const FRAMED_BYTES: usize = 100;

/// One learner's progress in one lecture, as the training service receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LectureProgress {
    /// A UUID-shaped id, unique per record.
    pub(crate) event_id: String,
    /// `learner-NNNNN`, also the record's key.
    pub(crate) learner_id: String,
    /// `course-NNNN`.
    pub(crate) course_id: String,
    /// `course-NNNN-lecture-NNN`.
    pub(crate) lecture_id: String,
    /// Seconds watched (64..3600: always a 2-byte varint).
    pub(crate) watched_seconds: i32,
    /// Milliseconds since the epoch (a 6-byte varint until 2039).
    pub(crate) occurred_at: i64,
}

impl AvroSchema for LectureProgress {
    const SCHEMA: &'static str = SCHEMA;
}

/// The key of record `seq`: its learner (10 000 distinct keys).
pub(crate) fn key(seq: u64, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    // Writing into a String cannot fail.
    let _ = write!(out, "learner-{:05}", seq % KEYS);
}

/// The record at position `seq` of the topic.
pub(crate) fn record(seq: u64) -> LectureProgress {
    let h = splitmix64(seq);
    let mut learner_id = String::with_capacity(16);
    key(seq, &mut learner_id);
    let course = (seq / 7) % 10_000;
    LectureProgress {
        event_id: format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            0x8000 | ((seq >> 48) & 0x3fff),
            seq & 0xffff_ffff_ffff
        ),
        learner_id,
        course_id: format!("course-{course:04}"),
        lecture_id: format!("course-{course:04}-lecture-{:03}", seq % 1000),
        watched_seconds: 64 + (seq % 3536) as i32,
        occurred_at: 1_764_000_000_000 + (seq % 1_000_000_000) as i64 * 250,
    }
}

/// A well-mixed 64-bit value per `seq` (for the random part of the event id).
fn splitmix64(seq: u64) -> u64 {
    let mut z = seq.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// [`SCHEMA`], parsed.
pub(crate) fn schema() -> Result<Schema, BoxError> {
    Ok(Schema::parse_str(SCHEMA)
        .map_err(|e| format!("the LectureProgress schema does not parse: {e}"))?)
}

/// Encodes records with [`SCHEMA`] (the writer is resolved once) and frames them with a
/// registry's schema id.
pub(crate) struct Encoder<'s> {
    writer: GenericDatumWriter<'s>,
    id: u32,
    body: Vec<u8>,
}

impl<'s> Encoder<'s> {
    /// An encoder for `schema` (from [`schema()`]) framing with `schema_id`.
    pub(crate) fn new(schema: &'s Schema, schema_id: u32) -> Result<Self, BoxError> {
        let writer = GenericDatumWriter::builder(schema)
            .build()
            .map_err(|e| format!("no Avro writer for LectureProgress: {e}"))?;
        Ok(Self {
            writer,
            id: schema_id,
            body: Vec::with_capacity(FRAMED_BYTES),
        })
    }

    /// `p` in the Confluent wire format: `0x00`, the schema id, the Avro body.
    pub(crate) fn frame(&mut self, p: &LectureProgress) -> Result<Vec<u8>, BoxError> {
        self.body.clear();
        self.writer
            .write_ser(&mut self.body, p)
            .map_err(|e| format!("encoding LectureProgress as Avro failed: {e}"))?;
        Ok(wire::frame(self.id, &self.body))
    }
}

#[cfg(test)]
mod tests {
    use consume_runtime::avro::{Prepared, wire};

    use super::*;

    #[test]
    fn every_framed_value_has_the_advertised_size_and_decodes_back() {
        let schema = schema().unwrap();
        let mut enc = Encoder::new(&schema, 42).unwrap();
        let prepared = Prepared::new(&schema, &schema).unwrap();
        for seq in [0, 1, 7, 9_999, 10_000, 999_999, 123_456_789, 999_999_999] {
            let p = record(seq);
            let framed = enc.frame(&p).unwrap();
            assert_eq!(framed.len(), FRAMED_BYTES, "seq {seq}: {p:?}");
            let (id, body) = wire::split(&framed).unwrap();
            assert_eq!(id, 42);
            assert_eq!(prepared.decode::<LectureProgress>(body).unwrap(), p);
        }
    }

    #[test]
    fn event_ids_are_unique_and_keys_cycle() {
        assert_ne!(record(1).event_id, record(2).event_id);
        assert_eq!(record(3).learner_id, record(3 + KEYS).learner_id);
        let mut k = String::new();
        key(10_003, &mut k);
        assert_eq!(k, "learner-00003");
        assert_eq!(record(10_003).learner_id, k);
    }
}
