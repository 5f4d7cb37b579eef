//! For each failpoint (`consume_runtime::failpoint`): a consumer process aborts there, a new
//! one takes over and drains the topic; every produced message must have been handled at
//! least once. Duplicates are allowed (at-least-once) and reported. Needs `infra/up`.

use std::process::Child;
use std::time::Duration;

use consume_tests::procs::{Group, terminate, wait_exit};
use consume_tests::{kafka, require};

const BIN: &str = env!("CARGO_BIN_EXE_crash_consumer");
const PARTITIONS: i32 = 3;
const MESSAGES: usize = 600;

/// Produces the test's messages; every `poison_every`-th value starts with `poison`.
async fn prepare(g: &Group, poison_every: Option<usize>) {
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &g.topic, PARTITIONS).await;
    let sent: Vec<(String, String)> = (0..MESSAGES)
        .map(|i| {
            let poison = poison_every.is_some_and(|n| i % n == n - 1);
            let v = if poison {
                format!("poison{i}")
            } else {
                format!("v{i}")
            };
            (format!("k{}", i % 30), v)
        })
        .collect();
    kafka::produce(&base, &g.topic, &sent).await;
}

fn ends(topic: &str) -> Vec<(i32, i64)> {
    (0..PARTITIONS)
        .map(|p| (p, kafka::high_watermark(topic, p)))
        .collect()
}

/// The first process must have died at the failpoint, not for another reason.
fn assert_aborted_at(g: &Group, first: &mut Child, failpoint: &str) {
    let status = wait_exit(first, Duration::from_secs(90))
        .unwrap_or_else(|| panic!("the `{failpoint}` failpoint did not fire within 90 s"));
    assert!(!status.success(), "expected an abort, got {status}");
    let log = g.log_text(1);
    assert!(
        log.contains(&format!("failpoint `{failpoint}` reached")),
        "the process died ({status}) but not at `{failpoint}`:\n{}",
        &log[log.len().saturating_sub(3000)..]
    );
}

/// A second process drains the topic; checks nothing was lost.
fn drain_and_check(mut g: Group, handler: &str, failpoint: &str) {
    let mut second = g.spawn(handler, &[]);
    g.wait_handled(MESSAGES, Duration::from_secs(120), &mut [&mut second]);
    let status = terminate(&mut second);
    assert!(
        status.success(),
        "graceful exit after SIGTERM, got {status}"
    );
    let duplicates = g.assert_none_lost(&ends(&g.topic));
    eprintln!(
        "failpoint {failpoint} ({handler}): {MESSAGES} messages, none lost, {duplicates} handled more than once"
    );
    g.cleanup();
}

/// Returns the topic and group used.
async fn abort_then_recover(
    failpoint: &str,
    at: u32,
    handler: &str,
    poison_every: Option<usize>,
) -> (String, String) {
    require::kafka();
    let mut g = Group::new(&format!("fp-{failpoint}"), BIN);
    prepare(&g, poison_every).await;
    let spec = format!("{failpoint}@{at}");
    let mut first = g.spawn(handler, &[("CONSUME_FAILPOINT", &spec)]);
    assert_aborted_at(&g, &mut first, failpoint);
    assert!(
        g.handled().len() < MESSAGES,
        "the abort came after everything was handled: the failpoint proves nothing"
    );
    let names = (g.topic.clone(), g.group.clone());
    drain_and_check(g, handler, failpoint);
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_after_decode() {
    abort_then_recover("after-decode", 200, "crash_handler", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_after_handler_before_store() {
    abort_then_recover("after-handler", 200, "crash_handler", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_after_store_before_commit() {
    abort_then_recover("after-store", 6, "crash_handler", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_while_dead_lettering() {
    let (topic, group) = abort_then_recover("dead-letter", 3, "crash_poison", Some(25)).await;
    // Every poison message reached the dead-letter topic at least once.
    let poison: std::collections::BTreeSet<String> = (0..MESSAGES)
        .filter(|i| i % 25 == 24)
        .map(|i| format!("poison{i}"))
        .collect();
    let dlq = consume_runtime::dead_letter_topic(&topic, &group);
    let read = kafka::wait_for_values(&dlq, &poison, Duration::from_secs(30)).await;
    eprintln!(
        "dead letters: {} poison messages, {read} records in {dlq}",
        poison.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_in_the_middle_of_a_batch() {
    abort_then_recover("mid-batch", 8, "crash_batch", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_after_handler_with_key_ordered_concurrency() {
    abort_then_recover("after-handler", 200, "crash_concurrent", None).await;
}

/// A second member joins; the first is revoked, drains, and aborts before its revocation
/// commit. The second (after the first's session times out) finishes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_during_revocation() {
    require::kafka();
    let mut g = Group::new("fp-revoke", BIN);
    prepare(&g, None).await;
    let mut first = g.spawn(
        "crash_handler",
        &[("CONSUME_FAILPOINT", "revoke"), ("CRASH_DELAY_MS", "20")],
    );
    g.wait_handled(MESSAGES / 5, Duration::from_secs(90), &mut [&mut first]);
    let mut second = g.spawn("crash_handler", &[]);
    assert_aborted_at(&g, &mut first, "revoke");
    g.wait_handled(MESSAGES, Duration::from_secs(120), &mut [&mut second]);
    let status = terminate(&mut second);
    assert!(
        status.success(),
        "graceful exit after SIGTERM, got {status}"
    );
    let duplicates = g.assert_none_lost(&ends(&g.topic));
    eprintln!(
        "failpoint revoke: {MESSAGES} messages, none lost, {duplicates} handled more than once"
    );
    g.cleanup();
}
