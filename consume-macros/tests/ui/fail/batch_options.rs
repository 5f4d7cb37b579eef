use consume_runtime::{consume, Batch, Json};

// `batch` with `concurrency`, and a malformed linger.
#[consume(topic = "t", group = "g", batch = 10, concurrency = 4, batch_linger = "soon")]
async fn both(_b: Batch<Json<u32>>) {}

// `batch_linger` without `batch`; out-of-range concurrency.
#[consume(topic = "t", group = "g", batch_linger = "10ms", concurrency = 0)]
async fn linger_alone() {}

fn main() {}
