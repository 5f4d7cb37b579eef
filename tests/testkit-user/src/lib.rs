//! A team's handlers, as a user of the framework writes them: an orders topic keyed by
//! customer, and a payments topic in Avro. Their tests (`tests/handlers.rs`) use only
//! `consume_runtime::testing`: no Kafka, no registry.

use std::sync::{Arc, Mutex};

use consume_runtime::avro::AvroSchema;
use consume_runtime::{Avro, HandlerError, Json, Key, State, consume};
use serde::{Deserialize, Serialize};

/// An order line: `seq` counts a customer's orders from 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Order {
    /// The customer's order number.
    pub seq: u32,
    /// Amount in cents; 0 is refused for good.
    pub cents: u32,
}

/// A payment, in Avro.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Payment {
    /// Who paid.
    pub customer: String,
    /// Amount in cents.
    pub cents: i64,
}

impl AvroSchema for Payment {
    const SCHEMA: &'static str = r#"{"type":"record","name":"Payment","namespace":"shop",
        "fields":[{"name":"customer","type":"string"},{"name":"cents","type":"long"}]}"#;
}

/// What the handlers saw, shared with the tests through `State`.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// `(customer, seq)` in the order orders were handled.
    pub orders: Arc<Mutex<Vec<(String, u32)>>>,
    /// Payments handled.
    pub payments: Arc<Mutex<Vec<Payment>>>,
    /// Calls that should fail once before succeeding (a flaky dependency), by `seq`.
    pub flaky: Arc<Mutex<Vec<u32>>>,
}

impl Ledger {
    /// The orders handled so far.
    pub fn orders(&self) -> Vec<(String, u32)> {
        self.orders.lock().expect("ledger").clone()
    }
}

/// Books an order. Several calls at once, each customer's orders in order.
#[consume(topic = "orders", group = "billing", concurrency = 8, backoff = "10ms")]
pub async fn book_order(
    Key(customer): Key<String>,
    Json(order): Json<Order>,
    State(ledger): State<Ledger>,
) -> Result<(), HandlerError> {
    if order.cents == 0 {
        return Err(HandlerError::permanent(format!(
            "order {} of {customer} has no amount",
            order.seq
        )));
    }
    {
        let mut flaky = ledger.flaky.lock().expect("ledger");
        if let Some(i) = flaky.iter().position(|s| *s == order.seq) {
            flaky.remove(i);
            return Err(HandlerError::retryable("the warehouse did not answer"));
        }
    }
    ledger
        .orders
        .lock()
        .expect("ledger")
        .push((customer, order.seq));
    Ok(())
}

/// Records a payment.
#[consume(topic = "payments", group = "billing")]
pub async fn record_payment(
    Avro(payment): Avro<Payment>,
    State(ledger): State<Ledger>,
) -> Result<(), HandlerError> {
    ledger.payments.lock().expect("ledger").push(payment);
    Ok(())
}
