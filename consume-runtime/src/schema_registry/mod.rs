//! A Confluent Schema Registry client: schema by id (cached, one request per id however many
//! callers ask at once), latest by subject, register, compatibility check.
//!
//! Caching of schemas by id: a schema found is kept for the life of the client (the registry
//! never changes the schema of an id). An id the registry does not have is answered from
//! memory for 30 s (at most 1024 such ids, the oldest dropped first), so records with unknown
//! ids cost at most one request per id and per 30 s; any other failure (registry down, …)
//! is not remembered and the next lookup asks again.
//!
//! Works against Confluent's registry and Apicurio's `/apis/ccompat/v7`. `mock://<scope>`
//! URLs select an in-process registry (the convention of Confluent's own clients) for tests
//! and demos: every client with the same scope shares it.
//!
//! Why not `schema_registry_converter`: we need errors classified as retryable (registry
//! down) or permanent (unknown id) for the dead-letter rules, single-flight lookups, a
//! `mock://` registry, and schemas handed to our own compiled Avro decoder; wrapping it would
//! have left most of that to write anyway.

mod cache;
mod error;
mod http;
#[cfg(test)]
mod http_tests;
mod mock;
mod not_found;

use std::sync::Arc;
use std::time::Duration;

pub use error::RegistryError;

use crate::secret::Secret;

/// A schema as stored in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// The registry's id (what the Confluent wire format carries).
    pub id: u32,
    /// The schema text (Avro JSON).
    pub schema: String,
}

/// A subject's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    /// Subject, e.g. `orders-value`.
    pub subject: String,
    /// Version number within the subject.
    pub version: i32,
    /// Schema id.
    pub id: u32,
    /// Schema text.
    pub schema: String,
}

/// How to reach the registry.
#[derive(Clone)]
pub struct RegistryConfig {
    /// Base URL, e.g. `http://registry:8081` or `http://host/apis/ccompat/v7`, or
    /// `mock://<scope>`.
    pub url: String,
    /// Basic-auth user.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<Secret>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per call for transient failures (connection refused, 5xx, timeout).
    pub attempts: u32,
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl RegistryConfig {
    /// Defaults for `url`: no auth, 5 s timeout, 3 attempts.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            username: None,
            password: None,
            timeout: Duration::from_secs(5),
            attempts: 3,
        }
    }

    /// From `SCHEMA_REGISTRY_URL`, `SCHEMA_REGISTRY_USERNAME`, `SCHEMA_REGISTRY_PASSWORD`
    /// (or Confluent's `SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=user:password`); `None` when no
    /// URL is set.
    pub fn from_env() -> Option<Self> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_vars(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let url = get("SCHEMA_REGISTRY_URL").filter(|u| !u.is_empty())?;
        let mut c = Self::new(url);
        c.username = get("SCHEMA_REGISTRY_USERNAME");
        c.password = get("SCHEMA_REGISTRY_PASSWORD").map(Secret::new);
        if let Some(info) = get("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO")
            && let Some((u, p)) = info.split_once(':')
        {
            c.username = Some(u.to_owned());
            c.password = Some(Secret::new(p));
        }
        Some(c)
    }
}

enum Backend {
    Http(http::HttpRegistry),
    Mock(Arc<mock::MockRegistry>),
}

static NEXT_INSTANCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The registry client. Cheap to clone (shared cache).
#[derive(Clone)]
pub struct SchemaRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    /// Distinguishes clients in process-wide caches (ids are per registry).
    instance: u64,
    backend: Backend,
    url: String,
    by_id: cache::SchemaCache,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("url", &self.inner.url)
            .finish()
    }
}

