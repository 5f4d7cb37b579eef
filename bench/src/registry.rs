//! Reaching the schema registry and registering the benchmark's value schema.

use consume_runtime::{RegistryConfig, SchemaRegistry};

use crate::BoxError;
use crate::lecture::SCHEMA;

/// The Confluent-compatible registry: `SCHEMA_REGISTRY_URL`, default the one `infra/up`
/// starts.
pub(crate) fn url() -> String {
    std::env::var("SCHEMA_REGISTRY_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:8081/apis/ccompat/v7".to_owned())
}

/// A client for [`url()`] (no request yet).
pub(crate) fn client() -> Result<SchemaRegistry, BoxError> {
    let url = url();
    SchemaRegistry::new(RegistryConfig::new(&url))
        .map_err(|e| format!("no schema registry client for {url}: {e}").into())
}

/// Registers the `LectureProgress` schema under `<topic>-value` (idempotent) and returns its
/// id. A registry that does not answer is an error naming `infra/up`.
pub(crate) async fn register_value_schema(
    registry: &SchemaRegistry,
    topic: &str,
) -> Result<u32, BoxError> {
    let subject = format!("{topic}-value");
    registry.register(&subject, SCHEMA).await.map_err(|e| {
        let hint = if e.is_retryable() {
            format!(
                "; is the schema registry up at {}? see `infra/status`, start it with `infra/up` \
                 (or set SCHEMA_REGISTRY_URL)",
                registry.url()
            )
        } else {
            String::new()
        };
        format!("registering the LectureProgress schema under `{subject}` failed: {e}{hint}").into()
    })
}
