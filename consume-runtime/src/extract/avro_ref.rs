//! [`AvroRef<T>`]: the Avro value kept as bytes, decoded on demand into a type that borrows
//! from them.

use std::marker::PhantomData;

use super::avro::{Key, avro_requirements, decode_with, framed, prepare, with_cached};
use super::{Delivery, FromMessage, Rejection};
use crate::HandlerError;
use crate::avro::{AvroRefSchema, ReaderType};

/// The message value as Confluent-framed Avro, decoded on demand into `T::Of<'_>`, a type
/// that borrows its strings and bytes from the record (see [`AvroRefSchema`]).
///
/// A handler argument cannot borrow from the record itself: arguments are built before the
/// handler is called and their types cannot name the delivery's lifetime. So `AvroRef` keeps
/// the Avro body (one allocation and one copy of the whole body, the same as
/// [`Payload`](crate::Payload)) and [`decode`](AvroRef::decode) hands out values that
/// borrow from it: no allocation and no copy per string field. With [`Avro<T>`](crate::Avro)
/// every `String` field is its own allocation and copy.
///
/// Extraction does everything but the decoding, with the same rejections as `Avro<T>`:
/// tombstone, wire format, unknown schema id, writer schema that does not resolve to `T`'s
/// (permanent), registry down (the message waits). The body is decoded by
/// [`decode`](AvroRef::decode), whose error is permanent and dead-lettered as `decode`, the
/// same as `Avro<T>`'s rejection of bad bytes: return it with `?`.
///
/// ```
/// use consume_runtime::avro::AvroRefSchema;
/// use consume_runtime::{AvroRef, HandlerError};
///
/// #[derive(serde::Deserialize)]
/// struct ProgressRef<'a> {
///     event_id: &'a str,
///     watched_seconds: i32,
/// }
///
/// impl AvroRefSchema for ProgressRef<'static> {
///     const SCHEMA: &'static str = r#"{"type":"record","name":"LectureProgress",
///         "namespace":"training.v1","fields":[
///         {"name":"event_id","type":"string"},{"name":"watched_seconds","type":"int"}]}"#;
///     type Of<'a> = ProgressRef<'a>;
/// }
///
/// async fn on_progress(progress: AvroRef<ProgressRef<'static>>) -> Result<(), HandlerError> {
///     let p = progress.decode()?; // ProgressRef<'_>, borrowing from `progress`
///     println!("{} watched {}s", p.event_id, p.watched_seconds);
///     Ok(())
/// }
/// ```
pub struct AvroRef<T> {
    /// The Avro body, without the wire-format header.
    body: Box<[u8]>,
    schema_id: u32,
    /// Where the resolution is cached (resolved at extraction).
    key: Key,
    reader: PhantomData<fn() -> T>,
}

impl<T: AvroRefSchema> AvroRef<T> {
    /// Decodes the value; its `&str`, `&[u8]` and `#[serde(borrow)] Cow` fields borrow from
    /// `self`.
    ///
    /// # Errors
    /// The body does not decode as `T` (truncated, invalid, trailing bytes, a value the type
    /// refuses): a permanent [`HandlerError`] that dead-letters the message as `decode`.
    pub fn decode(&self) -> Result<T::Of<'_>, HandlerError> {
        let reader = ReaderType::of_ref::<T>();
        let decoded = with_cached(&self.key, |e| {
            decode_with::<T::Of<'_>>("AvroRef", e, self.schema_id, &self.body)
        })
        .unwrap_or_else(|| {
            // Extraction cached the resolution and entries are never removed.
            Err(Rejection::undecodable(
                "AvroRef",
                format!(
                    "no resolution of schema id {} for `{}`",
                    self.schema_id, reader.name
                ),
            ))
        });
        decoded.map_err(Rejection::into_handler_error)
    }

    /// The writer schema's id, from the wire-format header.
    pub fn schema_id(&self) -> u32 {
        self.schema_id
    }

    /// The Avro body (without the 5-byte wire-format header).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl<T> std::fmt::Debug for AvroRef<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroRef")
            .field("type", &std::any::type_name::<T>())
            .field("schema_id", &self.schema_id)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl<T: AvroRefSchema> FromMessage for AvroRef<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let (id, body, registry) = framed("AvroRef", d)?;
        let reader = ReaderType::of_ref::<T>();
        let key = (registry.instance_id(), id, reader.id);
        let resolved = match with_cached(&key, |e| e.as_ref().map(|_| ()).map_err(|m| m.clone())) {
            Some(r) => r,
            None => prepare("AvroRef", registry, id, reader).await?.map(|_| ()),
        };
        resolved.map_err(|m| Rejection::undecodable("AvroRef", m.to_string()))?;
        Ok(Self {
            body: body.into(),
            schema_id: id,
            key,
            reader: PhantomData,
        })
    }

    fn requirements(r: &mut super::Requirements) {
        avro_requirements(r, ReaderType::of_ref::<T>());
    }
}

#[cfg(test)]
mod tests;
