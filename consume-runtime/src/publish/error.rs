//! [`PublishError`].

use crate::schema_registry::RegistryError;

/// Why a record was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// librdkafka refused the producer configuration.
    #[error("cannot create the producer: {0}")]
    Client(String),
    /// `send_avro` without a schema registry.
    #[error("publishing Avro needs a schema registry (set SCHEMA_REGISTRY_URL)")]
    NoRegistry,
    /// The registry failed or refused the schema.
    #[error("schema registry, subject `{subject}`: {source}")]
    Registry {
        /// The subject.
        subject: String,
        /// The registry's error.
        #[source]
        source: RegistryError,
    },
    /// The value could not be encoded.
    #[error("cannot encode the value: {0}")]
    Encode(String),
    /// The broker did not acknowledge the record.
    #[error("publishing to `{topic}` failed: {cause}")]
    Delivery {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        cause: String,
    },
}
