//! Boot-time discovery and validation against the real Kafka: handlers from a library crate
//! are found, a missing topic and an unreachable cluster are clear errors, missing state is
//! caught before connecting. Needs `infra/up`.

use std::time::{Duration, Instant};

use consume_runtime::{Config, Error, Payload, Runtime, State, consume, registrations};
use consume_tests::runtime::config;
use consume_tests::{require, unique};

#[consume(topic = "${BOOT_TOPIC}", group = "consume-tests-boot")]
async fn boot_handler(_p: Payload) {}

#[consume(topic = "consume-tests.needs-state", group = "consume-tests-boot")]
async fn needs_state_handler(State(_n): State<u64>) {}

#[test]
fn handlers_in_a_library_crate_are_discovered_and_sorted() {
    let all = registrations();
    let lib = all
        .iter()
        .find(|r| r.name == "library_handler")
        .expect("the handler in consume_tests::lib_handlers is registered");
    assert!(lib.file.ends_with("src/lib_handlers.rs"), "{}", lib.file);
    assert_eq!(lib.module_path, "consume_tests::lib_handlers");
    assert!(all.iter().any(|r| r.name == "boot_handler"));
    let keys: Vec<_> = all.iter().map(|r| (r.group, r.name)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "registrations come sorted by group and name");
}

#[tokio::test]
async fn a_missing_topic_is_a_boot_error_naming_the_handler() {
    require::kafka();
    let topic = unique::name("rt-missing");
    let err = Runtime::new(config())
        .only(["boot_handler"])
        .var("BOOT_TOPIC", &topic)
        .run_until(async {})
        .await
        .expect_err("the topic does not exist");
    match &err {
        Error::TopicMissing {
            topic: t, handler, ..
        } => {
            assert_eq!(t, &topic);
            assert_eq!(handler, "boot_handler");
        }
        other => panic!("expected TopicMissing, got {other}"),
    }
    assert!(err.to_string().contains("create_missing_topics"), "{err}");
}

#[tokio::test]
async fn an_unreachable_cluster_fails_within_the_boot_timeout() {
    let mut c = Config::new("127.0.0.1:9");
    c.boot_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = Runtime::new(c)
        .only(["boot_handler"])
        .var("BOOT_TOPIC", "whatever")
        .run_until(async {})
        .await
        .expect_err("nothing listens on port 9");
    assert!(matches!(err, Error::ClusterUnreachable { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}

#[tokio::test]
async fn missing_state_is_caught_before_connecting() {
    // Port 9: if the runtime tried to connect first, it would report ClusterUnreachable.
    let err = Runtime::new(Config::new("127.0.0.1:9"))
        .only(["needs_state_handler"])
        .run_until(async {})
        .await
        .expect_err("no u64 was provided");
    assert!(
        matches!(
            err,
            Error::MissingState {
                type_name: "u64",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_unset_placeholder_is_a_boot_error() {
    let err = Runtime::new(Config::new("127.0.0.1:9"))
        .only(["boot_handler"])
        .run_until(async {})
        .await
        .expect_err("BOOT_TOPIC is not set");
    assert!(
        matches!(err, Error::UnresolvedPlaceholder { ref var, .. } if var == "BOOT_TOPIC"),
        "{err}"
    );
}
