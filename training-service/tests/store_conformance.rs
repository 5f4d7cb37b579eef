//! One conformance suite, run against both stores: the in-memory store and the MongoDB store on
//! both MongoDB-wire servers of `infra/up` (FerretDB with the `_id`-only guard, mongo-java-server
//! with the version guard); a test fails, never skips, when its server is down.

mod common;

use std::collections::BTreeSet;

use common::*;
use training_service::domain::{AttendanceKind, LearnerTraining, RefinedEvent, Totals};
use training_service::store::{MAX_PAGE, Store};

/// Every learner's API view from the store equals the ground truth (ignoring `updated_at`;
/// `last_event_at` and the days' attendance flags included).
async fn assert_matches(store: &dyn Store, truth: &Totals) {
    let mut learners: BTreeSet<String> = truth.learners().into_iter().collect();
    learners.insert("nobody".to_owned());
    for l in learners {
        let mut got = store.learner_training(&l).await.expect("learner_training");
        if truth.learner_training(&l).courses.is_empty() {
            assert_eq!(got.updated_at, None, "{l}");
        } else {
            assert!(got.updated_at.is_some(), "{l}: updated_at is set");
            assert!(got.last_event_at.is_some(), "{l}: last_event_at is set");
        }
        got.updated_at = None;
        assert_eq!(got, truth.learner_training(&l), "learner {l}");
    }
    let report = store.reconcile().await.expect("reconcile");
    assert!(report.is_exact(), "{report:?}");
}

async fn duplicates_within_a_batch(store: &dyn Store) {
    let e = lecture("e1", "l1", "c1", 100, DAY0);
    let batch = vec![e.clone(), e.clone(), quiz("e2", "l1", "c1", 50, DAY0), e];
    let r = store.apply(&batch).await.expect("apply");
    assert_eq!((r.received, r.applied, r.duplicates), (4, 2, 2));
    let v = store.learner_training("l1").await.expect("read");
    assert_eq!(v.total_seconds, 150);
    assert_eq!(v.courses[0].lecture_seconds, 100);
    assert_eq!(v.courses[0].quiz_seconds, 50);
}

async fn duplicates_across_batches_with_different_boundaries(store: &dyn Store) {
    let events = history(600, 12, 7);
    let truth = Totals::from_events(&events);
    let mut applied = 0;
    for chunk in events.chunks(7) {
        applied += store.apply(chunk).await.expect("apply").applied;
    }
    assert_eq!(applied, events.len());
    for size in [13, 50, 600] {
        for chunk in events.chunks(size) {
            let r = store.apply(chunk).await.expect("re-apply");
            assert_eq!(r.applied, 0, "nothing is new");
            assert_eq!(r.duplicates, chunk.len());
        }
    }
    // Overlapping windows, reversed.
    let mut rev = events.clone();
    rev.reverse();
    for chunk in rev.windows(40).step_by(25) {
        assert_eq!(store.apply(chunk).await.expect("apply").applied, 0);
    }
    assert_matches(store, &truth).await;
}

async fn replay_of_the_whole_history_changes_nothing(store: &dyn Store) {
    let events = history(400, 8, 11);
    let truth = Totals::from_events(&events);
    store.apply(&events).await.expect("apply");
    let before = store.learner_training("learner-003").await.expect("read");
    store.apply(&events).await.expect("replay");
    let after = store.learner_training("learner-003").await.expect("read");
    assert_eq!(before.courses, after.courses);
    assert_matches(store, &truth).await;
}

async fn a_crash_mid_batch_then_redelivery_is_exact(store: &dyn Store) {
    // A crash between any two bucket writes leaves some buckets written and others not;
    // redelivery of the whole batch (with other boundaries) must add exactly the rest.
    let events = history(500, 10, 23);
    let truth = Totals::from_events(&events);
    let mut rng = Lcg(5);
    let partial: Vec<RefinedEvent> = events
        .iter()
        .filter(|_| rng.below(3) == 0)
        .cloned()
        .collect();
    store.apply(&partial).await.expect("partial");
    let mut applied = 0;
    for chunk in events.chunks(37) {
        applied += store.apply(chunk).await.expect("redelivery").applied;
    }
    assert_eq!(applied, events.len() - partial.len());
    assert_matches(store, &truth).await;
}

