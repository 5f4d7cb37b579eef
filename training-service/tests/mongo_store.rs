//! MongoDB-specific store tests against FerretDB (`infra/up`): tampering is caught by
//! `reconcile`, the version guard's conflict signal, and database operations per 1 000 events.

mod common;

use common::*;
use mongodb::bson::{Bson, doc};
use training_service::domain::{AttendanceKind, Totals};
use training_service::store::{BUCKETS_COLLECTION, Store};

#[tokio::test]
async fn reconcile_finds_a_tampered_bucket_total() {
    let store = mongo_store().await;
    let events = history(200, 4, 17);
    store.apply(&events).await.expect("apply");
    assert!(store.reconcile().await.expect("reconcile").is_exact());

    let target = &events[0];
    let bucket = store
        .buckets()
        .find_one(
            doc! { "learner_id": &target.learner_id, "day": &target.day, "source": "lecture" },
        )
        .await
        .expect("find")
        .expect("a lecture bucket");
    let id = bucket.get_str("_id").expect("_id").to_owned();
    store
        .buckets()
        .update_one(doc! { "_id": &id }, doc! { "$inc": { "seconds": 5_i64 } })
        .await
        .expect("tamper");

    let report = store.reconcile().await.expect("reconcile");
    assert!(!report.is_exact());
    assert_eq!(report.differences.len(), 1, "{report:?}");
    let d = &report.differences[0];
    assert_eq!(
        d.key.learner_id,
        bucket.get_str("learner_id").expect("learner")
    );
    assert_eq!(d.stored.lecture_seconds, d.expected.lecture_seconds + 5);
    let _ = store.database().drop().await;
}

#[tokio::test]
async fn a_stale_version_guard_is_reported_as_duplicate_key() {
    // `apply` relies on this: an upsert whose `{_id, v}` filter matches nothing because the
    // bucket moved on tries to insert the same `_id` and fails with 11000. (FerretDB stops the
    // command at the first write error even with `ordered: false` and omits `n`; `apply` then
    // re-reads and retries, see `Outcome::Unknown`.)
    let store = mongo_store().await;
    let db = store.database();
    let coll = db.collection::<mongodb::bson::Document>(BUCKETS_COLLECTION);
    coll.insert_one(doc! { "_id": "b1", "v": 2_i64 })
        .await
        .expect("insert");
    let as_i64 = |b: Option<&Bson>| match b {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        other => panic!("not an integer: {other:?}"),
    };
    let update = |v: i64| {
        doc! {
            "update": BUCKETS_COLLECTION,
            "updates": [{ "q": { "_id": "b1", "v": v }, "u": { "$inc": { "v": 1_i64 } }, "upsert": true }],
            "ordered": false,
        }
    };
    let reply = db.run_command(update(1)).await.expect("stale update");
    let errors = reply.get_array("writeErrors").expect("writeErrors");
    let Bson::Document(e) = &errors[0] else {
        panic!("{reply}")
    };
    assert_eq!(as_i64(e.get("index")), 0, "{reply}");
    assert_eq!(as_i64(e.get("code")), 11_000, "{reply}");
    let reply = db.run_command(update(2)).await.expect("fresh update");
    assert!(reply.get_array("writeErrors").is_err(), "{reply}");
    assert_eq!(as_i64(reply.get("n")), 1, "{reply}");
    let b1 = coll
        .find_one(doc! { "_id": "b1" })
        .await
        .expect("find")
        .expect("b1");
    assert_eq!(as_i64(b1.get("v")), 3);
    let _ = db.drop().await;
}

#[tokio::test]
async fn operations_per_1000_events() {
    // 3 000 events of one day from 200 learners, each in one course, in batches of 1 000 (what
    // a batch handler sees under load), with 2 % resent duplicates.
    let store = mongo_store().await;
    let mut rng = Lcg(41);
    let mut events: Vec<_> = (0..3_000)
        .map(|i| {
            let l = rng.below(200);
            let (learner, course) = (format!("learner-{l:03}"), format!("course-{}", l % 5));
            let at = DAY0 + rng.below(36_000_000) as i64;
            let id = format!("ops-{i}");
            match rng.below(10) {
                0..=6 => lecture(&id, &learner, &course, rng.below(600) as i32, at),
                7..=8 => quiz(&id, &learner, &course, rng.below(600) as i32, at),
                _ => attendance(&id, &learner, &course, AttendanceKind::IdentityVerified, at),
            }
        })
        .collect();
    let dups: Vec<_> = events.iter().step_by(50).cloned().collect();
    events.extend(dups);
    let before = store.ops();
    let started = std::time::Instant::now();
    for chunk in events.chunks(1000) {
        store.apply(chunk).await.expect("apply");
    }
    let elapsed = started.elapsed();
    let used = store.ops().since(before);
    let per_1000 = used.commands_per_1000(events.len() as u64);
    println!(
        "{} events in batches of 1000 ({:?} guard): {} commands ({per_1000:.1} per 1000 events), \
         {} document writes, {elapsed:?}",
        events.len(),
        store.guard(),
        used.commands,
        used.document_writes
    );
    assert!(per_1000 <= 50.0, "{used:?}");
    let truth = Totals::from_events(&events);
    let report = store.reconcile().await.expect("reconcile");
    assert!(report.is_exact(), "{report:?}");
    for l in truth.learners().iter().take(20) {
        let mut got = store.learner_training(l).await.expect("read");
        got.updated_at = None;
        assert_eq!(got, truth.learner_training(l));
    }
    let _ = store.database().drop().await;
}
