//! The decoder against `apache_avro`'s encoder as the oracle: plain decoding, schema
//! evolution both ways, promotions, unions/options, enums, arrays and maps, and poison bytes.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::types::{Record, Value};
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Deserialize;

use super::{DecodeError, Prepared};

const V1: &str = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
    {"name":"event_id","type":"string"},
    {"name":"learner_id","type":"string"},
    {"name":"watched_seconds","type":"int"},
    {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#;

// v2 adds a field with a default and drops nothing.
const V2: &str = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
    {"name":"event_id","type":"string"},
    {"name":"learner_id","type":"string"},
    {"name":"watched_seconds","type":"int"},
    {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"device","type":"string","default":"web"}]}"#;

#[derive(Debug, Deserialize, PartialEq)]
struct ProgressV1 {
    event_id: String,
    learner_id: String,
    watched_seconds: i32,
    occurred_at: i64,
}

#[derive(Debug, Deserialize, PartialEq)]
struct ProgressV2 {
    event_id: String,
    learner_id: String,
    watched_seconds: i64,
    occurred_at: i64,
    device: String,
}

fn to_avro_datum(s: &Schema, v: impl Into<Value>) -> apache_avro::AvroResult<Vec<u8>> {
    GenericDatumWriter::builder(s)
        .build()?
        .write_value_to_vec(v)
}

fn schema(s: &str) -> Schema {
    Schema::parse_str(s).expect("schema parses")
}

fn encode_v1(event: &str, secs: i32) -> Vec<u8> {
    let s = schema(V1);
    let mut r = Record::new(&s).expect("record");
    r.put("event_id", event);
    r.put("learner_id", "learner-1");
    r.put("watched_seconds", secs);
    r.put("occurred_at", Value::TimestampMillis(1_764_000_000_000));
    to_avro_datum(&s, r).expect("encode")
}

#[test]
fn decodes_what_apache_avro_encodes() {
    let p = Prepared::new(&schema(V1), &schema(V1)).expect("same schema");
    let got: ProgressV1 = p.decode(&encode_v1("e-1", 42)).expect("decode");
    assert_eq!(
        got,
        ProgressV1 {
            event_id: "e-1".into(),
            learner_id: "learner-1".into(),
            watched_seconds: 42,
            occurred_at: 1_764_000_000_000
        }
    );
}

#[test]
fn old_writer_new_reader_takes_defaults_and_promotes() {
    // Written with v1, read with v2: `device` from its default, int read as long.
    let mut reader = schema(V2);
    if let Schema::Record(r) = &mut reader {
        r.fields[2].schema = Schema::Long;
    }
    let p = Prepared::new(&schema(V1), &reader).expect("compatible");
    let got: ProgressV2 = p.decode(&encode_v1("e-2", 7)).expect("decode");
    assert_eq!(got.device, "web");
    assert_eq!(got.watched_seconds, 7);
}

#[test]
fn new_writer_old_reader_skips_the_added_field() {
    let w = schema(V2);
    let mut r = Record::new(&w).expect("record");
    r.put("event_id", "e-3");
    r.put("learner_id", "learner-9");
    r.put("watched_seconds", 5);
    r.put("occurred_at", Value::TimestampMillis(1));
    r.put("device", "ios");
    let bytes = to_avro_datum(&w, r).expect("encode");
    let p = Prepared::new(&w, &schema(V1)).expect("compatible");
    let got: ProgressV1 = p.decode(&bytes).expect("decode");
    assert_eq!(got.event_id, "e-3");
    assert_eq!(got.learner_id, "learner-9");
}

