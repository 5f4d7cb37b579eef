//! [`Runtime`]: boot (discover, validate, connect), run, and shut down gracefully.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::consumer::context::MonitorSettings;
use crate::consumer::dead_letter::Route;
use crate::consumer::member::{self, MemberSpec};
use crate::consumer::partition::HandlerShared;
use crate::error::Error;
use crate::extract::StateMap;
use crate::metrics::Metrics;
use crate::registry::{self, HandlerPlan, Registration};
use crate::schema_check::SchemaCheck;

/// Runs every `#[consume]` handler linked into the binary.
///
/// ```no_run
/// # async fn demo() -> Result<(), consume_runtime::Error> {
/// consume_runtime::Runtime::from_env()?
///     .state(String::from("shared"))
///     .run()
///     .await
/// # }
/// ```
pub struct Runtime {
    config: Config,
    state: StateMap,
    selectors: Vec<String>,
    create_topics: Option<i32>,
    metrics: Metrics,
    registrations: Option<Vec<&'static Registration>>,
    vars: std::collections::BTreeMap<String, String>,
    schema_check: SchemaCheck,
    dead_letters: bool,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("selectors", &self.selectors)
            .field("create_topics", &self.create_topics)
            .finish()
    }
}

impl Runtime {
    /// A runtime with the given settings, running every linked handler.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            state: StateMap::new(),
            selectors: Vec::new(),
            create_topics: None,
            metrics: Metrics::default(),
            registrations: None,
            vars: std::collections::BTreeMap::new(),
            schema_check: SchemaCheck::default(),
            dead_letters: true,
        }
    }

    /// Settings from the environment ([`Config::from_env`]); `CONSUME_HANDLERS`
    /// (comma-separated handler names or `group:<id>`) limits which handlers run;
    /// `SCHEMA_REGISTRY_URL` (with `SCHEMA_REGISTRY_USERNAME`/`_PASSWORD`) configures the
    /// schema registry used by `Avro<T>`.
    ///
    /// # Errors
    /// [`Error::Config`] for unparsable variables.
    pub fn from_env() -> Result<Self, Error> {
        let mut rt = Self::new(Config::from_env()?);
        if let Some(rc) = crate::schema_registry::RegistryConfig::from_env() {
            let sr = crate::schema_registry::SchemaRegistry::new(rc)
                .map_err(|e| Error::Config(e.to_string()))?;
            rt = rt.schema_registry(sr);
        }
        rt.env_switches()
    }

    /// Applies the runtime's own switches from the environment (`CONSUME_HANDLERS`,
    /// `CONSUME_DEAD_LETTERS=on|off`, `CONSUME_SCHEMA_CHECK=fail|warn|off`), for an
    /// application that builds its [`Config`] and registry itself but keeps these variables.
    ///
    /// # Errors
    /// [`Error::Config`] for unparsable values (naming the variable).
    pub fn env_switches(self) -> Result<Self, Error> {
        let mut rt = self;
        if let Ok(v) = std::env::var("CONSUME_DEAD_LETTERS") {
            rt.dead_letters = match v.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                other => {
                    return Err(Error::Config(format!(
                        "CONSUME_DEAD_LETTERS={other:?}: expected `on` or `off`"
                    )));
                }
            };
        }
        if let Ok(v) = std::env::var("CONSUME_SCHEMA_CHECK") {
            rt.schema_check = SchemaCheck::parse(&v)?;
        }
        if let Ok(sel) = std::env::var("CONSUME_HANDLERS") {
            rt = rt.only(sel.split(',').map(str::trim).filter(|s| !s.is_empty()));
        }
        Ok(rt)
    }

    /// Provides a value for handlers taking `State<T>` (one value per type).
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// What the boot-time schema check does with an `Avro<T>` handler whose type cannot read
    /// its topic's latest writer schema (`CONSUME_SCHEMA_CHECK=fail|warn|off`; default: fail).
    pub fn schema_check(mut self, mode: SchemaCheck) -> Self {
        self.schema_check = mode;
        self
    }

    /// Whether messages that failed for good go to `<topic>.<group>.dlq` (default: on;
    /// `CONSUME_DEAD_LETTERS=off`). Off: they are logged at error level and skipped. The
    /// dead-letter topics are created at boot when missing, partitioned like their source.
    pub fn dead_letters(mut self, on: bool) -> Self {
        self.dead_letters = on;
        self
    }

    /// The schema registry `Avro<T>` extractors use.
    pub fn schema_registry(mut self, registry: crate::schema_registry::SchemaRegistry) -> Self {
        self.state.insert(registry);
        self
    }

    /// Runs only the selected handlers: names, or `group:<group id>`. Lets one binary be
    /// deployed as several Deployments.
    pub fn only<I, S>(mut self, selectors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.selectors.extend(selectors.into_iter().map(Into::into));
        self
    }

    /// Gives a value to a `${NAME}` placeholder of topics and groups; takes precedence over
    /// the environment variable of the same name.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Creates subscribed topics that do not exist (with this many partitions, replication
    /// factor from the broker default) instead of failing at boot.
    pub fn create_missing_topics(mut self, partitions: i32) -> Self {
        self.create_topics = Some(partitions);
        self
    }

    /// Uses these registrations instead of the ones linked into the binary (for tests).
    #[doc(hidden)]
    pub fn with_registrations(mut self, regs: Vec<&'static Registration>) -> Self {
        self.registrations = Some(regs);
        self
    }

    /// The runtime's metrics (live while it runs).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Discovers and validates the handlers without connecting to Kafka.
    ///
    /// # Errors
    /// No handlers, duplicates, missing state, unresolved placeholders, unknown selectors.
    pub fn plan(&self) -> Result<Vec<Arc<HandlerPlan>>, Error> {
        let regs = self
            .registrations
            .clone()
            .unwrap_or_else(registry::registrations);
        registry::plan(
            &regs,
            &self.selectors,
            &self.state,
            self.dead_letters,
            &|k| self.var_value(k),
        )
    }

    /// The AsyncAPI 3.0 document of the handlers this runtime would run: topics, groups and
    /// dead-letter topics resolved as [`Runtime::plan`] resolves them (placeholders, handler
    /// filter, dead-letter switch), without connecting to anything and without needing the
    /// handlers' state. See [`asyncapi`](mod@crate::asyncapi).
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), consume_runtime::Error> {
    /// use consume_runtime::{asyncapi::Info, Runtime};
    /// let doc = Runtime::from_env()?.asyncapi(&Info::new("billing", "1.4.0"))?;
    /// println!("{}", doc.to_yaml()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// What [`Runtime::plan`] reports, except missing state; an `Avro<T>` schema that is not
    /// JSON.
    pub fn asyncapi(
        &self,
        info: &crate::asyncapi::Info,
    ) -> Result<crate::asyncapi::AsyncApi, Error> {
        let regs = self
            .registrations
            .clone()
            .unwrap_or_else(registry::registrations);
        let plans = registry::resolve(&regs, &self.selectors, self.dead_letters, &|k| {
            self.var_value(k)
        })?;
        crate::asyncapi::document(&plans, info)
    }

    /// A placeholder's value: [`Runtime::var`], else the environment.
    fn var_value(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully (a second signal exits at
    /// once).
    ///
    /// # Errors
    /// Boot errors (see [`Error`]); once running, failures are logged and retried, not
    /// returned.
    pub async fn run(self) -> Result<(), Error> {
        self.run_until(async {
            crate::shutdown::signal().await;
            crate::shutdown::exit_on_second_signal();
        })
        .await
    }

    /// Runs until `shutdown` completes, then shuts down gracefully: every partition worker
    /// finishes the message in hand (up to `shutdown_timeout`), offsets are committed, and
    /// the consumers leave their groups.
    ///
    /// # Errors
    /// Boot errors (see [`Error`]).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let plans = self.plan()?;
        for p in &plans {
            tracing::info!(
                handler = %p.name, topics = ?p.topics, group = %p.group, at = %p.location,
                "handler registered"
            );
        }
        crate::schema_check::run(&plans, &self.state, self.schema_check).await?;
        let config = self.config.clone();
        let create = self.create_topics;
        let check_plans = plans.clone();
        tokio::task::spawn_blocking(move || {
            crate::boot::check_cluster(&config, &check_plans, create)
        })
        .await
        .map_err(|e| Error::Config(format!("boot check panicked: {e}")))??;

        let dead_letter_publisher = if self.dead_letters {
            let registry = self
                .state
                .get::<crate::schema_registry::SchemaRegistry>()
                .cloned();
            Some(
                crate::publish::Publisher::new(&self.config, registry)
                    .map_err(|e| Error::Config(format!("dead-letter producer: {e}")))?,
            )
        } else {
            None
        };
        let state = Arc::new(self.state);
        let stop = Arc::new(AtomicBool::new(false));
        let mut finished = Vec::with_capacity(plans.len());
        for p in &plans {
            let metrics = self.metrics.handler(&p.name, &p.group);
            let dead_letters = match (&dead_letter_publisher, p.dead_letter_routes()) {
                (Some(publisher), Some(routes)) => Some(Route {
                    publisher: publisher.clone(),
                    topics: routes
                        .iter()
                        .map(|(t, dlq)| (Arc::from(t.as_str()), Arc::from(dlq.as_str())))
                        .collect(),
                    handler: Arc::from(p.name.as_str()),
                    group: Arc::from(p.group.as_str()),
                    metrics: Arc::clone(&metrics),
                }),
                _ => None,
            };
            let shared = Arc::new(HandlerShared {
                name: Arc::from(p.name.as_str()),
                group: Arc::from(p.group.as_str()),
                state: Arc::clone(&state),
                retry: p.options.retry_policy(self.config.retry),
                metrics,
                rt: tokio::runtime::Handle::current(),
                dead_letters,
                options: p.options,
            });
            let spec = MemberSpec {
                handler: p.handler.clone(),
                shared,
                topics: p.topics.clone(),
                config: self.config.consumer_config(&p.name, &p.group)?,
                drain_timeout: self.config.drain_timeout,
                shutdown_timeout: self.config.shutdown_timeout,
                monitor: MonitorSettings {
                    stall_after: self.config.stall_after,
                    read_committed: self.config.read_committed(),
                },
                oauth: self.config.token_provider()?,
            };
            let member = member::connect(&spec)?;
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("consume-{}", p.name))
                .spawn(move || {
                    member::drive(&spec, member, &stop);
                    let _ = tx.send(());
                })
                .map_err(|e| Error::Config(format!("cannot start a consumer thread: {e}")))?;
            finished.push(rx);
        }
        tracing::info!(handlers = plans.len(), "consumers started");

        shutdown.await;
        stop.store(true, Ordering::SeqCst);
        for rx in finished {
            let _ = rx.await;
        }
        tracing::info!("all consumers stopped");
        Ok(())
    }
}
