//! Boot checks against the cluster: it answers within the boot timeout (naming the cause
//! when it does not), every subscribed topic exists (or is created when asked), and every
//! dead-letter topic exists (created with the source topic's partition count if missing).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::RDKafkaErrorCode;

use crate::config::Config;
use crate::error::Error;
use crate::registry::HandlerPlan;

/// The boot probe's context: remembers the first error librdkafka reports.
#[derive(Default)]
struct ProbeContext {
    first_error: std::sync::Mutex<Option<String>>,
}

impl ProbeContext {
    fn first_error(&self) -> Option<String> {
        self.first_error.lock().ok().and_then(|e| e.clone())
    }
}

impl rdkafka::client::ClientContext for ProbeContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if let Ok(mut e) = self.first_error.lock() {
            e.get_or_insert_with(|| format!("{error}: {reason}"));
        }
    }
}

impl rdkafka::consumer::ConsumerContext for ProbeContext {}

/// Runs the checks (blocking; call from `spawn_blocking`).
pub(crate) fn check_cluster(
    config: &Config,
    plans: &[Arc<HandlerPlan>],
    create: Option<i32>,
) -> Result<(), Error> {
    let probe: BaseConsumer<ProbeContext> = config
        .client_config()
        .create_with_context(ProbeContext::default())
        .map_err(|source| Error::Kafka {
            context: "creating the boot probe".to_owned(),
            source,
        })?;
    let metadata = probe
        .fetch_metadata(None, config.boot_timeout)
        .map_err(|e| {
            // librdkafka reports the reason (refused connection, failed authentication, TLS)
            // as events on the client's queue: serve them to name the cause.
            for _ in 0..10 {
                let _ = probe.poll(Duration::from_millis(50));
            }
            let cause = match probe.context().first_error() {
                Some(reason) => format!("{e}; {reason}"),
                None => e.to_string(),
            };
            Error::ClusterUnreachable {
                brokers: config.brokers.clone(),
                waited: config.boot_timeout,
                cause,
            }
        })?;
    let partitions = |t: &str| {
        metadata
            .topics()
            .iter()
            .find(|m| m.name() == t && m.error().is_none() && !m.partitions().is_empty())
            .map(|m| m.partitions().len() as i32)
    };

    // Subscribed topics.
    let mut to_create: Vec<(String, i32)> = Vec::new();
    for p in plans {
        for t in &p.topics {
            if partitions(t).is_some() || to_create.iter().any(|(m, _)| m == t) {
                continue;
            }
            match create {
                Some(n) => to_create.push((t.clone(), n)),
                None => {
                    return Err(Error::TopicMissing {
                        topic: t.clone(),
                        handler: p.name.clone(),
                        at: p.location.clone(),
                    });
                }
            }
        }
    }
    // Dead-letter topics, partitioned like their source.
    for p in plans {
        for (t, dlq) in p.dead_letter_routes().unwrap_or_default() {
            if partitions(dlq).is_some() || to_create.iter().any(|(m, _)| m == dlq) {
                continue;
            }
            let n = partitions(t).or(create).unwrap_or(1);
            to_create.push((dlq.clone(), n));
        }
    }
    if to_create.is_empty() {
        return Ok(());
    }
    create_topics(config, &to_create)
}

fn create_topics(config: &Config, topics: &[(String, i32)]) -> Result<(), Error> {
    let admin: AdminClient<DefaultClientContext> =
        config
            .client_config()
            .create()
            .map_err(|source| Error::Kafka {
                context: "creating the admin client".to_owned(),
                source,
            })?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(t, n)| NewTopic::new(t, *n, TopicReplication::Fixed(-1)))
        .collect();
    // Both timeouts: the broker's for the operation, ours for the request itself (without
    // it, a cluster that never answers CreateTopics would hang the boot).
    let opts = AdminOptions::new()
        .operation_timeout(Some(config.boot_timeout))
        .request_timeout(Some(config.boot_timeout));
    let results =
        futures::executor::block_on(admin.create_topics(&new, &opts)).map_err(|source| {
            Error::Kafka {
                context: "creating topics".to_owned(),
                source,
            }
        })?;
    for r in results {
        match r {
            Ok(t) => tracing::info!(topic = %t, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => {
                let hint = if t.ends_with(".dlq") {
                    "create it, or set CONSUME_DEAD_LETTERS=off"
                } else {
                    "create it"
                };
                return Err(Error::Config(format!(
                    "creating topic `{t}` failed: {code}; {hint}"
                )));
            }
        }
    }
    // Let metadata catch up so subscriptions and the first dead letter see the partitions.
    std::thread::sleep(Duration::from_millis(200));
    Ok(())
}
