//! [`Payload`]: the raw value bytes.

use super::{Delivery, FromMessage, Rejection};

/// The raw value bytes, copied (`None` for a tombstone). Never rejects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload(pub Option<Vec<u8>>);

impl FromMessage for Payload {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        Ok(Payload(d.payload().map(<[u8]>::to_vec)))
    }
}
