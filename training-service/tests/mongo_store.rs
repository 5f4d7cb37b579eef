//! MongoDB-store tests on both MongoDB-wire servers of `infra/up` (FerretDB with the `_id`-only
//! guard, mongo-java-server with the version guard; a test fails, never skips, when its server
//! is down): tampering is caught by `reconcile`, the version guard's conflict signal, the
//! commands counted per 1 000 events and by name, the bucket cache under each guard, and what
//! each server does differently from MongoDB (docs/mongodb-servers.md).

#[macro_use]
mod common;

use std::time::Instant;

use common::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use training_service::domain::{AttendanceKind, RefinedEvent, Totals};
use training_service::store::{BUCKETS_COLLECTION, CommandCounts, Guard, MongoStore, Store};

on_both_servers!(
    reconcile_finds_a_tampered_bucket_total,
    a_stale_version_guard_is_reported_as_duplicate_key,
    operations_per_1000_events,
    commands_are_counted_by_name,
    what_the_server_does_differently,
);

fn as_i64(b: Option<&Bson>) -> i64 {
    match b {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Double(f)) => *f as i64,
        other => panic!("not an integer: {other:?}"),
    }
}

async fn reconcile_finds_a_tampered_bucket_total(server: Server) {
    let store = server.store().await;
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

async fn a_stale_version_guard_is_reported_as_duplicate_key(server: Server) {
    // `apply` relies on this: an upsert whose `{_id, v}` filter matches nothing because the
    // bucket moved on tries to insert the same `_id` and fails with 11000, reported per
    // statement. What happens to the other statements of the command differs (see
    // `Outcome::Unknown` in the store).
    let store = server.store().await;
    let db = store.database();
    let coll = db.collection::<Document>(BUCKETS_COLLECTION);
    coll.insert_many([
        doc! { "_id": "b1", "v": 2_i64 },
        doc! { "_id": "b2", "v": 5_i64 },
    ])
    .await
    .expect("insert");
    let statement = |id: &str, v: i64| {
        doc! { "q": { "_id": id, "v": v }, "u": { "$inc": { "v": 1_i64 } }, "upsert": true }
    };
    let update = |statements: Vec<Document>| {
        doc! { "update": BUCKETS_COLLECTION, "updates": statements, "ordered": false }
    };
    // Stale (b1 is at 2), then fresh (b2 at 5), then a new bucket.
    let reply = db
        .run_command(update(vec![
            statement("b1", 1),
            statement("b2", 5),
            statement("b3", 0),
        ]))
        .await
        .expect("update");
    let errors = reply.get_array("writeErrors").expect("writeErrors");
    assert_eq!(errors.len(), 1, "{reply}");
    let Bson::Document(e) = &errors[0] else {
        panic!("{reply}")
    };
    assert_eq!(as_i64(e.get("index")), 0, "{reply}");
    assert_eq!(as_i64(e.get("code")), 11_000, "{reply}");
    let v = |id: &'static str| {
        let coll = coll.clone();
        async move {
            coll.find_one(doc! { "_id": id })
                .await
                .expect("find")
                .map(|d| as_i64(d.get("v")))
        }
    };
    match server {
        // MongoDB's behaviour: with `ordered: false` every other statement is applied and
        // `n` counts them (1 matched + 1 upserted).
        Server::MongoJavaServer => {
            assert_eq!(as_i64(reply.get("n")), 2, "{reply}");
            assert_eq!(
                (v("b1").await, v("b2").await, v("b3").await),
                (Some(2), Some(6), Some(1))
            );
        }
        // FerretDB stops at the first write error even with `ordered: false` and omits `n`.
        Server::FerretDb => {
            assert!(reply.get("n").is_none(), "{reply}");
            assert_eq!(
                (v("b1").await, v("b2").await, v("b3").await),
                (Some(2), Some(5), None)
            );
        }
    }
    let reply = db
        .run_command(update(vec![statement("b1", 2)]))
        .await
        .expect("fresh update");
    assert!(reply.get_array("writeErrors").is_err(), "{reply}");
    assert_eq!(as_i64(reply.get("n")), 1, "{reply}");
    assert_eq!(v("b1").await, Some(3));
    let _ = db.drop().await;
}

