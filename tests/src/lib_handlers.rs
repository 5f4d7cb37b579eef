//! A handler defined in a library crate, to prove discovery across crates.

use consume_runtime::{Payload, consume};

/// Does nothing; only its registration matters.
#[consume(
    topic = "${LIB_TOPIC:consume-tests.library}",
    group = "consume-tests-library"
)]
pub async fn library_handler(_payload: Payload) {}
