//! Test your `#[consume]` handlers in-process, with no servers (feature `testing`).
//!
//! [`TestKafka`] starts librdkafka's mock cluster (real consumer groups: several partitions,
//! rebalances, committed offsets) and a `mock://` schema registry; [`TestKafka::run`] runs
//! your registered handlers against it exactly as [`Runtime::run`] would in production
//! (same consumers, same commits, same dead letters); [`Running::idle`] waits until every
//! record they subscribe to is handled and committed; then read back what happened:
//! [`Running::handler`] (counters), [`Running::dead_letters`] (records with their headers),
//! [`TestKafka::committed`] (offsets).
//!
//! ```no_run
//! use consume_runtime::testing::TestKafka;
//! use consume_runtime::{consume, HandlerError, Json, Key};
//!
//! #[consume(topic = "orders", group = "billing")]
//! async fn bill(Key(customer): Key<String>, Json(amount): Json<u32>) -> Result<(), HandlerError> {
//!     if amount == 0 {
//!         return Err(HandlerError::permanent("empty order"));
//!     }
//!     let _ = customer;
//!     Ok(())
//! }
//!
//! #[tokio::test]
//! async fn an_empty_order_is_dead_lettered() -> Result<(), Box<dyn std::error::Error>> {
//!     let kafka = TestKafka::start()?;
//!     kafka.send_json("orders", "alice", &12).await?;
//!     kafka.send_json("orders", "bob", &0).await?;
//!
//!     let app = kafka.run(kafka.runtime().only(["bill"])).await?;
//!     app.idle().await?;
//!
//!     assert_eq!(app.handler("bill").handled, 1);
//!     let dead = app.dead_letters("bill").await?;
//!     assert_eq!(dead[0].key.as_deref(), Some(&b"bob"[..]));
//!     assert!(dead[0].header("kafka_dlt-exception-message").is_some());
//!     app.stop().await?;
//!     Ok(())
//! }
//! ```
//!
//! What the mock cluster is not: a proof of the runtime's guarantees against a real broker
//! (the project's own suites run those against Apache Kafka). It has no `CreateTopics` (the
//! kit creates topics itself, with [`TestKafka::topic`] or on first use), and its group
//! coordinator refuses the offset commit a member makes while it hands its partitions over
//! in a rebalance (Kafka accepts it from the current generation), so on the mock a
//! rebalance can redeliver what was handled since the last periodic commit: at least once,
//! as promised, but with more duplicates than against Kafka.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::Serialize;

pub use rdkafka::types::{RDKafkaApiKey as ApiKey, RDKafkaRespErr as ErrorCode};

use crate::avro::AvroSchema;
use crate::metrics::HandlerSnapshot;
use crate::schema_registry::{RegistryConfig, SchemaRegistry};
use crate::{Config, Delivered, HandlerPlan, Metrics, Publisher, Runtime};

/// How long the kit waits for the cluster (metadata, offsets, a boot) before giving up.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong in a test-kit call: a message for the test's output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KitError(String);

