//! The HTTP API over the in-memory store, driven with `tower::ServiceExt::oneshot`: the auth
//! matrix, zeros for unknown learners, pagination, health, readiness, metrics and the page.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use training_service::api::{self, ApiState};
use training_service::auth::{JwtSecret, Role, mint, sign};
use training_service::store::{MemoryStore, Store};

const SECRET: &str = "api-test-secret-do-not-use";

fn secret() -> JwtSecret {
    JwtSecret::new(SECRET).expect("secret")
}

async fn app() -> (Router, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let mut events = Vec::new();
    for i in 0..12 {
        let l = format!("l{i:02}");
        events.push(lecture(&format!("a{i}"), &l, "c1", 100 + i, DAY0));
        events.push(quiz(&format!("b{i}"), &l, "c1", 10, DAY0 + DAY_MS));
    }
    events.push(lecture("x", "l00", "c2", 7, DAY0));
    store.apply(&events).await.expect("apply");
    let state = ApiState::new(store.clone(), secret());
    (api::router(state), store)
}

async fn call(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, Value, String) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let www = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body, www)
}

fn learner(sub: &str) -> String {
    mint(&secret(), sub, Role::Learner, Duration::from_secs(300))
}

fn admin() -> String {
    mint(&secret(), "admin-1", Role::Admin, Duration::from_secs(300))
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn auth_matrix() {
    let (app, _) = app().await;
    let path = "/v1/learners/l01/training";
    let far = 4_102_444_800_u64;

    // No token, malformed tokens.
    let (s, body, www) = call(&app, path, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(www.starts_with("Bearer"), "{www}");
    assert!(body["error"].is_string());
    for bad in ["garbage", "a.b.c", "", "Bearer"] {
        let (s, _, www) = call(&app, path, Some(bad)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert!(www.starts_with("Bearer"));
    }
    let (s, _, _) = call(&app, path, Some("x".repeat(10_000).as_str())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Expired.
    let expired = sign(
        &secret(),
        &json!({"sub": "l01", "role": "learner", "exp": 1_000}),
    );
    assert_eq!(
        call(&app, path, Some(&expired)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Missing exp.
    let no_exp = sign(&secret(), &json!({"sub": "l01", "role": "learner"}));
    assert_eq!(
        call(&app, path, Some(&no_exp)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // alg: none, unsigned.
    let claims = json!({"sub": "l01", "role": "admin", "exp": far}).to_string();
    let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims));
    assert_eq!(
        call(&app, path, Some(&none)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Wrong secret.
    let other = JwtSecret::new("some-other-secret").expect("secret");
    let wrong = mint(&other, "l01", Role::Admin, Duration::from_secs(300));
    assert_eq!(
        call(&app, path, Some(&wrong)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Tampered role: a learner token whose payload is edited to say admin.
    let t = learner("l02");
    let parts: Vec<&str> = t.split('.').collect();
    let forged_payload = b64(&json!({"sub": "l02", "role": "admin", "exp": far}).to_string());
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_eq!(
        call(&app, "/v1/courses/c1/learners", Some(&tampered))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, path, Some(&tampered)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Unknown role.
    let root = sign(
        &secret(),
        &json!({"sub": "l01", "role": "root", "exp": far}),
    );
    assert_eq!(
        call(&app, path, Some(&root)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A learner: own id ok, another learner 404, admin routes 403.
    let (s, body, _) = call(&app, path, Some(&learner("l01"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["learner_id"], "l01");
    assert_eq!(body["total_seconds"], 101 + 10);
    let (s, body, _) = call(&app, "/v1/learners/l02/training", Some(&learner("l01"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    assert_eq!(
        call(&app, "/v1/courses/c1/learners", Some(&learner("l01")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&app, "/v1/courses", Some(&learner("l01"))).await.0,
        StatusCode::FORBIDDEN
    );

    // An admin: anyone, and admin routes.
    let (s, body, _) = call(&app, "/v1/learners/l02/training", Some(&admin())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["total_seconds"], 102 + 10);
    assert_eq!(
        call(&app, "/v1/courses/c1/learners", Some(&admin()))
            .await
            .0,
        StatusCode::OK
    );
    let (s, body, _) = call(&app, "/v1/courses", Some(&admin())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["courses"], json!(["c1", "c2"]));
}

#[tokio::test]
async fn learner_response_has_the_contract_shape() {
    let (app, _) = app().await;
    let (s, v, _) = call(&app, "/v1/learners/l00/training", Some(&learner("l00"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total_seconds"], 100 + 10 + 7);
    assert_eq!(v["credited_seconds"], 117);
    assert!(v["updated_at"].is_string());
    let c1 = &v["courses"][0];
    assert_eq!(c1["course_id"], "c1");
    for f in [
        "total_seconds",
        "credited_seconds",
        "lecture_seconds",
        "quiz_seconds",
        "attended_days",
    ] {
        assert!(c1[f].is_u64(), "{f}");
    }
    assert_eq!(c1["days"][0]["date"], "2026-03-10");
    assert_eq!(c1["days"][1]["date"], "2026-03-11");
    for f in ["total_seconds", "credited_seconds"] {
        assert!(c1["days"][0][f].is_u64(), "{f}");
    }
    assert_eq!(c1["days"][0]["attended"], false);
}

#[tokio::test]
async fn unknown_learner_gets_zeros() {
    let (app, _) = app().await;
    let (s, v, _) = call(
        &app,
        "/v1/learners/new-person/training",
        Some(&learner("new-person")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({
            "learner_id": "new-person", "total_seconds": 0, "credited_seconds": 0,
            "courses": [], "updated_at": null
        })
    );
}

#[tokio::test]
async fn course_pages_and_the_limit_cap() {
    let (app, store) = app().await;
    let (s, p, _) = call(&app, "/v1/courses/c1/learners?limit=5", Some(&admin())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["learners"].as_array().expect("array").len(), 5);
    assert_eq!(p["next"], "l04");
    assert_eq!(p["learners"][0]["learner_id"], "l00");
    assert_eq!(p["learners"][0]["total_seconds"], 110);
    let (_, p2, _) = call(
        &app,
        "/v1/courses/c1/learners?limit=5&after=l04",
        Some(&admin()),
    )
    .await;
    assert_eq!(p2["learners"][0]["learner_id"], "l05");
    let (_, p3, _) = call(
        &app,
        "/v1/courses/c1/learners?limit=5&after=l09",
        Some(&admin()),
    )
    .await;
    assert_eq!(p3["learners"].as_array().expect("array").len(), 2);
    assert_eq!(p3["next"], Value::Null);
    // Default 50: all 12 on one page.
    let (_, all, _) = call(&app, "/v1/courses/c1/learners", Some(&admin())).await;
    assert_eq!(all["learners"].as_array().expect("array").len(), 12);
    // The cap: 600 learners, limit=100000 → 500.
    let events: Vec<_> = (0..600)
        .map(|i| lecture(&format!("big-{i}"), &format!("m{i:04}"), "big", 1, DAY0))
        .collect();
    store.apply(&events).await.expect("apply");
    let (s, p, _) = call(
        &app,
        "/v1/courses/big/learners?limit=100000",
        Some(&admin()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["learners"].as_array().expect("array").len(), 500);
    assert_eq!(p["next"], "m0499");
    let (_, p, _) = call(&app, "/v1/courses/big/learners", Some(&admin())).await;
    assert_eq!(p["learners"].as_array().expect("array").len(), 50);
    for bad in ["0", "-1", "ten"] {
        let (s, body, _) = call(
            &app,
            &format!("/v1/courses/big/learners?limit={bad}"),
            Some(&admin()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn health_readiness_metrics_and_dashboard() {
    let store = Arc::new(MemoryStore::new());
    let ready = Arc::new(AtomicBool::new(false));
    let probe = Arc::clone(&ready);
    let state = ApiState::new(store.clone(), secret())
        .with_readiness(Arc::new(move || probe.load(Ordering::SeqCst)))
        .with_metrics(Arc::new(|| {
            "# TYPE consume_messages_total counter\nconsume_messages_total 3\n".to_owned()
        }));
    let app = api::router(state);
    assert_eq!(call(&app, "/healthz", None).await.0, StatusCode::OK);
    let (s, body, _) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["consumers"], false);
    assert_eq!(body["store"], true);
    ready.store(true, Ordering::SeqCst);
    let (s, body, _) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["ready"], true);

    store
        .apply(&[lecture("m1", "l", "c", 5, DAY0)])
        .await
        .expect("apply");
    let res = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).expect("req"))
        .await
        .expect("res");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = String::from_utf8(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf-8");
    assert!(
        text.contains("training_store_commands_total{store=\"memory\"} "),
        "{text}"
    );
    assert!(
        text.contains("training_store_document_writes_total{store=\"memory\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("training_store_bucket_cache_total{store=\"memory\",result=\"hit\"} 0"),
        "the memory store has no bucket cache: {text}"
    );
    assert!(text.contains("consume_messages_total 3"), "{text}");

    for path in ["/", "/dashboard", "/dashboard?token=abc"] {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("req"))
            .await
            .expect("res");
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        assert_eq!(res.headers()[header::REFERRER_POLICY], "no-referrer");
        let html = String::from_utf8(
            res.into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .to_vec(),
        )
        .expect("utf-8");
        for id in [
            "id=\"learner-total-seconds\"",
            "id=\"learner-credited-seconds\"",
            "id=\"course-select\"",
            "id=\"learners-table\"",
            "id=\"token-input\"",
            "dataset.learner",
            "\"total_seconds\"",
        ] {
            assert!(html.contains(id), "{id}");
        }
    }
    let (s, body, _) = call(&app, "/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn debug_output_never_shows_the_secret() {
    let state = ApiState::new(Arc::new(MemoryStore::new()), secret());
    let dbg = format!("{state:?}");
    assert!(!dbg.contains(SECRET), "{dbg}");
}
