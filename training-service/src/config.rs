//! Every setting of the service, in one place: each is a command-line flag and an environment
//! variable (clap's `env`; `--help` shows both), numbers are checked when parsed (a bad one
//! is a usage error, exit 2), and [`ServeArgs::resolve`] turns the flags into what `serve`
//! runs with, refusing to start when something it needs is missing or unusable (naming the
//! variable). The consume runtime's own `CONSUME_*` settings are read by the runtime
//! (docs/consumer-model.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use consume_runtime::schema_registry::RegistryConfig;
use consume_runtime::{Config, Runtime, Secret};

use training_service::api::Limits;
use training_service::auth::{JwtConfig, JwtSecret};
use training_service::store::Guard;

use crate::simulate::{Probe, SimConfig};
use crate::writer::{RELEASE_LEAD, WriteMode, WriteSettings};

/// A configuration the service cannot start with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// Required settings that are not set.
    #[error("missing configuration: {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    /// A setting that is set but unusable.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The variable and flag.
        setting: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// A value that is set and not blank.
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// How to reach Kafka.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Kafka")]
pub(crate) struct KafkaArgs {
    /// Bootstrap servers, `host:port[,host:port…]`.
    #[arg(long = "kafka-brokers", env = "KAFKA_BROKERS", value_name = "HOSTS")]
    brokers: Option<String>,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    #[arg(long = "kafka-security-protocol", env = "KAFKA_SECURITY_PROTOCOL", value_name = "PROTOCOL",
          value_parser = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"], ignore_case = true)]
    security_protocol: Option<String>,
    /// SASL mechanism, e.g. `SCRAM-SHA-512`, or `AWS_MSK_IAM` (MSK IAM: a binary built with
    /// `--features consume-runtime/msk-iam`; see docs/msk-iam.md).
    #[arg(
        long = "kafka-sasl-mechanism",
        env = "KAFKA_SASL_MECHANISM",
        value_name = "MECHANISM"
    )]
    sasl_mechanism: Option<String>,
    /// SASL user.
    #[arg(
        long = "kafka-sasl-username",
        env = "KAFKA_SASL_USERNAME",
        value_name = "USER"
    )]
    sasl_username: Option<String>,
    /// SASL password.
    #[arg(
        long = "kafka-sasl-password",
        env = "KAFKA_SASL_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    sasl_password: Option<String>,
    /// CA certificate(s) to trust for TLS.
    #[arg(
        long = "kafka-ssl-ca-location",
        env = "KAFKA_SSL_CA_LOCATION",
        value_name = "PATH"
    )]
    ssl_ca_location: Option<String>,
    /// Prefix of the clients' `client.id`.
    #[arg(long = "kafka-client-id", env = "KAFKA_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
}

impl KafkaArgs {
    /// The brokers, or the name of the missing setting.
    fn brokers(&self) -> Result<&str, &'static str> {
        present(&self.brokers).ok_or("KAFKA_BROKERS (--kafka-brokers)")
    }

    /// The runtime's settings: its `CONSUME_*` variables, then these.
    fn runtime_config(&self, brokers: &str) -> Result<Config, ConfigError> {
        let mut c = Config::from_env().map_err(|e| invalid("CONSUME_*", e.to_string()))?;
        c.brokers = brokers.to_owned();
        c.security_protocol = present(&self.security_protocol).map(str::to_ascii_lowercase);
        c.sasl_mechanism = present(&self.sasl_mechanism).map(str::to_owned);
        c.sasl_username = present(&self.sasl_username).map(str::to_owned);
        c.sasl_password = present(&self.sasl_password).map(Secret::new);
        c.ssl_ca_location = present(&self.ssl_ca_location).map(str::to_owned);
        if let Some(id) = present(&self.client_id) {
            c.client_id = id.to_owned();
        }
        Ok(c)
    }
}

/// The Confluent-compatible schema registry.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Schema registry")]
pub(crate) struct RegistryArgs {
    /// Base URL (`http://…`, `https://…`).
    #[arg(
        long = "schema-registry-url",
        env = "SCHEMA_REGISTRY_URL",
        value_name = "URL"
    )]
    url: Option<String>,
    /// Basic-auth user.
    #[arg(
        long = "schema-registry-username",
        env = "SCHEMA_REGISTRY_USERNAME",
        value_name = "USER"
    )]
    username: Option<String>,
    /// Basic-auth password.
    #[arg(
        long = "schema-registry-password",
        env = "SCHEMA_REGISTRY_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    password: Option<String>,
}

