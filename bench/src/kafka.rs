//! Reaching Kafka and managing the benchmark topic: reachability check, create (or reuse),
//! count, delete.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::RDKafkaErrorCode;

use crate::BoxError;

/// Partitions of the benchmark topic.
pub(crate) const PARTITIONS: i32 = 4;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Kafka's PLAINTEXT listener: `KAFKA_BOOTSTRAP`, default `127.0.0.1:9092`.
pub(crate) fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// The port of the first bootstrap server on this machine (loopback or localhost), whose
/// process is the broker whose CPU is recorded; `None` for a remote broker.
pub(crate) fn broker_port(bootstrap: &str) -> Option<u16> {
    let first = bootstrap.split(',').next()?.trim();
    let (host, port) = first.rsplit_once(':')?;
    matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
        .then(|| port.parse().ok())
        .flatten()
}

/// A client config for `bootstrap`.
pub(crate) fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

/// Fails fast, naming `infra/up`, unless a TCP connection succeeds and the broker answers a
/// metadata request.
pub(crate) fn check_reachable(bootstrap: &str) -> Result<(), BoxError> {
    let unreachable = |why: String| {
        format!("Kafka is not reachable at {bootstrap} ({why}); start it with `infra/up`")
    };
    for addr in bootstrap.split(',') {
        let mut last = None;
        let resolved = addr
            .trim()
            .to_socket_addrs()
            .map_err(|e| unreachable(e.to_string()))?;
        let connected = resolved.into_iter().any(|sa| {
            match TcpStream::connect_timeout(&sa, Duration::from_secs(2)) {
                Ok(_) => true,
                Err(e) => {
                    last = Some(e.to_string());
                    false
                }
            }
        });
        if !connected {
            return Err(unreachable(
                last.unwrap_or_else(|| "address resolved to nothing".to_owned()),
            )
            .into());
        }
    }
    let probe = probe(bootstrap)?;
    probe
        .fetch_metadata(None, Duration::from_secs(5))
        .map_err(|e| unreachable(format!("no metadata: {e}")))?;
    Ok(())
}

/// A consumer used only for metadata and watermarks (it never subscribes).
fn probe(bootstrap: &str) -> Result<BaseConsumer, BoxError> {
    Ok(base_config(bootstrap)
        .set("group.id", "consume-bench-probe")
        .create()?)
}

/// Messages currently in `topic` (sum over partitions of high - low watermark) and its
/// partition count; `None` when the topic does not exist.
pub(crate) fn count_messages(bootstrap: &str, topic: &str) -> Result<Option<(i32, u64)>, BoxError> {
    let probe = probe(bootstrap)?;
    let md = probe.fetch_metadata(Some(topic), TIMEOUT)?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if t.error().is_some() || t.partitions().is_empty() {
        return Ok(None);
    }
    let mut total = 0u64;
    for p in t.partitions() {
        let (low, high) = probe.fetch_watermarks(topic, p.id(), TIMEOUT)?;
        total += u64::try_from(high - low).unwrap_or(0);
    }
    let partitions =
        i32::try_from(t.partitions().len()).map_err(|e| format!("partition count: {e}"))?;
    Ok(Some((partitions, total)))
}

/// Creates `topic` with `partitions` partitions (the side-by-side runs: [`PARTITIONS`]) and
/// waits until metadata shows them all. Returns `false` (creating nothing) if it already
/// exists.
pub(crate) async fn create_topic_with(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<bool, BoxError> {
    let admin: AdminClient<DefaultClientContext> = base_config(bootstrap).create()?;
    let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for r in admin.create_topics(&[new], &opts).await? {
        match r {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
            Err((t, code)) => return Err(format!("creating topic `{t}` failed: {code}").into()),
        }
    }
    // Until every partition has a leader, watermark requests fail (e.g. NotLeaderForPartition):
    // that is "not yet", not an error.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let last = match count_messages(bootstrap, topic) {
            Ok(Some((p, _))) if p == partitions => return Ok(true),
            Ok(found) => format!("{} partitions", found.map_or(0, |(p, _)| p)),
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            return Err(format!(
                "topic `{topic}` was created but its {partitions} partitions did not become \
                 ready within {} s (last: {last})",
                TIMEOUT.as_secs()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes `topic` (best effort: a failure is reported, not fatal).
pub(crate) async fn delete_topic(bootstrap: &str, topic: &str) -> Result<(), BoxError> {
    let admin: AdminClient<DefaultClientContext> = base_config(bootstrap).create()?;
    let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    for r in admin.delete_topics(&[topic], &opts).await? {
        if let Err((t, code)) = r {
            return Err(format!("deleting topic `{t}` failed: {code}").into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_port_is_the_first_local_servers() {
        assert_eq!(broker_port("127.0.0.1:9092"), Some(9092));
        assert_eq!(broker_port("localhost:19092,127.0.0.1:9092"), Some(19092));
        assert_eq!(broker_port("kafka.example:9092"), None);
        assert_eq!(broker_port("127.0.0.1"), None);
    }
}
