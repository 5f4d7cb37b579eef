//! AsyncAPI 3.0 export: a document describing every registered handler, built from the
//! registrations (nothing is connected to).
//!
//! ```no_run
//! # fn demo() -> Result<(), consume_runtime::Error> {
//! use consume_runtime::{asyncapi::Info, Runtime};
//!
//! let info = Info::new("billing", env!("CARGO_PKG_VERSION")).description("Bills orders.");
//! let doc = Runtime::from_env()?.asyncapi(&info)?; // or consume_runtime::asyncapi(&plans, &info)
//! println!("{}", doc.to_json()?);
//! # Ok(()) }
//! ```
//!
//! What the document says:
//! - **a channel per topic**, its `address` the topic (placeholders resolved), with the Kafka
//!   channel binding's `topic`;
//! - **a `receive` operation per handler** (per handler and topic when it reads several),
//!   named after the handler, with the Kafka operation binding's `groupId` (a schema:
//!   `{"type": "string", "enum": [group]}`) and `x-consume-handler`;
//! - **the message** each handler reads: an `Avro<T>` payload is `T`'s Avro schema (a
//!   multi-format schema, `application/vnd.apache.avro+json;version=1.9.0`, in the Confluent
//!   wire format: the binding's `schemaIdLocation: payload`); a `Json<T>` payload is the JSON
//!   Schema given for `T` ([`Info::json_schema_value`], or derived with `schemars` by
//!   `Info::json_schema`, feature `schemars`), and no payload schema when none was given; the
//!   key from `Key<T>` as the Kafka message binding's `key`;
//! - **dead letters**: for each handler with dead letters on, its dead-letter topic as a
//!   channel and a `send` operation (`<handler>-dead-letters`), the message documenting the
//!   headers a dead letter carries.
//!
//! Bindings are Kafka bindings 0.5.0. What it leaves out: servers (add them to the document
//! if your tooling needs them), the value schema of extractors other than `Avro<T>` and
//! `Json<T>` (custom extractors can declare a key or a JSON value through
//! [`Requirements`](crate::extract::Requirements)), and the payload of dead letters (the
//! failed record's bytes, which may not decode: that may be why it failed).
//!
//! YAML is written by `serde-saphyr`: `serde_yaml` is deprecated and archived, and its forks
//! are either unsound or wrap the C-translated `unsafe-libyaml`; serde-saphyr is maintained,
//! pure safe Rust, and serializes any serde type.

mod build;
mod json_schema;
mod model;

use std::any::TypeId;
use std::borrow::Borrow;

use serde_json::Value;

use crate::error::Error;
use crate::registry::HandlerPlan;

/// What the document says about the application besides its handlers: the info object
/// (title, version, description) and the JSON Schemas of `Json<T>` payload types.
#[derive(Debug, Clone)]
pub struct Info {
    title: String,
    version: String,
    description: Option<String>,
    json_schemas: Vec<(TypeId, json_schema::Source)>,
}

impl Info {
    /// The application's title and version (of the application, not of AsyncAPI).
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            description: None,
            json_schemas: Vec::new(),
        }
    }

    /// A description of the application (CommonMark).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The JSON Schema of the values of handlers taking `Json<T>`, written by hand. A `$ref`
    /// in it is resolved against the whole document.
    pub fn json_schema_value<T: 'static>(mut self, schema: Value) -> Self {
        self.json_schemas
            .push((TypeId::of::<T>(), json_schema::Source::Given(schema)));
        self
    }

    /// The JSON Schema of the values of handlers taking `Json<T>`, derived by `schemars`
    /// (draft 7; named types go to `components/schemas`, written once however many payloads
    /// use them).
    ///
    /// ```
    /// # fn main() -> Result<(), consume_runtime::Error> {
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Order {
    ///     id: String,
    ///     cents: u64,
    /// }
    /// let info = consume_runtime::asyncapi::Info::new("billing", "1.0.0").json_schema::<Order>();
    /// # let _ = info; Ok(()) }
    /// ```
    #[cfg(feature = "schemars")]
    pub fn json_schema<T: schemars::JsonSchema + ?Sized + 'static>(mut self) -> Self {
        self.json_schemas.push((
            TypeId::of::<T>(),
            json_schema::Source::Derived(json_schema::derived::<T>),
        ));
        self
    }
}

/// An AsyncAPI 3.0 document; write it with [`AsyncApi::to_json`] or [`AsyncApi::to_yaml`].
#[derive(Debug, Clone)]
pub struct AsyncApi {
    doc: model::Document,
}

impl AsyncApi {
    /// The document as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::AsyncApi`] if serialization fails (not expected: every key is a string).
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(&self.doc)
            .map_err(|e| Error::AsyncApi(format!("writing JSON: {e}")))
    }

    /// The document as YAML.
    ///
    /// # Errors
    /// [`Error::AsyncApi`] if serialization fails (not expected).
    pub fn to_yaml(&self) -> Result<String, Error> {
        serde_saphyr::to_string(&self.doc)
            .map_err(|e| Error::AsyncApi(format!("writing YAML: {e}")))
    }

    /// The operations' ids, in the document's order.
    pub fn operation_ids(&self) -> impl Iterator<Item = &str> {
        self.doc.operations.keys().map(String::as_str)
    }
}

/// The AsyncAPI 3.0 document of these handlers (usually [`Runtime::plan`]'s, or simply
/// [`Runtime::asyncapi`], which needs no state).
///
/// [`Runtime::plan`]: crate::Runtime::plan
/// [`Runtime::asyncapi`]: crate::Runtime::asyncapi
///
/// # Errors
/// [`Error::AsyncApi`] when an `Avro<T>`'s schema is not JSON (naming the handler and type).
pub fn document<P: Borrow<HandlerPlan>>(plans: &[P], info: &Info) -> Result<AsyncApi, Error> {
    let plans: Vec<&HandlerPlan> = plans.iter().map(Borrow::borrow).collect();
    build::document(&plans, info).map(|doc| AsyncApi { doc })
}

#[cfg(test)]
mod tests;
