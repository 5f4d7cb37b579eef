//! The command line, run as a user would run the binary: help and version, numbers that are
//! refused with a message (exit 2, never a panic), and `serve` refusing to start without its
//! configuration. Needs no servers.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_training-service");

/// Every variable the service reads; the test environment is cleared of them.
const VARIABLES: &[&str] = &[
    "KAFKA_BROKERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CA_LOCATION",
    "KAFKA_CLIENT_ID",
    "SCHEMA_REGISTRY_URL",
    "SCHEMA_REGISTRY_USERNAME",
    "SCHEMA_REGISTRY_PASSWORD",
    "MONGODB_URI",
    "TRAINING_STORE",
    "TRAINING_DB",
    "TRAINING_BUCKET_CACHE_IDS",
    "TRAINING_MONGO_GUARD",
    "TRAINING_LECTURE_TOPIC",
    "TRAINING_ATTENDANCE_TOPIC",
    "TRAINING_QUIZ_TOPIC",
    "TRAINING_GROUP",
    "TRAINING_WRITE_INTERVAL_MS",
    "TRAINING_HTTP_ADDR",
    "TRAINING_ADMIN_ADDR",
    "TRAINING_HTTP_HEADER_READ_TIMEOUT_MS",
    "TRAINING_HTTP_REQUEST_TIMEOUT_MS",
    "TRAINING_HTTP_MAX_CONNECTIONS",
    "TRAINING_HTTP_MAX_CONCURRENT_REQUESTS",
    "TRAINING_HTTP_MAX_BODY_BYTES",
    "TRAINING_JWT_SECRET",
    "TRAINING_JWT_AUDIENCE",
    "TRAINING_JWT_ISSUER",
    "TRAINING_LOG_FORMAT",
    "TRAINING_JWT_PREVIOUS_SECRET",
    "TRAINING_JWT_MAX_LIFETIME_S",
    "TRAINING_JWT_LEEWAY_S",
    "TRAINING_DEMO_TOKEN_TTL_S",
];

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    for v in VARIABLES {
        c.env_remove(v);
    }
    c.args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run training-service")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn every_command_has_help_and_the_binary_a_version() {
    let mut all_help = String::new();
    for args in [
        &["--help"][..],
        &["help"],
        &["serve", "--help"],
        &["demo", "--help"],
        &["simulate", "--help"],
        &["reconcile", "--help"],
        &["--version"],
        &["serve", "--version"],
    ] {
        let o = run(args, &[]);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        all_help.push_str(&text(&o));
    }
    assert!(all_help.contains(env!("CARGO_PKG_VERSION")));
    for v in VARIABLES {
        assert!(
            all_help.contains(&format!("[env: {v}")),
            "{v} is not in --help"
        );
    }
}

#[test]
fn bad_numbers_exit_2_with_a_message() {
    for args in [
        &["simulate", "--duration=-1"][..],
        &["simulate", "--duration", "nan"],
        &["simulate", "--duration", "1e300"],
        &["simulate", "--rate", "0"],
        &["simulate", "--learners", "lots"],
        &["simulate", "--duplicates", "1.5"],
        &["serve", "--max-concurrent-requests", "0"],
        &["serve", "--jwt-leeway-s", "3600"],
        &["demo", "--http-addr", "not-an-address"],
    ] {
        let o = run(args, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}");
        assert!(out.contains("invalid value"), "{args:?}: {out}");
        assert!(!out.contains("panicked"), "{args:?}: {out}");
    }
    // The same checks apply to the environment.
    let o = run(&["serve"], &[("TRAINING_WRITE_INTERVAL_MS", "-3")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("TRAINING_WRITE_INTERVAL_MS") || text(&o).contains("--write-interval-ms")
    );
}

#[test]
fn serve_without_configuration_names_what_is_missing() {
    let o = run(&["serve"], &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    for v in [
        "KAFKA_BROKERS",
        "SCHEMA_REGISTRY_URL",
        "MONGODB_URI",
        "TRAINING_JWT_SECRET",
        "TRAINING_JWT_AUDIENCE",
        "TRAINING_JWT_ISSUER",
    ] {
        assert!(out.contains(v), "{v} not named: {out}");
    }
    // Given everything but MongoDB: still refused (no silent in-memory store).
    let almost = [
        ("KAFKA_BROKERS", "127.0.0.1:1"),
        ("SCHEMA_REGISTRY_URL", "http://127.0.0.1:1"),
        ("TRAINING_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("TRAINING_JWT_AUDIENCE", "training-api"),
        ("TRAINING_JWT_ISSUER", "https://login.example"),
    ];
    let o = run(&["serve"], &almost);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("MONGODB_URI"), "{}", text(&o));
    assert!(!text(&o).contains("KAFKA_BROKERS"), "{}", text(&o));
}

#[test]
fn serve_refuses_a_short_secret_and_a_bad_uri_at_once() {
    let base = [
        ("KAFKA_BROKERS", "127.0.0.1:1"),
        ("SCHEMA_REGISTRY_URL", "http://127.0.0.1:1"),
        (
            "MONGODB_URI",
            "mongodb://127.0.0.1:1/?directConnection=true",
        ),
        ("TRAINING_JWT_AUDIENCE", "training-api"),
        ("TRAINING_JWT_ISSUER", "https://login.example"),
    ];
    let mut env = base.to_vec();
    env.push(("TRAINING_JWT_SECRET", "too-short"));
    let o = run(&["serve"], &env);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("TRAINING_JWT_SECRET"), "{out}");
    assert!(
        out.contains("at least 32") && out.contains("openssl rand"),
        "{out}"
    );

    for uri in ["", "   ", "localhost:27017", "mongodb://"] {
        let mut env = base.to_vec();
        env.retain(|(k, _)| *k != "MONGODB_URI");
        env.push(("MONGODB_URI", uri));
        env.push(("TRAINING_JWT_SECRET", "0123456789abcdef0123456789abcdef"));
        let started = Instant::now();
        let o = run(&["serve"], &env);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{uri:?}: {out}");
        assert!(out.contains("MONGODB_URI"), "{uri:?}: {out}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{uri:?}: not immediate"
        );
    }
}

#[test]
fn no_command_with_kafka_configured_is_not_silently_the_demo() {
    let o = run(&[], &[("KAFKA_BROKERS", "kafka:9092")]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("training-service serve"), "{out}");
}
