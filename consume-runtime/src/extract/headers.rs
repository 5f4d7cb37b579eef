//! [`Headers`]: the record's headers, copied; [`RecordHeaders`]: the same, borrowed.
//!
//! Header names are bytes on the wire and are kept as bytes here: a name or value that is
//! not UTF-8 reaches the handler unchanged (and never panics, unlike reading it through
//! rdkafka's `Headers` API). [`Header::name_str`] and [`Headers::get_str`] give text where
//! there is text.

use rdkafka::message::BorrowedMessage;

use super::{Delivery, FromMessage, Rejection};

/// One header: its name and value as bytes (`None` value: a null header).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The name, byte for byte (usually UTF-8 text, but Kafka does not require it).
    pub name: Vec<u8>,
    /// The value (`None` for a null value).
    pub value: Option<Vec<u8>>,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<Vec<u8>>, value: Option<impl Into<Vec<u8>>>) -> Self {
        Self {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    /// The name as text, `None` if it is not UTF-8.
    pub fn name_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.name).ok()
    }
}

/// The message headers, in order, copied out of the record (a name may repeat; a value may
/// be null; names and values are bytes). Never rejects: a record without headers gives an
/// empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The value of the last header named `name` (`None` if absent or null).
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        self.0
            .iter()
            .rev()
            .find(|h| h.name == name)
            .and_then(|h| h.value.as_deref())
    }

    /// [`Headers::get`] as UTF-8 text (`None` if absent, null or not UTF-8).
    pub fn get_str(&self, name: impl AsRef<[u8]>) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Appends a header (for building deliveries by hand).
    pub fn with(mut self, name: impl Into<Vec<u8>>, value: Option<impl Into<Vec<u8>>>) -> Self {
        self.0.push(Header::new(name, value));
        self
    }
}

impl FromMessage for Headers {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        Ok(Headers(
            d.headers()
                .iter()
                .map(|(name, value)| Header {
                    name: name.to_vec(),
                    value: value.map(<[u8]>::to_vec),
                })
                .collect(),
        ))
    }
}

/// A record's headers, borrowed from the record: `(name, value)` bytes in order. Reading
/// them copies nothing and never panics.
#[derive(Clone, Copy)]
pub struct RecordHeaders<'a> {
    from: From<'a>,
}

#[derive(Clone, Copy)]
enum From<'a> {
    Kafka(&'a BorrowedMessage<'a>),
    List(&'a [Header]),
}

impl<'a> RecordHeaders<'a> {
    pub(crate) fn kafka(msg: &'a BorrowedMessage<'a>) -> Self {
        Self {
            from: From::Kafka(msg),
        }
    }

    pub(crate) fn list(list: &'a [Header]) -> Self {
        Self {
            from: From::List(list),
        }
    }

    /// Header `idx`, if there is one.
    pub fn at(&self, idx: usize) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        match self.from {
            From::Kafka(m) => crate::raw_headers::get(m, idx),
            From::List(l) => l.get(idx).map(|h| (&h.name[..], h.value.as_deref())),
        }
    }

    /// Every header, in order.
    pub fn iter(self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        (0..).map_while(move |i| self.at(i))
    }

    /// How many headers the record has.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the record has no headers.
    pub fn is_empty(&self) -> bool {
        self.at(0).is_none()
    }

    /// The value of the last header named `name` (`None` if absent or null).
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        let name = name.as_ref();
        self.iter()
            .filter(|(n, _)| *n == name)
            .last()
            .and_then(|(_, v)| v)
    }
}

impl std::fmt::Debug for RecordHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), v.map(<[u8]>::len))),
            )
            .finish()
    }
}
