//! Extractors: the argument types of a `#[consume]` handler.
//!
//! Each argument implements [`FromMessage`], which builds it from the [`Delivery`] (the
//! received record plus the runtime's shared state). Extraction failures are [`Rejection`]s:
//! decode errors are permanent (never retried).

pub(crate) mod avro;
mod avro_ref;
pub(crate) mod delivery;
mod headers;
mod json;
mod key;
mod meta;
mod payload;
mod rejection;
mod state;
mod tuple;

use std::future::Future;

pub use avro::Avro;
pub use avro_ref::AvroRef;
pub use delivery::Delivery;
pub use headers::{Header, Headers, RecordHeaders};
pub use json::Json;
pub use key::Key;
pub use meta::Meta;
pub use payload::Payload;
pub use rejection::Rejection;
pub use state::{Requirements, State, StateMap};

/// Builds a handler argument from a received message.
///
/// Implement it for your own extractor types; the runtime calls it once per message and
/// argument. Extraction that cannot succeed for this message returns a [`Rejection`]
/// (permanent for bad bytes, retryable for an unreachable dependency).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from a Kafka message",
    label = "not an extractor",
    note = "handler arguments must be extractors: `Json<T>`, `Avro<T>`, `Key<T>`, `Headers`, `Meta`, `Payload`, `State<T>` (or a type implementing `FromMessage`)"
)]
pub trait FromMessage: Sized + Send {
    /// Extracts the value.
    fn from_message(
        delivery: &Delivery<'_>,
    ) -> impl Future<Output = Result<Self, Rejection>> + Send;

    /// Declares what the extractor needs from the runtime (e.g. a `State<T>` value), so
    /// missing pieces are reported at boot rather than per message.
    fn requirements(_requirements: &mut Requirements) {}
}
