//! Errors: [`HandlerError`] (what a handler returns) and [`Error`] (boot and infrastructure).

use std::fmt;
use std::time::Duration;

/// The error a handler returns. Retryable by default: any `std::error::Error` converts into
/// it with `?`. Wrap with [`HandlerError::permanent`] for errors that retrying cannot fix
/// (the message then goes where failed messages go, without retries).
///
/// Like `anyhow::Error`, it does not implement `std::error::Error` itself, so that
/// `impl<E: Error> From<E>` can exist.
pub struct HandlerError {
    kind: ErrorKind,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

/// How the runtime treats a failed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Retried in place up to the retry policy's attempts, then failed for good.
    Retryable,
    /// Not retried: failed for good at once.
    Permanent,
    /// A dependency is down (registry, database): retried in place with capped backoff for
    /// as long as it takes, never failed for good and never skipped; the partition waits.
    Unavailable,
}

impl HandlerError {
    /// A retryable error (the default for `?`).
    pub fn retryable(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            kind: ErrorKind::Retryable,
            source: e.into(),
        }
    }

    /// An error that retrying cannot fix: the message is not retried.
    pub fn permanent(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            source: e.into(),
        }
    }

    /// A dependency is unavailable: retry until it is back, however long (see
    /// [`ErrorKind::Unavailable`]).
    pub fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            source: e.into(),
        }
    }

    /// How the runtime treats it.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether this error skips the retries.
    pub fn is_permanent(&self) -> bool {
        self.kind == ErrorKind::Permanent
    }

    /// The underlying error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    /// Consumes the error, returning the underlying error.
    pub fn into_source(self) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self.source
    }
}

impl<E> From<E> for HandlerError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(e: E) -> Self {
        Self::retryable(e)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)?;
        let mut cause = self.source.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// Boot and infrastructure errors of the runtime. Each message names the handler, topic or
/// group concerned and says how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `#[consume]` handler was linked into the binary (or all were filtered out).
    #[error(
        "no #[consume] handlers found{filter}. Handlers defined in a library crate are only \
         linked when the binary uses that crate: add `use that_crate as _;` to main.rs"
    )]
    NoHandlers {
        /// Describes the active handler filter, if any.
        filter: String,
    },
    /// Two handlers consume the same topic in the same group.
    #[error(
        "handlers {first} and {second} both consume topic `{topic}` in group `{group}`; one \
         group reads a topic once: merge them or use different groups"
    )]
    DuplicateHandler {
        /// The topic.
        topic: String,
        /// The group.
        group: String,
        /// First handler: "`name` (file:line)".
        first: String,
        /// Second handler: "`name` (file:line)".
        second: String,
    },
    /// Two handlers share one name (names select handlers and label metrics).
    #[error(
        "two handlers are named `{name}` ({first_at} and {second_at}); set `name = \"...\"` on one"
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// Where the first is defined.
        first_at: String,
        /// Where the second is defined.
        second_at: String,
    },
    /// A handler takes `State<T>` but no value of `T` was provided.
    #[error("handler `{handler}` ({at}) needs a `{type_name}`, but none was provided: {hint}")]
    MissingState {
        /// The handler.
        handler: String,
        /// Where it is defined.
        at: String,
        /// The missing type.
        type_name: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
    /// A `${VAR}` placeholder in a topic or group has no value.
    #[error(
        "handler `{handler}` ({at}): environment variable `{var}` used in \"{template}\" is not \
         set; set it or give a default with `${{{var}:default}}`"
    )]
    UnresolvedPlaceholder {
        /// The handler.
        handler: String,
        /// Where it is defined.
        at: String,
        /// The variable.
        var: String,
        /// The topic or group text containing it.
        template: String,
    },
    /// A handler filter names a handler or group that does not exist.
    #[error("handler filter `{selector}` matches no handler; known handlers: {known}")]
    UnknownSelector {
        /// The selector that matched nothing.
        selector: String,
        /// The handlers that exist, `name (group)`.
        known: String,
    },
    /// The cluster did not answer within the boot deadline.
    #[error(
        "cannot reach Kafka at {brokers} within {waited:?}: {cause}. Check the brokers address \
         (KAFKA_BROKERS), security settings and network"
    )]
    ClusterUnreachable {
        /// The bootstrap servers.
        brokers: String,
        /// How long the runtime waited.
        waited: Duration,
        /// librdkafka's error.
        cause: String,
    },
    /// A subscribed topic does not exist.
    #[error(
        "topic `{topic}` (handler `{handler}`, {at}) does not exist on the cluster; create it, \
         or enable `create_missing_topics` on the runtime builder"
    )]
    TopicMissing {
        /// The topic.
        topic: String,
        /// The handler.
        handler: String,
        /// Where it is defined.
        at: String,
    },
    /// The latest writer schema of a handler's topic cannot be read into its type.
    #[error(
        "handler `{handler}` ({at}) reads `{type_name}` from subject `{subject}`, but its latest \
         schema (version {version}, id {id}) does not resolve: {detail}. Fix the type or the \
         schema, or set CONSUME_SCHEMA_CHECK=warn to start anyway"
    )]
    IncompatibleSchema {
        /// The handler.
        handler: String,
        /// Where it is defined.
        at: String,
        /// The reader type.
        type_name: &'static str,
        /// The subject.
        subject: String,
        /// Its latest version.
        version: i32,
        /// Its schema id.
        id: u32,
        /// The first incompatibility (names the field).
        detail: String,
    },
    /// The boot-time schema check could not complete.
    #[error("boot-time schema check of handler `{handler}`: {cause}")]
    SchemaCheck {
        /// The handler.
        handler: String,
        /// What failed.
        cause: String,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The AsyncAPI document could not be built or written (the message names the handler).
    #[error("AsyncAPI export: {0}")]
    AsyncApi(String),
    /// librdkafka refused to create a client or failed an operation.
    #[error("Kafka client error ({context}): {source}")]
    Kafka {
        /// What the runtime was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
}
