//! Avro in the Confluent wire format: `0x00`, a 4-byte big-endian schema id, the Avro body.
//!
//! Decoding does not go through `apache_avro`'s generic `Value` tree: the writer schema (from
//! the registry) and the reader schema (of the Rust type) are resolved once into a plan
//! (`plan.rs`), cached per (registry, schema id, reader type), and a serde deserializer
//! (`de.rs`) reads the bytes straight into the type (`read.rs` checks every length against
//! the bytes left). `apache_avro` parses schemas and encodes.

mod de;
pub(crate) mod plan;
mod read;
pub mod wire;

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use apache_avro::Schema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use plan::Mismatch;

/// A type decoded from Avro: its reader schema, as Avro JSON.
///
/// ```
/// use consume_runtime::avro::AvroSchema;
///
/// #[derive(serde::Deserialize)]
/// struct LectureProgress {
///     event_id: String,
///     watched_seconds: i32,
/// }
///
/// impl AvroSchema for LectureProgress {
///     const SCHEMA: &'static str = r#"{"type":"record","name":"LectureProgress",
///         "namespace":"training.v1","fields":[
///         {"name":"event_id","type":"string"},{"name":"watched_seconds","type":"int"}]}"#;
/// }
/// ```
/// Keep schemas in `.avsc` files and use `include_str!` for the constant.
pub trait AvroSchema: DeserializeOwned + Send + 'static {
    /// The reader schema.
    const SCHEMA: &'static str;
}

/// A type decoded from Avro that **borrows** from the record's bytes (`&'a str`,
/// `#[serde(borrow)] Cow<'a, str>`, `&'a [u8]` fields): its reader schema, and the type with
/// the borrow's lifetime, [`Of<'a>`](AvroRefSchema::Of). Read with
/// [`AvroRef`](crate::AvroRef) in a handler, or [`Prepared::decode`] on bytes you hold.
///
/// Implement it on the type with `'static` (the lifetime only names the family) or on a
/// marker type:
///
/// ```
/// use std::borrow::Cow;
/// use consume_runtime::avro::AvroRefSchema;
///
/// #[derive(serde::Deserialize)]
/// struct ProgressRef<'a> {
///     event_id: &'a str,
///     #[serde(borrow)] // without it serde copies into `Cow::Owned`
///     learner_id: Cow<'a, str>,
///     watched_seconds: i32,
/// }
///
/// impl AvroRefSchema for ProgressRef<'static> {
///     const SCHEMA: &'static str = r#"{"type":"record","name":"LectureProgress",
///         "namespace":"training.v1","fields":[{"name":"event_id","type":"string"},
///         {"name":"learner_id","type":"string"},{"name":"watched_seconds","type":"int"}]}"#;
///     type Of<'a> = ProgressRef<'a>;
/// }
/// ```
pub trait AvroRefSchema: 'static {
    /// The reader schema.
    const SCHEMA: &'static str;
    /// The decoded type, borrowing from bytes that live for `'a`.
    type Of<'a>: Deserialize<'a>;
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body ended early.
    #[error("truncated Avro body: needed {needed} more bytes, {left} left")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        left: usize,
    },
    /// A declared string/bytes/array length exceeds what the message holds.
    #[error("declared length {declared} exceeds the {left} bytes left in the message")]
    LengthBeyondMessage {
        /// The declared length or item count.
        declared: u64,
        /// Bytes left.
        left: usize,
    },
    /// A union branch index that the writer schema does not have.
    #[error("union branch index {0} out of range")]
    UnionBranch(i64),
    /// Bytes that are not valid Avro for the writer schema.
    #[error("invalid Avro: {0}")]
    Invalid(String),
    /// The data does not fit the reader's type.
    #[error("schema mismatch: {0}")]
    Mismatch(String),
    /// Bytes left after the value: the writer schema does not describe this message.
    #[error("{0} bytes left after the value: the message does not match its writer schema")]
    TrailingBytes(usize),
}

