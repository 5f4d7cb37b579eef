//! Annotation-driven Kafka consumers.
//!
//! Write one `async fn`, annotate it with `#[consume(topic = "...", group = "...")]`, and the
//! runtime discovers it at boot and runs it with commits that never lose a message.
//! (Under construction: see the project's issues.)

pub use consume_macros::consume;
