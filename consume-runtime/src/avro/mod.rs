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
    /// # Errors
    /// [`DecodeError`]; never panics and never allocates more than the body's size for a
    /// declared length.
    pub fn decode<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, DecodeError> {
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
    let mut map = READER_SCHEMAS.lock().unwrap_or_else(|p| p.into_inner());
    let entry = map.entry(TypeId::of::<T>()).or_insert_with(|| {
        Arc::new(Schema::parse_str(T::SCHEMA).map_err(|e| {
            format!(
                "the Avro schema of `{}` does not parse: {e}",
                std::any::type_name::<T>()
            )
        }))
    });
    (**entry).clone()
}

#[cfg(test)]
mod tests;
