//! The decode micro-benchmark (no Kafka): N distinct `LectureProgress` records, their strings
//! varying in length and content (ASCII and multi-byte UTF-8), encoded once into one buffer of
//! Confluent-framed values; each round every decoder decodes all of them, header split off,
//! into the struct:
//!
//! - ours, owned: `consume_runtime::avro::Prepared::decode::<LectureProgress>` (four
//!   `String`s), as `Avro<T>` does;
//! - ours, borrowed: the same into `LectureProgressRef<'_>` (four `&str` into the buffer), as
//!   `AvroRef<T>::decode` does;
//! - serde_avro_fast, owned and borrowed: `from_datum_slice` into the same two structs;
//! - apache-avro: `from_avro_datum(writer, body, Some(reader))` + `from_value`, the way a user
//!   of that crate decodes a record.
//!
//! Before anything is timed, every decoder's output for every record is compared with the
//! record that was encoded. A round walks the records in chunks of [`CHUNK`]: each chunk is
//! decoded by every decoder in turn, in an order that changes from chunk to chunk (rotated,
//! and reversed every other cycle), and a decoder's time in the round is the sum over the
//! chunks. So the decoders share the machine's ups and downs within each round (a ratio of
//! two decoders' times in one round compares like with like), and none always runs first on
//! a chunk (the one that reads it from memory) or after the same one.

use std::hint::black_box;
use std::time::Instant;

use apache_avro::Schema;
use consume_runtime::avro::{Prepared, wire};
use serde::Deserialize;

use crate::BoxError;
use crate::lecture::{self, Encoder, LectureProgress};
use crate::stats::{median, ratio};

/// Records per chunk: every decoder decodes a chunk before the next chunk starts.
pub(crate) const CHUNK: usize = 1000;

/// The decoders, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// `Prepared::decode::<LectureProgress>`.
    Ours,
    /// `Prepared::decode::<LectureProgressRef>`.
    OursBorrowed,
    /// `serde_avro_fast::from_datum_slice::<LectureProgress>`.
    Fast,
    /// `serde_avro_fast::from_datum_slice::<LectureProgressRef>`.
    FastBorrowed,
    /// `apache_avro::from_avro_datum` + `from_value::<LectureProgress>`.
    Apache,
}

/// Table order.
pub(crate) const DECODERS: [Decoder; 5] = [
    Decoder::Ours,
    Decoder::OursBorrowed,
    Decoder::Fast,
    Decoder::FastBorrowed,
    Decoder::Apache,
];

/// ns per record of every decoder in one round (indexed like [`DECODERS`]).
pub(crate) type Round = [f64; DECODERS.len()];

/// The micro-benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodeBench {
    /// Distinct records, each decoded once per decoder and round.
    pub(crate) records: usize,
    /// Framed value sizes: smallest, mean, largest.
    pub(crate) value_bytes: (usize, f64, usize),
    /// ns/record per round.
    pub(crate) rounds: Vec<Round>,
    /// The 1-minute load average before and after the rounds (`None`: unreadable).
    pub(crate) load: (Option<f64>, Option<f64>),
}

/// The median and the range over the rounds of one figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    fn of(values: Vec<f64>) -> Self {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self {
            median: median(values),
            min,
            max,
        }
    }
}

impl DecodeBench {
    /// ns/record of decoder `d` over the rounds.
    pub(crate) fn ns(&self, d: Decoder) -> Spread {
        let i = index(d);
        Spread::of(self.rounds.iter().map(|r| r[i]).collect())
    }

    /// The per-round ratio `num` ns / `den` ns over the rounds.
    pub(crate) fn ratio(&self, num: Decoder, den: Decoder) -> Spread {
        let (n, d) = (index(num), index(den));
        Spread::of(self.rounds.iter().map(|r| ratio(r[n], r[d])).collect())
    }
}

/// Where `d` is in [`DECODERS`].
pub(crate) fn index(d: Decoder) -> usize {
    DECODERS.iter().position(|x| *x == d).unwrap_or(0)
}

/// [`LectureProgress`] borrowing its strings from the Avro body.
#[derive(Debug, Deserialize)]
pub(crate) struct LectureProgressRef<'a> {
    event_id: &'a str,
    learner_id: &'a str,
    course_id: &'a str,
    lecture_id: &'a str,
    watched_seconds: i32,
    occurred_at: i64,
}

/// The reader schema of [`LectureProgressRef`] (the same as [`LectureProgress`]'s), for the
/// `AvroRef<LectureProgressRef<'static>>` handler (b3).
impl consume_runtime::avro::AvroRefSchema for LectureProgressRef<'static> {
    const SCHEMA: &'static str = lecture::SCHEMA;
    type Of<'a> = LectureProgressRef<'a>;
}

impl PartialEq<LectureProgress> for LectureProgressRef<'_> {
    fn eq(&self, p: &LectureProgress) -> bool {
        self.event_id == p.event_id
            && self.learner_id == p.learner_id
            && self.course_id == p.course_id
            && self.lecture_id == p.lecture_id
            && self.watched_seconds == p.watched_seconds
            && self.occurred_at == p.occurred_at
    }
}

