//! The service end to end (real Kafka, schema registry, FerretDB): totals equal the ground
//! truth exactly under duplicate sends, invalid events, a kill -9 mid-stream, and members
//! killed and added under load. Needs `infra/up`.

#[path = "e2e/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{Deployment, prometheus};

/// ≥ 20 000 events with 2 % duplicate sends and 1 % invalid events: every learner's API
/// totals equal the ground truth; `reconcile` finds no difference; the database saw far
/// fewer commands than events. 60 learners on one course and one day: ~330 events each, so
/// the 8-hour daily cap is exercised (and FerretDB, which rewrites a whole document per
/// update, sees few distinct documents).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_under_duplicates_and_invalid_events() {
    let mut d = Deployment::new("e2e-exact", 4).await;
    let mut service = d.start().await;
    let truth = d.simulate(&[
        "--learners",
        "60",
        "--courses",
        "1",
        "--spread-days",
        "0",
        "--rate",
        "2500",
        "--duration",
        "8.5",
        "--duplicates",
        "0.02",
        "--invalid",
        "0.01",
        "--seed",
        "11",
    ]);
    let sent = truth["sent"].as_u64().expect("sent");
    assert!(sent >= 20_000, "only {sent} events sent");
    assert!(truth["duplicates"].as_u64().expect("dups") > 200);
    assert!(truth["invalid"].as_u64().expect("invalid") > 100);
    d.assert_totals_match(&service, &truth, Duration::from_secs(120))
        .await;

    let m = prometheus(&d.metrics(&service).await);
    let commands = m
        .iter()
        .find(|(k, _)| k.starts_with("training_store_commands_total"))
        .map(|(_, v)| *v)
        .expect("training_store_commands_total");
    let unique = truth["unique_valid"].as_f64().expect("unique");
    eprintln!(
        "{sent} sent, {unique} distinct valid; store commands {commands} = {:.1} per 1000 events",
        commands * 1000.0 / sent as f64
    );
    assert!(
        commands * 1000.0 / (sent as f64) < 100.0,
        "writes were not coalesced: {commands} commands for {sent} events"
    );
    service.terminate();
    let (ok, out) = d.reconcile();
    assert!(ok, "reconcile found differences:\n{out}");
    d.cleanup();
}

/// A kill -9 in the middle of the stream, then a restart: still exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_after_a_kill_9_mid_stream() {
    let mut d = Deployment::new("e2e-kill", 4).await;
    let mut first = d.start().await;
    let (mut sim, truth_path) = d.simulate_in_background(&[
        "--learners",
        "40",
        "--courses",
        "1",
        "--spread-days",
        "1",
        "--rate",
        "1000",
        "--duration",
        "8",
        "--seed",
        "12",
    ]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    first.kill_9();
    let mut second = d.start().await;
    let status = sim.wait().expect("simulate");
    assert!(status.success(), "simulate failed");
    let truth = serde_json::from_slice(&std::fs::read(truth_path).expect("truth")).expect("json");
    d.assert_totals_match(&second, &truth, Duration::from_secs(120))
        .await;
    second.terminate();
    let (ok, out) = d.reconcile();
    assert!(ok, "reconcile found differences:\n{out}");
    d.cleanup();
}

/// Three instances in one group; one killed and one added under load: still exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_with_members_killed_and_added() {
    let mut d = Deployment::new("e2e-members", 6).await;
    let mut a = d.start().await;
    let mut b = d.start().await;
    let mut c = d.start().await;
    let (mut sim, truth_path) = d.simulate_in_background(&[
        "--learners",
        "40",
        "--courses",
        "1",
        "--spread-days",
        "1",
        "--rate",
        "1000",
        "--duration",
        "10",
        "--seed",
        "13",
    ]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.kill_9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut e = d.start().await;
    let status = sim.wait().expect("simulate");
    assert!(status.success(), "simulate failed");
    let truth = serde_json::from_slice(&std::fs::read(truth_path).expect("truth")).expect("json");
    d.assert_totals_match(&a, &truth, Duration::from_secs(150))
        .await;
    for i in [&mut a, &mut c, &mut e] {
        i.terminate();
    }
    let (ok, out) = d.reconcile();
    assert!(ok, "reconcile found differences:\n{out}");
    d.cleanup();
}

/// MongoDB's code path (the `{_id, v}` guard, unknown buckets assumed new, the bucket cache
/// kept across rebalances) on FerretDB: three instances, one killed and one added under load,
/// so caches go stale and guesses go wrong; every such write must fail its guard, be re-read
/// and retried. Still exact. (FerretDB scans the collection for a `{_id, v}` filter, so the
/// load is lighter than above.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_under_the_version_guard_with_members_killed_and_added() {
    let mut d = Deployment::new("e2e-version", 6)
        .await
        .with_env("TRAINING_MONGO_GUARD", "version");
    let mut a = d.start().await;
    let mut b = d.start().await;
    let (mut sim, truth_path) = d.simulate_in_background(&[
        "--learners",
        "30",
        "--courses",
        "1",
        "--spread-days",
        "1",
        "--rate",
        "400",
        "--duration",
        "10",
        "--duplicates",
        "0.02",
        "--seed",
        "14",
    ]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.kill_9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut c = d.start().await;
    let status = sim.wait().expect("simulate");
    assert!(status.success(), "simulate failed");
    let truth = serde_json::from_slice(&std::fs::read(truth_path).expect("truth")).expect("json");
    d.assert_totals_match(&a, &truth, Duration::from_secs(150))
        .await;
    let mut hits = 0.0;
    for i in [&a, &c] {
        let m = prometheus(&d.metrics(i).await);
        hits += m
            .iter()
            .filter(|(k, _)| {
                k.starts_with("training_store_bucket_cache_total") && k.contains("\"hit\"")
            })
            .map(|(_, v)| *v)
            .sum::<f64>();
    }
    assert!(hits > 0.0, "no bucket was written from the cache");
    for i in [&mut a, &mut c] {
        i.terminate();
    }
    let (ok, out) = d.reconcile();
    assert!(ok, "reconcile found differences:\n{out}");
    d.cleanup();
}