impl RegistryArgs {
    fn config(&self) -> Result<RegistryConfig, ConfigError> {
        const SETTING: &str = "SCHEMA_REGISTRY_URL (--schema-registry-url)";
        let url = present(&self.url).ok_or(ConfigError::Missing(vec![SETTING]))?;
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| {
                invalid(
                    SETTING,
                    format!("{url:?} is not an http:// or https:// URL"),
                )
            })?;
        if host.is_empty() || host.starts_with('/') {
            return Err(invalid(SETTING, format!("{url:?} has no host")));
        }
        let mut c = RegistryConfig::new(url);
        c.username = present(&self.username).map(str::to_owned);
        c.password = present(&self.password).map(Secret::new);
        Ok(c)
    }
}

/// Which store `serve` keeps the totals in.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    /// MongoDB (or FerretDB) at `MONGODB_URI`.
    Mongodb,
    /// In memory, lost on exit: for trials only.
    Memory,
}

/// `TRAINING_MONGO_GUARD`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardArg {
    /// Chosen from the server (`version` on MongoDB, `id-only` on FerretDB).
    Auto,
    /// Compare-and-set on the bucket's version.
    Version,
    /// `_id` only (one writer per bucket).
    IdOnly,
}

/// The store.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Store")]
pub(crate) struct StoreArgs {
    /// `mongodb`, or `memory` (totals lost on exit; never chosen silently).
    #[arg(
        long = "store",
        env = "TRAINING_STORE",
        value_enum,
        default_value = "mongodb"
    )]
    pub(crate) kind: StoreKind,
    /// MongoDB connection string.
    #[arg(
        long = "mongodb-uri",
        env = "MONGODB_URI",
        value_name = "URI",
        hide_env_values = true
    )]
    uri: Option<String>,
    /// Database name.
    #[arg(
        long = "db",
        env = "TRAINING_DB",
        value_name = "NAME",
        default_value = "training"
    )]
    db: String,
    /// Event ids the MongoDB store keeps in memory to skip reads (about 100 bytes each; 0 = off).
    #[arg(long = "bucket-cache-ids", env = "TRAINING_BUCKET_CACHE_IDS", value_name = "COUNT",
          default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
    bucket_cache_ids: u64,
    /// Overrides the write guard chosen from the server (for tests).
    #[arg(
        long = "mongo-guard",
        env = "TRAINING_MONGO_GUARD",
        value_enum,
        default_value = "auto"
    )]
    guard: GuardArg,
}

/// Where and how to connect to MongoDB.
#[derive(Debug, Clone)]
pub(crate) struct MongoConfig {
    pub(crate) uri: String,
    pub(crate) db: String,
    pub(crate) guard: Option<Guard>,
    pub(crate) bucket_cache_ids: usize,
}

impl StoreArgs {
    /// MongoDB's settings; the URI must be set and parse.
    pub(crate) async fn mongo(&self) -> Result<MongoConfig, ConfigError> {
        const SETTING: &str = "MONGODB_URI (--mongodb-uri)";
        let uri = present(&self.uri).ok_or(ConfigError::Missing(vec![SETTING]))?;
        mongodb::options::ClientOptions::parse(uri)
            .await
            .map_err(|e| invalid(SETTING, format!("not a MongoDB connection string: {e}")))?;
        if self.db.trim().is_empty() {
            return Err(invalid("TRAINING_DB (--db)", "is empty"));
        }
        Ok(MongoConfig {
            uri: uri.to_owned(),
            db: self.db.clone(),
            guard: match self.guard {
                GuardArg::Auto => None,
                GuardArg::Version => Some(Guard::Version),
                GuardArg::IdOnly => Some(Guard::IdOnly),
            },
            bucket_cache_ids: usize::try_from(self.bucket_cache_ids).unwrap_or(usize::MAX),
        })
    }
}

/// Topic names: the one place they are written.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Topics")]
pub(crate) struct Topics {
    /// Lecture progress events.
    #[arg(
        long = "lecture-topic",
        env = "TRAINING_LECTURE_TOPIC",
        value_name = "TOPIC",
        default_value = "training.lecture-progress"
    )]
    pub(crate) lecture: String,
    /// Attendance events.
    #[arg(
        long = "attendance-topic",
        env = "TRAINING_ATTENDANCE_TOPIC",
        value_name = "TOPIC",
        default_value = "training.attendance"
    )]
    pub(crate) attendance: String,
    /// Quiz submissions.
    #[arg(
        long = "quiz-topic",
        env = "TRAINING_QUIZ_TOPIC",
        value_name = "TOPIC",
        default_value = "training.quiz-submitted"
    )]
    pub(crate) quiz: String,
}