/// Record `seq` with strings of varying length and content: `lecture::record(seq)`'s ids
/// with a suffix of 0–22 characters on the learner, a course title of 1–8 words (every
/// seventh record's with Korean and accented letters) and a lecture id with a 0–47-letter
/// slug: framed values of about 110 to 300 bytes.
pub(crate) fn varied_record(seq: u64) -> LectureProgress {
    const WORDS: [&str; 8] = [
        "rust",
        "kafka",
        "avro",
        "파이프라인",
        "schéma",
        "stream",
        "consumer",
        "데이터",
    ];
    let mut p = lecture::record(seq);
    let h = splitmix64(seq ^ 0x5eed);
    let unicode = seq.is_multiple_of(7);
    let pick = |shift: u32, n: u64| ((h >> shift) % n) as usize;
    p.learner_id.push_str(&"-x".repeat(pick(0, 12)));
    let words = 1 + pick(8, 8);
    let title: Vec<&str> = (0..words)
        .map(|w| {
            let i = (splitmix64(seq.wrapping_add(w as u64)) % 8) as usize;
            if unicode {
                WORDS[i]
            } else {
                WORDS[[0, 1, 2, 5, 6][i % 5]]
            }
        })
        .collect();
    p.course_id = format!("{} {}", p.course_id, title.join(" "));
    if unicode {
        p.course_id.push_str(" 데이터 schéma");
    }
    let slug = pick(16, 48);
    p.lecture_id.push('-');
    p.lecture_id
        .extend((0..slug).map(|i| (b'a' + ((h >> (i % 40)) % 26) as u8) as char));
    p
}

fn splitmix64(seq: u64) -> u64 {
    let mut z = seq.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 1-minute load average.
fn load_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Encodes `records` distinct records, checks every decoder on every one of them, runs one
/// warm-up round and `rounds` measured rounds. CPU-bound and blocking: run it on a blocking
/// thread.
pub(crate) fn run(records: u64, rounds: usize) -> Result<DecodeBench, BoxError> {
    let schema = lecture::schema()?;
    let expected: Vec<LectureProgress> = (0..records).map(varied_record).collect();
    let mut encoder = Encoder::new(&schema, 1)?;
    let mut buf = Vec::new();
    let mut ends = Vec::with_capacity(expected.len());
    for p in &expected {
        buf.extend_from_slice(&encoder.frame(p)?);
        ends.push(buf.len());
    }
    let fast: serde_avro_fast::Schema = lecture::SCHEMA
        .parse()
        .map_err(|e| format!("serde_avro_fast: the LectureProgress schema: {e}"))?;
    let prepared = Prepared::new(&schema, &schema)
        .map_err(|e| format!("the LectureProgress schema does not resolve to itself: {e}"))?;
    let ctx = Ctx {
        schema: &schema,
        prepared: &prepared,
        fast: &fast,
        buf: &buf,
        ends: &ends,
    };
    ctx.check(&expected)?;
    drop(expected);
    ctx.round(0)?; // warm-up
    let load_before = load_1m();
    let mut out = Vec::with_capacity(rounds);
    for round in 0..rounds {
        out.push(ctx.round(round)?);
    }
    let sizes = ctx.values().map(<[u8]>::len);
    let (min, max) = sizes
        .clone()
        .fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    Ok(DecodeBench {
        records: ends.len(),
        value_bytes: (min, buf.len() as f64 / ends.len().max(1) as f64, max),
        rounds: out,
        load: (load_before, load_1m()),
    })
}

/// The decoders' order on chunk `k` (of all rounds): rotated by `k`, reversed every other
/// cycle.
pub(crate) fn order(k: usize) -> Vec<usize> {
    let n = DECODERS.len();
    let mut o: Vec<usize> = (0..n).map(|i| (k + i) % n).collect();
    if (k / n) % 2 == 1 {
        o.reverse();
    }
    o
}

struct Ctx<'a> {
    schema: &'a Schema,
    prepared: &'a Prepared,
    fast: &'a serde_avro_fast::Schema,
    /// The framed values, back to back.
    buf: &'a [u8],
    /// Where each value ends in `buf`.
    ends: &'a [usize],
}

impl<'a> Ctx<'a> {
    fn values(&self) -> impl Iterator<Item = &'a [u8]> + Clone + use<'a> {
        self.range(0, self.ends.len())
    }

    /// Values `from..to`.
    fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &'a [u8]> + Clone + use<'a> {
        let buf = self.buf;
        let start = if from == 0 { 0 } else { self.ends[from - 1] };
        self.ends[from..to].iter().scan(start, move |start, &end| {
            Some(&buf[std::mem::replace(start, end)..end])
        })
    }

