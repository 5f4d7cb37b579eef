use std::rc::Rc;

use consume_runtime::consume;

async fn io() {}

#[consume(topic = "orders", group = "billing")]
async fn handler() {
    let counter = Rc::new(1);
    io().await;
    drop(counter);
}

fn main() {}
