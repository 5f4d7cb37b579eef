//! What wraps every route: the request timeout (it covers the store calls), the concurrency
//! limit (503 beyond it, not a queue), the body and URI size limits, JSON for every
//! rejection, a caught panic as a 500, the access log and the security headers. The
//! connection-level limits (header-read timeout, connections) are [`super::server`]'s.

use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use super::ApiError;

/// The HTTP limits (`TRAINING_HTTP_*`; see the service's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A request's headers must have arrived this long after the connection became ready for
    /// it (accepted, or the previous response sent): also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// A request must be answered within this (store calls included), else 503.
    pub request_timeout: Duration,
    /// Open connections per listener; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Requests handled at once per listener; more get 503 at once.
    pub max_concurrent_requests: usize,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest path and query.
    pub max_uri_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_concurrent_requests: 256,
            max_body_bytes: 16 * 1024,
            max_uri_bytes: 8 * 1024,
        }
    }
}

/// The authenticated subject of a request, filled by the `Auth` extractor and read by the
/// access log.
#[derive(Clone, Default)]
pub(crate) struct Subject(Arc<OnceLock<String>>);

impl Subject {
    pub(crate) fn set(&self, sub: &str) {
        let _ = self.0.set(sub.to_owned());
    }
}

/// The public router's layers: [`common`] plus the access log.
pub(super) fn public(routes: Router, limits: &Limits) -> Router {
    common(routes, limits).layer(middleware::from_fn(access_log))
}

/// The admin router's layers: [`common`].
pub(super) fn admin(routes: Router, limits: &Limits) -> Router {
    common(routes, limits)
}

/// Innermost first: timeout, concurrency limit, body limit, URI limit, JSON rejections,
/// panics, security headers.
fn common(routes: Router, limits: &Limits) -> Router {
    routes
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                )),
        )
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits.max_uri_bytes,
            uri_limit,
        ))
        .layer(middleware::from_fn(json_rejections))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

async fn overloaded(_: tower::BoxError) -> Response {
    let mut res = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many requests in progress; retry shortly",
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

async fn uri_limit(State(max): State<usize>, req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if len > max {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the path and query are {len} bytes; at most {max} are accepted"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Turns any error response that is not JSON (axum's 405 and path rejections, the layers'
/// 413/503) into `{ "error": "…" }`, keeping its status and headers (`Allow`, …).
async fn json_rejections(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 4 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase(),
        t => t.to_owned(),
    };
    let json = ApiError::new(status, message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, json.into_body())
}

/// One line per request: method, route template (never the path, which may carry ids),
/// status, latency and the token's subject. Never the token or the query.
async fn access_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "-".to_owned(), |p| p.as_str().to_owned());
    let subject = Subject::default();
    req.extensions_mut().insert(subject.clone());
    let res = next.run(req).await;
    tracing::info!(
        target: "training_service::access",
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        subject = subject.0.get().map_or("-", String::as_str),
        "request"
    );
    res
}