#[test]
fn a_reader_field_without_default_is_a_mismatch_naming_it() {
    let reader = V2.replace(r#","default":"web""#, "");
    let err = Prepared::new(&schema(V1), &schema(&reader)).expect_err("no default");
    assert!(err.0.contains("`device`"), "{err}");
}

#[test]
fn unions_options_enums_arrays_maps() {
    let w = schema(
        r#"{"type":"record","name":"R","fields":[
        {"name":"maybe","type":["null","string"]},
        {"name":"plain","type":"string"},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["CHECK_IN","CHECK_OUT","IDENTITY_VERIFIED"]}},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"scores","type":{"type":"map","values":"int"}},
        {"name":"gone","type":{"type":"array","items":{"type":"map","values":"double"}}}]}"#,
    );
    let r = schema(
        r#"{"type":"record","name":"R","fields":[
        {"name":"maybe","type":["null","string"]},
        {"name":"plain","type":["null","string"]},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["CHECK_IN","CHECK_OUT","IDENTITY_VERIFIED"]}},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"scores","type":{"type":"map","values":"long"}}]}"#,
    );
    #[derive(Debug, Deserialize, PartialEq)]
    #[allow(clippy::upper_case_acronyms)]
    enum Kind {
        #[serde(rename = "CHECK_IN")]
        CheckIn,
        #[serde(rename = "CHECK_OUT")]
        CheckOut,
        #[serde(rename = "IDENTITY_VERIFIED")]
        IdentityVerified,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    struct Out {
        maybe: Option<String>,
        plain: Option<String>,
        kind: Kind,
        tags: Vec<String>,
        scores: HashMap<String, i64>,
    }
    let mut rec = Record::new(&w).expect("record");
    rec.put("maybe", Value::Union(0, Box::new(Value::Null)));
    rec.put("plain", "p");
    rec.put("kind", Value::Enum(2, "IDENTITY_VERIFIED".into()));
    rec.put("tags", Value::Array(vec!["a".into(), "b".into()]));
    rec.put(
        "scores",
        Value::Map([("x".to_owned(), Value::Int(3))].into_iter().collect()),
    );
    rec.put(
        "gone",
        Value::Array(vec![Value::Map(
            [("k".to_owned(), Value::Double(1.5))].into_iter().collect(),
        )]),
    );
    let bytes = to_avro_datum(&w, rec).expect("encode");
    let got: Out = Prepared::new(&w, &r)
        .expect("compatible")
        .decode(&bytes)
        .expect("decode");
    assert_eq!(
        got,
        Out {
            maybe: None,
            plain: Some("p".into()),
            kind: Kind::IdentityVerified,
            tags: vec!["a".into(), "b".into()],
            scores: [("x".to_owned(), 3)].into_iter().collect(),
        }
    );
}

#[test]
fn poison_bodies_are_errors_not_panics() {
    let p = Prepared::new(&schema(V1), &schema(V1)).expect("same");
    let good = encode_v1("e-4", 1);
    // Every truncation fails cleanly.
    for n in 0..good.len() {
        let r: Result<ProgressV1, _> = p.decode(&good[..n]);
        assert!(r.is_err(), "prefix of {n} bytes decoded");
    }
    // Trailing garbage is reported.
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        p.decode::<ProgressV1>(&longer),
        Err(DecodeError::TrailingBytes(1))
    );
    // A huge declared string length in a tiny message: no allocation, a clear error.
    let huge = [0xfe, 0xff, 0xff, 0xff, 0x0f, b'x'];
    let err = p.decode::<ProgressV1>(&huge).expect_err("huge");
    assert!(
        matches!(err, DecodeError::LengthBeyondMessage { .. }),
        "{err}"
    );
    // Random bytes never panic.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..20_000 {
        let len = (seed % 40) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = p.decode::<ProgressV1>(&bytes);
    }
}

#[test]
fn a_different_record_is_a_mismatch() {
    let other = schema(
        r#"{"type":"record","name":"QuizSubmitted","fields":[{"name":"event_id","type":"string"}]}"#,
    );
    let err = Prepared::new(&other, &schema(V1)).expect_err("different record");
    assert!(err.0.contains("QuizSubmitted"), "{err}");
}

#[test]
fn a_struct_declared_in_another_order_reads_by_name() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Reordered {
        occurred_at: i64,
        watched_seconds: i32,
        learner_id: String,
        event_id: String,
    }
    let p = Prepared::new(&schema(V1), &schema(V1)).expect("same");
    for _ in 0..2 {
        // Twice: the second decode uses the cached "not positional" decision.
        let got: Reordered = p.decode(&encode_v1("e-5", 9)).expect("decode");
        assert_eq!(
            got,
            Reordered {
                occurred_at: 1_764_000_000_000,
                watched_seconds: 9,
                learner_id: "learner-1".into(),
                event_id: "e-5".into()
            }
        );
    }
    // And the positional path still works for the declared-order struct afterwards.
    let got: ProgressV1 = p.decode(&encode_v1("e-6", 3)).expect("decode");
    assert_eq!(got.event_id, "e-6");
}

/// Whether `s` lies within `buf` (a borrowed value, not a copy).
fn inside(buf: &[u8], s: &[u8]) -> bool {
    let r = buf.as_ptr_range();
    r.contains(&s.as_ptr()) && s.len() <= r.end as usize - s.as_ptr() as usize
}

