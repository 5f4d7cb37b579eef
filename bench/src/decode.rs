//! The decode micro-benchmark (no Kafka): one framed record decoded N times per decoder,
//! after a warm-up, in interleaved repetitions.
//!
//! - ours: `consume_runtime::avro::Prepared::decode` (writer and reader schema resolved once
//!   into a plan, the body deserialized straight into the struct), as `Avro<T>` does;
//! - apache-avro, generic: `from_avro_datum(writer, body, Some(reader))` into a `Value` tree,
//!   then `from_value` into the struct: the usual generic path, which also re-resolves both
//!   schemas on every call;
//! - apache-avro, reader built once: the same `Value` path with the `GenericDatumReader`
//!   built once, so only the per-message work of the generic path remains.
//!
//! Every decoder must return the encoded record before anything is timed.

use std::hint::black_box;
use std::time::Instant;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use consume_runtime::avro::{Prepared, wire};

use crate::BoxError;
use crate::lecture::{self, Encoder, LectureProgress};
use crate::stats::{median, ratio};

/// The decoders, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// `Prepared::decode`.
    Ours,
    /// `from_avro_datum` + `from_value`.
    Generic,
    /// `GenericDatumReader` (built once) `read_value` + `from_value`.
    GenericReaderOnce,
}

/// Table order.
pub(crate) const DECODERS: [Decoder; 3] =
    [Decoder::Ours, Decoder::Generic, Decoder::GenericReaderOnce];

/// ns per message of every decoder in one repetition (indexed like [`DECODERS`]).
pub(crate) type Repetition = [f64; 3];

/// The micro-benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodeBench {
    /// Decodes per decoder and repetition.
    pub(crate) iterations: u64,
    /// Size of the framed value.
    pub(crate) value_bytes: usize,
    /// ns/msg per repetition.
    pub(crate) reps: Vec<Repetition>,
}

impl DecodeBench {
    /// Median ns/msg of decoder `i` (index into [`DECODERS`]).
    pub(crate) fn median_ns(&self, i: usize) -> f64 {
        median(self.reps.iter().map(|r| r[i]).collect())
    }

    /// Median over the repetitions of (decoder `i` ns / ours ns): how many times faster ours is.
    pub(crate) fn median_speedup(&self, i: usize) -> f64 {
        median(self.reps.iter().map(|r| ratio(r[i], r[0])).collect())
    }
}

/// Runs `reps` repetitions of `iterations` decodes per decoder (the order rotates per
/// repetition). CPU-bound and blocking: run it on a blocking thread.
pub(crate) fn run(iterations: u64, reps: usize) -> Result<DecodeBench, BoxError> {
    let schema = lecture::schema()?;
    let expected = lecture::record(123_456);
    let framed = Encoder::new(&schema, 1)?.frame(&expected)?;
    let prepared = Prepared::new(&schema, &schema)
        .map_err(|e| format!("the LectureProgress schema does not resolve to itself: {e}"))?;
    let reader = GenericDatumReader::builder(&schema)
        .reader_schema(&schema)
        .build()
        .map_err(|e| format!("apache-avro: no GenericDatumReader: {e}"))?;
    let ctx = Ctx {
        schema: &schema,
        prepared: &prepared,
        reader: &reader,
        framed: &framed,
    };
    for d in DECODERS {
        let got = ctx.decode(d)?;
        if got != expected {
            return Err(format!("{d:?} decoded {got:?}, expected {expected:?}").into());
        }
        ctx.time(d, (iterations / 10).max(1))?; // warm-up
    }
    let mut out = Vec::with_capacity(reps);
    for rep in 0..reps {
        let mut ns = [0.0; 3];
        for k in 0..DECODERS.len() {
            let i = (rep + k) % DECODERS.len();
            ns[i] = ctx.time(DECODERS[i], iterations)?;
        }
        out.push(ns);
    }
    Ok(DecodeBench {
        iterations,
        value_bytes: framed.len(),
        reps: out,
    })
}

struct Ctx<'a> {
    schema: &'a Schema,
    prepared: &'a Prepared,
    reader: &'a GenericDatumReader<'a>,
    framed: &'a [u8],
}

impl Ctx<'_> {
    /// ns per message of `n` decodes with `d`.
    fn time(&self, d: Decoder, n: u64) -> Result<f64, BoxError> {
        let started = Instant::now();
        for _ in 0..n {
            black_box(self.decode(d)?);
        }
        Ok(started.elapsed().as_nanos() as f64 / n.max(1) as f64)
    }

    /// One framed value, header split off, decoded into the struct.
    #[inline(always)]
    fn decode(&self, d: Decoder) -> Result<LectureProgress, BoxError> {
        let (_id, body) = wire::split(black_box(self.framed))?;
        Ok(match d {
            Decoder::Ours => self.prepared.decode::<LectureProgress>(body)?,
            Decoder::Generic => {
                let mut r = body;
                // Deprecated since 0.22 for `GenericDatumReader` (measured as well, below).
                #[allow(deprecated)]
                let v = apache_avro::from_avro_datum(self.schema, &mut r, Some(self.schema))?;
                apache_avro::from_value::<LectureProgress>(&v)?
            }
            Decoder::GenericReaderOnce => {
                let mut r = body;
                let v = self.reader.read_value(&mut r)?;
                apache_avro::from_value::<LectureProgress>(&v)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decoder_agrees_and_the_result_has_a_row_per_repetition() {
        let b = run(10, 3).unwrap();
        assert_eq!(b.value_bytes, lecture::FRAMED_BYTES);
        assert_eq!(b.reps.len(), 3);
        assert!(b.reps.iter().all(|r| r.iter().all(|ns| *ns > 0.0)));
        assert!(b.median_speedup(0) == 1.0);
    }
}
