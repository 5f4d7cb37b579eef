use consume_runtime::consume;

struct Billing;

impl Billing {
    #[consume(topic = "orders", group = "billing")]
    async fn handler(&self) {}
}

fn main() {}