/// `n` events of one day from `learners` learners, each in one of 5 courses, in all three
/// sources, ids `{prefix}-{i}`.
fn live_load(prefix: &str, n: usize, learners: u64, seed: u64) -> Vec<RefinedEvent> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|i| {
            let l = rng.below(learners);
            let (learner, course) = (format!("learner-{l:04}"), format!("course-{}", l % 5));
            let at = DAY0 + rng.below(36_000_000) as i64;
            let id = format!("{prefix}-{i}");
            match rng.below(10) {
                0..=6 => lecture(&id, &learner, &course, rng.below(600) as i32, at),
                7..=8 => quiz(&id, &learner, &course, rng.below(600) as i32, at),
                _ => attendance(&id, &learner, &course, AttendanceKind::IdentityVerified, at),
            }
        })
        .collect()
}

async fn operations_per_1000_events(server: Server) {
    // Batches of 1 000 (what a batch handler sees under load) with 2 % resent duplicates, as
    // the service writes: with the bucket cache. FerretDB scans its collection for every
    // statement, so it gets 3 000 events from 200 learners; mongo-java-server gets the
    // realistic shape: 20 000 events from 2 000 learners (≈ 10 events per bucket).
    let (n, learners) = match server {
        Server::FerretDb => (3_000, 200),
        Server::MongoJavaServer => (20_000, 2_000),
    };
    let store = server.store().await.with_bucket_cache(500_000);
    let mut events = live_load("ops", n, learners, 41);
    let dups: Vec<_> = events.iter().step_by(50).cloned().collect();
    events.extend(dups);
    let before = store.ops();
    let started = Instant::now();
    for chunk in events.chunks(1000) {
        store.apply(chunk).await.expect("apply");
    }
    let elapsed = started.elapsed();
    let used = store.ops().since(before);
    let per_1000 = used.commands_per_1000(events.len() as u64);
    println!(
        "{}: {} events from {learners} learners in batches of 1000 ({:?} guard, bucket cache): \
         {} commands ({per_1000:.1} per 1000 events; {:?}), {} document writes, {elapsed:?} \
         ({:.0} events/s)",
        server.name(),
        events.len(),
        store.guard(),
        used.commands,
        used.by_command,
        used.document_writes,
        events.len() as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(used.commands, used.by_command.total());
    assert!(per_1000 <= 50.0, "{used:?}");
    let truth = Totals::from_events(&events);
    let report = store.reconcile().await.expect("reconcile");
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.events as usize, n);
    for l in truth.learners().iter().take(20) {
        let mut got = store.learner_training(l).await.expect("read");
        got.updated_at = None;
        assert_eq!(got, truth.learner_training(l));
    }
    let _ = store.database().drop().await;
}

/// `per_learner` new lecture events for each of `learners` learners, all in one bucket each.
fn one_bucket_each(tag: &str, learners: usize, per_learner: usize) -> Vec<RefinedEvent> {
    (0..learners)
        .flat_map(|l| {
            (0..per_learner).map(move |k| {
                lecture(
                    &format!("{tag}-{l}-{k}"),
                    &format!("learner-{l:04}"),
                    "course-1",
                    10,
                    DAY0 + 1_000,
                )
            })
        })
        .collect()
}

/// What a store call cost, by command name.
async fn counted(store: &MongoStore, events: &[RefinedEvent]) -> CommandCounts {
    let before = store.ops();
    store.apply(events).await.expect("apply");
    let used = store.ops().since(before);
    assert_eq!(used.commands, used.by_command.total(), "{used:?}");
    assert_eq!(
        used.apply_commands, used.commands,
        "every command of a store call counts as the writer's: {used:?}"
    );
    used.by_command
}

