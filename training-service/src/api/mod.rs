//! The HTTP API and the live dashboard: [`router`] builds an axum [`Router`] over an
//! [`ApiState`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/learners/{learner_id}/training` | the learner themself, or an admin | [`LearnerTraining`](crate::domain::LearnerTraining); zeros for a learner with no events; another learner's id → 404 |
//! | `GET /v1/courses/{course_id}/learners?limit=&after=` | admin (learner → 403) | [`CoursePage`](crate::domain::CoursePage); `limit` defaults to 50, capped at 500 |
//! | `GET /v1/courses` | admin | `{ "courses": [course_id, …] }` |
//! | `GET /healthz` | anyone | 200 while the process runs |
//! | `GET /readyz` | anyone | 200 when the readiness probe is true and the store answers, else 503 |
//! | `GET /metrics` | anyone | Prometheus text: the store's operation counters, then the metrics callback's text |
//! | `GET /`, `GET /dashboard` | anyone (the page asks for a token) | the live dashboard |
//!
//! Errors are JSON `{ "error": "…" }`; 401 carries `WWW-Authenticate: Bearer`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::auth::{self, Claims, JwtSecret, Role};
use crate::store::{MAX_PAGE, Store, StoreError};

/// The dashboard page.
pub const DASHBOARD_HTML: &str = include_str!("../dashboard/index.html");
/// `limit` when the query has none.
pub const DEFAULT_PAGE: usize = 50;

/// Says whether the service is ready (for example: the Kafka consumers have partitions).
pub type ReadinessProbe = Arc<dyn Fn() -> bool + Send + Sync>;
/// Returns extra Prometheus text for `/metrics` (for example the consume runtime's metrics).
pub type MetricsText = Arc<dyn Fn() -> String + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    store: Arc<dyn Store>,
    secret: JwtSecret,
    ready: ReadinessProbe,
    metrics: MetricsText,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store.kind())
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// State over `store`, verifying tokens with `secret`; ready whenever the store answers,
    /// and no extra metrics.
    pub fn new(store: Arc<dyn Store>, secret: JwtSecret) -> Self {
        Self {
            store,
            secret,
            ready: Arc::new(|| true),
            metrics: Arc::new(String::new),
        }
    }

    /// Sets the readiness probe (`/readyz` is 503 while it returns false).
    pub fn with_readiness(mut self, probe: ReadinessProbe) -> Self {
        self.ready = probe;
        self
    }

    /// Sets the extra Prometheus text appended to `/metrics`.
    pub fn with_metrics(mut self, text: MetricsText) -> Self {
        self.metrics = text;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Builds the router (see the module docs for the routes).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/learners/{learner_id}/training", get(learner_training))
        .route("/v1/courses/{course_id}/learners", get(course_learners))
        .route("/v1/courses", get(courses))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/", get(dashboard))
        .route("/dashboard", get(dashboard))
        .fallback(not_found)
        .with_state(state)
}

/// An error response: `{ "error": message }` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = if self.message == auth::AuthError::Missing.to_string() {
                "Bearer"
            } else {
                "Bearer error=\"invalid_token\""
            };
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "store call failed");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
    }
}

fn authenticate(headers: &HeaderMap, secret: &JwtSecret) -> Result<Claims, ApiError> {
    let unauthorized = |e: auth::AuthError| ApiError::new(StatusCode::UNAUTHORIZED, e.to_string());
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(auth::AuthError::Missing)
        .map_err(unauthorized)?;
    let token = value
        .to_str()
        .ok()
        .and_then(auth::bearer)
        .ok_or(auth::AuthError::Malformed)
        .map_err(unauthorized)?;
    auth::verify(secret, token).map_err(|e| {
        tracing::debug!(reason = %e, "token refused");
        unauthorized(e)
    })
}

fn require_admin(claims: &Claims) -> Result<(), ApiError> {
    if claims.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "admin role required"))
    }
}

async fn learner_training(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(learner_id): Path<String>,
) -> Result<Response, ApiError> {
    let claims = authenticate(&headers, &state.secret)?;
    if claims.role != Role::Admin && claims.sub != learner_id {
        // 404, not 403: a learner cannot tell whether another learner exists.
        return Err(ApiError::new(StatusCode::NOT_FOUND, "learner not found"));
    }
    let view = state.store.learner_training(&learner_id).await?;
    Ok(no_store(Json(view).into_response()))
}

async fn course_learners(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(course_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let claims = authenticate(&headers, &state.secret)?;
    require_admin(&claims)?;
    let limit = match query.get("limit").map(String::as_str) {
        None | Some("") => DEFAULT_PAGE,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ApiError::new(StatusCode::BAD_REQUEST, "limit must be a positive integer")
            })?
            .min(MAX_PAGE),
    };
    let after = query
        .get("after")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let page = state
        .store
        .course_learners(&course_id, limit, after)
        .await?;
    Ok(no_store(Json(page).into_response()))
}

async fn courses(State(state): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let claims = authenticate(&headers, &state.secret)?;
    require_admin(&claims)?;
    let courses = state.store.courses().await?;
    Ok(no_store(
        Json(json!({ "courses": courses })).into_response(),
    ))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<ApiState>) -> Response {
    let consumers = (state.ready)();
    let store = match state.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store ping failed");
            false
        }
    };
    let ready = consumers && store;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "consumers": consumers, "store": store })),
    )
        .into_response()
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let ops = state.store.ops();
    let kind = state.store.kind();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP training_store_commands_total Database commands (round trips) issued by the store."
    );
    let _ = writeln!(text, "# TYPE training_store_commands_total counter");
    let _ = writeln!(
        text,
        "training_store_commands_total{{store=\"{kind}\"}} {}",
        ops.commands
    );
    let _ = writeln!(
        text,
        "# HELP training_store_document_writes_total Documents inserted or updated by the store."
    );
    let _ = writeln!(text, "# TYPE training_store_document_writes_total counter");
    let _ = writeln!(
        text,
        "training_store_document_writes_total{{store=\"{kind}\"}} {}",
        ops.document_writes
    );
    let _ = writeln!(
        text,
        "# HELP training_store_bucket_cache_total Buckets looked up in the store's bucket cache (hit: written without a read)."
    );
    let _ = writeln!(text, "# TYPE training_store_bucket_cache_total counter");
    for (result, n) in [("hit", ops.cache_hits), ("miss", ops.cache_misses)] {
        let _ = writeln!(
            text,
            "training_store_bucket_cache_total{{store=\"{kind}\",result=\"{result}\"}} {n}"
        );
    }
    let extra = (state.metrics)();
    text.push_str(&extra);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn dashboard() -> Response {
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        DASHBOARD_HTML,
    )
        .into_response();
    let h = res.headers_mut();
    // The page may carry a token in its URL: never send it on as a referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    no_store(res)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not found")
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
