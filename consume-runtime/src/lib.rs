//! Annotation-driven Kafka consumers: write one `async fn`, annotate it, and the runtime
//! discovers it at boot and runs it, committing only what was handled.
//!
//! # Quickstart
//!
//! ```no_run
//! use consume_runtime::{consume, HandlerError, Json, Key, Runtime};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct LectureProgress {
//!     lecture_id: String,
//!     watched_seconds: u32,
//! }
//!
//! #[consume(topic = "training.lecture-progress", group = "progress-printer")]
//! async fn on_progress(
//!     Key(learner): Key<String>,
//!     Json(p): Json<LectureProgress>,
//! ) -> Result<(), HandlerError> {
//!     println!("{learner} watched {}s of {}", p.watched_seconds, p.lecture_id);
//!     Ok(())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), consume_runtime::Error> {
//!     // KAFKA_BROKERS etc. from the environment; runs until SIGTERM/SIGINT.
//!     Runtime::from_env()?.run().await
//! }
//! ```
//!
//! # How it works
//!
//! - **Discovery.** `#[consume]` leaves the function unchanged and submits one
//!   [`Registration`] with `inventory`. [`Runtime::run`] collects them, sorts them, logs each
//!   (`name topics group file:line`) and validates them ([`Error`] lists what can fail).
//!   Handlers in a library crate are only linked if the binary uses that crate
//!   (`use that_crate as _;`).
//! - **One consumer per handler.** Each handler gets its own consumer (group member) and
//!   control thread. A slow or failing handler cannot stall another's partitions or trigger
//!   its rebalances, and the per-message path needs no lookup of "which handler".
//! - **Partitions in parallel, each in order.** Every assigned partition gets one supervised
//!   task reading that partition's own librdkafka queue; it handles one message at a time, in
//!   offset order. No task or channel per message. `concurrency = N` runs up to `N` calls
//!   at once inside a partition, each key in order; `batch = N` hands the handler a
//!   [`Batch<T>`]. If anything inside a partition's loop panics, the loop restarts from the
//!   first message that did not settle; a message it keeps crashing on is dead-lettered.
//! - **At-least-once.** `enable.auto.offset.store=false`: a message's offset is stored only
//!   after its handler settled it, and the periodic commit commits stored offsets. A crash
//!   redelivers what was not committed; nothing is committed before it was handled.
//! - **Errors.** `Err(e)` is retried in place with bounded exponential backoff
//!   ([`RetryPolicy`]), keeping order; [`HandlerError::permanent`] and decode rejections are
//!   not retried. A panic counts as a retryable error. A message that fails for good is
//!   counted (`consume_messages_failed_total`) and published to its dead-letter topic
//!   (`<topic>.<group>.dlq` by default, headers and all, before its offset is stored); with
//!   dead letters off it is logged at error level and passed. Each dead letter says why in
//!   one word ([`DeadLetterReason`]: header `consume-reason`, label `reason` of
//!   `consume_dead_letters_total`); the process keeps the last hour's counts and the most
//!   recent ones ([`Metrics::dead_letters_last_hour`], [`Metrics::recent_dead_letters`]).
//!   Every kind of hostile record and where it goes: `docs/hostile-records.md`.
//! - **Lag and stalls.** Per partition, lag in messages and in seconds (the age of the oldest
//!   record not yet handled) and whether it is stalled ([`Metrics::stalled_partitions`]).
//! - **Metrics.** Recorded through the [`metrics`](https://docs.rs/metrics) facade: install
//!   the exporter you use (e.g. `metrics-exporter-prometheus`) before [`Runtime::run`] and the
//!   `consume_*` series join your own. The list: [`metrics`](crate::metrics).
//! - **AsyncAPI.** [`Runtime::asyncapi`] (or [`asyncapi()`]) describes every handler as an
//!   AsyncAPI 3.0 document, JSON or YAML: a channel per topic, a `receive` operation per
//!   handler with its group, Avro payload schemas (JSON Schemas with the `schemars`
//!   feature), dead-letter topics as `send` operations ([`asyncapi`](mod@crate::asyncapi)).
//! - **Traces.** Each record is handled in a `process` span with the messaging
//!   semantic-convention fields; with the `otel` feature, W3C trace context crosses Kafka
//!   ([`trace`](crate::trace)).
//! - **Rebalance.** Before a partition is released, its worker finishes the message in hand
//!   (bounded by `drain_timeout`) and stored offsets are committed synchronously.
//!   The default assignor is eager `range`.
//! - **Shutdown.** SIGTERM/SIGINT: stop fetching, finish in-flight messages (bounded by
//!   `shutdown_timeout`), commit, close the consumers (leaving the groups), return. A second
//!   signal exits at once.
//!
//! # Equivalent code without `#[consume]`
//!
//! The macro checks the signature and expands to the function plus one registration:
//!
//! ```
//! use consume_runtime::__private::{erase, inventory, ErasedHandler, HandlerOptions, Registration};
//! use consume_runtime::Json;
//!
//! async fn on_event(Json(v): Json<serde_json::Value>) {
//!     let _ = v;
//! }
//!
//! fn make() -> ErasedHandler {
//!     erase(on_event)
//! }
//!
//! inventory::submit! {
//!     Registration {
//!         name: "on_event",
//!         topics: &["events"],
//!         group: "demo",
//!         module_path: module_path!(),
//!         file: file!(),
//!         line: line!(),
//!         make,
//!         options: HandlerOptions::DEFAULT,
//!     }
//! }
//! ```