async fn commands_are_counted_by_name(server: Server) {
    // The driver's command monitoring counts what the store sends, by name; each step below
    // could have come out otherwise (an extra `find`, a `getMore` for a reply in two batches, a
    // retry, a split command). Statements per `update` command: 500 on MongoDB-like servers,
    // 25 on FerretDB (docs/training-storage.md); 1 000 `_id`s per `find`.
    let (learners, per_command): (usize, usize) = match server {
        Server::FerretDb => (60, 25),
        Server::MongoJavaServer => (600, 500),
    };
    let updates = learners.div_ceil(per_command) as u64;
    let a = server.store().await.with_bucket_cache(100_000);
    let b = server.store_on(a.database().name()).await; // another writer, no cache
    let expect = |find: u64, update: u64| CommandCounts {
        find,
        update,
        ..CommandCounts::default()
    };

    // 1. Two events for each learner, all buckets new. The version guard assumes a bucket it
    //    has not seen is absent: no read. The `_id`-only guard reads first (one `find`).
    let first = one_bucket_each("first", learners, 2);
    let used = counted(&a, &first).await;
    let reads = u64::from(server.guard() == Guard::IdOnly);
    assert_eq!(
        used,
        expect(reads, updates),
        "{}: new buckets",
        server.name()
    );

    // 2. One new event each plus the first batch again: every bucket is cached, no read.
    let mut second = one_bucket_each("second", learners, 1);
    second.extend(first.iter().cloned());
    assert_eq!(
        counted(&a, &second).await,
        expect(0, updates),
        "cached buckets"
    );

    // 3. A redelivery of what is stored: the cache knows every id, nothing is sent.
    assert_eq!(
        counted(&a, &second).await,
        expect(0, 0),
        "a redelivery costs nothing"
    );

    // 4. Another writer without a cache: one `find` (all versions in one reply), the updates.
    assert_eq!(
        counted(&b, &one_bucket_each("third", learners, 1)).await,
        expect(1, updates),
        "uncached buckets"
    );

    // 4b. Reads (the API's change check and totals) are counted, but not as the writer's.
    let before = a.ops();
    a.learner_version("learner-0001").await.expect("version");
    a.learner_training("learner-0001").await.expect("totals");
    let used = a.ops().since(before);
    assert!(used.commands >= 2, "reads not counted: {used:?}");
    assert_eq!(used.apply_commands, 0, "reads counted as writes: {used:?}");

    // 5. Under the version guard, a's cache is stale now: every statement fails its guard
    //    (11000), then one `find` and the updates again. (Under the `_id`-only guard nothing
    //    would catch it: that is why the service forgets the cache on every rebalance.)
    if server.guard() == Guard::Version {
        let fourth = one_bucket_each("fourth", learners, 1);
        let before = a.ops();
        let report = a.apply(&fourth).await.expect("apply");
        let used = a.ops().since(before);
        assert_eq!(used.by_command, expect(1, 2 * updates), "stale cache");
        assert_eq!(
            (report.applied, report.retries),
            (learners, 1),
            "{report:?}"
        );
    }
    println!(
        "{}: {learners} buckets, {} events in steps 1-2: commands counted {:?}",
        server.name(),
        first.len() + learners,
        a.ops().by_command
    );

    let mut all = first;
    for tag in ["second", "third", "fourth"] {
        if tag != "fourth" || server.guard() == Guard::Version {
            all.extend(one_bucket_each(tag, learners, 1));
        }
    }
    assert_eq!(
        a.aggregates().await.expect("totals"),
        Totals::from_events(&all)
    );
    assert!(a.reconcile().await.expect("reconcile").is_exact());
    let _ = a.database().drop().await;
}