impl Topics {
    /// All three.
    pub(crate) fn all(&self) -> [&str; 3] {
        [&self.lecture, &self.attendance, &self.quiz]
    }
}

/// What the handlers subscribe to: the topics and the consumer-group prefix.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Consumers")]
pub(crate) struct Subscriptions {
    #[command(flatten)]
    pub(crate) topics: Topics,
    /// Consumer-group prefix (`<prefix>.<topic kind>`).
    #[arg(
        long = "group",
        env = "TRAINING_GROUP",
        value_name = "PREFIX",
        default_value = "training-hours"
    )]
    pub(crate) group: String,
}

impl Subscriptions {
    /// `rt` with the handlers' placeholders (`${TRAINING_*_TOPIC}`, `${TRAINING_GROUP}`) given
    /// from these settings, and the runtime's `CONSUME_HANDLERS`, `CONSUME_DEAD_LETTERS` and
    /// `CONSUME_SCHEMA_CHECK`, as the runtime reads them.
    fn apply(&self, rt: Runtime) -> Result<Runtime, ConfigError> {
        rt.var("TRAINING_LECTURE_TOPIC", &self.topics.lecture)
            .var("TRAINING_ATTENDANCE_TOPIC", &self.topics.attendance)
            .var("TRAINING_QUIZ_TOPIC", &self.topics.quiz)
            .var("TRAINING_GROUP", &self.group)
            .env_switches()
            .map_err(|e| invalid("CONSUME_*", e.to_string()))
    }
}

/// The consumers and the store writer.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Consumers")]
pub(crate) struct ConsumerArgs {
    #[command(flatten)]
    pub(crate) subscriptions: Subscriptions,
    /// Shortest time between two store calls (fewer database commands vs lower latency).
    #[arg(long = "write-interval-ms", env = "TRAINING_WRITE_INTERVAL_MS", value_name = "MS",
          default_value_t = 12, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    write_interval_ms: u64,
    /// How batches become store calls; the other modes are the latency benchmark's
    /// baselines (bench/training-latency), not for production.
    #[arg(
        long = "write-mode",
        env = "TRAINING_WRITE_MODE",
        value_name = "MODE",
        default_value = "group",
        hide = true
    )]
    write_mode: WriteMode,
    /// How long before its next store call the writer releases the previous call's handlers
    /// (the benchmark's dial; see `writer::RELEASE_LEAD`).
    #[arg(
        long = "write-release-lead-ms",
        env = "TRAINING_WRITE_RELEASE_LEAD_MS",
        value_name = "MS",
        default_value_t = RELEASE_LEAD.as_millis() as u64,
        value_parser = clap::value_parser!(u64).range(0..=60_000),
        hide = true
    )]
    write_release_lead_ms: u64,
}

impl ConsumerArgs {
    pub(crate) fn write_settings(&self) -> WriteSettings {
        WriteSettings {
            interval: Duration::from_millis(self.write_interval_ms),
            mode: self.write_mode,
            release_lead: Duration::from_millis(self.write_release_lead_ms),
        }
    }

    /// A runtime over `config` with the registry and the subscriptions' settings.
    pub(crate) fn runtime(
        &self,
        config: Config,
        registry: consume_runtime::SchemaRegistry,
    ) -> Result<Runtime, ConfigError> {
        self.subscriptions
            .apply(Runtime::new(config).schema_registry(registry))
    }
}

/// The HTTP listeners and their limits.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "HTTP")]
pub(crate) struct HttpArgs {
    /// The public API and dashboard [default: serve 0.0.0.0:8080, demo 127.0.0.1:8080].
    #[arg(long = "http-addr", env = "TRAINING_HTTP_ADDR", value_name = "ADDR")]
    http_addr: Option<SocketAddr>,
    /// Probes and /metrics; keep it off the ingress [default: serve 0.0.0.0:9090, demo 127.0.0.1:9090].
    #[arg(long = "admin-addr", env = "TRAINING_ADMIN_ADDR", value_name = "ADDR")]
    admin_addr: Option<SocketAddr>,
    /// A request's headers must arrive within this (also the keep-alive idle timeout).
    #[arg(long = "header-read-timeout-ms", env = "TRAINING_HTTP_HEADER_READ_TIMEOUT_MS",
          value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    header_read_timeout_ms: u64,
    /// A request must be answered within this, store calls included (else 503).
    #[arg(long = "request-timeout-ms", env = "TRAINING_HTTP_REQUEST_TIMEOUT_MS", value_name = "MS",
          default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    request_timeout_ms: u64,
    /// Open connections per listener (more wait to be accepted).
    #[arg(long = "max-connections", env = "TRAINING_HTTP_MAX_CONNECTIONS", value_name = "N",
          default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Requests handled at once per listener (more get 503).
    #[arg(long = "max-concurrent-requests", env = "TRAINING_HTTP_MAX_CONCURRENT_REQUESTS",
          value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_concurrent_requests: u64,
    /// Largest request body (larger: 413).
    #[arg(long = "max-body-bytes", env = "TRAINING_HTTP_MAX_BODY_BYTES", value_name = "BYTES",
          default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(0..=1_073_741_824))]
    max_body_bytes: u64,
}