pub mod asyncapi;
pub mod avro;
mod batch;
mod boot;
mod config;
mod consumer;
mod error;
pub mod extract;
pub mod failpoint;
mod handler;
pub mod metrics;
pub mod oauth;
mod options;
mod outcome;
mod placeholder;
pub mod publish;
mod raw_headers;
mod registry;
mod retry;
mod runtime;
mod schema_check;
pub mod schema_registry;
mod secret;
pub mod shutdown;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;

pub use asyncapi::document as asyncapi;
pub use batch::{Batch, BatchHandler};
pub use config::{Assignor, Config};
pub use consumer::DeadLetterReason;
pub use options::{BatchOptions, DeadLetter, HandlerOptions};

/// The dead-letter topic of a topic for a consumer group: `<topic>.<group>.dlq`.
pub fn dead_letter_topic(topic: &str, group: &str) -> String {
    consumer::dead_letter::dead_letter_topic(topic, group)
}
pub use error::{Error, ErrorKind, HandlerError};
pub use extract::{
    Avro, AvroRef, Delivery, FromMessage, Headers, Json, Key, Meta, Payload, Rejection, State,
    StateMap,
};
pub use handler::{Handler, call_handler};
pub use metrics::{DeadLetterCount, HandlerSnapshot, Metrics, PartitionSnapshot, RecentDeadLetter};
pub use outcome::{IntoOutcome, Outcome};
pub use publish::{Delivered, PublishError, Publisher};
pub use registry::{HandlerPlan, Registration, registrations};
pub use retry::RetryPolicy;
pub use runtime::Runtime;
pub use schema_check::SchemaCheck;
pub use schema_registry::{RegistryConfig, SchemaRegistry};
pub use secret::Secret;

/// Registers an `async fn` as the handler of a topic in a consumer group.
///
/// ```no_run
/// use consume_runtime::{consume, Json, Meta};
///
/// #[consume(topic = "orders", group = "billing")]
/// async fn bill(Json(order): Json<serde_json::Value>, meta: Meta) {
///     println!("{order} from {}@{}", meta.partition, meta.offset);
/// }
/// ```
///
/// Keys:
/// - `topic = "t"` or `topic = ["a", "b"]` (required);
/// - `group = "g"` (required);
/// - `name = "n"`: the handler's name (default: the function's name), used by the handler
///   filter and in metrics;
/// - `concurrency = N`: up to `N` calls at once per partition, messages with the same key
///   strictly in order; only the contiguous handled prefix is committed;
/// - `batch = N` (and `batch_linger = "20ms"`): the first argument is a [`Batch<T>`] of up
///   to `N` messages of one partition, settled as a whole;
/// - `max_attempts = N`, `backoff = "100ms"`, `max_backoff = "10s"`: this handler's retry
///   policy (default: the runtime's, [`Config::retry`]);
/// - `dead_letter = "topic"` or `dead_letter = false`: where messages that failed for good
///   go (default `<topic>.<group>.dlq`);
/// - `crate = "path"`: where the runtime crate is, if renamed.
///
/// ```no_run
/// use consume_runtime::{consume, Batch, HandlerError, Json, Key};
///
/// #[consume(topic = "payments", group = "ledger", concurrency = 32, max_attempts = 10)]
/// async fn post(Key(account): Key<String>, Json(p): Json<serde_json::Value>) -> Result<(), HandlerError> {
///     let _ = (account, p); // payments of one account in order, 32 accounts at a time
///     Ok(())
/// }
///
/// #[consume(topic = "clicks", group = "warehouse", batch = 500, batch_linger = "50ms", dead_letter = "clicks.rejected")]
/// async fn load(batch: Batch<Json<serde_json::Value>>) -> Result<(), HandlerError> {
///     let _rows = batch.len(); // one bulk insert
///     Ok(())
/// }
/// ```
///
/// Topic and group may contain `${VAR}` or `${VAR:default}`, resolved from the environment
/// at boot (an unset variable without default is a boot error).
///
/// The function must be a free `async fn`, not generic, whose arguments are extractors
/// ([`FromMessage`]), whose future is `Send`, and which returns `()` or `Result<(), E>` with
/// `E: Into<HandlerError>`. Violations are compile errors on the offending token.
#[doc(inline)]
pub use consume_macros::consume;

/// Not public API: used by the code `#[consume]` generates.
#[doc(hidden)]
pub mod __private {
    pub use crate::batch::BatchArg;
    pub use crate::consumer::erased::{ErasedHandler, erase, erase_batch};
    pub use crate::extract::FromMessage;
    pub use crate::options::{BatchOptions, DeadLetter, HandlerOptions};
    pub use crate::outcome::IntoOutcome;
    pub use crate::registry::Registration;
    pub use inventory;

    /// Compile-time check that a handler's future is `Send`.
    pub fn assert_send_future<F: std::future::Future + Send>(_future: F) {}

    /// Compile-time check that a handler returns a supported type.
    pub fn assert_handler_output<F, R>(_future: F)
    where
        F: std::future::Future<Output = R>,
        R: IntoOutcome,
    {
    }
}