async fn what_the_server_does_differently(server: Server) {
    // Small probes of what the store relies on, or might one day, where the two servers and
    // MongoDB differ; docs/mongodb-servers.md lists the results.
    let store = server.store().await;
    let db = store.database().clone();
    let coll = db.collection::<Document>("probe");
    let code = |e: &mongodb::error::Error| match &*e.kind {
        mongodb::error::ErrorKind::Command(c) => c.code,
        other => panic!("not a command error: {other:?}"),
    };

    // The update operators the store uses, on a new and an existing document.
    for round in 0..2_i64 {
        let reply = db
            .run_command(doc! {
                "update": "probe",
                "updates": [{
                    "q": { "_id": "ops", "v": round },
                    "u": {
                        "$setOnInsert": { "learner_id": "l" },
                        "$inc": { "v": 1_i64, "n": 2_i64, "seconds": 30_i64 },
                        "$push": { "ids": { "$each": ["a", "b"] }, "events": { "$each": [{ "s": 10 }, { "s": 20 }] } },
                        "$set": { "updated_at": round, "check_in": true },
                    },
                    "upsert": true,
                }],
                "ordered": false,
            })
            .await
            .expect("update");
        assert_eq!(as_i64(reply.get("n")), 1, "{reply}");
    }
    let d = coll
        .find_one(doc! { "_id": "ops" })
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (
            as_i64(d.get("v")),
            as_i64(d.get("n")),
            as_i64(d.get("seconds"))
        ),
        (2, 4, 60)
    );
    assert_eq!(d.get_str("learner_id"), Ok("l"));
    assert_eq!(d.get_array("ids").map(Vec::len), Ok(4));
    assert_eq!(d.get_array("events").map(Vec::len), Ok(4));

    // Array filters (not used by the store today).
    coll.insert_one(doc! { "_id": "af", "arr": [{ "k": 1, "x": 0 }, { "k": 2, "x": 0 }] })
        .await
        .expect("insert");
    let af = coll
        .update_one(doc! { "_id": "af" }, doc! { "$inc": { "arr.$[e].x": 5 } })
        .array_filters(vec![doc! { "e.k": 2 }])
        .await;
    match server {
        Server::MongoJavaServer => {
            af.expect("array filters");
            let d = coll
                .find_one(doc! { "_id": "af" })
                .await
                .expect("find")
                .expect("af");
            assert_eq!(
                d.get_array("arr").expect("arr")[1],
                Bson::from(doc! { "k": 2, "x": 5 })
            );
        }
        Server::FerretDb => assert_eq!(code(&af.expect_err("no array filters")), 238),
    }

    // Single-document updates under concurrent writers: 8 tasks × 50 `$inc` + `$push` on one
    // document must leave exactly 400 of each (MongoDB: always).
    coll.insert_one(doc! { "_id": "race", "n": 0_i64, "ids": [] })
        .await
        .expect("insert");
    let writers = (0..8).map(|t| {
        let coll = coll.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                coll.update_one(
                    doc! { "_id": "race" },
                    doc! { "$inc": { "n": 1_i64 }, "$push": { "ids": format!("{t}-{i}") } },
                )
                .await
                .expect("update");
            }
        })
    });
    for w in writers.collect::<Vec<_>>() {
        w.await.expect("writer");
    }
    let d = coll
        .find_one(doc! { "_id": "race" })
        .await
        .expect("find")
        .expect("race");
    let (n, ids) = (as_i64(d.get("n")), d.get_array("ids").map_or(0, Vec::len));
    println!(
        "{}: 400 concurrent $inc+$push on one document left n = {n}, {ids} ids",
        server.name()
    );
    if server == Server::MongoJavaServer {
        assert_eq!((n, ids), (400, 400), "single-document updates are atomic");
    }

    // `ordered: true` must stop at the first write error (MongoDB).
    let reply = db
        .run_command(doc! {
            "update": "probe",
            "updates": [
                { "q": { "_id": "o1" }, "u": { "$set": { "x": 1 } }, "upsert": true },
                { "q": { "_id": "ops", "v": 0_i64 }, "u": { "$set": { "x": 1 } }, "upsert": true },
                { "q": { "_id": "o3" }, "u": { "$set": { "x": 1 } }, "upsert": true },
            ],
            "ordered": true,
        })
        .await
        .expect("ordered update");
    let o3 = coll.find_one(doc! { "_id": "o3" }).await.expect("find");
    match server {
        Server::MongoJavaServer => assert!(o3.is_some(), "mongo-java-server ignores `ordered`"),
        Server::FerretDb => assert!(o3.is_none(), "{reply}"),
    }

    // `explain`.
    let explain = db
        .run_command(doc! { "explain": { "find": "probe", "filter": { "_id": "ops" } } })
        .await;
    match server {
        Server::MongoJavaServer => assert_eq!(code(&explain.expect_err("no explain")), 59),
        Server::FerretDb => {
            let plan = explain.expect("explain");
            println!(
                "FerretDB explains `{{_id}}`: {}",
                plan.get_document("queryPlanner")
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
        }
    }

    // Transactions: neither server has them.
    let client = mongodb::Client::with_uri_str(server.uri())
        .await
        .expect("client");
    let in_txn = async {
        let mut session = client.start_session().await?;
        session.start_transaction().await?;
        client
            .database(db.name())
            .collection::<Document>("probe")
            .insert_one(doc! { "_id": "txn" })
            .session(&mut session)
            .await?;
        session.commit_transaction().await
    }
    .await;
    let err = in_txn.expect_err("no transactions");
    println!("{}: a transaction fails: {err}", server.name());
    assert!(
        coll.find_one(doc! { "_id": "txn" })
            .await
            .expect("find")
            .is_none()
    );

    // Change streams: mongo-java-server has them (the launcher turns its oplog on).
    let watched = async {
        let mut stream = coll.watch().await?;
        coll.insert_one(doc! { "_id": "watched" }).await?;
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), stream.try_next())
            .await
            .map_err(|_| mongodb::error::Error::custom("no change within 10 s"))??;
        Ok::<_, mongodb::error::Error>(next.and_then(|e| e.document_key))
    }
    .await;
    match server {
        Server::MongoJavaServer => assert_eq!(
            watched.expect("change stream"),
            Some(doc! { "_id": "watched" })
        ),
        Server::FerretDb => assert_eq!(code(&watched.expect_err("no change streams")), 238),
    }
    let _ = db.drop().await;
}

