//! [`Meta`]: where the record came from.

use std::sync::Arc;

use super::{Delivery, FromMessage, Rejection};

/// The record's coordinates. Cheap: the topic is shared, nothing is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Milliseconds since the epoch (create or log-append time), if the record has one.
    pub timestamp_ms: Option<i64>,
    /// 1 on the first attempt, 2 on the first retry, …
    pub attempt: u32,
}

impl FromMessage for Meta {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        Ok(Meta {
            topic: Arc::clone(d.topic_arc()),
            partition: d.partition(),
            offset: d.offset(),
            timestamp_ms: d.timestamp().to_millis(),
            attempt: d.attempt(),
        })
    }
}