async fn concurrent_topics_write_disjoint_buckets(store: &dyn Store) {
    // The three topics are consumed by different workers: their buckets never overlap.
    let events = history(600, 6, 31);
    let truth = Totals::from_events(&events);
    let by = |k: &str| -> Vec<RefinedEvent> {
        events
            .iter()
            .filter(|e| e.source.kind().as_str() == k)
            .cloned()
            .collect()
    };
    let (l, q, a) = (by("lecture"), by("quiz"), by("attendance"));
    let run = |v: Vec<RefinedEvent>| async move {
        for chunk in v.chunks(20) {
            store.apply(chunk).await.expect("apply");
        }
    };
    futures::join!(run(l), run(q), run(a));
    assert_matches(store, &truth).await;
}

async fn daily_cap_is_28800(store: &dyn Store) {
    let mut events: Vec<RefinedEvent> = (0..10)
        .map(|i| lecture(&format!("cap-{i}"), "l1", "c1", 3600, DAY0 + i))
        .collect();
    events.push(quiz("cap-q", "l1", "c1", 600, DAY0 + 100));
    events.push(lecture("next-day", "l1", "c1", 1000, DAY0 + DAY_MS));
    store.apply(&events).await.expect("apply");
    let v = store.learner_training("l1").await.expect("read");
    assert_eq!(v.total_seconds, 36_000 + 600 + 1000);
    assert_eq!(v.credited_seconds, 28_800 + 1000);
    let c = &v.courses[0];
    assert_eq!(c.days[0].total_seconds, 36_600);
    assert_eq!(c.days[0].credited_seconds, 28_800);
    assert_eq!(c.credited_seconds, 29_800);
}

async fn attended_needs_check_in_and_identity(store: &dyn Store) {
    let events = [
        attendance("a1", "l1", "c1", AttendanceKind::CheckIn, DAY0),
        attendance("a2", "l1", "c1", AttendanceKind::IdentityVerified, DAY0 + 5),
        attendance("a3", "l1", "c1", AttendanceKind::CheckOut, DAY0 + 9),
        attendance("b1", "l1", "c1", AttendanceKind::CheckIn, DAY0 + DAY_MS),
        attendance("c1", "l1", "c2", AttendanceKind::IdentityVerified, DAY0),
    ];
    store.apply(&events[..2]).await.expect("apply");
    store.apply(&events[1..]).await.expect("apply");
    let v = store.learner_training("l1").await.expect("read");
    assert_eq!(v.total_seconds, 0);
    let c1 = &v.courses[0];
    assert_eq!(c1.course_id, "c1");
    assert_eq!(c1.attended_days, 1);
    assert!(c1.days[0].attended);
    assert!(!c1.days[1].attended);
    // What is missing on the day that is not attended: the identity verification.
    assert!(c1.days[1].check_in && !c1.days[1].identity_verified);
    assert!(c1.days[0].check_out && !c1.days[1].check_out);
    assert_eq!(v.courses[1].attended_days, 0);
    assert!(!v.courses[1].days[0].check_in && v.courses[1].days[0].identity_verified);
}

/// `last_event_at` is the newest `occurred_at` of the learner's counted events, whatever the
/// order they arrive in, in any course or source; duplicates and older events do not move it.
async fn last_event_at_is_the_newest_counted_occurred_at(store: &dyn Store) {
    let newest = DAY0 + DAY_MS + 1_234;
    store
        .apply(&[quiz("n1", "l1", "c2", 30, newest)])
        .await
        .expect("apply");
    let older = [
        lecture("o1", "l1", "c1", 100, DAY0),
        attendance("o2", "l1", "c1", AttendanceKind::CheckIn, DAY0 + 7),
        quiz("n1", "l1", "c2", 30, newest),
    ];
    store.apply(&older).await.expect("apply");
    store
        .apply(&[lecture("x1", "l2", "c1", 5, newest + 99)])
        .await
        .expect("apply");
    let v = store.learner_training("l1").await.expect("read");
    assert_eq!(v.last_event_at.as_deref(), Some("2026-03-11T00:00:01.234Z"));
    assert_eq!(v.total_seconds, 130);
    let truth =
        Totals::from_events(
            older
                .iter()
                .chain(&[lecture("x1", "l2", "c1", 5, newest + 99)]),
        );
    assert_matches(store, &truth).await;
}

