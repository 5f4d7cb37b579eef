//! The connection-level limits, against the real server (`api::server::serve`) on loopback:
//! a client that never finishes its headers is disconnected within the header-read timeout,
//! requests beyond the concurrency limit get 503 (JSON, `Retry-After`) instead of queueing,
//! and `/metrics` and the probes are served on the admin listener only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use training_service::api::{self, ApiState, Limits};
use training_service::auth::{JwtConfig, JwtSecret, Role, Verifier};
use training_service::domain::{CoursePage, LearnerTraining, RefinedEvent};
use training_service::store::{
    ApplyReport, MemoryStore, OpsSnapshot, Snapshot, Store, StoreFuture,
};

/// The memory store, with every learner read taking `delay`.
struct SlowStore {
    inner: MemoryStore,
    delay: Duration,
}

impl Store for SlowStore {
    fn apply<'a>(&'a self, events: &'a [RefinedEvent]) -> StoreFuture<'a, ApplyReport> {
        self.inner.apply(events)
    }
    fn learner_training<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, LearnerTraining> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.inner.learner_training(learner_id).await
        })
    }
    fn course_learners<'a>(
        &'a self,
        course_id: &'a str,
        limit: usize,
        after: Option<&'a str>,
    ) -> StoreFuture<'a, CoursePage> {
        self.inner.course_learners(course_id, limit, after)
    }
    fn courses(&self) -> StoreFuture<'_, Vec<String>> {
        self.inner.courses()
    }
    fn snapshot(&self) -> StoreFuture<'_, Snapshot> {
        self.inner.snapshot()
    }
    fn ping(&self) -> StoreFuture<'_, ()> {
        self.inner.ping()
    }
    fn ops(&self) -> OpsSnapshot {
        self.inner.ops()
    }
    fn kind(&self) -> &'static str {
        "slow-memory"
    }
}

fn verifier() -> Arc<Verifier> {
    let secret = JwtSecret::new("http-limits-test-secret-0123456789").expect("secret");
    Arc::new(Verifier::new(JwtConfig::new(secret, "api", "issuer")))
}

/// A public and an admin listener serving `state` until the returned sender is dropped.
struct Servers {
    public: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    _stop: watch::Sender<bool>,
}

async fn start(state: ApiState) -> Servers {
    let (stop, rx) = watch::channel(false);
    let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let servers = Servers {
        public: public.local_addr().expect("addr"),
        admin: admin.local_addr().expect("addr"),
        _stop: stop,
    };
    let limits = state.limits().clone();
    for (listener, router) in [
        (public, api::router(state.clone())),
        (admin, api::admin_router(state.clone())),
    ] {
        let limits = limits.clone();
        let mut rx = rx.clone();
        tokio::spawn(async move {
            api::server::serve(listener, router, &limits, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        });
    }
    servers
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let state = ApiState::new(Arc::new(MemoryStore::new()), verifier()).with_limits(limits);
    let servers = start(state).await;
    let mut stream = TcpStream::connect(servers.public).await.expect("connect");
    let started = Instant::now();
    // Half a request: the blank line that ends the headers never comes.
    stream
        .write_all(b"GET /v1/courses HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    let elapsed = started.elapsed();
    assert!(
        read.is_ok(),
        "still connected 5 s after a half-sent request"
    );
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "disconnected after {elapsed:?}, the timeout is 300 ms"
    );
    // An idle connection (nothing sent at all) is closed the same way.
    let mut idle = TcpStream::connect(servers.public).await.expect("connect");
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "an idle connection stays open");
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_get_503() {
    let store = Arc::new(SlowStore {
        inner: MemoryStore::new(),
        delay: Duration::from_millis(800),
    });
    let verifier = verifier();
    let token = verifier.mint("l1", Role::Learner, Duration::from_secs(60));
    let limits = Limits {
        max_concurrent_requests: 2,
        ..Limits::default()
    };
    let state = ApiState::new(store, verifier).with_limits(limits);
    let servers = start(state).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/learners/l1/training", servers.public);
    let requests = (0..8).map(|_| {
        let request = client.get(&url).bearer_auth(&token).send();
        async move {
            let r = request.await.expect("response");
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").is_some();
            let body: serde_json::Value = r.json().await.expect("JSON body");
            (status, retry_after, body)
        }
    });
    let results = futures::future::join_all(requests).await;
    let ok = results.iter().filter(|(s, _, _)| *s == 200).count();
    let refused: Vec<_> = results.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!((1..=2).contains(&ok), "{results:?}");
    assert_eq!(ok + refused.len(), 8, "{results:?}");
    for (_, retry_after, body) in refused {
        assert!(*retry_after, "503 without Retry-After");
        assert!(body["error"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn a_request_slower_than_the_request_timeout_gets_503() {
    let store = Arc::new(SlowStore {
        inner: MemoryStore::new(),
        delay: Duration::from_secs(30),
    });
    let verifier = verifier();
    let token = verifier.mint("l1", Role::Learner, Duration::from_secs(60));
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let servers = start(ApiState::new(store, verifier).with_limits(limits)).await;
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("http://{}/v1/learners/l1/training", servers.public))
        .bearer_auth(&token)
        .send()
        .await
        .expect("response");
    assert_eq!(r.status().as_u16(), 503);
    assert!(started.elapsed() < Duration::from_secs(5));
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn metrics_and_probes_are_not_on_the_public_port() {
    let state = ApiState::new(Arc::new(MemoryStore::new()), verifier());
    let servers = start(state).await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let public = reqwest::get(format!("http://{}{path}", servers.public))
            .await
            .expect("public");
        assert_eq!(public.status().as_u16(), 404, "{path} on the public port");
        let admin = reqwest::get(format!("http://{}{path}", servers.admin))
            .await
            .expect("admin");
        assert_eq!(admin.status().as_u16(), 200, "{path} on the admin port");
    }
    let text = reqwest::get(format!("http://{}/metrics", servers.admin))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains("training_store_commands_total"), "{text}");
}
