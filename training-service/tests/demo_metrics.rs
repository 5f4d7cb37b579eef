//! The README's first command (`training-service` without a command: the demo on librdkafka's
//! mock cluster) shows the runtime's per-partition lag gauges on the admin port's `/metrics`,
//! listens on loopback, and prints short-lived tokens in URL fragments. Needs no servers.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_training-service");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills the demo when the test ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_demo_shows_lag_in_messages_and_seconds_per_partition() {
    let (port, admin_port) = (free_port(), free_port());
    let mut demo = Demo(
        Command::new(BIN)
            .env_remove("KAFKA_BROKERS")
            // No command, as in the README; the addresses from the environment.
            .env("TRAINING_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("TRAINING_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo"),
    );
    // What it prints: tokens in the fragment, metrics on the admin port.
    let stdout = demo.0.stdout.take().expect("stdout");
    let printed: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.contains("Ctrl-C"))
        .collect();
    let printed = printed.join("\n");
    assert!(printed.contains("DEMO"), "{printed}");
    assert!(
        printed.contains(&format!("http://127.0.0.1:{port}/dashboard#token=")),
        "{printed}"
    );
    assert!(!printed.contains("?token="), "{printed}");
    assert!(
        printed.contains(&format!("http://127.0.0.1:{admin_port}/metrics")),
        "{printed}"
    );
    // The public port does not serve metrics.
    let url = format!("http://127.0.0.1:{admin_port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&url).await
            && let Ok(text) = r.text().await
        {
            let series = |name: &str| {
                text.lines()
                    .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains("partition=\""))
                    .count()
            };
            if series("consume_partition_lag_messages") > 0
                && series("consume_partition_lag_seconds") > 0
                && series("consume_partition_stalled") > 0
                && text.contains("training_events_applied_total ")
                // The runtime's handler-duration histogram, with the service's buckets, and
                // the poll-loop heartbeat behind /healthz.
                && text.contains("consume_handler_duration_seconds_bucket{")
                && text.contains("le=\"0.0005\"")
                && text.contains("consume_poll_timestamp_seconds{")
            {
                let health = reqwest::get(format!("http://127.0.0.1:{admin_port}/healthz"))
                    .await
                    .expect("admin port");
                assert_eq!(health.status().as_u16(), 200);
                let public = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
                    .await
                    .expect("public port");
                assert_eq!(public.status().as_u16(), 404);
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no per-partition lag gauges on the demo's /metrics within 90 s:\n{last}");
}
