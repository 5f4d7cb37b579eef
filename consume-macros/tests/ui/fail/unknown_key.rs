use consume_runtime::consume;

#[consume(topic = "orders", grup = "billing")]
async fn handler() {}

fn main() {}