/// The resolved listeners.
#[derive(Debug, Clone)]
pub(crate) struct HttpConfig {
    pub(crate) public: SocketAddr,
    pub(crate) admin: SocketAddr,
    pub(crate) limits: Limits,
}

impl HttpArgs {
    /// The listeners, with the given defaults for the addresses.
    pub(crate) fn resolve(&self, public: SocketAddr, admin: SocketAddr) -> HttpConfig {
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        HttpConfig {
            public: self.http_addr.unwrap_or(public),
            admin: self.admin_addr.unwrap_or(admin),
            limits: Limits {
                header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
                request_timeout: Duration::from_millis(self.request_timeout_ms),
                max_connections: count(self.max_connections),
                max_concurrent_requests: count(self.max_concurrent_requests),
                max_body_bytes: count(self.max_body_bytes),
                ..Limits::default()
            },
        }
    }
}

/// Bearer tokens.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Tokens (HS256 JWT)")]
pub(crate) struct JwtArgs {
    /// Signing secret, at least 32 bytes (`openssl rand -base64 48`).
    #[arg(
        long = "jwt-secret",
        env = "TRAINING_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    secret: Option<String>,
    /// The previous secret, still accepted during a roll-over.
    #[arg(
        long = "jwt-previous-secret",
        env = "TRAINING_JWT_PREVIOUS_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    previous_secret: Option<String>,
    /// Required `aud` claim.
    #[arg(
        long = "jwt-audience",
        env = "TRAINING_JWT_AUDIENCE",
        value_name = "AUDIENCE"
    )]
    audience: Option<String>,
    /// Required `iss` claim.
    #[arg(
        long = "jwt-issuer",
        env = "TRAINING_JWT_ISSUER",
        value_name = "ISSUER"
    )]
    issuer: Option<String>,
    /// Longest validity a token may claim (`exp` − `iat`).
    #[arg(long = "jwt-max-lifetime-s", env = "TRAINING_JWT_MAX_LIFETIME_S", value_name = "SECONDS",
          default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    max_lifetime_s: u64,
    /// Clock skew allowed on `exp` and `nbf`.
    #[arg(long = "jwt-leeway-s", env = "TRAINING_JWT_LEEWAY_S", value_name = "SECONDS",
          default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=60))]
    leeway_s: u64,
}

impl JwtArgs {
    fn resolve(&self, missing: &mut Vec<&'static str>) -> Result<Option<JwtConfig>, ConfigError> {
        let secret = present(&self.secret).ok_or("TRAINING_JWT_SECRET (--jwt-secret)");
        let audience = present(&self.audience).ok_or("TRAINING_JWT_AUDIENCE (--jwt-audience)");
        let issuer = present(&self.issuer).ok_or("TRAINING_JWT_ISSUER (--jwt-issuer)");
        let (secret, audience, issuer) = match (secret, audience, issuer) {
            (Ok(s), Ok(a), Ok(i)) => (s, a, i),
            (s, a, i) => {
                missing.extend([s.err(), a.err(), i.err()].into_iter().flatten());
                return Ok(None);
            }
        };
        let secret = JwtSecret::new(secret)
            .map_err(|e| invalid("TRAINING_JWT_SECRET (--jwt-secret)", e.to_string()))?;
        let mut config = JwtConfig::new(secret, audience, issuer);
        config.previous = present(&self.previous_secret)
            .map(JwtSecret::new)
            .transpose()
            .map_err(|e| {
                invalid(
                    "TRAINING_JWT_PREVIOUS_SECRET (--jwt-previous-secret)",
                    e.to_string(),
                )
            })?;
        config.max_lifetime = Duration::from_secs(self.max_lifetime_s);
        config.leeway = Duration::from_secs(self.leeway_s);
        Ok(Some(config))
    }
}

