//! [`Headers`]: the message headers, copied.

use rdkafka::message::Headers as _;

use super::{Delivery, FromMessage, Rejection};

/// The message headers, in order, copied out of the record (a header may repeat; a value may
/// be null). Never rejects: a record without headers gives an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, Option<Vec<u8>>)>);

impl Headers {
    /// The value of the last header named `name` (`None` if absent or null).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// [`Headers::get`] as UTF-8 text (`None` if absent, null or not UTF-8).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

impl FromMessage for Headers {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let Some(h) = d.headers() else {
            return Ok(Headers(Vec::new()));
        };
        Ok(Headers(
            h.iter()
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect(),
        ))
    }
}
