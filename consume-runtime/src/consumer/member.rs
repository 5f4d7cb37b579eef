//! One handler's consumer (one member of its group) and the thread that drives it.
//!
//! The thread subscribes, then polls the consumer queue, which serves rebalance callbacks,
//! errors, logs and statistics (records go to the partitions' own queues). Because this thread
//! keeps polling while handlers run, a slow handler never makes the member exceed
//! `max.poll.interval.ms` and get evicted. The thread may block inside a rebalance callback
//! while workers drain: it is not a tokio worker thread, so nothing else waits on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{BorrowedMessage, Message as _};

use super::assignment::Assignments;
use super::context::{MonitorSettings, RuntimeContext};
use super::erased::ErasedHandler;
use super::partition::HandlerShared;
use crate::error::Error;

const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What one member needs to run.
pub(crate) struct MemberSpec {
    pub(crate) handler: ErasedHandler,
    pub(crate) shared: Arc<HandlerShared>,
    pub(crate) topics: Vec<String>,
    pub(crate) config: ClientConfig,
    pub(crate) drain_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) monitor: MonitorSettings,
    /// SASL/OAUTHBEARER token provider, if any.
    pub(crate) oauth: Option<crate::oauth::OAuthBearer>,
}

/// A connected member: its consumer and its partition table.
pub(crate) struct Member {
    consumer: Arc<BaseConsumer<RuntimeContext>>,
    partitions: Arc<Assignments>,
}

/// Creates the consumer and subscribes (on the caller's thread, so errors surface at boot).
pub(crate) fn connect(spec: &MemberSpec) -> Result<Member, Error> {
    let ctx = RuntimeContext::new(
        Arc::clone(&spec.shared.name),
        Arc::clone(&spec.shared.metrics),
    )
    .with_oauth(spec.oauth.clone());
    let consumer: BaseConsumer<RuntimeContext> =
        spec.config
            .create_with_context(ctx)
            .map_err(|source| Error::Kafka {
                context: format!("creating the consumer of handler `{}`", spec.shared.name),
                source,
            })?;
    let consumer = Arc::new(consumer);
    let partitions = Arc::new(Assignments::new(
        &consumer,
        spec.handler.clone(),
        Arc::clone(&spec.shared),
        spec.drain_timeout,
        spec.monitor,
    ));
    consumer.context().attach(Arc::clone(&partitions) as _);
    let topics: Vec<&str> = spec.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(|source| Error::Kafka {
        context: format!(
            "subscribing handler `{}` to {:?}",
            spec.shared.name, spec.topics
        ),
        source,
    })?;
    Ok(Member {
        consumer,
        partitions,
    })
}

/// Drives the member until `stop` is set, then shuts it down gracefully: workers finish the
/// message in hand (bounded), stored offsets are committed, and the consumer closes, which
/// leaves the group at once.
pub(crate) fn drive(spec: &MemberSpec, member: Member, stop: &AtomicBool) {
    let Member {
        consumer,
        partitions,
    } = member;
    let name = &*spec.shared.name;
    while !stop.load(Ordering::SeqCst) {
        spec.shared.metrics.polled();
        match consumer.poll(POLL_INTERVAL) {
            None => {}
            Some(Ok(m)) => stray(&consumer, &partitions, &m, name),
            Some(Err(e)) => tracing::warn!(handler = name, error = %e, "consumer error"),
        }
    }

    tracing::info!(handler = name, "shutting down: draining in-flight messages");
    let abandoned = partitions.stop_workers(None, false, spec.shutdown_timeout);
    consumer.context().commit_stored(&consumer);
    if abandoned > 0 {
        // Abandoned workers still hold the consumer: close it now so the member leaves the
        // group without waiting for them (librdkafka logs a harmless error at drop later).
        if let Err(e) = consumer.close_queue() {
            tracing::warn!(handler = name, error = %e, "closing the consumer failed");
        } else {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !consumer.closed() && Instant::now() < deadline {
                let _ = consumer.poll(POLL_INTERVAL);
            }
        }
    }
    // Dropping the last reference closes the consumer: final commit and LeaveGroup.
    drop(consumer);
    tracing::info!(
        handler = name,
        abandoned,
        "consumer closed and left the group"
    );
}

/// A message on the consumer queue means a partition's queue was not split before
/// fetching began. Rewind that partition to the message so it is redelivered, in order,
/// through its worker (a duplicate at worst, never a skip).
fn stray(
    consumer: &Arc<BaseConsumer<RuntimeContext>>,
    partitions: &Assignments,
    m: &BorrowedMessage<'_>,
    name: &str,
) {
    let (topic, partition, offset) = (m.topic().to_owned(), m.partition(), m.offset());
    tracing::error!(
        handler = name,
        topic,
        partition,
        offset,
        "message bypassed its partition worker; rewinding the partition"
    );
    if partitions.prepare_worker(&topic, partition) {
        partitions.start_pending();
    }
    if let Err(e) = consumer.seek(
        &topic,
        partition,
        Offset::Offset(offset),
        Duration::from_secs(5),
    ) {
        tracing::error!(handler = name, topic, partition, offset, error = %e, "rewind failed");
    }
}
