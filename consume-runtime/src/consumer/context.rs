//! librdkafka callbacks of a handler's consumer: rebalances, statistics, commits, logs.
//!
//! The callbacks only route: partition hand-over and the lag monitor are the partition
//! table's (`assignment.rs`, reached through [`PartitionHooks`], so this file depends on
//! nothing of the partition loops).
//!
//! - Assign: the new partitions' queues are split and their supervisors started.
//! - Revoke: the revoked partitions' loops finish the record in hand (bounded by the drain
//!   timeout), their offsets are committed synchronously, and only then does librdkafka
//!   release the partitions. On a *lost* assignment (session timeout) nothing is committed:
//!   the partitions may already belong to someone else.
//! - Statistics (every `statistics.interval.ms`, 1 s by default): the lag monitor.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;

use crate::metrics::HandlerMetrics;
use crate::oauth::OAuthBearer;

/// What the callbacks hand over to the partition table.
pub(crate) trait PartitionHooks: Send + Sync {
    /// `pre_rebalance(Assign)`: split the new partitions' queues.
    fn assigned(&self, partitions: &TopicPartitionList);
    /// `post_rebalance(Assign)`: start their loops.
    fn started(&self);
    /// `pre_rebalance(Revoke)`: stop the partitions' loops (returns when they finished or
    /// the drain timeout passed).
    fn revoked(&self, partitions: &TopicPartitionList, lost: bool);
    /// librdkafka's statistics.
    fn statistics(&self, stats: &Statistics);
}

/// How the lag monitor reads partitions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MonitorSettings {
    /// A partition whose position has not moved for this long while records wait is stalled.
    pub(crate) stall_after: Duration,
    /// `isolation.level=read_committed` (librdkafka's default): lag counts to the last
    /// stable offset, not the high watermark.
    pub(crate) read_committed: bool,
}

/// The consumer context of one handler's consumer.
pub(crate) struct RuntimeContext {
    name: Arc<str>,
    metrics: Arc<HandlerMetrics>,
    hooks: OnceLock<Arc<dyn PartitionHooks>>,
    /// SASL/OAUTHBEARER tokens (served on the control thread's polls).
    oauth: Option<OAuthBearer>,
}

impl RuntimeContext {
    pub(crate) fn new(name: Arc<str>, metrics: Arc<HandlerMetrics>) -> Self {
        Self {
            name,
            metrics,
            hooks: OnceLock::new(),
            oauth: None,
        }
    }

    /// Where the consumer's OAUTHBEARER tokens come from.
    pub(crate) fn with_oauth(mut self, oauth: Option<OAuthBearer>) -> Self {
        self.oauth = oauth;
        self
    }

    /// Connects the callbacks to the partition table (once, right after the consumer exists).
    pub(crate) fn attach(&self, hooks: Arc<dyn PartitionHooks>) {
        let _ = self.hooks.set(hooks);
    }

    fn hooks(&self) -> Option<&dyn PartitionHooks> {
        self.hooks.get().map(|h| &**h)
    }

    /// Commits stored offsets synchronously; "nothing to commit" is not an error.
    pub(crate) fn commit_stored(&self, consumer: &BaseConsumer<RuntimeContext>) {
        self.note_commit(consumer.commit_consumer_state(CommitMode::Sync));
    }

    /// Counts and logs a failed commit (synchronous, or reported by librdkafka's callback).
    fn note_commit(&self, result: KafkaResult<()>) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                self.metrics.commit_failures.add(1);
                tracing::warn!(handler = %self.name, error = %e, "offset commit failed");
            }
        }
    }
}

impl ClientContext for RuntimeContext {
    // Consulted only under `sasl.mechanisms=OAUTHBEARER`, on the control thread's polls.
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        crate::oauth::generate(self.oauth.as_ref(), &self.name)
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let handler = &*self.name;
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(handler, fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(handler, fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(handler, fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(handler, fac, "librdkafka: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(handler = %self.name, error = %error, "Kafka client error: {reason}");
    }

    fn stats(&self, statistics: Statistics) {
        if let Some(h) = self.hooks() {
            h.statistics(&statistics);
        }
    }
}

impl ConsumerContext for RuntimeContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.metrics.rebalances.add(1);
        match rebalance {
            Rebalance::Assign(tpl) => {
                if let Some(h) = self.hooks() {
                    h.assigned(tpl);
                }
            }
            Rebalance::Revoke(tpl) => {
                let lost = consumer.assignment_lost();
                tracing::info!(handler = %self.name, partitions = tpl.count(), lost, "partitions revoked");
                if let Some(h) = self.hooks() {
                    h.revoked(tpl, lost);
                }
                crate::failpoint::hit("revoke");
                if !lost {
                    self.commit_stored(consumer);
                }
            }
            Rebalance::Error(e) => {
                tracing::warn!(handler = %self.name, error = %e, "rebalance error");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(handler = %self.name, partitions = tpl.count(), "partitions assigned");
            if let Some(h) = self.hooks() {
                h.started();
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        self.note_commit(result);
    }
}
