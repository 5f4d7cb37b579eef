//! The Kafka side: one consumer (group member) per handler, a worker task per assigned
//! partition, and the rebalance hooks that hand partitions over without losing work.
//!
//! - `member.rs`: the consumer's control thread: subscribe, serve events, shut down.
//! - `context.rs`: librdkafka callbacks: split partition queues on assign, drain and commit
//!   on revoke, route logs.
//! - `worker.rs`: the per-partition loop: receive → handle (with retries) → store offset.
//! - `queue.rs`: an async adapter over a librdkafka partition queue.
//! - `control.rs`: stop/abandon/done signals between the control thread and a worker.

pub(crate) mod context;
pub(crate) mod control;
pub(crate) mod dead_letter;
pub(crate) mod member;
pub(crate) mod queue;
pub(crate) mod worker;