/// Log output (every command).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Logging (filter: RUST_LOG, default info,librdkafka=warn)")]
pub(crate) struct LogArgs {
    /// `text` (coloured only on a terminal) or `json` (one object per line, for log shippers).
    #[arg(
        long = "log-format",
        env = "TRAINING_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub(crate) format: LogFormat,
}

/// How log lines look.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// `serve`'s settings.
#[derive(Args, Debug, Clone)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    pub(crate) consumers: ConsumerArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    jwt: JwtArgs,
}

/// What `serve` runs with.
#[derive(Debug)]
pub(crate) struct ServeConfig {
    pub(crate) kafka: Config,
    pub(crate) registry: RegistryConfig,
    /// `None`: the in-memory store, asked for by name.
    pub(crate) mongo: Option<MongoConfig>,
    pub(crate) http: HttpConfig,
    pub(crate) jwt: JwtConfig,
}

impl ServeArgs {
    /// Checks everything `serve` needs; names every missing setting at once.
    pub(crate) async fn resolve(&self) -> Result<ServeConfig, ConfigError> {
        let mut missing = Vec::new();
        let brokers = self.kafka.brokers().map_err(|m| missing.push(m)).ok();
        let registry = match self.registry.config() {
            Ok(r) => Some(r),
            Err(ConfigError::Missing(m)) => {
                missing.extend(m);
                None
            }
            Err(e) => return Err(e),
        };
        let mongo = match self.store.kind {
            StoreKind::Memory => None,
            StoreKind::Mongodb => match self.store.mongo().await {
                Ok(m) => Some(m),
                Err(ConfigError::Missing(_)) => {
                    missing
                        .push("MONGODB_URI (--mongodb-uri; or TRAINING_STORE=memory for a trial)");
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let jwt = self.jwt.resolve(&mut missing)?;
        let (Some(brokers), Some(registry), Some(jwt), true) =
            (brokers, registry, jwt, missing.is_empty())
        else {
            return Err(ConfigError::Missing(missing));
        };
        Ok(ServeConfig {
            kafka: self.kafka.runtime_config(brokers)?,
            registry,
            mongo,
            http: self.http.resolve(
                SocketAddr::from(([0, 0, 0, 0], 8080)),
                SocketAddr::from(([0, 0, 0, 0], 9090)),
            ),
            jwt,
        })
    }
}

/// `demo`'s settings.
#[derive(Args, Debug, Clone)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) consumers: ConsumerArgs,
    #[command(flatten)]
    pub(crate) http: HttpArgs,
    /// How long the printed tokens are valid (the demo's secret is random per run).
    #[arg(long = "token-ttl-s", env = "TRAINING_DEMO_TOKEN_TTL_S", value_name = "SECONDS",
          default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub(crate) token_ttl_s: u64,
}

/// `asyncapi`'s settings.
#[derive(Args, Debug, Clone)]
pub(crate) struct AsyncApiArgs {
    #[command(flatten)]
    subscriptions: Subscriptions,
    /// `json` or `yaml`.
    #[arg(long = "format", value_enum, default_value = "json")]
    pub(crate) document_format: DocumentFormat,
}

/// How the AsyncAPI document is written.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentFormat {
    /// Pretty-printed JSON.
    Json,
    /// YAML.
    Yaml,
}

impl AsyncApiArgs {
    /// A runtime that only describes the handlers: it is never run, so it has no Kafka
    /// settings, no schema registry and no handler state.
    pub(crate) fn describing_runtime(&self) -> Result<Runtime, ConfigError> {
        self.subscriptions.apply(Runtime::new(Config::new("")))
    }
}

/// `simulate`'s settings.
#[derive(Args, Debug, Clone)]
pub(crate) struct SimulateArgs {
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    pub(crate) topics: Topics,
    #[command(flatten)]
    pub(crate) load: LoadArgs,
}

impl SimulateArgs {
    /// The Kafka and registry settings (both required).
    pub(crate) fn resolve(&self) -> Result<(Config, RegistryConfig), ConfigError> {
        let mut missing = Vec::new();
        let brokers = self.kafka.brokers().map_err(|m| missing.push(m)).ok();
        let registry = match self.registry.config() {
            Ok(r) => Some(r),
            Err(ConfigError::Missing(m)) => {
                missing.extend(m);
                None
            }
            Err(e) => return Err(e),
        };
        let (Some(brokers), Some(registry)) = (brokers, registry) else {
            return Err(ConfigError::Missing(missing));
        };
        Ok((self.kafka.runtime_config(brokers)?, registry))
    }
}

/// `reconcile`'s settings.
#[derive(Args, Debug, Clone)]
pub(crate) struct ReconcileArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `simulate`'s load.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Load")]
pub(crate) struct LoadArgs {
    /// Simulated learners.
    #[arg(long, value_name = "N", default_value = "200", value_parser = count)]
    learners: usize,
    /// Courses.
    #[arg(long, value_name = "N", default_value = "5", value_parser = count)]
    courses: usize,
    /// Events per second.
    #[arg(long, value_name = "EVENTS_PER_S", default_value = "200", value_parser = rate)]
    rate: f64,
    /// How long to send, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// Fraction of sends that repeat an earlier event.
    #[arg(long, value_name = "FRACTION", default_value = "0.02", value_parser = fraction)]
    duplicates: f64,
    /// Fraction of events that are invalid (must be dead-lettered, never counted).
    #[arg(long, value_name = "FRACTION", default_value = "0.01", value_parser = fraction)]
    invalid: f64,
    /// Spread events' times over this many past days (0: now).
    #[arg(long, value_name = "DAYS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=3650))]
    spread_days: u32,
    /// Seed of the generator (same seed, same events).
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    seed: u64,
    /// Write the expected totals (ground truth) here, as JSON.
    #[arg(long, value_name = "PATH")]
    truth: Option<PathBuf>,
    /// Also send a latency probe (1 s of lecture for a learner of its own) this often, and
    /// write their send times to `--probe-log` (for bench/training-latency's API poller).
    #[arg(long, value_name = "MS", requires = "probe_log",
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    probe_every_ms: Option<u64>,
    /// Where the probes' send times go (JSON).
    #[arg(long, value_name = "PATH", requires = "probe_every_ms")]
    probe_log: Option<PathBuf>,
}

impl LoadArgs {
    pub(crate) fn sim_config(&self) -> SimConfig {
        SimConfig {
            learners: self.learners,
            courses: self.courses,
            rate: self.rate,
            duration: self.duration,
            duplicates: self.duplicates,
            invalid: self.invalid,
            spread_days: self.spread_days,
            seed: self.seed,
            truth: self.truth.clone(),
            probe: self
                .probe_every_ms
                .zip(self.probe_log.clone())
                .map(|(ms, log)| Probe {
                    every: Duration::from_millis(ms),
                    log,
                }),
        }
    }
}

/// A number as typed, `_` allowed between digits (`2_000`).
fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("`{v}` is not a number"))
}

