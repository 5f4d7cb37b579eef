//! The admin endpoints: liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ApiState;

pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub(super) async fn readyz(State(state): State<ApiState>) -> Response {
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

/// The service's metrics, then the extra text (the runtime's, rendered by the runtime).
pub(super) async fn metrics(State(state): State<ApiState>) -> Response {
    let mut text = state.exporter.render(&*state.store);
    text.push_str(&(state.extra_metrics)());
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
