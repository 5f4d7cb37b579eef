use consume_runtime::consume;

#[consume(topic = "orders", group = "billing")]
fn handler() {}

fn main() {}
