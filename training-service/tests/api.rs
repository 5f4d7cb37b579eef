//! The HTTP API over the in-memory store, driven with `tower::ServiceExt::oneshot`: the auth
//! matrix (audience, issuer, lifetime, leeway, rotation), zeros for unknown learners,
//! pagination, JSON for every rejection, the admin router (health, readiness, metrics) and
//! the page. Connection-level limits: `http_limits.rs`.

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
use training_service::auth::{JwtConfig, JwtSecret, Role, SecretError, Verifier, sign};
use training_service::store::{MemoryStore, Store};

const SECRET: &str = "api-test-secret-do-not-use-0123456789";
const AUDIENCE: &str = "training-api";
const ISSUER: &str = "https://login.example.test";

fn secret() -> JwtSecret {
    JwtSecret::new(SECRET).expect("secret")
}

fn jwt_config() -> JwtConfig {
    JwtConfig::new(secret(), AUDIENCE, ISSUER)
}

fn verifier() -> Arc<Verifier> {
    Arc::new(Verifier::new(jwt_config()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// `claims` with this API's audience and issuer unless they say otherwise, signed with the
/// secret.
fn token(claims: Value) -> String {
    let mut c = json!({ "aud": AUDIENCE, "iss": ISSUER });
    for (k, v) in claims.as_object().expect("object") {
        c[k] = v.clone();
    }
    sign(&secret(), &c)
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
    let state = ApiState::new(store.clone(), verifier());
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
    verifier().mint(sub, Role::Learner, Duration::from_secs(300))
}

fn admin() -> String {
    verifier().mint("admin-1", Role::Admin, Duration::from_secs(300))
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
    let expired = token(json!({"sub": "l01", "role": "learner", "exp": 1_000}));
    assert_eq!(
        call(&app, path, Some(&expired)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Missing exp.
    let no_exp = token(json!({"sub": "l01", "role": "learner"}));
    assert_eq!(
        call(&app, path, Some(&no_exp)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // alg: none, unsigned.
    let claims = json!({"sub": "l01", "role": "admin", "exp": far, "aud": AUDIENCE, "iss": ISSUER})
        .to_string();
    let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims));
    assert_eq!(
        call(&app, path, Some(&none)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Wrong secret.
    let other = JwtSecret::new("some-other-secret-some-other-secret").expect("secret");
    let wrong = Verifier::new(JwtConfig::new(other, AUDIENCE, ISSUER)).mint(
        "l01",
        Role::Admin,
        Duration::from_secs(300),
    );
    assert_eq!(
        call(&app, path, Some(&wrong)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Tampered role: a learner token whose payload is edited to say admin.
    let t = learner("l02");
    let parts: Vec<&str> = t.split('.').collect();
    let forged_payload = b64(
        &json!({"sub": "l02", "role": "admin", "exp": now() + 60, "aud": AUDIENCE, "iss": ISSUER})
            .to_string(),
    );
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
    let root = token(json!({"sub": "l01", "role": "root", "exp": now() + 60}));
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
    assert!(v["last_event_at"].is_string());
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
    for f in ["check_in", "identity_verified", "check_out"] {
        assert!(c1["days"][0][f].is_boolean(), "{f}");
    }
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
            "courses": [], "updated_at": null, "last_event_at": null
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
async fn tokens_need_this_audience_and_issuer_and_a_bounded_lifetime() {
    let (app, _) = app().await;
    let path = "/v1/learners/l01/training";
    let t = now();
    let status = |claims: Value| {
        let app = app.clone();
        async move { call(&app, path, Some(&token(claims))).await.0 }
    };
    let ok = json!({"sub": "l01", "role": "learner", "iat": t, "exp": t + 300});
    assert_eq!(status(ok.clone()).await, StatusCode::OK);
    let with = |k: &str, v: Value| {
        let mut c = ok.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = ok.clone();
        let mut full = json!({ "aud": AUDIENCE, "iss": ISSUER });
        full.as_object_mut().expect("object").remove(k);
        // `token` adds aud and iss: sign by hand to leave one out.
        for (key, v) in full.as_object().expect("object") {
            c[key] = v.clone();
        }
        sign(&secret(), &c)
    };
    for (what, claims) in [
        ("another audience", with("aud", json!("another-service"))),
        ("another issuer", with("iss", json!("https://evil.example"))),
        (
            "a lifetime over the maximum (24 h)",
            with("exp", json!(t + 2 * 86_400)),
        ),
        (
            "issued long ago, valid for long",
            with("iat", json!(t - 10 * 86_400)),
        ),
        ("expired beyond the leeway", with("exp", json!(t - 120))),
        (
            "not valid before 2 minutes from now",
            with("nbf", json!(t + 120)),
        ),
    ] {
        assert_eq!(status(claims).await, StatusCode::UNAUTHORIZED, "{what}");
    }
    for k in ["aud", "iss"] {
        let (s, body, _) = call(&app, path, Some(&without(k))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "without {k}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(k)),
            "{body}"
        );
    }
    // Within the 30 s leeway: expired 10 s ago, valid from 10 s ahead.
    assert_eq!(status(with("exp", json!(t - 10))).await, StatusCode::OK);
    assert_eq!(status(with("nbf", json!(t + 10))).await, StatusCode::OK);
}

#[tokio::test]
async fn the_previous_secret_is_accepted_during_a_roll_over() {
    let old = JwtSecret::new("the-secret-before-the-roll-over-0123").expect("secret");
    let before = Verifier::new(JwtConfig::new(old.clone(), AUDIENCE, ISSUER)).mint(
        "l01",
        Role::Learner,
        Duration::from_secs(300),
    );
    let path = "/v1/learners/l01/training";
    let (app, _) = app().await;
    assert_eq!(
        call(&app, path, Some(&before)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut rolling = jwt_config();
    rolling.previous = Some(old);
    let store = Arc::new(MemoryStore::new());
    let app = api::router(ApiState::new(store, Arc::new(Verifier::new(rolling))));
    assert_eq!(call(&app, path, Some(&before)).await.0, StatusCode::OK);
    assert_eq!(
        call(&app, path, Some(&learner("l01"))).await.0,
        StatusCode::OK
    );
}

#[test]
fn a_short_secret_is_refused() {
    assert_eq!(
        JwtSecret::new("0123456789abcdef0123456789abcde").map(|_| ()),
        Err(SecretError::TooShort { len: 31 })
    );
    let e = JwtSecret::new("secret").expect_err("6 bytes");
    assert!(e.to_string().contains("openssl rand"), "{e}");
}

/// Sends `req` to `app`; returns the status, the content type and the body as JSON.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String, Value) {
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        Value::String(format!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    });
    (status, ct, body)
}

#[tokio::test]
async fn every_rejection_is_json() {
    let (app, _) = app().await;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");
    let long = format!("/v1/courses/{}/learners", "c".repeat(10_000));
    let cases = [
        ("no token", get("/v1/courses"), StatusCode::UNAUTHORIZED),
        (
            "learner on an admin route",
            Request::get("/v1/courses")
                .header(header::AUTHORIZATION, format!("Bearer {}", learner("l01")))
                .body(Body::empty())
                .expect("request"),
            StatusCode::FORBIDDEN,
        ),
        ("unknown path", get("/nope"), StatusCode::NOT_FOUND),
        (
            "a path that is not UTF-8",
            Request::get("/v1/learners/%FF%FE/training")
                .header(header::AUTHORIZATION, format!("Bearer {}", admin()))
                .body(Body::empty())
                .expect("request"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a method the route does not have",
            Request::post("/v1/courses")
                .body(Body::empty())
                .expect("request"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        ("a URI over 8 KiB", get(&long), StatusCode::URI_TOO_LONG),
        (
            "a body over the limit",
            Request::post("/v1/courses")
                .header(header::CONTENT_LENGTH, "100000")
                .body(Body::from(vec![b'x'; 100_000]))
                .expect("request"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "a bad limit",
            Request::get("/v1/courses/c1/learners?limit=ten")
                .header(header::AUTHORIZATION, format!("Bearer {}", admin()))
                .body(Body::empty())
                .expect("request"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, req, want) in cases {
        let (status, ct, body) = send(&app, req).await;
        assert_eq!(status, want, "{what}: {body}");
        assert!(ct.starts_with("application/json"), "{what}: {ct}");
        assert!(body["error"].is_string(), "{what}: {body}");
    }
}

#[tokio::test]
async fn probes_and_metrics_are_on_the_admin_router_only() {
    let store = Arc::new(MemoryStore::new());
    let ready = Arc::new(AtomicBool::new(false));
    let probe = Arc::clone(&ready);
    let alive = Arc::new(AtomicBool::new(false));
    let live = Arc::clone(&alive);
    let state = ApiState::new(store.clone(), verifier())
        .with_readiness(Arc::new(move || probe.load(Ordering::SeqCst)))
        .with_liveness(Arc::new(move || live.load(Ordering::SeqCst)));
    // Anything recorded through the facade (as the consume runtime does) is exported.
    metrics::counter!("consume_messages_handled_total", "handler" => "api_test").increment(3);
    let public = api::router(state.clone());
    let app = api::admin_router(state);
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (s, body, _) = call(&public, path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path} on the public router");
        assert!(body["error"].is_string());
    }
    let (s, body, _) = call(&app, "/healthz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unresponsive");
    alive.store(true, Ordering::SeqCst);
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
        text.contains("training_store_commands_total{store=\"memory\",command=\"call\"} "),
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
    assert!(
        text.contains("# TYPE training_store_commands_total counter"),
        "{text}"
    );
    assert!(
        text.contains("consume_messages_handled_total{handler=\"api_test\"} 3"),
        "{text}"
    );
}

#[tokio::test]
async fn the_dashboard_has_a_strict_policy_and_reads_the_token_from_the_fragment() {
    let (app, _) = app().await;
    for path in [
        "/",
        "/dashboard",
        "/dashboard.js",
        "/dashboard-i18n.js",
        "/dashboard-charts.js",
        "/dashboard-admin.js",
        "/dashboard.css",
    ] {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("req"))
            .await
            .expect("res");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
    let (s, ct, _) = send(
        &app,
        Request::get("/dashboard").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = api::DASHBOARD_HTML;
    for id in [
        "id=\"learner-total-seconds\"",
        "id=\"learner-credited-seconds\"",
        "id=\"course-select\"",
        "id=\"learners-table\"",
        "id=\"token-input\"",
        "src=\"/dashboard.js\"",
    ] {
        assert!(html.contains(id), "{id}");
    }
    assert!(
        !html.contains("<script>") && !html.contains("<style>"),
        "no inline code"
    );
    let js = api::DASHBOARD_JS;
    assert!(
        js.contains("location.hash"),
        "the token comes from the fragment"
    );
    assert!(
        !js.contains("URLSearchParams(location.search)"),
        "never from the query"
    );
    assert!(js.contains("\"total_seconds\""));
    assert!(api::DASHBOARD_ADMIN_JS.contains("dataset: { learner"));
    for script in [
        api::DASHBOARD_JS,
        api::DASHBOARD_I18N_JS,
        api::DASHBOARD_CHARTS_JS,
        api::DASHBOARD_ADMIN_JS,
    ] {
        // No inline style attributes (the CSP forbids them) and nothing from another origin.
        assert!(!script.contains("setAttribute(\"style\"") && !script.contains("https://"));
    }
}

#[tokio::test]
async fn debug_output_never_shows_the_secret() {
    let state = ApiState::new(Arc::new(MemoryStore::new()), verifier());
    let dbg = format!("{state:?}");
    assert!(!dbg.contains(SECRET), "{dbg}");
}

/// `GET` with `If-None-Match` and a bearer token: status, `ETag`, body bytes.
async fn conditional(
    app: &Router,
    path: &str,
    token: Option<&str>,
    etag: &str,
) -> (StatusCode, Option<String>, usize) {
    let mut req = Request::get(path).header(header::IF_NONE_MATCH, etag);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let tag = res
        .headers()
        .get(header::ETAG)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, tag, bytes.len())
}

#[tokio::test]
async fn unchanged_views_answer_304_after_a_change_check_only() {
    let (app, store) = app().await;
    for (path, token) in [
        ("/v1/learners/l01/training", learner("l01")),
        ("/v1/courses/c1/learners?limit=5", admin()),
    ] {
        let (s, tag, len) = conditional(&app, path, Some(&token), "\"none\"").await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(len > 0);
        let tag = tag.expect("an ETag");
        assert!(tag.starts_with("W/\""), "{tag}");
        let before = store.ops().commands;
        let (s, again, len) = conditional(&app, path, Some(&token), &tag).await;
        assert_eq!((s, len), (StatusCode::NOT_MODIFIED, 0), "{path}");
        assert_eq!(again.as_deref(), Some(tag.as_str()));
        assert_eq!(
            store.ops().commands - before,
            1,
            "{path}: only the change check"
        );
        // The strong form and lists match too (weak comparison).
        let strong = tag.trim_start_matches("W/").to_owned();
        let list = format!("\"x\", {strong}");
        assert_eq!(
            conditional(&app, path, Some(&token), &list).await.0,
            StatusCode::NOT_MODIFIED
        );
        // The same rules as without the header: no token 401, the wrong role 403 or 404.
        assert_eq!(
            conditional(&app, path, None, &tag).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        conditional(
            &app,
            "/v1/learners/l02/training",
            Some(&learner("l01")),
            "*"
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        conditional(&app, "/v1/courses/c1/learners", Some(&learner("l01")), "*")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // A new event of the learner (in the course): new tags and full answers.
    let (_, old_l, _) = conditional(
        &app,
        "/v1/learners/l01/training",
        Some(&learner("l01")),
        "\"\"",
    )
    .await;
    let (_, old_c, _) = conditional(
        &app,
        "/v1/courses/c1/learners?limit=5",
        Some(&admin()),
        "\"\"",
    )
    .await;
    store
        .apply(&[lecture("new", "l01", "c1", 5, DAY0)])
        .await
        .expect("apply");
    let (s, new_l, _) = conditional(
        &app,
        "/v1/learners/l01/training",
        Some(&learner("l01")),
        old_l.as_deref().expect("tag"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(new_l, old_l);
    let (s, new_c, _) = conditional(
        &app,
        "/v1/courses/c1/learners?limit=5",
        Some(&admin()),
        old_c.as_deref().expect("tag"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(new_c, old_c);
}

#[tokio::test]
async fn the_pipeline_header_is_for_admins_and_reads_no_store() {
    let (app, store) = app().await;
    assert_eq!(
        call(&app, "/v1/pipeline", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "/v1/pipeline", Some(&learner("l01"))).await.0,
        StatusCode::FORBIDDEN
    );
    let before = store.ops().commands;
    let (s, v, _) = call(&app, "/v1/pipeline", Some(&admin())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(store.ops().commands, before, "no store call");
    for f in ["events_applied_total", "dead_letters_total", "partitions"] {
        assert!(v[f].is_u64(), "{f}: {v}");
    }
    assert!(
        v["dead_letters"].is_object() && v["sampled_at"].is_string(),
        "{v}"
    );
    // No consumers in this server: no dead letters, and which process answered.
    assert_eq!(
        v["dead_letters_last_hour"],
        json!({ "total": 0, "by_reason": {}, "by_handler": {} })
    );
    assert_eq!(v["recent_dead_letters"], json!([]));
    assert!(
        v["instance"]["started_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
}
