//! MongoDB-wire smoke tests against FerretDB through the official `mongodb` driver:
//! insert, `$inc` upsert, read back, duplicate `_id` refused. Needs `infra/up`.

use consume_tests::{endpoints, require, unique};
use mongodb::Client;
use mongodb::bson::{Document, doc};
use mongodb::options::UpdateOptions;

async fn collection() -> mongodb::Collection<Document> {
    require::mongodb();
    let client = Client::with_uri_str(endpoints::mongodb_uri())
        .await
        .expect("mongodb client");
    client
        .database("smoke")
        .collection(&unique::name("c").replace('-', "_"))
}

#[tokio::test]
async fn insert_and_read_back() {
    let coll = collection().await;
    coll.insert_one(doc! { "_id": "e1", "learner_id": "l1", "seconds": 30 })
        .await
        .expect("insert");
    let found = coll
        .find_one(doc! { "_id": "e1" })
        .await
        .expect("find")
        .expect("document exists");
    assert_eq!(found.get_str("learner_id").expect("learner_id"), "l1");
    assert_eq!(found.get_i32("seconds").expect("seconds"), 30);
}

#[tokio::test]
async fn inc_upsert_creates_then_adds() {
    let coll = collection().await;
    let filter = doc! { "_id": "l1|c1|2026-11-24" };
    for secs in [30, 45, 25] {
        coll.update_one(
            filter.clone(),
            doc! { "$inc": { "total_seconds": secs }, "$setOnInsert": { "learner_id": "l1" } },
        )
        .with_options(UpdateOptions::builder().upsert(true).build())
        .await
        .expect("upsert");
    }
    let found = coll
        .find_one(filter)
        .await
        .expect("find")
        .expect("upserted document exists");
    assert_eq!(found.get_i32("total_seconds").expect("total"), 100);
    assert_eq!(found.get_str("learner_id").expect("learner_id"), "l1");
    assert_eq!(coll.count_documents(doc! {}).await.expect("count"), 1);
}

#[tokio::test]
async fn duplicate_id_is_refused_with_11000() {
    let coll = collection().await;
    coll.insert_one(doc! { "_id": "event-1" })
        .await
        .expect("first insert");
    let err = coll
        .insert_one(doc! { "_id": "event-1" })
        .await
        .expect_err("second insert of the same _id must fail");
    let code = match *err.kind {
        mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(ref w)) => w.code,
        ref other => panic!("expected a write error, got {other:?}"),
    };
    assert_eq!(code, 11000, "duplicate key error code");
}
