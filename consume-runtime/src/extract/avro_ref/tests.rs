//! `AvroRef<T>` through the extractor path, with a `mock://` registry: borrowed fields point
//! into the extractor's copy of the body, the value equals what `Avro<T>` decodes, and each
//! failure is rejected (or errs) the way `Avro<T>`'s does.

use std::borrow::Cow;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Deserialize;

use super::AvroRef;
use crate::DeadLetterReason;
use crate::avro::{AvroRefSchema, AvroSchema, wire};
use crate::extract::{Avro, Delivery, FromMessage, Rejection, StateMap};
use crate::schema_registry::{RegistryConfig, SchemaRegistry};

const SCHEMA: &str = r#"{"type":"record","name":"Note","namespace":"test.v1","fields":[
    {"name":"id","type":"string"},{"name":"text","type":"string"},
    {"name":"tag","type":["null","string"]},{"name":"blob","type":"bytes"},
    {"name":"n","type":"int"}]}"#;

#[derive(Debug, PartialEq, Deserialize)]
struct Note {
    id: String,
    text: String,
    tag: Option<String>,
    #[serde(with = "bytes_vec")]
    blob: Vec<u8>,
    n: i32,
}

impl AvroSchema for Note {
    const SCHEMA: &'static str = SCHEMA;
}

#[derive(Debug, PartialEq, Deserialize)]
struct NoteRef<'a> {
    id: &'a str,
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(borrow)]
    tag: Option<&'a str>,
    blob: &'a [u8],
    n: i32,
}

impl AvroRefSchema for NoteRef<'static> {
    const SCHEMA: &'static str = SCHEMA;
    type Of<'a> = NoteRef<'a>;
}

/// `Vec<u8>` from Avro bytes (serde's `Vec<u8>` expects a sequence).
mod bytes_vec {
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        <&[u8]>::deserialize(d).map(<[u8]>::to_vec)
    }
    use serde::Deserialize as _;
}

fn body() -> Vec<u8> {
    let schema = Schema::parse_str(SCHEMA).expect("schema");
    let record = Value::Record(vec![
        ("id".into(), Value::String("note-1".into())),
        ("text".into(), Value::String("héllo, wörld".into())),
        (
            "tag".into(),
            Value::Union(1, Box::new(Value::String("t".into()))),
        ),
        ("blob".into(), Value::Bytes(vec![0, 1, 2, 255])),
        ("n".into(), Value::Int(-7)),
    ]);
    GenericDatumWriter::builder(&schema)
        .build()
        .expect("writer")
        .write_value_to_vec(record)
        .expect("encodes")
}

/// A state with a fresh `mock://` registry holding `SCHEMA`, and its id.
async fn registry() -> (StateMap, u32) {
    let scope = format!(
        "mock://avro-ref-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let r = SchemaRegistry::new(RegistryConfig::new(scope)).expect("mock registry");
    let id = r.register("notes-value", SCHEMA).await.expect("registers");
    let mut state = StateMap::new();
    state.insert(r);
    (state, id)
}

async fn extract(
    state: &StateMap,
    value: Option<&[u8]>,
) -> Result<AvroRef<NoteRef<'static>>, Rejection> {
    let topic: Arc<str> = Arc::from("notes");
    let d = Delivery::new(&topic, 0, 0, None, value, state);
    AvroRef::from_message(&d).await
}

fn inside(buf: &[u8], s: &[u8]) -> bool {
    let range = buf.as_ptr_range();
    range.contains(&s.as_ptr()) && s.len() <= range.end as usize - s.as_ptr() as usize
}

#[tokio::test]
async fn decodes_equal_to_avro_t_borrowing_every_string_from_the_kept_body() {
    let (state, id) = registry().await;
    let framed = wire::frame(id, &body());
    let topic: Arc<str> = Arc::from("notes");
    let owned =
        Avro::<Note>::from_message(&Delivery::new(&topic, 0, 0, None, Some(&framed), &state))
            .await
            .expect("Avro<T> decodes")
            .0;

    let got = extract(&state, Some(&framed)).await.expect("extracts");
    assert_eq!(got.schema_id(), id);
    assert_eq!(got.body(), &framed[5..]);
    let v = got.decode().expect("decodes");
    assert_eq!(v.id, owned.id);
    assert_eq!(v.text, owned.text);
    assert_eq!(v.tag, owned.tag.as_deref());
    assert_eq!(v.blob, owned.blob);
    assert_eq!(v.n, owned.n);
    // Zero copies: every string and the bytes point into the extractor's body.
    assert!(
        matches!(v.text, Cow::Borrowed(_)),
        "Cow copied: {:?}",
        v.text
    );
    for field in [
        v.id.as_bytes(),
        v.text.as_bytes(),
        v.tag.unwrap_or("").as_bytes(),
        v.blob,
    ] {
        assert!(inside(got.body(), field), "{field:?} is not in the body");
    }
}

#[tokio::test]
async fn rejects_at_extraction_what_avro_t_rejects() {
    let (state, id) = registry().await;
    for (value, why) in [
        (None, "tombstone"),
        (Some(&b"{\"a\":1}"[..]), "magic byte"),
        (Some(&[0, 0, 0][..]), "too short"),
    ] {
        let r = extract(&state, value).await.expect_err(why);
        assert!(r.is_permanent(), "{why}: {r}");
        assert_eq!(r.extractor(), "AvroRef");
    }
    let unknown = wire::frame(id + 1000, &body());
    let r = extract(&state, Some(&unknown))
        .await
        .expect_err("unknown id");
    assert!(
        r.is_permanent() && r.to_string().contains("unknown schema id"),
        "{r}"
    );
}

#[tokio::test]
async fn bad_bytes_fail_decode_permanently_as_decode() {
    let (state, id) = registry().await;
    let mut b = body();
    b.truncate(b.len() - 1);
    let got = extract(&state, Some(&wire::frame(id, &b)))
        .await
        .expect("the header and schema are fine");
    let e = got.decode().expect_err("truncated");
    assert!(e.is_permanent(), "{e}");
    assert_eq!(Rejection::reason_of(&e), Some(DeadLetterReason::Decode));
    assert!(e.to_string().contains("truncated"), "{e}");
}