/// A count from 1 to 10 000 000.
fn count(v: &str) -> Result<usize, String> {
    let n: usize = number(v)?;
    (1..=10_000_000)
        .contains(&n)
        .then_some(n)
        .ok_or_else(|| format!("`{v}` is not between 1 and 10000000"))
}

/// Events per second: more than 0, at most 1 000 000.
fn rate(v: &str) -> Result<f64, String> {
    let r: f64 = number(v)?;
    (r > 0.0 && r <= 1e6)
        .then_some(r)
        .ok_or_else(|| format!("`{v}` is not a rate above 0 and at most 1000000"))
}

/// Seconds: more than 0, at most a year.
fn seconds(v: &str) -> Result<Duration, String> {
    let s: f64 = number(v)?;
    (s > 0.0 && s <= 365.0 * 86_400.0)
        .then(|| Duration::from_secs_f64(s))
        .ok_or_else(|| format!("`{v}` is not a number of seconds above 0 and at most a year"))
}

/// A fraction from 0 to 1.
fn fraction(v: &str) -> Result<f64, String> {
    let f: f64 = number(v)?;
    (0.0..=1.0)
        .contains(&f)
        .then_some(f)
        .ok_or_else(|| format!("`{v}` is not between 0 and 1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_not_trusted() {
        assert_eq!(count("2_000"), Ok(2000));
        assert!(count("0").is_err() && count("-1").is_err() && count("1e3").is_err());
        assert_eq!(rate("2_500"), Ok(2500.0));
        for bad in ["0", "-1", "nan", "NaN", "inf", "1e300", "ten"] {
            assert!(rate(bad).is_err(), "{bad}");
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert!(fraction("2").is_err() && fraction("nan").is_err() && fraction("-0.1").is_err());
        assert_eq!(fraction("0.02"), Ok(0.02));
    }
}
