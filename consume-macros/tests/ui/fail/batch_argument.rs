use consume_runtime::{consume, Json};

// A batch handler whose first argument is not a `Batch<T>`.
#[consume(topic = "t", group = "g", batch = 10)]
async fn not_a_batch(_j: Json<u32>) {}

fn main() {}
