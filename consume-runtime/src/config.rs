//! [`Config`]: how to reach Kafka and how the runtime behaves, from code or the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::error::Error;
use crate::oauth::OAuthBearer;
use crate::retry::RetryPolicy;
use crate::secret::{Secret, is_sensitive_property};

/// Connection and runtime settings. Build it in code or with [`Config::from_env`].
///
/// Consumers get these defaults (a passthrough property overrides any of them except
/// `enable.auto.offset.store`, which must stay `false` for at-least-once delivery):
///
/// | property | value | why |
/// |---|---|---|
/// | `enable.auto.offset.store` | `false` | an offset is stored only after its message settled |
/// | `enable.auto.commit` | `true`, every `auto.commit.interval.ms` = 1000 | commits what was stored |
/// | `auto.offset.reset` | `earliest` | a new group reads what is already there instead of skipping it |
/// | `partition.assignment.strategy` | `range` (eager) | [`Config::assignor`]; cooperative-sticky is an option (`docs/consumer-model.md`, "Rebalances") |
/// | `group.instance.id` | `<Config::group_instance_id>-<handler>` when set | static membership: a member that restarts within `session.timeout.ms` gets its partitions back without a rebalance |
/// | `enable.partition.eof` | `false` | |
/// | `fetch.queue.backoff.ms` | `50` | librdkafka's 1000 ms pause after a full partition queue idles a fast worker that drained it in milliseconds |
/// | `queued.min.messages` | `20000` | each partition's queue is split off, so librdkafka's prefetch bounds apply *per partition*: its 100 000 records each made a backlog of 100-byte records on 4 partitions cost 104–162 MB of RSS; 20 000 cost 66–73 MB at the same rate (`BENCHMARKS.md`, "Scaling") |
/// | `queued.max.messages.kbytes` | `16384` | the same bound in bytes for large records (librdkafka: 65 536 per partition) |
/// | `statistics.interval.ms` | `1000` | feeds the per-partition lag and stall gauges (`0` turns them off) |
#[derive(Clone)]
pub struct Config {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// `security.protocol` (`plaintext`, `ssl`, `sasl_plaintext`, `sasl_ssl`).
    pub security_protocol: Option<String>,
    /// `sasl.mechanisms` (e.g. `SCRAM-SHA-512`), or `AWS_MSK_IAM`: SASL/OAUTHBEARER with
    /// AWS MSK IAM tokens (cargo feature `msk-iam`; `security.protocol` defaults to
    /// `SASL_SSL`; the region comes from `KAFKA_MSK_IAM_REGION`, the brokers' host names,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`; see `docs/msk-iam.md`).
    pub sasl_mechanism: Option<String>,
    /// `sasl.username`.
    pub sasl_username: Option<String>,
    /// `sasl.password`.
    pub sasl_password: Option<Secret>,
    /// `ssl.ca.location`: CA certificate(s) to trust.
    pub ssl_ca_location: Option<String>,
    /// Prefix of `client.id` (the handler name is appended).
    pub client_id: String,
    /// Any other librdkafka property, passed through as is.
    pub properties: BTreeMap<String, String>,
    /// How long boot waits for the cluster to answer.
    pub boot_timeout: Duration,
    /// How long a revocation waits for in-flight messages before abandoning them.
    pub drain_timeout: Duration,
    /// How long shutdown waits for in-flight messages (keep it under Kubernetes'
    /// `terminationGracePeriodSeconds`).
    pub shutdown_timeout: Duration,
    /// Retry policy of every handler.
    pub retry: RetryPolicy,
    /// A partition whose position has not moved for this long while records wait is
    /// reported as stalled (logged, `consume_partition_stalled`, [`Metrics::stalled_partitions`](crate::Metrics::stalled_partitions)).
    pub stall_after: Duration,
    /// Static group membership (KIP-345): this process's stable identity, e.g. the pod
    /// name. Each handler's consumer gets `group.instance.id = <id>-<handler>`. A member
    /// that restarts with the same id within `session.timeout.ms` keeps its partitions and
    /// the others are not rebalanced; a member that stops does not leave the group (its
    /// partitions wait for it until the session times out).
    pub group_instance_id: Option<String>,
    /// The partition assignor (`partition.assignment.strategy`).
    pub assignor: Assignor,
    /// Where SASL/OAUTHBEARER tokens come from ([`Config::oauthbearer`]); unset with
    /// `AWS_MSK_IAM`, the process's MSK IAM provider for the region is used.
    pub oauthbearer: Option<OAuthBearer>,
}