/// The change checks move exactly when the views they guard do: new events of the learner (or
/// course) move them; duplicates, and other learners' or courses' events, do not.
async fn versions_move_exactly_when_the_views_do(store: &dyn Store) {
    let l1 = || store.learner_version("l1");
    let c1 = || store.course_version("c1");
    let (l0, c0) = (l1().await.expect("v"), c1().await.expect("v"));
    let first = [
        lecture("v1", "l1", "c1", 100, DAY0),
        attendance("v2", "l1", "c1", AttendanceKind::CheckIn, DAY0),
    ];
    store.apply(&first).await.expect("apply");
    let (la, ca) = (l1().await.expect("v"), c1().await.expect("v"));
    assert_ne!(la, l0);
    assert_ne!(ca, c0);
    store.apply(&first).await.expect("replay");
    assert_eq!(l1().await.expect("v"), la, "a replay changes nothing");
    store
        .apply(&[lecture("v3", "l2", "c1", 5, DAY0)])
        .await
        .expect("apply");
    assert_eq!(l1().await.expect("v"), la, "another learner's event");
    let cb = c1().await.expect("v");
    assert_ne!(cb, ca, "a new learner event in the course");
    store
        .apply(&[quiz("v4", "l1", "c2", 5, DAY0)])
        .await
        .expect("apply");
    assert_ne!(l1().await.expect("v"), la);
    assert_eq!(c1().await.expect("v"), cb, "another course's event");
    assert_eq!(
        store.learner_version("nobody").await.expect("v"),
        store.learner_version("nobody-else").await.expect("v"),
        "unknown learners look alike"
    );
}

async fn days_turn_at_15_00_utc(store: &dyn Store) {
    let midnight_kst = DAY0 + 15 * 3_600_000; // 2026-03-10T15:00:00Z = 2026-03-11 00:00 KST
    let events = vec![
        lecture("d1", "l1", "c1", 100, midnight_kst - 1),
        lecture("d2", "l1", "c1", 200, midnight_kst),
    ];
    store.apply(&events).await.expect("apply");
    let v = store.learner_training("l1").await.expect("read");
    let days: Vec<(String, u64)> = v.courses[0]
        .days
        .iter()
        .map(|d| (d.date.clone(), d.total_seconds))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-10".to_owned(), 100),
            ("2026-03-11".to_owned(), 200)
        ]
    );
}

async fn course_learners_paginate_by_learner_id(store: &dyn Store) {
    let mut events = Vec::new();
    for i in 0..7 {
        let l = format!("p{i}");
        events.push(lecture(
            &format!("x{i}"),
            &l,
            "course-a",
            10 * (i + 1),
            DAY0,
        ));
        events.push(quiz(&format!("y{i}"), &l, "course-a", 1, DAY0 + DAY_MS));
        events.push(lecture(&format!("z{i}"), &l, "course-b", 5, DAY0));
    }
    store.apply(&events).await.expect("apply");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store
            .course_learners("course-a", 3, after.as_deref())
            .await
            .expect("page");
        pages += 1;
        assert!(page.learners.len() <= 3);
        for l in &page.learners {
            let i: u64 = l.learner_id[1..].parse().expect("id");
            assert_eq!(l.total_seconds, 10 * (i + 1) + 1, "{l:?}");
            assert_eq!(l.lecture_seconds, 10 * (i + 1));
            assert_eq!(l.days.len(), 2);
            // The newest of the learner's events in this course: the quiz on the second day.
            assert_eq!(l.last_event_at.as_deref(), Some("2026-03-11T00:00:00.000Z"));
            seen.push(l.learner_id.clone());
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    let all = store
        .course_learners("course-a", MAX_PAGE, None)
        .await
        .expect("all");
    assert_eq!(all.learners.len(), 7);
    assert_eq!(all.next, None);
    let exact = store
        .course_learners("course-a", 7, None)
        .await
        .expect("exact");
    assert_eq!(exact.next, None);
    let none = store
        .course_learners("no-such-course", 3, None)
        .await
        .expect("empty");
    assert!(none.learners.is_empty());
    assert_eq!(none.next, None);
    assert_eq!(
        store.courses().await.expect("courses"),
        ["course-a", "course-b"]
    );
}

async fn unknown_learner_gets_zeros(store: &dyn Store) {
    store
        .apply(&[lecture("e", "someone", "c", 5, DAY0)])
        .await
        .expect("apply");
    let v = store.learner_training("nobody").await.expect("read");
    assert_eq!(v, LearnerTraining::empty("nobody"));
    let json = serde_json::to_value(&v).expect("json");
    assert_eq!(json["total_seconds"], 0);
    assert_eq!(json["credited_seconds"], 0);
    assert_eq!(json["courses"], serde_json::json!([]));
}

async fn reconcile_is_clean_and_refined_events_are_stored(store: &dyn Store) {
    let events = history(300, 5, 3);
    store.apply(&events).await.expect("apply");
    store.apply(&events[..100]).await.expect("again");
    let report = store.reconcile().await.expect("reconcile");
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.events, 300);
    let mut stored = store.refined_events().await.expect("events");
    let mut expected = events.clone();
    stored.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    expected.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert_eq!(stored, expected, "refined events round-trip exactly");
    assert_eq!(
        store.aggregates().await.expect("aggregates"),
        Totals::from_events(&events)
    );
}

