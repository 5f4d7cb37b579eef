//! Tests of the handlers in `src/lib.rs` with the test kit alone: an in-process cluster with
//! real consumer groups (several partitions, rebalances, committed offsets), no servers.

use std::collections::BTreeMap;

use consume_runtime::testing::{ApiKey, ErrorCode, TestKafka};
use testkit_user::{Ledger, Order, Payment};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn order(seq: u32, cents: u32) -> Order {
    Order { seq, cents }
}

/// Each customer's orders, in the order they were handled.
fn by_customer(orders: &[(String, u32)]) -> BTreeMap<String, Vec<u32>> {
    let mut m: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (c, seq) in orders {
        m.entry(c.clone()).or_default().push(*seq);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_customers_orders_are_handled_in_order_across_partitions() -> Result {
    let kafka = TestKafka::start()?;
    for seq in 1..=50 {
        for customer in ["ann", "bo", "cy", "di", "ed", "flo"] {
            kafka
                .send_json("orders", customer, &order(seq, 100))
                .await?;
        }
    }
    let ledger = Ledger::default();
    let app = kafka
        .run(kafka.runtime().only(["book_order"]).state(ledger.clone()))
        .await?;
    app.idle().await?;

    let seen = by_customer(&ledger.orders());
    assert_eq!(seen.len(), 6);
    for (customer, seqs) in &seen {
        assert_eq!(*seqs, (1..=50).collect::<Vec<_>>(), "{customer}");
    }
    let partitions: std::collections::BTreeSet<i32> = kafka
        .records("orders")
        .await?
        .iter()
        .map(|r| r.partition)
        .collect();
    assert!(partitions.len() > 1, "all keys landed on one partition");
    assert_eq!(app.handler("book_order").handled, 300);
    app.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_call_is_retried_in_place() -> Result {
    let kafka = TestKafka::start()?;
    let ledger = Ledger::default();
    ledger.flaky.lock().expect("ledger").extend([2, 2, 3]);
    for seq in 1..=4 {
        kafka.send_json("orders", "ann", &order(seq, 100)).await?;
    }
    let app = kafka
        .run(kafka.runtime().only(["book_order"]).state(ledger.clone()))
        .await?;
    app.idle().await?;

    assert_eq!(by_customer(&ledger.orders())["ann"], vec![1, 2, 3, 4]);
    let h = app.handler("book_order");
    assert_eq!((h.handled, h.retries, h.failed), (4, 3, 0));
    app.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_without_an_amount_is_dead_lettered_with_its_headers() -> Result {
    let kafka = TestKafka::start()?;
    kafka.send_json("orders", "ann", &order(1, 100)).await?;
    let bad = kafka
        .send_json_with_headers("orders", "bo", &order(1, 0), &[("trace", b"t-42")])
        .await?;
    kafka.send_json("orders", "ann", &order(2, 100)).await?;
    let ledger = Ledger::default();
    let app = kafka
        .run(kafka.runtime().only(["book_order"]).state(ledger.clone()))
        .await?;
    app.idle().await?;

    assert_eq!(ledger.orders(), vec![("ann".into(), 1), ("ann".into(), 2)]);
    let dead = app.dead_letters("book_order").await?;
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!(d.topic, "orders.billing.dlq");
    assert_eq!(d.key.as_deref(), Some(&b"bo"[..]));
    assert_eq!(d.json::<Order>()?, order(1, 0));
    assert_eq!(
        d.header("trace").as_deref(),
        Some("t-42"),
        "the record's own headers are kept"
    );
    assert_eq!(
        d.header("kafka_dlt-original-topic").as_deref(),
        Some("orders")
    );
    assert_eq!(
        d.headers
            .iter()
            .find(|(k, _)| k == b"kafka_dlt-original-offset")
            .and_then(|(_, v)| v.clone()),
        Some(bad.offset.to_be_bytes().to_vec())
    );
    assert!(
        d.header("kafka_dlt-exception-message")
            .is_some_and(|m| m.contains("order 1 of bo has no amount")),
        "{:?}",
        d.header("kafka_dlt-exception-message")
    );
    let h = app.handler("book_order");
    assert_eq!(
        (h.handled, h.failed, h.dead_lettered, h.retries),
        (2, 1, 1, 0)
    );
    app.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_member_joins_mid_stream_and_nothing_is_lost() -> Result {
    let kafka = TestKafka::start()?;
    let customers: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    let send = |from: u32, to: u32| {
        let (kafka, customers) = (&kafka, &customers);
        async move {
            for seq in from..=to {
                for c in customers {
                    kafka.send_json("orders", c, &order(seq, 100)).await?;
                }
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        }
    };
    send(1, 20).await?;
    let (la, lb) = (Ledger::default(), Ledger::default());
    let a = kafka
        .run(kafka.runtime().only(["book_order"]).state(la.clone()))
        .await?;
    a.idle().await?;
    let b = kafka
        .run(kafka.runtime().only(["book_order"]).state(lb.clone()))
        .await?;
    send(21, 40).await?;
    a.idle().await?;

    let (ha, hb) = (a.handler("book_order"), b.handler("book_order"));
    assert!(ha.rebalances >= 2, "a saw no rebalance: {ha:?}");
    assert!(
        hb.assigned_partitions > 0 && ha.assigned_partitions > 0,
        "the partitions were not shared: a {}, b {}",
        ha.assigned_partitions,
        hb.assigned_partitions
    );
    assert!(hb.handled > 0, "b handled nothing");
    let mut all = la.orders();
    all.extend(lb.orders());
    let seen = by_customer(&all);
    for c in &customers {
        let mut seqs = seen[c].clone();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{c} lost orders");
    }
    // At least once: the mock coordinator refuses the commit a member makes while it hands
    // its partitions over (Kafka accepts it), so the mock may redeliver a little.
    assert!(all.len() >= 800, "{} handled", all.len());
    b.stop().await?;
    a.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_to_the_end_of_every_partition() -> Result {
    let kafka = TestKafka::start()?;
    for i in 0..40 {
        kafka
            .send_json("orders", &format!("c{i}"), &order(1, 100))
            .await?;
    }
    let app = kafka
        .run(
            kafka
                .runtime()
                .only(["book_order"])
                .state(Ledger::default()),
        )
        .await?;
    app.idle().await?;
    app.stop().await?;

    let ends = kafka.end_offsets("orders").await?;
    assert_eq!(ends.len(), 4);
    assert_eq!(ends.values().sum::<i64>(), 40);
    assert_eq!(kafka.committed("billing", "orders").await?, ends);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_payments_are_decoded_with_the_registered_schema() -> Result {
    let kafka = TestKafka::start()?;
    let p = Payment {
        customer: "ann".into(),
        cents: 1250,
    };
    kafka.send_avro("payments", "ann", &p).await?;
    kafka
        .send_bytes("payments", Some(b"bo"), Some(b"not avro"), &[])
        .await?;
    let ledger = Ledger::default();
    let app = kafka
        .run(
            kafka
                .runtime()
                .only(["record_payment"])
                .state(ledger.clone()),
        )
        .await?;
    app.idle().await?;

    assert_eq!(*ledger.payments.lock().expect("ledger"), vec![p]);
    let dead = app.dead_letters("record_payment").await?;
    assert_eq!(
        dead.len(),
        1,
        "the record that is not Avro goes to the dead letters"
    );
    assert_eq!(dead[0].value.as_deref(), Some(&b"not avro"[..]));
    app.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_the_broker_refuses_are_counted_and_made_later() -> Result {
    let kafka = TestKafka::start()?;
    for seq in 1..=10 {
        kafka.send_json("orders", "ann", &order(seq, 100)).await?;
    }
    kafka.fail_requests(
        ApiKey::OffsetCommit,
        &[ErrorCode::RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE; 3],
    );
    let ledger = Ledger::default();
    let app = kafka
        .run(kafka.runtime().only(["book_order"]).state(ledger.clone()))
        .await?;
    app.idle().await?;

    assert_eq!(by_customer(&ledger.orders())["ann"].len(), 10);
    let h = app.handler("book_order");
    assert!(h.commit_failures >= 3, "{h:?}");
    let mut ends = kafka.end_offsets("orders").await?;
    ends.retain(|_, end| *end > 0);
    assert_eq!(kafka.committed("billing", "orders").await?, ends);
    app.stop().await?;
    Ok(())
}