#[test]
fn borrowed_types_decode_equal_to_owned_ones_without_copying_strings() {
    use std::borrow::Cow;
    #[derive(Debug, Deserialize, PartialEq)]
    struct ProgressRef<'a> {
        event_id: &'a str,
        #[serde(borrow)]
        learner_id: Cow<'a, str>,
        watched_seconds: i32,
        occurred_at: i64,
    }
    // Declared in another order: decoded by name, not positionally.
    #[derive(Debug, Deserialize, PartialEq)]
    struct ReorderedRef<'a> {
        occurred_at: i64,
        learner_id: &'a str,
        event_id: &'a [u8],
    }
    let p = Prepared::new(&schema(V1), &schema(V1)).expect("same");
    let body = encode_v1("é-7", 11);
    let owned: ProgressV1 = p.decode(&body).expect("owned");
    let b: ProgressRef<'_> = p.decode(&body).expect("borrowed");
    assert_eq!(
        (b.event_id, &*b.learner_id, b.watched_seconds, b.occurred_at),
        (
            &*owned.event_id,
            &*owned.learner_id,
            owned.watched_seconds,
            owned.occurred_at
        )
    );
    assert!(matches!(b.learner_id, Cow::Borrowed(_)), "Cow was copied");
    assert!(inside(&body, b.event_id.as_bytes()), "event_id copied");
    assert!(inside(&body, b.learner_id.as_bytes()), "learner_id copied");
    let r: ReorderedRef<'_> = p.decode(&body).expect("by name");
    assert_eq!(r.event_id, owned.event_id.as_bytes());
    assert_eq!(
        (r.learner_id, r.occurred_at),
        (&*owned.learner_id, owned.occurred_at)
    );
    assert!(inside(&body, r.event_id) && inside(&body, r.learner_id.as_bytes()));
}

#[test]
fn borrowed_unions_arrays_and_map_keys_point_into_the_body() {
    let s = schema(
        r#"{"type":"record","name":"R","fields":[
        {"name":"maybe","type":["null","string"]},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"scores","type":{"type":"map","values":"string"}},
        {"name":"raw","type":"bytes"}]}"#,
    );
    #[derive(Debug, Deserialize)]
    struct Out<'a> {
        #[serde(borrow)]
        maybe: Option<&'a str>,
        #[serde(borrow)]
        tags: Vec<&'a str>,
        #[serde(borrow)]
        scores: HashMap<&'a str, &'a str>,
        raw: &'a [u8],
    }
    let mut rec = Record::new(&s).expect("record");
    rec.put(
        "maybe",
        Value::Union(1, Box::new(Value::String("m".into()))),
    );
    rec.put("tags", Value::Array(vec!["a".into(), "bb".into()]));
    rec.put(
        "scores",
        Value::Map(
            [("k".to_owned(), Value::String("v".into()))]
                .into_iter()
                .collect(),
        ),
    );
    rec.put("raw", Value::Bytes(vec![9, 8, 7]));
    let body = to_avro_datum(&s, rec).expect("encode");
    let got: Out<'_> = Prepared::new(&s, &s)
        .expect("same")
        .decode(&body)
        .expect("decode");
    assert_eq!(got.maybe, Some("m"));
    assert_eq!(got.tags, ["a", "bb"]);
    assert_eq!(got.scores.get("k"), Some(&"v"));
    assert_eq!(got.raw, [9, 8, 7]);
    let (k, v) = got.scores.iter().next().expect("one entry");
    for part in [
        got.maybe.unwrap_or("").as_bytes(),
        got.tags[1].as_bytes(),
        k.as_bytes(),
        v.as_bytes(),
        got.raw,
    ] {
        assert!(inside(&body, part), "{part:?} copied");
    }
}

#[test]
fn a_reader_default_cannot_be_borrowed_but_a_cow_takes_it() {
    use std::borrow::Cow;
    #[derive(Debug, Deserialize)]
    struct DeviceRef<'a> {
        #[allow(dead_code)]
        device: &'a str,
    }
    #[derive(Debug, Deserialize)]
    struct DeviceCow<'a> {
        #[serde(borrow)]
        device: Cow<'a, str>,
    }
    let reader = r#"{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
        {"name":"device","type":"string","default":"web"}]}"#;
    let p = Prepared::new(&schema(V1), &schema(reader)).expect("compatible");
    let body = encode_v1("e-8", 1);
    let err = p
        .decode::<DeviceRef<'_>>(&body)
        .expect_err("a default is not in the bytes");
    assert!(err.to_string().contains("default"), "{err}");
    let got: DeviceCow<'_> = p.decode(&body).expect("Cow");
    assert!(matches!(got.device, Cow::Owned(ref d) if d == "web"));
}
