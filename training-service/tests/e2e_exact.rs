//! The service end to end (real Kafka, schema registry, and each MongoDB-wire server of
//! `infra/up`): totals equal the ground truth exactly under duplicate sends, invalid events, a
//! kill -9 mid-stream, and members killed and added under load. The kill -9 and membership
//! scenarios run on FerretDB (the `_id`-only guard, few large buckets: it scans its collection
//! for every statement) and on mongo-java-server (the version guard, as on MongoDB, with the
//! bucket cache kept across rebalances; the realistic shape: hundreds of learners in several
//! courses over days, so many small buckets); the full-size one on mongo-java-server only.
//! Needs `infra/up`.

#[macro_use]
mod common;
#[path = "e2e/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::Server;
use harness::{Deployment, prometheus};
use training_service::store::Guard;

on_both_servers!(
    totals_are_exact_after_a_kill_9_mid_stream,
    totals_are_exact_with_members_killed_and_added,
);

/// A deployment whose service instances (and `simulate`, `reconcile`) use `server`, with the
/// guard the store chooses there.
async fn deployment(server: Server, name: &str, partitions: i32) -> Deployment {
    server.require();
    Deployment::new(&format!("{name}-{}", short(server)), partitions)
        .await
        .with_env("MONGODB_URI", &server.uri())
        .with_env("TRAINING_MONGO_GUARD", "auto")
}

/// Drops the deployment's database (the servers keep data across runs; `Deployment::cleanup`
/// removes only files), then its files.
async fn cleanup(server: Server, d: Deployment) {
    let client = mongodb::Client::with_uri_str(server.uri())
        .await
        .expect("client");
    client
        .database(&d.db)
        .drop()
        .await
        .unwrap_or_else(|e| panic!("dropping {} on {}: {e}", d.db, server.name()));
    d.cleanup();
}

fn short(server: Server) -> &'static str {
    match server {
        Server::FerretDb => "ferret",
        Server::MongoJavaServer => "mjs",
    }
}

/// The learners, courses and days of the load: FerretDB's shape (few, large buckets) or the
/// realistic one (hundreds of learners, each in one or two of five courses, over three days).
fn shape(server: Server, ferretdb_learners: &'static str) -> [&'static str; 6] {
    match server {
        Server::FerretDb => [
            "--learners",
            ferretdb_learners,
            "--courses",
            "1",
            "--spread-days",
            "1",
        ],
        Server::MongoJavaServer => ["--learners", "300", "--courses", "5", "--spread-days", "2"],
    }
}

/// ≥ 20 000 events with 2 % duplicate sends and 1 % invalid events: every learner's API
/// totals equal the ground truth; `reconcile` finds no difference; the database saw far
/// fewer commands than events. Full size runs on mongo-java-server only: FerretDB rewrites and
/// rescans its whole collection for every statement and cannot carry 20 000 events inside the
/// deadline (CI saw 51 of 60 learners equal after 120 s); the smaller scenarios below still run
/// on it (docs/mongodb-servers.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_under_duplicates_and_invalid_events() {
    let server = Server::MongoJavaServer;
    let started = Instant::now();
    let mut d = deployment(server, "e2e-exact", 4).await;
    let mut service = d.start().await;
    let mut args = vec![
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
    ];
    args.extend(shape(server, "60"));
    let truth = d.simulate(&args);
    let sent = truth["sent"].as_u64().expect("sent");
    assert!(sent >= 20_000, "only {sent} events sent");
    assert!(truth["duplicates"].as_u64().expect("dups") > 200);
    assert!(truth["invalid"].as_u64().expect("invalid") > 100);
    let published = Instant::now();
    d.assert_totals_match(&service, &truth, Duration::from_secs(120))
        .await;
    let caught_up = published.elapsed();

    let m = prometheus(&d.metrics(&service).await);
    let by_name: Vec<_> = m
        .iter()
        .filter(|(k, _)| k.starts_with("training_store_commands_total{"))
        .collect();
    assert!(
        by_name
            .iter()
            .any(|(k, v)| k.contains("command=\"update\"") && **v > 0.0),
        "no update command counted: {by_name:?}"
    );
    let commands: f64 = by_name.iter().map(|(_, v)| *v).sum();
    let unique = truth["unique_valid"].as_f64().expect("unique");
    eprintln!(
        "{}: {sent} sent, {unique} distinct valid, {} learners; exact {caught_up:?} after the \
         last send ({:?} in all); store commands {commands} = {:.1} per 1000 events",
        server.name(),
        truth["learners"].as_object().map_or(0, |l| l.len()),
        started.elapsed(),
        commands * 1000.0 / sent as f64
    );
    assert!(
        commands * 1000.0 / (sent as f64) < 100.0,
        "writes were not coalesced: {commands} commands for {sent} events"
    );
    service.terminate();
    let (ok, out) = d.reconcile();
    assert!(ok, "reconcile found differences:\n{out}");
    cleanup(server, d).await;
}

/// A kill -9 in the middle of the stream, then a restart: still exact.
async fn totals_are_exact_after_a_kill_9_mid_stream(server: Server) {
    let started = Instant::now();
    let mut d = deployment(server, "e2e-kill", 4).await;
    let mut first = d.start().await;
    let mut args = vec!["--rate", "1000", "--duration", "8", "--seed", "12"];
    args.extend(shape(server, "40"));
    let (mut sim, truth_path) = d.simulate_in_background(&args);
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
    eprintln!(
        "{}: exact after a kill -9 ({:?} in all)",
        server.name(),
        started.elapsed()
    );
    cleanup(server, d).await;
}

/// Three instances in one group; one killed and one added under load: still exact. Under the
/// version guard (mongo-java-server) the bucket cache is kept across rebalances, so caches go
/// stale and guesses go wrong: every such write must fail its guard, be re-read and retried.
async fn totals_are_exact_with_members_killed_and_added(server: Server) {
    let started = Instant::now();
    let mut d = deployment(server, "e2e-members", 6).await;
    let mut a = d.start().await;
    let mut b = d.start().await;
    let mut c = d.start().await;
    let mut args = vec![
        "--rate",
        "1000",
        "--duration",
        "10",
        "--duplicates",
        "0.02",
        "--seed",
        "13",
    ];
    args.extend(shape(server, "40"));
    let (mut sim, truth_path) = d.simulate_in_background(&args);
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.kill_9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut e = d.start().await;
    let status = sim.wait().expect("simulate");
    assert!(status.success(), "simulate failed");
    let truth = serde_json::from_slice(&std::fs::read(truth_path).expect("truth")).expect("json");
    d.assert_totals_match(&a, &truth, Duration::from_secs(150))
        .await;
    if server.guard() == Guard::Version {
        let mut hits = 0.0;
        for i in [&a, &c, &e] {
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
    }
    for i in [&mut a, &mut c, &mut e] {
        i.terminate();
    }
    let (ok, out) = d.reconcile();
    assert!(ok, "reconcile found differences:\n{out}");
    eprintln!(
        "{}: exact with members killed and added ({:?} in all)",
        server.name(),
        started.elapsed()
    );
    cleanup(server, d).await;
}