/// How a group's partitions are assigned to its members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Assignor {
    /// Eager `range`: every rebalance revokes every partition, then assigns.
    #[default]
    Range,
    /// Eager `roundrobin`.
    RoundRobin,
    /// Incremental `cooperative-sticky`: a rebalance revokes only the partitions that
    /// move; the others keep being consumed.
    CooperativeSticky,
}

impl Assignor {
    /// librdkafka's name of the strategy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Range => "range",
            Self::RoundRobin => "roundrobin",
            Self::CooperativeSticky => "cooperative-sticky",
        }
    }

    fn parse(v: &str) -> Option<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "range" => Some(Self::Range),
            "roundrobin" => Some(Self::RoundRobin),
            "cooperative-sticky" => Some(Self::CooperativeSticky),
            _ => None,
        }
    }
}

impl Config {
    /// Settings for the given `bootstrap.servers`, with defaults for the rest.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            security_protocol: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            ssl_ca_location: None,
            client_id: "consume".to_owned(),
            properties: BTreeMap::new(),
            boot_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
            stall_after: Duration::from_secs(60),
            group_instance_id: None,
            assignor: Assignor::Range,
            oauthbearer: None,
        }
    }

    /// Reads the environment:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `KAFKA_BROKERS` | brokers (default `localhost:9092`) |
    /// | `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CA_LOCATION` | security (`KAFKA_SASL_MECHANISM=AWS_MSK_IAM`: MSK IAM, see [`Config::sasl_mechanism`]) |
    /// | `KAFKA_CLIENT_ID` | client id prefix |
    /// | `CONSUME_RDKAFKA_<NAME>` | librdkafka property `<name>` (lower-cased, `_` → `.`), e.g. `CONSUME_RDKAFKA_FETCH_MIN_BYTES` |
    /// | `CONSUME_BOOT_TIMEOUT_MS`, `CONSUME_DRAIN_TIMEOUT_MS`, `CONSUME_SHUTDOWN_TIMEOUT_MS` | timeouts |
    /// | `CONSUME_STALL_AFTER_MS` | [`Config::stall_after`] (default 60 000) |
    /// | `CONSUME_GROUP_INSTANCE_ID` | [`Config::group_instance_id`] (static membership; e.g. the pod name) |
    /// | `CONSUME_ASSIGNOR` | [`Config::assignor`]: `range` (default), `roundrobin`, `cooperative-sticky` |
    /// | `CONSUME_RETRY_MAX_ATTEMPTS`, `CONSUME_RETRY_BASE_MS`, `CONSUME_RETRY_CAP_MS` | retry policy |
    ///
    /// # Errors
    /// [`Error::Config`] when a number does not parse.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(std::env::vars())
    }

    /// [`Config::from_env`] over the given variables (for tests).
    ///
    /// # Errors
    /// [`Error::Config`] when a number does not parse.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let mut c =
            Config::new(get("KAFKA_BROKERS").unwrap_or_else(|| "localhost:9092".to_owned()));
        c.security_protocol = get("KAFKA_SECURITY_PROTOCOL");
        c.sasl_mechanism = get("KAFKA_SASL_MECHANISM");
        c.sasl_username = get("KAFKA_SASL_USERNAME");
        c.sasl_password = get("KAFKA_SASL_PASSWORD").map(Secret::new);
        c.ssl_ca_location = get("KAFKA_SSL_CA_LOCATION");
        if let Some(id) = get("KAFKA_CLIENT_ID") {
            c.client_id = id;
        }
        c.group_instance_id = get("CONSUME_GROUP_INSTANCE_ID").map(|v| v.trim().to_owned());
        if let Some(v) = get("CONSUME_ASSIGNOR") {
            c.assignor = Assignor::parse(&v).ok_or_else(|| {
                Error::Config(format!(
                    "CONSUME_ASSIGNOR={v:?}: expected `range`, `roundrobin` or `cooperative-sticky`"
                ))
            })?;
        }
        for (k, v) in &vars {
            if let Some(prop) = k.strip_prefix("CONSUME_RDKAFKA_") {
                c.properties
                    .insert(prop.to_ascii_lowercase().replace('_', "."), v.clone());
            }
        }
        let millis = |k: &str| -> Result<Option<Duration>, Error> {
            get(k)
                .map(|v| {
                    v.parse::<u64>().map(Duration::from_millis).map_err(|_| {
                        Error::Config(format!("{k}={v:?} is not a number of milliseconds"))
                    })
                })
                .transpose()
        };
        if let Some(d) = millis("CONSUME_BOOT_TIMEOUT_MS")? {
            c.boot_timeout = d;
        }
        if let Some(d) = millis("CONSUME_DRAIN_TIMEOUT_MS")? {
            c.drain_timeout = d;
        }
        if let Some(d) = millis("CONSUME_SHUTDOWN_TIMEOUT_MS")? {
            c.shutdown_timeout = d;
        }
        if let Some(d) = millis("CONSUME_STALL_AFTER_MS")? {
            c.stall_after = d;
        }
        if let Some(d) = millis("CONSUME_RETRY_BASE_MS")? {
            c.retry.base = d;
        }
        if let Some(d) = millis("CONSUME_RETRY_CAP_MS")? {
            c.retry.cap = d;
        }
        if let Some(v) = get("CONSUME_RETRY_MAX_ATTEMPTS") {
            c.retry.max_attempts = v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                Error::Config(format!(
                    "CONSUME_RETRY_MAX_ATTEMPTS={v:?} is not a number ≥ 1"
                ))
            })?;
        }
        Ok(c)
    }

    /// Whether consumers read only committed transactional records (librdkafka's default).
    pub(crate) fn read_committed(&self) -> bool {
        self.properties
            .get("isolation.level")
            .is_none_or(|v| v.trim() != "read_uncommitted")
    }

    /// Authenticates with SASL/OAUTHBEARER tokens from `provider` (sets
    /// [`Config::sasl_mechanism`] to `OAUTHBEARER`; set [`Config::security_protocol`] to
    /// `sasl_ssl` or `sasl_plaintext`). Every client of the runtime asks it for tokens:
    /// see [`oauth`](crate::oauth).
    pub fn oauthbearer(mut self, provider: OAuthBearer) -> Self {
        self.sasl_mechanism = Some("OAUTHBEARER".to_owned());
        self.oauthbearer = Some(provider);
        self
    }

    /// Whether the SASL mechanism is AWS MSK IAM.
    fn msk_iam(&self) -> bool {
        self.sasl_mechanism
            .as_deref()
            .is_some_and(crate::oauth::is_msk_iam)
    }

    /// The OAUTHBEARER token provider of every client: [`Config::oauthbearer`], else with
    /// `AWS_MSK_IAM` the MSK IAM provider for the brokers' region.
    ///
    /// # Errors
    /// [`Error::Config`] for `AWS_MSK_IAM` without the `msk-iam` feature or without a region.
    pub(crate) fn token_provider(&self) -> Result<Option<OAuthBearer>, Error> {
        if let Some(p) = &self.oauthbearer {
            return Ok(Some(p.clone()));
        }
        if self.msk_iam() {
            return crate::oauth::msk_iam_for(&self.brokers)
                .map(Some)
                .map_err(Error::Config);
        }
        Ok(None)
    }

    /// Sets a librdkafka property (passthrough).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Connection settings and the passthrough properties every client type understands,
    /// shared by consumers, the admin client and producers (consumer-only properties are
    /// added in [`Config::consumer_config`]).
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        let msk_iam = self.msk_iam();
        if let Some(v) = &self.security_protocol {
            c.set("security.protocol", v);
        } else if msk_iam {
            c.set("security.protocol", "SASL_SSL");
        }
        if msk_iam {
            // MSK IAM is OAUTHBEARER with tokens from the provider; no user or password.
            c.set("sasl.mechanisms", "OAUTHBEARER");
        } else {
            if let Some(v) = &self.sasl_mechanism {
                c.set("sasl.mechanisms", v);
            }
            if let Some(v) = &self.sasl_username {
                c.set("sasl.username", v);
            }
            if let Some(v) = &self.sasl_password {
                c.set("sasl.password", v.expose());
            }
        }
        if let Some(v) = &self.ssl_ca_location {
            c.set("ssl.ca.location", v);
        }
        for (k, v) in &self.properties {
            if !is_consumer_only(k) {
                c.set(k, v);
            }
        }
        c
    }

    /// The configuration of one handler's consumer.
    pub(crate) fn consumer_config(
        &self,
        handler: &str,
        group: &str,
    ) -> Result<ClientConfig, Error> {
        if let Some(v) = self.properties.get("enable.auto.offset.store")
            && v.trim() != "false"
        {
            return Err(Error::Config(format!(
                "enable.auto.offset.store={v} would commit messages before they are handled; \
                 the runtime stores offsets itself after each message settles"
            )));
        }
        let mut c = self.client_config();
        c.set("group.id", group)
            .set("client.id", format!("{}-{handler}", self.client_id))
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", self.assignor.as_str())
            .set("enable.partition.eof", "false")
            .set("fetch.queue.backoff.ms", "50")
            .set("queued.min.messages", "20000")
            .set("queued.max.messages.kbytes", "16384")
            .set("statistics.interval.ms", "1000");
        if let Some(id) = &self.group_instance_id {
            c.set("group.instance.id", format!("{id}-{handler}"));
        }
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c.set("enable.auto.offset.store", "false");
        Ok(c)
    }
}

