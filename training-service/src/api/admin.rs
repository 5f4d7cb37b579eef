//! The admin endpoints: liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ApiState;

pub(super) async fn healthz(State(state): State<ApiState>) -> Response {
    if (state.live)() {
        Json(json!({ "status": "ok" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unresponsive" })),
        )
            .into_response()
    }
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

/// Every metric recorded through the facade: the service's and the consume runtime's.
pub(super) async fn metrics(State(state): State<ApiState>) -> Response {
    let mut text = state.exporter.render(&*state.store);
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
