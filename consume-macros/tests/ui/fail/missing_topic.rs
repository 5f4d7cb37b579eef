use consume_runtime::consume;

#[consume(group = "billing")]
async fn handler() {}

fn main() {}
