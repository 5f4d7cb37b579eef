use consume_runtime::consume;

#[consume(topic = "orders", topic = "payments", group = "billing")]
async fn handler() {}

fn main() {}
