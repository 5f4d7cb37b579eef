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

/// A second store on the same database as `store` (another writer: another process).
async fn second_writer(
    store: &training_service::store::MongoStore,
) -> training_service::store::MongoStore {
    let uri = mongodb_uri();
    training_service::store::MongoStore::connect(&uri, store.database().name())
        .await
        .expect("second writer")
}

fn exact_totals(events: &[training_service::domain::RefinedEvent]) -> Totals {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<_> = events
        .iter()
        .filter(|e| seen.insert(e.event_id.clone()))
        .cloned()
        .collect();
    Totals::from_events(&unique)
}

#[tokio::test]
async fn the_bucket_cache_skips_the_read_and_a_stale_entry_under_the_version_guard_is_retried() {
    use training_service::store::Guard;
    // The version guard on FerretDB scans the collection per statement: fine for a few buckets.
    let a = mongo_store()
        .await
        .with_guard(Guard::Version)
        .with_bucket_cache(10_000);
    // Another process, without a cache: it reads before writing.
    let b = second_writer(&a).await.with_guard(Guard::Version);
    let ev = |i: u32, s: i32| lecture(&format!("c-{i}"), "learner-1", "course-1", s, DAY0 + 1_000);

    // An unknown bucket is assumed absent under the version guard: no read.
    let before = a.ops();
    let first = a.apply(&[ev(1, 10), ev(2, 20)]).await.expect("a: first");
    assert_eq!(first.applied, 2);
    assert_eq!(
        a.ops().since(before).commands,
        1,
        "a new bucket is written without a read"
    );
    // The bucket is cached now: the next call is one `update` command, no `find`.
    let before = a.ops();
    let second = a.apply(&[ev(3, 30), ev(2, 20)]).await.expect("a: second");
    assert_eq!((second.applied, second.duplicates), (1, 1), "{second:?}");
    assert_eq!(
        a.ops().since(before).commands,
        1,
        "a cached bucket is written without a read"
    );
    assert_eq!(a.bucket_cache_stats(), Some((1, 1)), "(hits, misses)");
    let ops = a.ops();
    assert_eq!(
        (ops.cache_hits, ops.cache_misses),
        (1, 1),
        "as /metrics shows them"
    );

    // Another writer moves the bucket on: a's entry is stale.
    let other = b.apply(&[ev(3, 30), ev(4, 40)]).await.expect("b");
    assert_eq!((other.applied, other.duplicates), (1, 1), "{other:?}");
    // a believes ev 4 is new; the guard fails, a re-reads and finds it stored.
    let third = a.apply(&[ev(4, 40), ev(5, 50)]).await.expect("a: third");
    assert!(
        third.retries >= 1,
        "the stale entry must have cost a retry: {third:?}"
    );
    // (FerretDB's reply to a failed statement does not say what the others did, so the
    // re-read cannot tell whose write stored ev 4: the report may call it applied. The
    // totals below are what must be exact.)
    assert_eq!(third.applied + third.duplicates, 2, "{third:?}");

    // A bucket a has never seen (another course), created by b: a assumes it absent, its
    // upsert fails with 11000, and a reads it and skips what b stored.
    let other_course =
        |i: u32, s: i32| lecture(&format!("c-{i}"), "learner-1", "course-2", s, DAY0 + 1_000);
    b.apply(&[other_course(6, 60)])
        .await
        .expect("b: new bucket");
    let before = a.ops();
    let fourth = a
        .apply(&[other_course(6, 60), other_course(7, 70)])
        .await
        .expect("a: unknown bucket");
    assert!(
        fourth.retries >= 1,
        "the wrong guess must have cost a retry: {fourth:?}"
    );
    assert!(a.ops().since(before).commands >= 3, "update, find, update");

    let all: Vec<_> = (1..=5)
        .map(|i| ev(i, i as i32 * 10))
        .chain((6..=7).map(|i| other_course(i, i as i32 * 10)))
        .collect();
    let mut got = a.learner_training("learner-1").await.expect("read");
    got.updated_at = None;
    assert_eq!(got, exact_totals(&all).learner_training("learner-1"));
    assert_eq!(got.total_seconds, 280);
    assert!(a.reconcile().await.expect("reconcile").is_exact());
    let _ = a.database().drop().await;
}

#[tokio::test]
async fn under_the_id_only_guard_the_cache_must_be_forgotten_when_ownership_changes() {
    use training_service::store::Guard;
    let a = mongo_store().await.with_bucket_cache(10_000);
    let b = second_writer(&a).await;
    assert_eq!(
        a.guard(),
        Guard::IdOnly,
        "FerretDB gets the `_id`-only guard"
    );
    let ev = |i: u32| {
        lecture(
            &format!("o-{i}"),
            "learner-2",
            "course-1",
            100,
            DAY0 + 1_000,
        )
    };

    // a owns the learner and writes; then the partition moves to b, which writes ev 2 (a
    // redelivery of what a had not committed) and ev 3; then it comes back to a, which gets
    // ev 3 again.
    a.apply(&[ev(1)]).await.expect("a");
    b.apply(&[ev(2), ev(3)]).await.expect("b");
    a.ownership_changed();
    let back = a.apply(&[ev(3), ev(4)]).await.expect("a again");
    assert_eq!((back.applied, back.duplicates), (1, 1), "{back:?}");
    let got = a.learner_training("learner-2").await.expect("read");
    assert_eq!(got.total_seconds, 400, "each event once");
    assert!(a.reconcile().await.expect("reconcile").is_exact());

    // The same hand-over without telling the store: its stale entry counts ev 5 twice. This
    // is why the service forgets the cache on every rebalance (and why the version guard is
    // the one to use where the database supports it).
    b.apply(&[ev(5)]).await.expect("b again");
    let stale = a.apply(&[ev(5)]).await.expect("a with a stale cache");
    assert_eq!(
        stale.applied, 1,
        "the stale entry did not know ev 5: {stale:?}"
    );
    let got = a.learner_training("learner-2").await.expect("read");
    assert_eq!(
        got.total_seconds, 600,
        "ev 5 counted twice, as the docs warn"
    );
    let _ = a.database().drop().await;
}
