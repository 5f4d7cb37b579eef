//! The Kafka side: one consumer (group member) per handler, one supervised loop per
//! assigned partition, and the rebalance hooks that hand partitions over without losing work.
//!
//! The path of one record, in the order it crosses these files:
//!
//! 1. `queue.rs`: librdkafka puts the fetched record on the partition's own queue and wakes
//!    the loop.
//! 2. `partition.rs`: [`Partition::recv`](partition::Partition::recv) reads it (fetch errors
//!    are counted and logged there) and makes it a [`Delivery`](crate::Delivery).
//! 3. One of three peer loops — `sequential.rs` (default), `lanes.rs` (`concurrency = N`),
//!    `batcher.rs` (`batch = N`) — hands it to
//! 4. `settle.rs`: runs the handler (extractors included), retries in place, and on a final
//!    failure decides the [`DeadLetterReason`] and calls `dead_letter.rs` (publish to the
//!    route decided at plan time; counted and recorded in `metrics/dead_letters.rs`);
//! 5. `offsets.rs`: the settled offset is stored for the next commit (and the loop's
//!    progress published for the lag monitor).
//!
//! Around that path:
//!
//! - `supervisor.rs`: owns a partition for its assignment, runs its loop, restarts the loop
//!   after a panic (rewinding to the first record that did not settle; a record that keeps
//!   crashing it is dead-lettered).
//! - `erased.rs`: the registration's type-erased handler, which picks the loop.
//! - `member.rs`: the consumer's control thread: subscribe, serve events, shut down.
//! - `context.rs`: librdkafka callbacks (rebalances, statistics, commits, logs), routed to
//! - `assignment.rs`: the partition table: split queues and start supervisors on assign,
//!   stop and drain them on revoke, the lag monitor on each statistics interval.
//! - `progress.rs`: lag (messages, seconds) and stall, per partition.
//! - `control.rs`: stop/abandon/done signals between the control thread and a supervisor.

pub(crate) mod assignment;
pub(crate) mod batcher;
pub(crate) mod context;
pub(crate) mod control;
pub(crate) mod dead_letter;
pub(crate) mod erased;
pub(crate) mod lanes;
pub(crate) mod member;
pub(crate) mod offsets;
pub(crate) mod partition;
pub(crate) mod progress;
pub(crate) mod queue;
pub(crate) mod sequential;
pub(crate) mod settle;
pub(crate) mod supervisor;

pub use dead_letter::DeadLetterReason;