    /// One round: ns per record of every decoder (indexed like [`DECODERS`]).
    fn round(&self, round: usize) -> Result<Round, BoxError> {
        let mut ns = [0.0; DECODERS.len()];
        let chunks = self.ends.len().div_ceil(CHUNK);
        for c in 0..chunks {
            let (from, to) = (c * CHUNK, ((c + 1) * CHUNK).min(self.ends.len()));
            for i in order(round * chunks + c) {
                ns[i] += self.time(DECODERS[i], from, to)?;
            }
        }
        let n = self.ends.len().max(1) as f64;
        Ok(ns.map(|total| total / n))
    }

    /// Every decoder returns every encoded record.
    fn check(&self, expected: &[LectureProgress]) -> Result<(), BoxError> {
        for (i, (framed, want)) in self.values().zip(expected).enumerate() {
            for d in DECODERS {
                let wrong = match d {
                    Decoder::OursBorrowed | Decoder::FastBorrowed => {
                        let got = self.decode_borrowed(d, framed)?;
                        (got != *want).then(|| format!("{got:?}"))
                    }
                    _ => {
                        let got = self.decode_owned(d, framed)?;
                        (got != *want).then(|| format!("{got:?}"))
                    }
                };
                if let Some(got) = wrong {
                    return Err(
                        format!("{d:?} decoded record {i} as {got}, expected {want:?}").into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// ns taken to decode values `from..to` once with `d`.
    fn time(&self, d: Decoder, from: usize, to: usize) -> Result<f64, BoxError> {
        let started = Instant::now();
        for framed in self.range(from, to) {
            match d {
                Decoder::OursBorrowed | Decoder::FastBorrowed => {
                    black_box(self.decode_borrowed(d, black_box(framed))?);
                }
                _ => {
                    black_box(self.decode_owned(d, black_box(framed))?);
                }
            }
        }
        Ok(started.elapsed().as_nanos() as f64)
    }

    #[inline(always)]
    fn decode_owned(&self, d: Decoder, framed: &[u8]) -> Result<LectureProgress, BoxError> {
        let (_id, body) = wire::split(framed)?;
        Ok(match d {
            Decoder::Fast | Decoder::FastBorrowed => {
                serde_avro_fast::from_datum_slice(body, self.fast)?
            }
            Decoder::Apache => {
                let mut r = body;
                // Deprecated since 0.22 for `GenericDatumReader`; still what most code calls.
                #[allow(deprecated)]
                let v = apache_avro::from_avro_datum(self.schema, &mut r, Some(self.schema))?;
                apache_avro::from_value::<LectureProgress>(&v)?
            }
            Decoder::Ours | Decoder::OursBorrowed => self.prepared.decode(body)?,
        })
    }

    #[inline(always)]
    fn decode_borrowed<'b>(
        &self,
        d: Decoder,
        framed: &'b [u8],
    ) -> Result<LectureProgressRef<'b>, BoxError> {
        let (_id, body) = wire::split(framed)?;
        Ok(match d {
            Decoder::Fast | Decoder::FastBorrowed => {
                serde_avro_fast::from_datum_slice(body, self.fast)?
            }
            _ => self.prepared.decode(body)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decoder_returns_every_record_and_each_round_has_a_time_per_decoder() {
        let b = run(300, 3).unwrap();
        assert_eq!(b.records, 300);
        assert_eq!(b.rounds.len(), 3);
        assert!(b.rounds.iter().all(|r| r.iter().all(|ns| *ns > 0.0)));
        assert_eq!(b.ratio(Decoder::Ours, Decoder::Ours).median, 1.0);
        let (min, mean, max) = b.value_bytes;
        assert!(
            (min as f64) < mean && mean < max as f64 && max - min > 100,
            "{min} {mean} {max}"
        );
    }

    #[test]
    fn records_vary_in_length_and_content_and_decode_back() {
        let a = varied_record(0);
        let b = varied_record(1);
        assert!(!a.course_id.is_ascii(), "{a:?}");
        let lengths: std::collections::HashSet<(usize, usize, usize)> = (0..100)
            .map(varied_record)
            .map(|p| (p.learner_id.len(), p.course_id.len(), p.lecture_id.len()))
            .collect();
        assert!(lengths.len() > 90, "{lengths:?}");
        let schema = lecture::schema().unwrap();
        let framed = Encoder::new(&schema, 1).unwrap().frame(&b).unwrap();
        let (_, body) = wire::split(&framed).unwrap();
        let r: LectureProgressRef<'_> = Prepared::new(&schema, &schema)
            .unwrap()
            .decode(body)
            .unwrap();
        assert!(r == b);
        assert!(
            body.as_ptr_range().contains(&r.lecture_id.as_ptr()),
            "copied"
        );
    }

    #[test]
    fn every_decoder_runs_in_every_position_and_both_directions() {
        let n = DECODERS.len();
        for d in 0..n {
            let positions: std::collections::HashSet<usize> = (0..2 * n)
                .map(|r| order(r).iter().position(|&i| i == d).unwrap())
                .collect();
            assert_eq!(positions.len(), n, "decoder {d}");
        }
        assert_eq!(order(0), vec![0, 1, 2, 3, 4]);
        assert_eq!(order(n), vec![4, 3, 2, 1, 0]);
    }
}
