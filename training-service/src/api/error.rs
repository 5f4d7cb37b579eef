//! [`ApiError`]: every refusal the API sends, as JSON `{ "error": "…" }`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::store::StoreError;

/// An error response: `{ "error": message }` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with `status` saying `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 401 for a refused token (`WWW-Authenticate` says why, without the token).
    pub(crate) fn unauthorized(e: &AuthError) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = if self.message == AuthError::Missing.to_string() {
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

/// The fallback of both routers.
pub(super) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not found")
}
