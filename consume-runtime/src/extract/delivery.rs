//! [`Delivery`]: one received record, borrowed, plus the runtime's shared state.

use std::sync::Arc;

use rdkafka::message::{BorrowedHeaders, Timestamp};

use super::StateMap;

/// One record as handed to extractors. Borrows the record from the consumer: nothing is
/// copied unless an extractor asks for owned data.
#[derive(Clone, Copy)]
pub struct Delivery<'a> {
    pub(crate) topic: &'a Arc<str>,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) timestamp: Timestamp,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) payload: Option<&'a [u8]>,
    pub(crate) headers: Option<&'a BorrowedHeaders>,
    pub(crate) state: &'a StateMap,
    pub(crate) attempt: u32,
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
            timestamp: Timestamp::NotAvailable,
            key,
            payload,
            headers: None,
            state,
            attempt: 1,
        }
    }

    /// Sets the headers.
    pub fn with_headers(mut self, headers: &'a BorrowedHeaders) -> Self {
        self.headers = Some(headers);
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
        self.timestamp
    }
    /// The key bytes (`None` for a null key).
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }
    /// The value bytes (`None` for a tombstone).
    pub fn payload(&self) -> Option<&'a [u8]> {
        self.payload
    }
    /// The headers, if any.
    pub fn headers(&self) -> Option<&'a BorrowedHeaders> {
        self.headers
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