async fn a_big_batch_costs_a_handful_of_commands(store: &dyn Store) {
    // Live load: 1 000 events of one day from 50 learners, each in one course.
    let mut rng = Lcg(99);
    let events: Vec<RefinedEvent> = (0..1000)
        .map(|i| {
            let l = rng.below(50);
            let (learner, course) = (format!("learner-{l:02}"), format!("course-{}", l % 4));
            let at = DAY0 + rng.below(36_000_000) as i64;
            let id = format!("big-{i}");
            match rng.below(10) {
                0..=6 => lecture(&id, &learner, &course, rng.below(600) as i32, at),
                7..=8 => quiz(&id, &learner, &course, rng.below(600) as i32, at),
                _ => attendance(&id, &learner, &course, AttendanceKind::CheckIn, at),
            }
        })
        .collect();
    let before = store.ops();
    let r = store.apply(&events).await.expect("apply");
    let used = store.ops().since(before);
    assert_eq!(r.applied, 1000);
    assert!(r.buckets_written <= 150, "{r:?}");
    // One read (maybe split in two), then the bucket updates in as few commands as the server allows (MongoDB: one;
    // FerretDB: 25 statements per command, see docs/training-storage.md).
    assert!(
        used.commands <= 2 + r.buckets_written.div_ceil(25) as u64,
        "{} commands for 1000 events ({used:?}, {r:?})",
        used.commands
    );
    assert_eq!(used.document_writes, r.buckets_written as u64);
    // A redelivery only reads (a `find`, plus a `getMore` if the server splits the reply).
    let before = store.ops();
    store.apply(&events).await.expect("again");
    let used = store.ops().since(before);
    assert!(used.commands <= 2, "{used:?}");
    assert_eq!(used.document_writes, 0);
    assert_eq!(
        store.learner_training("learner-07").await.expect("read"),
        store
            .learner_training("learner-07")
            .await
            .expect("read again")
    );
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::memory_store()).await;
                }
            )*
        }
        /// FerretDB, with the guard it gets (`_id` only: its updates are not atomic).
        mod ferretdb {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = super::Server::FerretDb.store().await;
                    super::$name(&store).await;
                    let _ = store.database().drop().await;
                }
            )*
        }
        /// mongo-java-server, with the guard it gets (the `{_id, v}` version guard, as MongoDB:
        /// its single-document updates are atomic).
        mod mongo_java_server {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = super::Server::MongoJavaServer.store().await;
                    super::$name(&store).await;
                    let _ = store.database().drop().await;
                }
            )*
        }
    };
}

conformance!(
    duplicates_within_a_batch,
    duplicates_across_batches_with_different_boundaries,
    replay_of_the_whole_history_changes_nothing,
    a_crash_mid_batch_then_redelivery_is_exact,
    concurrent_topics_write_disjoint_buckets,
    daily_cap_is_28800,
    attended_needs_check_in_and_identity,
    last_event_at_is_the_newest_counted_occurred_at,
    versions_move_exactly_when_the_views_do,
    days_turn_at_15_00_utc,
    course_learners_paginate_by_learner_id,
    unknown_learner_gets_zeros,
    reconcile_is_clean_and_refined_events_are_stored,
    a_big_batch_costs_a_handful_of_commands,
);
