//! The runtime over SASL_SSL/SCRAM-SHA-512, configured from the environment only, and the
//! password never appears in its logs, even with librdkafka's debug logging on; a wrong
//! password fails at boot with a clear error. Needs `infra/up`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use consume_tests::{endpoints::SaslSettings, kafka, require, unique};

/// The consumer's command; its logs go to `<out>.log` (a file, not a pipe nobody reads while
/// it runs, which would block it once full).
fn consumer(s: &SaslSettings, password: &str, topic: &str, out: &std::path::Path) -> Command {
    let log = std::fs::File::create(out.with_extension("log")).expect("log file");
    let mut c = Command::new(env!("CARGO_BIN_EXE_crash_consumer"));
    c.env("KAFKA_BROKERS", &s.bootstrap)
        .env("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        .env("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        .env("KAFKA_SASL_USERNAME", &s.username)
        .env("KAFKA_SASL_PASSWORD", password)
        .env("KAFKA_SSL_CA_LOCATION", &s.ca_location)
        .env("CONSUME_RDKAFKA_DEBUG", "conf,security,broker,cgrp")
        .env("CONSUME_BOOT_TIMEOUT_MS", "8000")
        .env("RUST_LOG", "debug")
        .env("CRASH_TOPIC", topic)
        .env("CRASH_GROUP", unique::name("rt-sasl-g"))
        .env("CRASH_OUT", out)
        .stdout(Stdio::null())
        .stderr(log);
    c
}

fn logs_of(out: &std::path::Path) -> String {
    std::fs::read_to_string(out.with_extension("log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_from_the_environment_works_and_never_logs_the_password() {
    let sasl = require::kafka_sasl();
    let topic = unique::name("rt-sasl");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 2).await;
    let sent: Vec<(String, String)> = (0..20)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    kafka::produce(&base, &topic, &sent).await;

    let dir = std::env::temp_dir().join(unique::name("sasl"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let out = dir.join("handled.txt");
    let child = consumer(&sasl, &sasl.password, &topic, &out)
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .count()
        < sent.len()
    {
        assert!(
            Instant::now() < deadline,
            "not every message was handled over SASL_SSL"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let mut child = child;
    let status = child.wait().expect("wait");
    let logs = logs_of(&out);
    assert!(status.success(), "exit {status}");
    assert!(
        logs.len() > 10_000,
        "debug logging was on, expected plenty of logs, got {} bytes",
        logs.len()
    );
    assert!(
        logs.contains("SASL"),
        "librdkafka's security debug logs are in the logs"
    );
    assert!(
        !logs.contains(&sasl.password),
        "the SASL password leaked into the logs"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_password_fails_at_boot_without_logging_it() {
    let sasl = require::kafka_sasl();
    let wrong = format!("{}-wrong", sasl.password);
    let out = std::env::temp_dir().join(unique::name("sasl-wrong.txt"));
    let status = consumer(&sasl, &wrong, "consume-tests.never", &out)
        .status()
        .expect("run");
    let logs = logs_of(&out);
    assert!(!status.success(), "a wrong password must fail the boot");
    assert!(
        logs.contains("cannot reach Kafka"),
        "{}",
        &logs[logs.len().saturating_sub(2000)..]
    );
    assert!(logs.contains("Authentication failed"), "the cause is named");
    assert!(
        !logs.contains(&wrong),
        "the wrong password leaked into the logs"
    );
}