impl SchemaRegistry {
    /// A client for `config.url` (`mock://<scope>` for the in-process registry).
    ///
    /// # Errors
    /// [`RegistryError::Config`] for an unusable URL or TLS setup.
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        let backend = match config.url.strip_prefix("mock://") {
            Some(scope) => Backend::Mock(mock::MockRegistry::scope(scope)),
            None => Backend::Http(http::HttpRegistry::new(&config)?),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                instance: NEXT_INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                backend,
                url: config.url,
                by_id: cache::SchemaCache::default(),
            }),
        })
    }

    /// A number unique to this client in the process.
    pub(crate) fn instance_id(&self) -> u64 {
        self.inner.instance
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The schema with this id. After the first success it is served from memory; concurrent
    /// first lookups of one id make a single request. "Not found" is remembered briefly (see
    /// the module docs); other failures are not.
    ///
    /// # Errors
    /// [`RegistryError::NotFound`] (permanent) or a transient error (retryable).
    pub async fn schema_by_id(&self, id: u32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.inner
            .by_id
            .get_or_fetch(id, || async {
                match &self.inner.backend {
                    Backend::Http(h) => h.schema_by_id(id).await,
                    Backend::Mock(m) => m.schema_by_id(id),
                }
            })
            .await
    }

    /// (schemas and lookups in flight by id, remembered "not found" ids).
    #[cfg(test)]
    fn cache_sizes(&self) -> (usize, usize) {
        self.inner.by_id.sizes()
    }

    /// The latest version of `subject`.
    ///
    /// # Errors
    /// [`RegistryError::NotFound`] when the subject does not exist.
    pub async fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        match &self.inner.backend {
            Backend::Http(h) => h.latest(subject).await,
            Backend::Mock(m) => m.latest(subject),
        }
    }

    /// Registers `schema` under `subject` (idempotent) and returns its id.
    ///
    /// # Errors
    /// [`RegistryError::Incompatible`] when the subject's compatibility rule refuses it.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let id = match &self.inner.backend {
            Backend::Http(h) => h.register(subject, schema).await?,
            Backend::Mock(m) => m.register(subject, schema)?,
        };
        self.inner.by_id.registered(id);
        Ok(id)
    }

    /// The id of `schema` if it is registered under `subject` (no registration).
    ///
    /// # Errors
    /// [`RegistryError::NotFound`] when it is not.
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        match &self.inner.backend {
            Backend::Http(h) => h.lookup(subject, schema).await,
            Backend::Mock(m) => m.lookup(subject, schema),
        }
    }

    /// Whether `schema` is compatible with the latest version of `subject` under the
    /// subject's rule (`true` when the subject does not exist yet).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn is_compatible(&self, subject: &str, schema: &str) -> Result<bool, RegistryError> {
        match &self.inner.backend {
            Backend::Http(h) => h.is_compatible(subject, schema).await,
            Backend::Mock(m) => Ok(m.is_compatible(subject, schema)),
        }
    }

    /// For the mock registry: makes every call fail as if the registry were down (or
    /// recovers). No effect on a real registry.
    #[doc(hidden)]
    pub fn mock_set_unavailable(&self, down: bool) {
        if let Backend::Mock(m) = &self.inner.backend {
            m.set_unavailable(down);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_vars() {
        let vars = |k: &str| match k {
            "SCHEMA_REGISTRY_URL" => Some("https://sr:8081".to_owned()),
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO" => Some("svc:s3cret".to_owned()),
            _ => None,
        };
        let c = RegistryConfig::from_vars(vars).expect("url set");
        assert_eq!(c.username.as_deref(), Some("svc"));
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(RegistryConfig::from_vars(|_| None).is_none());
    }

    #[tokio::test]
    async fn mock_registry_round_trip_and_single_flight_cache() {
        let sr = SchemaRegistry::new(RegistryConfig::new("mock://unit-rt")).expect("mock");
        let id = sr
            .register("t-value", r#""string""#)
            .await
            .expect("register");
        assert_eq!(
            sr.register("t-value", r#""string""#).await.expect("again"),
            id
        );
        let (a, b) = tokio::join!(sr.schema_by_id(id), sr.schema_by_id(id));
        assert_eq!(a.expect("a").schema, r#""string""#);
        assert!(Arc::ptr_eq(
            &b.expect("b"),
            &sr.schema_by_id(id).await.expect("cached")
        ));
        assert!(matches!(
            sr.schema_by_id(9_999_999).await,
            Err(RegistryError::NotFound { .. })
        ));
        let latest = sr.latest("t-value").await.expect("latest");
        assert_eq!((latest.id, latest.version), (id, 1));
        // A second client on the same scope sees the same registry.
        let other = SchemaRegistry::new(RegistryConfig::new("mock://unit-rt")).expect("mock");
        assert_eq!(other.latest("t-value").await.expect("shared").id, id);
        sr.mock_set_unavailable(true);
        let err = sr.latest("t-value").await.expect_err("down");
        assert!(err.is_retryable(), "{err}");
        sr.mock_set_unavailable(false);
    }

    fn mock(scope: &str) -> SchemaRegistry {
        SchemaRegistry::new(RegistryConfig::new(format!("mock://{scope}"))).expect("mock")
    }

    /// Calls the client made to its mock registry (requests, for a real one).
    fn calls(sr: &SchemaRegistry) -> usize {
        match &sr.inner.backend {
            Backend::Mock(m) => m.calls(),
            Backend::Http(_) => panic!("not a mock registry"),
        }
    }

    #[tokio::test]
    async fn distinct_unknown_ids_cost_one_request_each_in_bounded_memory() {
        use not_found::NOT_FOUND_CAP;
        let sr = mock("unit-unknown-ids");
        let before = calls(&sr);
        for id in 1..=10_000 {
            let err = sr.schema_by_id(id).await.expect_err("unknown");
            assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
            let (cells, not_found) = sr.cache_sizes();
            assert_eq!(cells, 0, "no cell left for a failed lookup (id {id})");
            assert!(
                not_found <= NOT_FOUND_CAP,
                "{not_found} remembered (id {id})"
            );
        }
        assert_eq!(calls(&sr) - before, 10_000, "one request per distinct id");
        // The newest are answered from memory; the oldest were dropped to make room.
        let before = calls(&sr);
        for id in (10_000 - NOT_FOUND_CAP as u32 + 1)..=10_000 {
            sr.schema_by_id(id).await.expect_err("still unknown");
        }
        assert_eq!(calls(&sr), before, "the newest from memory");
        sr.schema_by_id(1).await.expect_err("still unknown");
        assert_eq!(calls(&sr), before + 1, "the oldest asked again");
        assert_eq!(sr.cache_sizes(), (0, NOT_FOUND_CAP));
    }

    #[tokio::test]
    async fn one_unknown_id_costs_one_request_until_registered() {
        let sr = mock("unit-unknown-one");
        let before = calls(&sr);
        for _ in 0..1000 {
            let err = sr.schema_by_id(1).await.expect_err("unknown");
            assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
        }
        assert_eq!(calls(&sr) - before, 1, "one request within the TTL");
        assert_eq!(sr.cache_sizes(), (0, 1));
        // Registered through this client, it is found at once.
        let id = sr.register("u-value", r#""int""#).await.expect("register");
        assert_eq!(id, 1, "the mock's first id");
        assert_eq!(sr.schema_by_id(1).await.expect("found").schema, r#""int""#);
        assert_eq!(sr.cache_sizes(), (1, 0));
    }

    #[tokio::test]
    async fn registry_down_is_not_remembered() {
        let sr = mock("unit-down");
        let id = sr.register("d-value", r#""long""#).await.expect("register");
        sr.mock_set_unavailable(true);
        for asked in [id, id + 1] {
            let err = sr.schema_by_id(asked).await.expect_err("down");
            assert!(err.is_retryable(), "{err}");
        }
        assert_eq!(sr.cache_sizes(), (0, 0), "nothing kept while down");
        sr.mock_set_unavailable(false);
        let before = calls(&sr);
        assert_eq!(sr.schema_by_id(id).await.expect("back").id, id);
        let err = sr.schema_by_id(id + 1).await.expect_err("unknown");
        assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
        assert_eq!(calls(&sr) - before, 2, "both asked again");
    }
}
