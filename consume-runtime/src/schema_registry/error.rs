//! [`RegistryError`], classified retryable or permanent.

/// A schema registry failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The id or subject does not exist (permanent: retrying will not make it appear).
    #[error("schema registry {url}: {what} not found")]
    NotFound {
        /// Registry URL.
        url: String,
        /// What was looked up.
        what: String,
    },
    /// The registry could not be reached or failed (retryable).
    #[error("schema registry {url} unavailable: {cause}")]
    Unavailable {
        /// Registry URL.
        url: String,
        /// Why.
        cause: String,
    },
    /// Credentials refused (401/403).
    #[error(
        "schema registry {url} refused the credentials (HTTP {status}); check SCHEMA_REGISTRY_USERNAME/PASSWORD"
    )]
    Unauthorized {
        /// Registry URL.
        url: String,
        /// HTTP status.
        status: u16,
    },
    /// The schema breaks the subject's compatibility rule (409).
    #[error("schema registry {url}: schema refused for subject `{subject}`: {message}")]
    Incompatible {
        /// Registry URL.
        url: String,
        /// Subject.
        subject: String,
        /// The registry's message.
        message: String,
    },
    /// The registry answered something unexpected.
    #[error("schema registry {url}: unexpected response: {detail}")]
    BadResponse {
        /// Registry URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The client could not be built.
    #[error("schema registry client: {0}")]
    Config(String),
}

impl RegistryError {
    /// Whether trying again later may succeed (the registry was down or slow).
    pub fn is_retryable(&self) -> bool {
        matches!(self, RegistryError::Unavailable { .. })
    }
}
