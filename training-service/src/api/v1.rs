//! The `/v1` handlers and the [`Auth`] extractor that guards them.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::layers::Subject;
use super::{ApiError, ApiState, DEFAULT_PAGE};
use crate::auth::{self, AuthError, Claims, Role};
use crate::store::MAX_PAGE;

/// The verified claims of the request's bearer token; records the subject for the access
/// log. Rejects with 401.
pub(super) struct Auth(pub(super) Claims);

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized(&AuthError::Missing))?;
        let token = value
            .to_str()
            .ok()
            .and_then(auth::bearer)
            .ok_or_else(|| ApiError::unauthorized(&AuthError::Malformed))?;
        let claims = state.verifier.verify(token).map_err(|e| {
            tracing::debug!(reason = %e, "token refused");
            ApiError::unauthorized(&e)
        })?;
        if let Some(subject) = parts.extensions.get::<Subject>() {
            subject.set(&claims.sub);
        }
        Ok(Self(claims))
    }
}

fn require_admin(claims: &Claims) -> Result<(), ApiError> {
    if claims.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "admin role required"))
    }
}

pub(super) async fn learner_training(
    State(state): State<ApiState>,
    Auth(claims): Auth,
    Path(learner_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if claims.role != Role::Admin && claims.sub != learner_id {
        // 404, not 403: a learner cannot tell whether another learner exists.
        return Err(ApiError::new(StatusCode::NOT_FOUND, "learner not found"));
    }
    let tag = etag('l', state.store.learner_version(&learner_id).await?);
    if unchanged(&headers, &tag) {
        return Ok(not_modified(tag));
    }
    let view = state.store.learner_training(&learner_id).await?;
    Ok(tagged(Json(view).into_response(), tag))
}

pub(super) async fn course_learners(
    State(state): State<ApiState>,
    Auth(claims): Auth,
    Path(course_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
    let tag = etag('c', state.store.course_version(&course_id).await?);
    if unchanged(&headers, &tag) {
        return Ok(not_modified(tag));
    }
    let page = state
        .store
        .course_learners(&course_id, limit, after)
        .await?;
    Ok(tagged(Json(page).into_response(), tag))
}

pub(super) async fn courses(
    State(state): State<ApiState>,
    Auth(claims): Auth,
) -> Result<Response, ApiError> {
    require_admin(&claims)?;
    let courses = state.store.courses().await?;
    Ok(no_store(
        Json(json!({ "courses": courses })).into_response(),
    ))
}

// Conditional requests: the learner and course routes answer with a weak `ETag` made from
// the store's change check (`Store::learner_version`, `Store::course_version`: one small
// query), and with 304 and no body, without reading the view, when `If-None-Match` names it.
// Weak, because the view is read after the check: it may already include a newer event, and
// then the next request reads it again (never the other way round: a 304 always means the
// client's copy is current).

fn etag(kind: char, version: u64) -> String {
    format!("W/\"{kind}{version}\"")
}

/// `If-None-Match` lists `tag` (weak comparison) or is `*`.
fn unchanged(headers: &HeaderMap, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == bare(tag))
}

fn not_modified(tag: String) -> Response {
    tagged(StatusCode::NOT_MODIFIED.into_response(), tag)
}

fn tagged(res: Response, tag: String) -> Response {
    let mut res = no_store(res);
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

pub(super) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
