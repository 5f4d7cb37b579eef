use consume_runtime::{consume, Json};

#[consume(topic = "orders", group = "billing")]
async fn handler<T: serde::de::DeserializeOwned + Send>(Json(_v): Json<T>) {}

fn main() {}
