use consume_runtime::{consume, HandlerError, Headers, Json, Key, Meta, Payload, State};

#[derive(serde::Deserialize)]
struct Order {
    id: u64,
}

#[derive(Clone)]
struct Db;

#[consume(topic = ["orders", "orders-retry"], group = "${GROUP:billing}", name = "bill_orders")]
async fn handler(
    Key(key): Key<Option<String>>,
    Json(order): Json<Order>,
    headers: Headers,
    meta: Meta,
    Payload(raw): Payload,
    State(_db): State<Db>,
) -> Result<(), HandlerError> {
    let _ = (key, order.id, headers.get("trace"), meta.offset, raw);
    Ok(())
}

#[consume(topic = "audit", group = "billing", crate = "consume_runtime")]
async fn unit_return() {}

#[derive(Debug)]
struct MyError;
impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}
impl std::error::Error for MyError {}

#[consume(topic = "refunds", group = "billing")]
async fn own_error(Json(_v): Json<serde_json::Value>) -> Result<(), MyError> {
    Err(MyError)
}

fn main() {
    let names: Vec<&str> = consume_runtime::registrations().iter().map(|r| r.name).collect();
    assert_eq!(names, ["bill_orders", "own_error", "unit_return"]);
}
