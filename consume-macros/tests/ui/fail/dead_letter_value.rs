use consume_runtime::consume;

// `dead_letter` takes a topic name or `false`; `max_backoff` shorter than `backoff`.
#[consume(topic = "t", group = "g", dead_letter = true, backoff = "2s", max_backoff = "1s")]
async fn handler() {}

fn main() {}
