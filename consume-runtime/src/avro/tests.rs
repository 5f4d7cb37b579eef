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
