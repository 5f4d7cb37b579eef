use consume_runtime::consume;

#[consume(topic = "orders", group = "billing")]
async fn handler() -> u32 {
    1
}

fn main() {}