impl KitError {
    fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl From<crate::Error> for KitError {
    fn from(e: crate::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<crate::PublishError> for KitError {
    fn from(e: crate::PublishError) -> Self {
        Self(e.to_string())
    }
}

/// An in-process Kafka cluster and schema registry for tests. Dropping it stops the
/// cluster (stop what runs on it first: [`Running::stop`]).
pub struct TestKafka {
    cluster: ClusterThread,
    bootstrap: String,
    registry: SchemaRegistry,
    publisher: Publisher,
    partitions: i32,
    topics: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for TestKafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKafka")
            .field("bootstrap", &self.bootstrap)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

impl TestKafka {
    /// One broker; topics get 4 partitions unless created with [`TestKafka::topic`].
    ///
    /// # Errors
    /// The mock cluster or the publisher cannot start.
    pub fn start() -> Result<Self, KitError> {
        Self::with_brokers(1, 4)
    }

    /// `brokers` brokers; topics the kit creates by itself get `partitions` partitions.
    ///
    /// # Errors
    /// The mock cluster or the publisher cannot start.
    pub fn with_brokers(brokers: i32, partitions: i32) -> Result<Self, KitError> {
        if partitions < 1 {
            return Err(KitError::new(format!(
                "partitions must be at least 1, not {partitions}"
            )));
        }
        let (cluster, bootstrap) = ClusterThread::start(brokers)?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "mock://consume-testing-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let registry =
            SchemaRegistry::new(RegistryConfig::new(name)).map_err(|e| KitError(e.to_string()))?;
        let publisher = Publisher::new(&Config::new(bootstrap.clone()), Some(registry.clone()))?;
        Ok(Self {
            cluster,
            bootstrap,
            registry,
            publisher,
            partitions,
            topics: Mutex::new(BTreeSet::new()),
        })
    }

    /// The cluster's bootstrap servers (for clients of your own).
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates `topic` with `partitions` partitions (unless the kit already has it).
    ///
    /// # Errors
    /// The cluster refused.
    pub fn topic(&self, topic: &str, partitions: i32) -> Result<(), KitError> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if topics.contains(topic) {
            return Ok(());
        }
        self.cluster.create_topic(topic, partitions)?;
        topics.insert(topic.to_owned());
        Ok(())
    }

    fn ensure(&self, topic: &str) -> Result<(), KitError> {
        self.topic(topic, self.partitions)
    }

    /// The settings of a runtime on this cluster: offsets committed every 100 ms (so
    /// [`Running::idle`] returns soon) and a 6 s session with 250 ms heartbeats (the mock
    /// cluster's coordinator waits up to a session timeout for a rebalance to complete),
    /// everything else as in production. Change it and pass it to
    /// [`TestKafka::runtime_with`].
    pub fn config(&self) -> Config {
        Config::new(self.bootstrap.clone())
            .property("auto.commit.interval.ms", "100")
            .property("session.timeout.ms", "6000")
            .property("heartbeat.interval.ms", "250")
    }

    /// A runtime on this cluster and registry with every linked handler; narrow it with
    /// [`Runtime::only`], give it [`Runtime::state`].
    pub fn runtime(&self) -> Runtime {
        self.runtime_with(self.config())
    }

    /// [`TestKafka::runtime`] with settings of your own.
    pub fn runtime_with(&self, config: Config) -> Runtime {
        Runtime::new(config).schema_registry(self.registry.clone())
    }

    /// The `mock://` schema registry [`Avro`](crate::Avro) handlers read from.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    /// The publisher the `send_*` calls use (for `send_raw` with byte header names, tombstones,
    /// explicit partitions' keys, …). Topics it writes to must exist: [`TestKafka::topic`].
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Publishes `value` as JSON with `key` (creating the topic if needed).
    ///
    /// # Errors
    /// Serialization or delivery failures.
    pub async fn send_json<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
    ) -> Result<Delivered, KitError> {
        self.send_json_with_headers(topic, key, value, &[]).await
    }

    /// [`TestKafka::send_json`] with headers.
    ///
    /// # Errors
    /// Serialization or delivery failures.
    pub async fn send_json_with_headers<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivered, KitError> {
        self.ensure(topic)?;
        Ok(self
            .publisher
            .send_json(topic, Some(key.as_bytes()), value, headers)
            .await?)
    }

    /// Publishes `value` in the Confluent Avro wire format, registering `T`'s schema under
    /// `<topic>-value` in the kit's registry (creating the topic if needed).
    ///
    /// # Errors
    /// Registry, encoding or delivery failures.
    pub async fn send_avro<T: AvroSchema + Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
    ) -> Result<Delivered, KitError> {
        self.ensure(topic)?;
        Ok(self
            .publisher
            .send_avro(topic, Some(key.as_bytes()), value, &[])
            .await?)
    }

    /// Publishes raw bytes (`None` key or value: none, a tombstone) with headers (creating
    /// the topic if needed).
    ///
    /// # Errors
    /// Delivery failures.
    pub async fn send_bytes(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivered, KitError> {
        self.ensure(topic)?;
        Ok(self
            .publisher
            .send_bytes(topic, key, value, headers)
            .await?)
    }

    /// Runs `runtime`'s handlers on this cluster until [`Running::stop`] (or drop). Creates
    /// their topics and dead-letter topics (partitioned like their source) if missing and
    /// returns once every handler's consumer is polling. Run a second runtime in the same
    /// group to have a member join (a rebalance); stop one to have it leave.
    ///
    /// # Errors
    /// Boot errors (as from [`Runtime::run`]), or a consumer that did not start in time.
    pub async fn run(&self, runtime: Runtime) -> Result<Running, KitError> {
        let plans = runtime.plan()?;
        for p in &plans {
            for t in &p.topics {
                self.ensure(t)?;
                if let Some(dlq) = p.dead_letter_topic(t) {
                    let partitions = self.partitions_of(t).await?;
                    self.topic(&dlq, partitions)?;
                }
            }
        }
        let metrics = runtime.metrics();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut task = tokio::spawn(runtime.run_until(async {
            let _ = stopped.await;
        }));
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        loop {
            let snapshot = metrics.snapshot();
            let polling = plans.iter().all(|p| {
                snapshot
                    .iter()
                    .any(|h| h.handler == p.name && h.last_poll.is_some())
            });
            if polling {
                break;
            }
            if task.is_finished() {
                return Err(match (&mut task).await {
                    Ok(Err(e)) => e.into(),
                    Ok(Ok(())) => KitError::new("the runtime stopped before its consumers polled"),
                    Err(e) => KitError::new(format!("the runtime panicked: {e}")),
                });
            }
            if Instant::now() > deadline {
                task.abort();
                return Err(KitError::new(format!(
                    "the consumers did not start polling within {CLUSTER_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Running {
            bootstrap: self.bootstrap.clone(),
            plans,
            metrics,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The number of partitions of `topic`.
    ///
    /// # Errors
    /// The topic does not exist or the cluster did not answer.
    pub async fn partitions_of(&self, topic: &str) -> Result<i32, KitError> {
        let bootstrap = self.bootstrap.clone();
        let topic = topic.to_owned();
        blocking(move || {
            let c = client(&bootstrap, None)?;
            partition_count(&c, &topic)
        })
        .await
    }

    /// Offsets `group` has committed on `topic`, by partition (the next offset it would
    /// read; partitions with no commit are left out).
    ///
    /// # Errors
    /// The cluster did not answer.
    pub async fn committed(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<BTreeMap<i32, i64>, KitError> {
        let bootstrap = self.bootstrap.clone();
        let (group, topic) = (group.to_owned(), topic.to_owned());
        blocking(move || committed(&client(&bootstrap, Some(&group))?, &topic)).await
    }

    /// The end offset (high watermark) of each partition of `topic`.
    ///
    /// # Errors
    /// The cluster did not answer.
    pub async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<i32, i64>, KitError> {
        let bootstrap = self.bootstrap.clone();
        let topic = topic.to_owned();
        blocking(move || end_offsets(&client(&bootstrap, None)?, &topic)).await
    }

    /// Every record of `topic` from the beginning to its current end, by partition then
    /// offset.
    ///
    /// # Errors
    /// The cluster did not answer.
    pub async fn records(&self, topic: &str) -> Result<Vec<Record>, KitError> {
        let bootstrap = self.bootstrap.clone();
        let topic = topic.to_owned();
        blocking(move || read_all(&bootstrap, &topic)).await
    }

    /// Makes the next requests of kind `api` fail with `errors`, one error per request, in
    /// order (e.g. `ApiKey::OffsetCommit` with `ErrorCode::RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS`;
    /// `RD_KAFKA_RESP_ERR__TRANSPORT` disconnects the client instead).
    pub fn fail_requests(&self, api: ApiKey, errors: &[ErrorCode]) {
        self.cluster
            .send(Command::RequestErrors(api, errors.to_vec()));
    }

    /// Takes broker `id` (1-based) down, or brings it back up.
    ///
    /// # Errors
    /// No such broker.
    pub fn broker(&self, id: i32, up: bool) -> Result<(), KitError> {
        self.cluster.call(|reply| Command::Broker { id, up, reply })
    }
}

/// A record read back from the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key (`None`: no key).
    pub key: Option<Vec<u8>>,
    /// Value (`None`: a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in order, names as bytes (they need not be UTF-8), `None` for a null value.
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Record {
    /// The value of the first header named `name`, as text (lossy); `None` if absent or null.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The value parsed as JSON.
    ///
    /// # Errors
    /// No value, or not JSON of that shape.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, KitError> {
        let v = self
            .value
            .as_deref()
            .ok_or_else(|| KitError::new("a tombstone has no JSON"))?;
        serde_json::from_slice(v).map_err(|e| KitError(e.to_string()))
    }
}

/// Handlers running on a [`TestKafka`]; [`Running::stop`] shuts them down gracefully (as on
/// SIGTERM). Dropped without `stop`, they are asked to stop and not waited for.
#[derive(Debug)]
pub struct Running {
    bootstrap: String,
    plans: Vec<Arc<HandlerPlan>>,
    metrics: Metrics,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), crate::Error>>>,
}

impl Running {
    /// The runtime's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The counters of handler `name` (all zero if it is not running here).
    pub fn handler(&self, name: &str) -> HandlerSnapshot {
        self.metrics
            .snapshot()
            .into_iter()
            .find(|h| h.handler == name)
            .unwrap_or_default()
    }

    /// [`Running::idle_within`] 30 s.
    ///
    /// # Errors
    /// See [`Running::idle_within`].
    pub async fn idle(&self) -> Result<(), KitError> {
        self.idle_within(Duration::from_secs(30)).await
    }

    /// Waits until every handler's group has committed every partition of its topics up to
    /// the partition's end: everything published so far is handled (or dead-lettered) and
    /// committed.
    ///
    /// # Errors
    /// Not idle in time (naming the partitions still behind), or the runtime ended.
    pub async fn idle_within(&self, timeout: Duration) -> Result<(), KitError> {
        let deadline = Instant::now() + timeout;
        let groups: Vec<(String, Vec<String>)> = self
            .plans
            .iter()
            .map(|p| (p.group.clone(), p.topics.clone()))
            .collect();
        let bootstrap = self.bootstrap.clone();
        let clients = blocking(move || {
            groups
                .into_iter()
                .map(|(g, topics)| Ok((client(&bootstrap, Some(&g))?, g, topics)))
                .collect::<Result<Vec<_>, KitError>>()
        })
        .await?;
        let clients = Arc::new(clients);
        loop {
            if self.task.as_ref().is_none_or(|t| t.is_finished()) {
                return Err(KitError::new("the runtime is not running"));
            }
            let c = Arc::clone(&clients);
            let behind = blocking(move || {
                let mut behind = Vec::new();
                for (consumer, group, topics) in c.iter() {
                    for t in topics {
                        let ends = end_offsets(consumer, t)?;
                        let done = committed(consumer, t)?;
                        for (p, end) in ends {
                            let at = done.get(&p).copied().unwrap_or(0);
                            if at < end {
                                behind.push(format!("{group} {t}/{p} at {at} of {end}"));
                            }
                        }
                    }
                }
                Ok(behind)
            })
            .await?;
            if behind.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(KitError::new(format!(
                    "not idle after {timeout:?}: {}",
                    behind.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The records handler `name` dead-lettered so far, from each of its dead-letter topics.
    ///
    /// # Errors
    /// The handler is not running here or has dead letters off; the cluster did not answer.
    pub async fn dead_letters(&self, name: &str) -> Result<Vec<Record>, KitError> {
        let plan = self
            .plans
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| KitError::new(format!("no handler `{name}` runs here")))?;
        let routes = plan
            .dead_letter_routes()
            .ok_or_else(|| KitError::new(format!("`{name}` has dead letters off")))?;
        let topics: BTreeSet<String> = routes.iter().map(|(_, dlq)| dlq.clone()).collect();
        let bootstrap = self.bootstrap.clone();
        blocking(move || {
            let mut all = Vec::new();
            for t in topics {
                all.extend(read_all(&bootstrap, &t)?);
            }
            Ok(all)
        })
        .await
    }

    /// Shuts the handlers down gracefully (finish, commit, leave the group) and returns
    /// what [`Runtime::run_until`] returned.
    ///
    /// # Errors
    /// The runtime's error, or a panic in it.
    pub async fn stop(mut self) -> Result<(), KitError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(r) => Ok(r?),
                Err(e) => Err(KitError::new(format!("the runtime panicked: {e}"))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs blocking client calls off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KitError> + Send + 'static,
) -> Result<T, KitError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KitError::new(format!("a test-kit call panicked: {e}")))?
}

fn client(bootstrap: &str, group: Option<&str>) -> Result<BaseConsumer, KitError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    if let Some(g) = group {
        c.set("group.id", g);
    }
    c.create()
        .map_err(|e| KitError::new(format!("a test-kit client: {e}")))
}

fn partition_count(c: &BaseConsumer, topic: &str) -> Result<i32, KitError> {
    let md = c
        .fetch_metadata(Some(topic), CLUSTER_TIMEOUT)
        .map_err(|e| KitError::new(format!("metadata of {topic}: {e}")))?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .ok_or_else(|| KitError::new(format!("no topic {topic}")))?;
    i32::try_from(t.partitions().len()).map_err(|_| KitError::new("too many partitions"))
}

fn end_offsets(c: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, i64>, KitError> {
    (0..partition_count(c, topic)?)
        .map(|p| {
            c.fetch_watermarks(topic, p, CLUSTER_TIMEOUT)
                .map(|(_, high)| (p, high))
                .map_err(|e| KitError::new(format!("end offset of {topic}/{p}: {e}")))
        })
        .collect()
}

fn committed(c: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, i64>, KitError> {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partition_count(c, topic)? {
        tpl.add_partition(topic, p);
    }
    let tpl = c
        .committed_offsets(tpl, CLUSTER_TIMEOUT)
        .map_err(|e| KitError::new(format!("committed offsets of {topic}: {e}")))?;
    Ok(tpl
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect())
}

fn read_all(bootstrap: &str, topic: &str) -> Result<Vec<Record>, KitError> {
    // assign() needs a group id, though this reader never joins or commits.
    let c = client(bootstrap, Some("consume-testing-reader"))?;
    let ends = end_offsets(&c, topic)?;
    let mut tpl = TopicPartitionList::new();
    let mut remaining = 0;
    for (&p, &end) in &ends {
        if end > 0 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .map_err(|e| KitError(e.to_string()))?;
            remaining += 1;
        }
    }
    let mut records = Vec::new();
    if remaining == 0 {
        return Ok(records);
    }
    c.assign(&tpl)
        .map_err(|e| KitError::new(format!("reading {topic}: {e}")))?;
    let deadline = Instant::now() + CLUSTER_TIMEOUT;
    while remaining > 0 {
        if Instant::now() > deadline {
            return Err(KitError::new(format!(
                "reading {topic}: its records did not arrive within {CLUSTER_TIMEOUT:?}"
            )));
        }
        let Some(m) = c.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.map_err(|e| KitError::new(format!("reading {topic}: {e}")))?;
        if m.offset() + 1 == ends[&m.partition()] {
            remaining -= 1;
        }
        if m.offset() >= ends[&m.partition()] {
            continue;
        }
        records.push(Record {
            topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.as_bytes().to_vec(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

/// What the cluster's own thread is asked to do.
enum Command {
    CreateTopic {
        topic: String,
        partitions: i32,
        reply: mpsc::Sender<Result<(), KitError>>,
    },
    RequestErrors(ApiKey, Vec<ErrorCode>),
    Broker {
        id: i32,
        up: bool,
        reply: mpsc::Sender<Result<(), KitError>>,
    },
}

/// librdkafka's mock cluster lives on a thread of its own (its handle cannot cross threads),
/// so a [`TestKafka`] can be shared by tasks; it stops when the kit is dropped.
struct ClusterThread {
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ClusterThread {
    fn start(brokers: i32) -> Result<(Self, String), KitError> {
        let (commands, inbox) = mpsc::channel::<Command>();
        let (ready, started) = mpsc::channel::<Result<String, KitError>>();
        let thread = std::thread::Builder::new()
            .name("consume-testing-cluster".to_owned())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(KitError::new(format!(
                            "starting the mock cluster: {e}"
                        ))));
                        return;
                    }
                };
                let _ = ready.send(Ok(cluster.bootstrap_servers()));
                for command in inbox {
                    match command {
                        Command::CreateTopic {
                            topic,
                            partitions,
                            reply,
                        } => {
                            let r = cluster
                                .create_topic(&topic, partitions, 1)
                                .map_err(|e| KitError::new(format!("creating topic {topic}: {e}")));
                            let _ = reply.send(r);
                        }
                        Command::RequestErrors(api, errors) => {
                            cluster.request_errors(api, &errors);
                        }
                        Command::Broker { id, up, reply } => {
                            let r = if up {
                                cluster.broker_up(id)
                            } else {
                                cluster.broker_down(id)
                            };
                            let _ = reply
                                .send(r.map_err(|e| KitError::new(format!("broker {id}: {e}"))));
                        }
                    }
                }
            })
            .map_err(|e| KitError::new(format!("starting the mock cluster's thread: {e}")))?;
        let bootstrap = started
            .recv()
            .map_err(|_| KitError::new("the mock cluster's thread ended"))??;
        Ok((
            Self {
                commands: Some(commands),
                thread: Some(thread),
            },
            bootstrap,
        ))
    }

    fn send(&self, command: Command) {
        if let Some(c) = &self.commands {
            let _ = c.send(command);
        }
    }

    fn call(
        &self,
        command: impl FnOnce(mpsc::Sender<Result<(), KitError>>) -> Command,
    ) -> Result<(), KitError> {
        let (reply, answer) = mpsc::channel();
        self.send(command(reply));
        answer
            .recv()
            .map_err(|_| KitError::new("the mock cluster's thread ended"))?
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), KitError> {
        self.call(|reply| Command::CreateTopic {
            topic: topic.to_owned(),
            partitions,
            reply,
        })
    }
}

impl Drop for ClusterThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop, which drops the cluster.
        self.commands.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
