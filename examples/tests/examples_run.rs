//! The examples run against the real Kafka and do what their docs say. Needs `infra/up`.

use std::process::Command;

use consume_tests::{endpoints, require};

#[test]
fn state_and_shutdown_counts_the_demo_events_and_exits_cleanly() {
    require::kafka();
    let out = Command::new(env!("CARGO_BIN_EXE_state_and_shutdown"))
        .env("KAFKA_BROKERS", endpoints::kafka_bootstrap())
        .env("DEMO_EXIT_AFTER_MS", "8000")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {}: {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "learner-1: +30s",
        "learner-2: +45s",
        "learner-1: +60s",
        "learner-3: +15s",
        "totals after shutdown:",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn json_hello_boots_and_stops_on_sigterm() {
    require::kafka();
    let child = Command::new(env!("CARGO_BIN_EXE_json_hello"))
        .env("KAFKA_BROKERS", endpoints::kafka_bootstrap())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start json_hello");
    std::thread::sleep(std::time::Duration::from_secs(4));
    let term = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(term.success());
    let out = child.wait_with_output().expect("wait");
    let logs =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {}: {logs}", out.status);
    assert!(logs.contains("handler registered"), "{logs}");
    assert!(
        logs.contains("consumer closed and left the group"),
        "{logs}"
    );
}
