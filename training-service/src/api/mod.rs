//! The HTTP side: the public API with its dashboard ([`router`]) and the admin endpoints
//! ([`admin_router`]), each served on its own address by [`server::serve`].
//!
//! Public (`TRAINING_HTTP_ADDR`):
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/learners/{learner_id}/training` | the learner themself, or an admin | [`LearnerTraining`](crate::domain::LearnerTraining); zeros for a learner with no events; another learner's id → 404 |
//! | `GET /v1/courses/{course_id}/learners?limit=&after=` | admin (learner → 403) | [`CoursePage`](crate::domain::CoursePage); `limit` defaults to 50, capped at 500 |
//! | `GET /v1/courses` | admin | `{ "courses": [course_id, …] }` |
//! | `GET /v1/pipeline` | admin | this instance's events applied, lag, and dead letters (the last hour by reason, the most recent with their reasons) from its own metrics; no store call |
//! | `GET /`, `GET /dashboard` (+ `/dashboard.js`, `/dashboard-i18n.js`, `/dashboard-charts.js`, `/dashboard-admin.js`, `/dashboard.css`, `/favicon.svg`) | anyone (the page asks for a token) | the live dashboard |
//!
//! Admin (`TRAINING_ADMIN_ADDR`):
//!
//! | route | what |
//! |---|---|
//! | `GET /healthz` | 200 while every consumer's poll loop turns (503 when one has not turned for 60 s) |
//! | `GET /readyz` | 200 when the readiness probe is true and the store answers, else 503 |
//! | `GET /metrics` | Prometheus text: the service's metrics and the runtime's `consume_*` ([`crate::metrics`]) |
//!
//! The learner and course routes answer conditional requests: a weak `ETag` from the store's
//! change check ([`Store::learner_version`], [`Store::course_version`]), and 304 without
//! reading the view when `If-None-Match` names it (after the same authentication).
//!
//! Every rejection is JSON `{ "error": "…" }` (401 carries `WWW-Authenticate: Bearer`),
//! including those of the layers ([`layers`]): 503 when the concurrency limit or the request
//! timeout is hit, 413, 414, 405, 400 for a path that is not UTF-8.

mod admin;
mod dashboard;
mod error;
pub mod layers;
mod pipeline;
pub mod server;
mod v1;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use consume_runtime::Metrics;

use crate::auth::Verifier;
use crate::metrics::Exporter;
use crate::store::Store;

pub use dashboard::{
    DASHBOARD_ADMIN_JS, DASHBOARD_CHARTS_JS, DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_I18N_JS,
    DASHBOARD_ICON, DASHBOARD_JS,
};
pub use error::ApiError;
pub use layers::Limits;

/// `limit` when the query has none.
pub const DEFAULT_PAGE: usize = 50;

/// Says whether the service is ready (for example: the Kafka consumers have partitions).
pub type ReadinessProbe = Arc<dyn Fn() -> bool + Send + Sync>;
/// Says whether the process is alive (for example: the Kafka consumers' poll loops turn).
pub type LivenessProbe = Arc<dyn Fn() -> bool + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    store: Arc<dyn Store>,
    verifier: Arc<Verifier>,
    ready: ReadinessProbe,
    live: LivenessProbe,
    exporter: Exporter,
    /// The consumers' metrics (dead letters for `/v1/pipeline`).
    consumers: Metrics,
    limits: Limits,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store.kind())
            .field("verifier", &self.verifier)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// State over `store`, verifying tokens with `verifier`; alive, ready whenever the store
    /// answers, default [`Limits`].
    pub fn new(store: Arc<dyn Store>, verifier: Arc<Verifier>) -> Self {
        Self {
            store,
            verifier,
            ready: Arc::new(|| true),
            live: Arc::new(|| true),
            exporter: crate::metrics::exporter(),
            consumers: Metrics::default(),
            limits: Limits::default(),
        }
    }

    /// Sets the readiness probe (`/readyz` is 503 while it returns false).
    pub fn with_readiness(mut self, probe: ReadinessProbe) -> Self {
        self.ready = probe;
        self
    }

    /// Sets the liveness probe (`/healthz` is 503 while it returns false).
    pub fn with_liveness(mut self, probe: LivenessProbe) -> Self {
        self.live = probe;
        self
    }

    /// Sets the consumers' metrics, which `/v1/pipeline` reads dead letters from (none
    /// without: a server with no consumers).
    pub fn with_consumers(mut self, metrics: Metrics) -> Self {
        self.consumers = metrics;
        self
    }

    /// Sets the limits the routers' layers enforce.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// The public router: the API and the dashboard, behind [`layers::public`] (limits, JSON
/// rejections, access log, security headers).
pub fn router(state: ApiState) -> Router {
    let limits = state.limits.clone();
    let routes = Router::new()
        .route(
            "/v1/learners/{learner_id}/training",
            get(v1::learner_training),
        )
        .route("/v1/courses/{course_id}/learners", get(v1::course_learners))
        .route("/v1/courses", get(v1::courses))
        .route("/v1/pipeline", get(pipeline::pipeline))
        .route("/", get(dashboard::page))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.js", get(dashboard::script))
        .route("/dashboard-i18n.js", get(dashboard::i18n))
        .route("/dashboard-charts.js", get(dashboard::charts))
        .route("/dashboard-admin.js", get(dashboard::admin))
        .route("/dashboard.css", get(dashboard::style))
        .route("/favicon.svg", get(dashboard::icon))
        .fallback(error::not_found)
        .with_state(state);
    layers::public(routes, &limits)
}

/// The admin router: probes and metrics, behind [`layers::admin`] (limits and JSON
/// rejections; no access log, so probes do not flood it).
pub fn admin_router(state: ApiState) -> Router {
    let limits = state.limits.clone();
    let routes = Router::new()
        .route("/healthz", get(admin::healthz))
        .route("/readyz", get(admin::readyz))
        .route("/metrics", get(admin::metrics))
        .fallback(error::not_found)
        .with_state(state);
    layers::admin(routes, &limits)
}