/// A second store on the same database as `store` (another writer: another process).
async fn second_writer(server: Server, store: &MongoStore) -> MongoStore {
    server.store_on(store.database().name()).await
}

fn exact_totals(events: &[RefinedEvent]) -> Totals {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<_> = events
        .iter()
        .filter(|e| seen.insert(e.event_id.clone()))
        .cloned()
        .collect();
    Totals::from_events(&unique)
}

/// The version guard is mongo-java-server's (MongoDB's) guard: a stale cache entry or a wrong
/// guess costs a retry, never a wrong total.
#[tokio::test]
async fn the_bucket_cache_skips_the_read_and_a_stale_entry_under_the_version_guard_is_retried() {
    let server = Server::MongoJavaServer;
    let a = server.store().await.with_bucket_cache(10_000);
    assert_eq!(a.guard(), Guard::Version);
    // Another process, without a cache: it reads before writing.
    let b = second_writer(server, &a).await;
    let ev = |i: u32, s: i32| lecture(&format!("c-{i}"), "learner-1", "course-1", s, DAY0 + 1_000);

    // An unknown bucket is assumed absent under the version guard: no read.
    let before = a.ops();
    let first = a.apply(&[ev(1, 10), ev(2, 20)]).await.expect("a: first");
    assert_eq!(first.applied, 2);
    assert_eq!(
        a.ops().since(before).by_command,
        CommandCounts {
            update: 1,
            ..CommandCounts::default()
        },
        "a new bucket is written without a read"
    );
    // The bucket is cached now: the next call is one `update` command, no `find`.
    let before = a.ops();
    let second = a.apply(&[ev(3, 30), ev(2, 20)]).await.expect("a: second");
    assert_eq!((second.applied, second.duplicates), (1, 1), "{second:?}");
    assert_eq!(
        a.ops().since(before).by_command,
        CommandCounts {
            update: 1,
            ..CommandCounts::default()
        },
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
    // a believes ev 4 is new; the guard fails, a re-reads and finds it stored. The reply
    // accounts for every statement, so the report is exact too.
    let third = a.apply(&[ev(4, 40), ev(5, 50)]).await.expect("a: third");
    assert_eq!(
        (third.applied, third.duplicates, third.retries),
        (1, 1, 1),
        "the stale entry must have cost a retry: {third:?}"
    );

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
    assert_eq!(
        (fourth.applied, fourth.duplicates, fourth.retries),
        (1, 1, 1),
        "the wrong guess must have cost a retry: {fourth:?}"
    );
    assert_eq!(
        a.ops().since(before).by_command,
        CommandCounts {
            find: 1,
            update: 2,
            ..CommandCounts::default()
        },
        "update, find, update"
    );

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

/// The `_id`-only guard is FerretDB's: nothing on the server catches a stale cache entry.
#[tokio::test]
async fn under_the_id_only_guard_the_cache_must_be_forgotten_when_ownership_changes() {
    let server = Server::FerretDb;
    let a = server.store().await.with_bucket_cache(10_000);
    let b = second_writer(server, &a).await;
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
