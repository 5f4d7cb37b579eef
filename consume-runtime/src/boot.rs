//! Boot checks against the cluster: it answers within the boot timeout (naming the cause
//! when it does not), every subscribed topic exists (or is created when asked), and every
//! dead-letter topic exists (created with the source topic's partition count if missing).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::RDKafkaErrorCode;

use crate::config::Config;
use crate::error::Error;
use crate::oauth::{ClientAuth, OAuthBearer};
use crate::registry::HandlerPlan;

/// The boot probe's context: remembers the first error librdkafka reports, and serves
/// OAUTHBEARER tokens.
#[derive(Default)]
struct ProbeContext {
    first_error: std::sync::Mutex<Option<String>>,
    oauth: Option<OAuthBearer>,
    /// Whether librdkafka asked for a token yet.
    token_requested: AtomicBool,
}

impl ProbeContext {
    fn first_error(&self) -> Option<String> {
        self.first_error.lock().ok().and_then(|e| e.clone())
    }
}

impl rdkafka::client::ClientContext for ProbeContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        self.token_requested.store(true, Ordering::SeqCst);
        crate::oauth::generate(self.oauth.as_ref(), "boot-probe")
    }

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
    let oauth = config.token_provider()?;
    let probe: BaseConsumer<ProbeContext> = config
        .client_config()
        .create_with_context(ProbeContext {
            oauth: oauth.clone(),
            ..ProbeContext::default()
        })
        .map_err(|source| Error::Kafka {
            context: "creating the boot probe".to_owned(),
            source,
        })?;
    if oauth.is_some() {
        // librdkafka connects only once it has a token, and asks for it on the queue the
        // probe serves: serve it before the metadata request.
        let deadline = Instant::now() + config.boot_timeout;
        while !probe.context().token_requested.load(Ordering::SeqCst) && Instant::now() < deadline {
            let _ = probe.poll(Duration::from_millis(20));
        }
    }
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
    create_topics(config, oauth, &to_create)
}

fn create_topics(
    config: &Config,
    oauth: Option<OAuthBearer>,
    topics: &[(String, i32)],
) -> Result<(), Error> {
    let admin: AdminClient<ClientAuth> = config
        .client_config()
        .create_with_context(ClientAuth::new(oauth.clone(), "boot-admin"))
        .map_err(|source| Error::Kafka {
            context: "creating the admin client".to_owned(),
            source,
        })?;
    if let Some(oauth) = &oauth {
        crate::oauth::set_initial_token(admin.inner(), oauth, "boot-admin")
            .map_err(|e| Error::Config(format!("the admin client's OAUTHBEARER token: {e}")))?;
    }
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