/// librdkafka properties that only consumers understand (producers and admin clients warn
/// about them), so passthrough properties can be shared by every client.
fn is_consumer_only(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "fetch.",
        "group.",
        "auto.",
        "enable.auto.",
        "queued.",
        "partition.assignment",
        "session.timeout",
        "heartbeat.",
        "max.poll.",
        "enable.partition.eof",
        "check.crcs",
        "isolation.level",
        "allow.auto.create.topics",
        "consume.callback",
        "coordinator.query",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let shown = if is_sensitive_property(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("Config")
            .field("brokers", &self.brokers)
            .field("security_protocol", &self.security_protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field("sasl_password", &self.sasl_password)
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field("client_id", &self.client_id)
            .field("properties", &props)
            .field("boot_timeout", &self.boot_timeout)
            .field("drain_timeout", &self.drain_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("retry", &self.retry)
            .field("stall_after", &self.stall_after)
            .field("group_instance_id", &self.group_instance_id)
            .field("assignor", &self.assignor)
            .field("oauthbearer", &self.oauthbearer)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_the_environment() {
        let c = Config::from_vars(vars(&[
            ("KAFKA_BROKERS", "b1:9094,b2:9094"),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_PASSWORD", "hunter2"),
            ("CONSUME_RDKAFKA_FETCH_MIN_BYTES", "1024"),
            ("CONSUME_RDKAFKA_SSL_KEY_PEM", "-----BEGIN PRIVATE KEY-----"),
            ("CONSUME_RETRY_MAX_ATTEMPTS", "3"),
            ("CONSUME_DRAIN_TIMEOUT_MS", "2500"),
        ]))
        .expect("valid");
        assert_eq!(c.brokers, "b1:9094,b2:9094");
        assert_eq!(
            c.properties.get("fetch.min.bytes").map(String::as_str),
            Some("1024")
        );
        assert_eq!(c.retry.max_attempts, 3);
        assert_eq!(c.drain_timeout, Duration::from_millis(2500));
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("BEGIN PRIVATE KEY"), "{debug}");
        assert!(debug.contains("fetch.min.bytes"), "{debug}");
    }

    #[test]
    fn consumer_only_properties_stay_out_of_other_clients() {
        let c = Config::new("b:9092")
            .property("fetch.wait.max.ms", "10")
            .property("ssl.endpoint.identification.algorithm", "none");
        let shared = c.client_config();
        assert_eq!(shared.get("fetch.wait.max.ms"), None);
        assert_eq!(
            shared.get("ssl.endpoint.identification.algorithm"),
            Some("none")
        );
        let consumer = c.consumer_config("h", "g").expect("valid");
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("10"));
    }

    #[test]
    fn bad_numbers_are_config_errors() {
        let e = Config::from_vars(vars(&[("CONSUME_DRAIN_TIMEOUT_MS", "soon")])).expect_err("bad");
        assert!(e.to_string().contains("CONSUME_DRAIN_TIMEOUT_MS"), "{e}");
        assert!(Config::from_vars(vars(&[("CONSUME_RETRY_MAX_ATTEMPTS", "0")])).is_err());
    }

    #[test]
    fn static_membership_and_the_assignor_come_from_the_environment() {
        let c = Config::from_vars(vars(&[
            ("CONSUME_GROUP_INSTANCE_ID", "training-7"),
            ("CONSUME_ASSIGNOR", "Cooperative-Sticky"),
        ]))
        .expect("valid");
        let cc = c.consumer_config("on_lecture", "g").expect("valid");
        assert_eq!(cc.get("group.instance.id"), Some("training-7-on_lecture"));
        assert_eq!(
            cc.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        let plain = Config::new("b:9092")
            .consumer_config("h", "g")
            .expect("valid");
        assert_eq!(plain.get("group.instance.id"), None);
        assert_eq!(plain.get("partition.assignment.strategy"), Some("range"));
        let e = Config::from_vars(vars(&[("CONSUME_ASSIGNOR", "sticky")])).expect_err("bad");
        assert!(e.to_string().contains("CONSUME_ASSIGNOR"), "{e}");
    }

    #[test]
    fn aws_msk_iam_is_oauthbearer_over_sasl_ssl() {
        let c = Config::from_vars(vars(&[
            (
                "KAFKA_BROKERS",
                "b-1.demo.x1.c2.kafka.eu-west-1.amazonaws.com:9098",
            ),
            ("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM"),
            ("KAFKA_SASL_USERNAME", "ignored"),
        ]))
        .expect("valid");
        let cc = c.client_config();
        assert_eq!(cc.get("sasl.mechanisms"), Some("OAUTHBEARER"));
        assert_eq!(cc.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(cc.get("sasl.username"), None);
        let consumer = c.consumer_config("h", "g").expect("valid");
        assert_eq!(consumer.get("sasl.mechanisms"), Some("OAUTHBEARER"));
        let provider = c.token_provider();
        #[cfg(feature = "msk-iam")]
        {
            let p = provider.expect("a provider").expect("MSK IAM");
            let shown = format!("{p:?}");
            assert!(shown.contains("MSK IAM (eu-west-1"), "{shown}");
        }
        #[cfg(not(feature = "msk-iam"))]
        {
            let e = provider.expect_err("needs the feature");
            assert!(e.to_string().contains("msk-iam"), "{e}");
        }
        // Other mechanisms have no provider unless one is set in code.
        assert!(
            Config::new("b:9092")
                .token_provider()
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn offsets_are_never_stored_before_handling() {
        let c = Config::new("b:9092").property("enable.auto.offset.store", "true");
        let e = c.consumer_config("h", "g").expect_err("refused");
        assert!(e.to_string().contains("enable.auto.offset.store"), "{e}");
        let c = Config::new("b:9092").property("fetch.min.bytes", "1");
        let cc = c.consumer_config("h", "g").expect("valid");
        assert_eq!(cc.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(cc.get("group.id"), Some("g"));
        assert_eq!(cc.get("client.id"), Some("consume-h"));
    }
}
