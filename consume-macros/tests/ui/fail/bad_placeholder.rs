use consume_runtime::consume;

#[consume(topic = "${TOPIC", group = "billing")]
async fn handler() {}

fn main() {}
