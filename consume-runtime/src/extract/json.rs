//! [`Json<T>`]: the value decoded from JSON.

use serde::de::DeserializeOwned;

use super::{Delivery, FromMessage, Rejection, Requirements};

/// The message value decoded from JSON into `T`. A value that is not valid JSON for `T`, or
/// a tombstone (null value), is a permanent rejection. In the AsyncAPI export the payload's
/// schema is the one given for `T` to [`Info`](crate::asyncapi::Info), if any.
///
/// ```
/// use consume_runtime::Json;
/// # #[derive(serde::Deserialize)] struct Progress { watched_seconds: u32 }
/// async fn handler(Json(p): Json<Progress>) {
///     let _ = p.watched_seconds;
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromMessage for Json<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let bytes = d.payload().ok_or_else(|| {
            Rejection::undecodable("Json", "the message has no value (tombstone)")
        })?;
        serde_json::from_slice(bytes)
            .map(Json)
            .map_err(|e| Rejection::undecodable("Json", e))
    }

    fn requirements(r: &mut Requirements) {
        r.describe_json_value::<T>();
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
