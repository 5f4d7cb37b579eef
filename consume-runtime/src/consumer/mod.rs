//! The Kafka side: one consumer (group member) per handler, a worker task per assigned
//! partition, and the rebalance hooks that hand partitions over without losing work.
//!
//! - `member.rs`: the consumer's control thread: subscribe, serve events, shut down.
//! - `context.rs`: librdkafka callbacks: split partition queues on assign, drain and commit
//!   on revoke, route logs.
//! - `worker.rs`: the per-partition loop: receive → handle (with retries) → store offset.
//! - `lanes.rs`: the same with `concurrency = N`: different keys concurrently, each key in
//!   order, only the contiguous settled prefix stored.
//! - `batcher.rs`: the same for batch handlers: cut batches, settle each as a whole.
//! - `dead_letter.rs`: publishing failed messages to their dead-letter topic.
//! - `queue.rs`: an async adapter over a librdkafka partition queue.
//! - `control.rs`: stop/abandon/done signals between the control thread and a worker.

pub(crate) mod batcher;
pub(crate) mod context;
pub(crate) mod control;
pub(crate) mod dead_letter;
pub(crate) mod lanes;
pub(crate) mod member;
pub(crate) mod queue;
pub(crate) mod worker;
