use consume_runtime::{consume, Meta};

#[consume(topic = "orders", group = "billing")]
async fn handler(meta: Meta, amount: u64) {
    let _ = (meta, amount);
}

fn main() {}
