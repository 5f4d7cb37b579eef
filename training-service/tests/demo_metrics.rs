//! The README's first command (the demo on librdkafka's mock cluster) shows the runtime's
//! per-partition lag gauges on `/metrics`. Needs no servers.

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
    let port = free_port();
    let _demo = Demo(
        Command::new(BIN)
            .env_remove("KAFKA_BROKERS")
            .env("TRAINING_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo"),
    );
    let url = format!("http://127.0.0.1:{port}/metrics");
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
            {
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no per-partition lag gauges on the demo's /metrics within 90 s:\n{last}");
}
