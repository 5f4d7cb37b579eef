//! [`Delivery`]: one received record, borrowed, plus the runtime's shared state.

use std::sync::Arc;

use rdkafka::message::{BorrowedMessage, Message as _, Timestamp};

use super::StateMap;
use super::headers::{Header, Headers, RecordHeaders};

/// One record as handed to extractors. Borrows the record from the consumer: nothing is
/// copied unless an extractor asks for owned data.
#[derive(Clone, Copy)]
pub struct Delivery<'a> {
    pub(crate) topic: &'a Arc<str>,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) payload: Option<&'a [u8]>,
    pub(crate) state: &'a StateMap,
    pub(crate) attempt: u32,
    /// Where headers and timestamp come from; read only when an extractor asks (librdkafka
    /// parses headers on first use, which costs an allocation).
    pub(crate) source: Source<'a>,
}

/// The record behind a delivery.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Kafka(&'a BorrowedMessage<'a>),
    Manual {
        headers: &'a [Header],
        timestamp: Timestamp,
    },
}

impl<'a> Delivery<'a> {
    /// A delivery built by hand (for tests of extractors and handlers without Kafka).
    pub fn new(
        topic: &'a Arc<str>,
        partition: i32,
        offset: i64,
        key: Option<&'a [u8]>,
        payload: Option<&'a [u8]>,
        state: &'a StateMap,
    ) -> Self {
        Self {
            topic,
            partition,
            offset,
            key,
            payload,
            state,
            attempt: 1,
            source: Source::Manual {
                headers: &[],
                timestamp: Timestamp::NotAvailable,
            },
        }
    }

    /// Sets the headers.
    pub fn with_headers(mut self, headers: &'a Headers) -> Self {
        let timestamp = self.timestamp();
        self.source = Source::Manual {
            headers: &headers.0,
            timestamp,
        };
        self
    }

    /// Sets the timestamp.
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.source = match self.source {
            Source::Manual { headers, .. } => Source::Manual { headers, timestamp },
            Source::Kafka(_) => Source::Manual {
                headers: &[],
                timestamp,
            },
        };
        self
    }

    /// The topic the record came from.
    pub fn topic(&self) -> &'a str {
        self.topic
    }
    /// The topic, shared (cloning it does not allocate).
    pub fn topic_arc(&self) -> &'a Arc<str> {
        self.topic
    }
    /// Its partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }
    /// Its offset.
    pub fn offset(&self) -> i64 {
        self.offset
    }
    /// Its timestamp.
    pub fn timestamp(&self) -> Timestamp {
        match self.source {
            Source::Kafka(m) => m.timestamp(),
            Source::Manual { timestamp, .. } => timestamp,
        }
    }
    /// The key bytes (`None` for a null key).
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }
    /// The value bytes (`None` for a tombstone).
    pub fn payload(&self) -> Option<&'a [u8]> {
        self.payload
    }
    /// The headers, as bytes (an empty list if the record has none).
    pub fn headers(&self) -> RecordHeaders<'a> {
        match self.source {
            Source::Kafka(m) => RecordHeaders::kafka(m),
            Source::Manual { headers, .. } => RecordHeaders::list(headers),
        }
    }
    /// The runtime's shared state.
    pub fn state(&self) -> &'a StateMap {
        self.state
    }
    /// 1 for the first attempt at this record, 2 for the first retry, …
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}
