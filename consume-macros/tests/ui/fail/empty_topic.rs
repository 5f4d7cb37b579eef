use consume_runtime::consume;

#[consume(topic = "", group = "billing")]
async fn handler() {}

fn main() {}
