use consume_runtime::consume;

#[consume(topic = "orders")]
async fn handler() {}

fn main() {}
