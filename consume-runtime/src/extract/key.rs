//! [`Key<T>`]: the message key.

use serde_json::{Value, json};

use super::{Delivery, FromMessage, Rejection, Requirements};

/// The message key as `T`: `String` (UTF-8), `Vec<u8>`, or `Option<_>` of either to accept
/// null keys. A null key for a non-`Option` type, or a key that is not UTF-8 for `String`,
/// is a permanent rejection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Key<T = String>(pub T);

/// Types a key can be decoded into.
pub trait KeyType: Sized + Send {
    /// Decodes the key (`None`: the message has a null key).
    fn from_key(bytes: Option<&[u8]>) -> Result<Self, Rejection>;

    /// The key's JSON Schema, for the AsyncAPI document.
    fn json_schema() -> Value;
}

impl KeyType for String {
    fn from_key(bytes: Option<&[u8]>) -> Result<Self, Rejection> {
        let b = bytes.ok_or_else(|| Rejection::bad_key("the message has a null key"))?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(Rejection::bad_key)
    }

    fn json_schema() -> Value {
        json!({ "type": "string" })
    }
}

impl KeyType for Vec<u8> {
    fn from_key(bytes: Option<&[u8]>) -> Result<Self, Rejection> {
        bytes
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Rejection::bad_key("the message has a null key"))
    }

    fn json_schema() -> Value {
        json!({ "type": "string", "contentEncoding": "binary", "description": "bytes" })
    }
}

impl<T: KeyType> KeyType for Option<T> {
    fn from_key(bytes: Option<&[u8]>) -> Result<Self, Rejection> {
        match bytes {
            None => Ok(None),
            Some(_) => T::from_key(bytes).map(Some),
        }
    }

    fn json_schema() -> Value {
        json!({ "anyOf": [T::json_schema(), { "type": "null" }] })
    }
}

impl<T: KeyType> FromMessage for Key<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        T::from_key(d.key()).map(Key)
    }

    fn requirements(r: &mut Requirements) {
        r.describe_key(T::json_schema());
    }
}

impl<T> std::ops::Deref for Key<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
