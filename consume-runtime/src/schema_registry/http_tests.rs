//! The HTTP client's failure handling against a scripted local HTTP server (the real
//! registry on this machine runs without auth and never fails on cue): basic auth is sent,
//! 401 is not retried, 5xx and timeouts are retried then reported as unavailable, 404 is
//! "not found".

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{RegistryConfig, RegistryError, SchemaRegistry};
use crate::secret::Secret;

/// Serves each connection with `respond(request_text) -> Option<(status, body)>`;
/// `None` never answers. Returns the base URL and a request counter.
async fn server(
    respond: impl Fn(&str) -> Option<(u16, String)> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/apis/ccompat/v7",
        listener.local_addr().expect("addr")
    );
    let count = Arc::new(AtomicUsize::new(0));
    let respond = Arc::new(respond);
    let c = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let respond = Arc::clone(&respond);
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                c.fetch_add(1, Ordering::SeqCst);
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                match respond(&req) {
                    Some((status, body)) => {
                        let resp = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (url, count)
}

fn client(url: &str, user: Option<(&str, &str)>) -> SchemaRegistry {
    let mut c = RegistryConfig::new(url);
    c.timeout = Duration::from_millis(300);
    if let Some((u, p)) = user {
        c.username = Some(u.to_owned());
        c.password = Some(Secret::new(p));
    }
    SchemaRegistry::new(c).expect("client")
}

#[tokio::test]
async fn basic_auth_is_sent_and_a_refusal_is_not_retried() {
    // "svc:s3cret" in base64.
    let (url, count) = server(|req| {
        let auth = req.lines().any(|l| {
            l.to_ascii_lowercase().starts_with("authorization:")
                && l.trim_end().ends_with("Basic c3ZjOnMzY3JldA==")
        });
        if auth {
            Some((200, r#"{"schema":"\"string\""}"#.to_owned()))
        } else {
            Some((
                401,
                r#"{"error_code":401,"message":"Unauthorized"}"#.to_owned(),
            ))
        }
    })
    .await;
    let ok = client(&url, Some(("svc", "s3cret")))
        .schema_by_id(7)
        .await
        .expect("authorized");
    assert_eq!(ok.schema, "\"string\"");
    let before = count.load(Ordering::SeqCst);
    let err = client(&url, Some(("svc", "wrong")))
        .schema_by_id(7)
        .await
        .expect_err("refused");
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        count.load(Ordering::SeqCst) - before,
        1,
        "a refusal is not retried"
    );
    assert!(
        !err.to_string().contains("wrong"),
        "the password is not in the error"
    );
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_then_unavailable() {
    let (url, count) = server(|_| Some((503, "{}".to_owned()))).await;
    let err = client(&url, None).schema_by_id(1).await.expect_err("503");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 3, "three attempts");

    let (url, _) = server(|_| None).await;
    let started = std::time::Instant::now();
    let err = client(&url, None)
        .latest("s-value")
        .await
        .expect_err("timeout");
    assert!(err.is_retryable(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn not_found_and_paths() {
    let (url, _) = server(|req| {
        let line = req.lines().next().unwrap_or_default().to_owned();
        if line.starts_with("GET /apis/ccompat/v7/subjects/a%2Fb-value/versions/latest ") {
            Some((
                200,
                r#"{"subject":"a/b-value","version":3,"id":9,"schema":"\"int\""}"#.to_owned(),
            ))
        } else {
            Some((
                404,
                r#"{"error_code":40403,"message":"Schema not found"}"#.to_owned(),
            ))
        }
    })
    .await;
    let c = client(&url, None);
    let latest = c
        .latest("a/b-value")
        .await
        .expect("subject path is escaped");
    assert_eq!((latest.version, latest.id), (3, 9));
    let err = c.schema_by_id(5).await.expect_err("404");
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn concurrent_first_lookups_of_one_id_make_one_request() {
    let (url, count) = server(|_| {
        std::thread::sleep(Duration::from_millis(50));
        Some((200, r#"{"schema":"\"long\""}"#.to_owned()))
    })
    .await;
    let c = client(&url, None);
    let lookups = (0..10).map(|_| c.schema_by_id(42));
    let results = futures::future::join_all(lookups).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|s| s.schema == "\"long\""))
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one request for ten callers"
    );
    c.schema_by_id(42).await.expect("cached");
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "served from memory afterwards"
    );
}

#[tokio::test]
async fn not_found_is_asked_once_however_often_and_concurrently() {
    let (url, count) = server(|_| {
        std::thread::sleep(Duration::from_millis(50));
        Some((
            404,
            r#"{"error_code":40403,"message":"Schema not found"}"#.to_owned(),
        ))
    })
    .await;
    let c = client(&url, None);
    let lookups = (0..10).map(|_| c.schema_by_id(77));
    let results = futures::future::join_all(lookups).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(RegistryError::NotFound { .. })))
    );
    for _ in 0..1000 {
        let err = c.schema_by_id(77).await.expect_err("404");
        assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one request within the TTL"
    );
    assert_eq!(c.cache_sizes(), (0, 1));
}

#[tokio::test]
async fn a_transient_failure_is_not_remembered() {
    let served = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&served);
    let (url, count) = server(move |_| {
        // Down for the three attempts of the first call, then up.
        if s.fetch_add(1, Ordering::SeqCst) < 3 {
            Some((503, "{}".to_owned()))
        } else {
            Some((200, r#"{"schema":"\"bytes\""}"#.to_owned()))
        }
    })
    .await;
    let c = client(&url, None);
    let err = c.schema_by_id(8).await.expect_err("503");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(c.cache_sizes(), (0, 0), "nothing kept after a failure");
    let ok = c.schema_by_id(8).await.expect("up again");
    assert_eq!(ok.schema, "\"bytes\"");
    assert_eq!(count.load(Ordering::SeqCst), 4);
    assert_eq!(c.cache_sizes(), (1, 0));
}

#[tokio::test]
async fn a_cancelled_lookup_leaves_nothing_behind() {
    let (url, _) = server(|_| None).await;
    let c = client(&url, None);
    let slow = tokio::time::timeout(Duration::from_millis(50), c.schema_by_id(3)).await;
    assert!(slow.is_err(), "still waiting for the registry");
    assert_eq!(c.cache_sizes(), (0, 0));
}