impl serde::de::Error for DecodeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        DecodeError::Mismatch(msg.to_string())
    }
}

/// A resolved (writer, reader) pair, ready to decode.
#[derive(Debug)]
pub struct Prepared {
    node: plan::Node,
}

impl Prepared {
    /// Resolves `writer` data to the `reader` schema.
    ///
    /// # Errors
    /// [`Mismatch`] naming the first incompatible field.
    pub fn new(writer: &Schema, reader: &Schema) -> Result<Self, Mismatch> {
        Ok(Self {
            node: plan::compile(writer, reader)?,
        })
    }

    /// Decodes one Avro body (without the wire-format header) into `T`.
    ///
    /// `T` may borrow from `body`: strings and bytes are handed to serde as borrowed
    /// (`visit_borrowed_str`, `visit_borrowed_bytes`), so `&'de str`, `&'de [u8]` and
    /// `#[serde(borrow)] Cow<'de, str>` fields point into `body` and no string byte is
    /// copied. Two exceptions are copied or refused: a value filled from a reader default
    /// (not in the bytes: use `Cow` for such a field) and an enum symbol read as a string.
    ///
    /// ```
    /// use apache_avro::{Schema, types::Value, writer::datum::GenericDatumWriter};
    /// use consume_runtime::avro::Prepared;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Greeting<'a> {
    ///     text: &'a str,
    /// }
    ///
    /// let schema = Schema::parse_str(
    ///     r#"{"type":"record","name":"Greeting","fields":[{"name":"text","type":"string"}]}"#,
    /// )?;
    /// let record = Value::Record(vec![("text".into(), Value::String("hello".into()))]);
    /// let body = GenericDatumWriter::builder(&schema).build()?.write_value_to_vec(record)?;
    ///
    /// let prepared = Prepared::new(&schema, &schema)?;
    /// let g: Greeting<'_> = prepared.decode(&body)?;
    /// assert_eq!(g.text, "hello");
    /// assert!(body.as_ptr_range().contains(&g.text.as_ptr())); // not copied
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`DecodeError`]; never panics and never allocates more than the body's size for a
    /// declared length.
    pub fn decode<'de, T: Deserialize<'de>>(&self, body: &'de [u8]) -> Result<T, DecodeError> {
        let mut r = read::Reader::new(body);
        let value = T::deserialize(de::NodeDe {
            r: &mut r,
            node: &self.node,
        })?;
        match r.remaining() {
            0 => Ok(value),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// A reader schema, or why it does not parse.
type Parsed = Arc<Result<Schema, String>>;

/// Parsed reader schemas, one per type.
static READER_SCHEMAS: LazyLock<Mutex<HashMap<TypeId, Parsed>>> = LazyLock::new(Default::default);

/// The parsed reader schema of `T` (parsed once).
///
/// # Errors
/// The parse error, as text, when `T::SCHEMA` is not a valid schema.
pub fn reader_schema<T: AvroSchema>() -> Result<Schema, String> {
    ReaderType::of::<T>().schema()
}

/// A Rust type that Avro is decoded into: what a resolution is cached by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReaderType {
    pub(crate) id: TypeId,
    pub(crate) name: &'static str,
    pub(crate) schema: &'static str,
}

impl ReaderType {
    pub(crate) fn of<T: AvroSchema>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
            schema: T::SCHEMA,
        }
    }

    pub(crate) fn of_ref<T: AvroRefSchema>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
            schema: T::SCHEMA,
        }
    }

    /// The parsed reader schema (parsed once per type).
    pub(crate) fn schema(&self) -> Result<Schema, String> {
        let mut map = READER_SCHEMAS.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(self.id).or_insert_with(|| {
            Arc::new(
                Schema::parse_str(self.schema)
                    .map_err(|e| format!("the Avro schema of `{}` does not parse: {e}", self.name)),
            )
        });
        (**entry).clone()
    }
}

#[cfg(test)]
mod tests;
