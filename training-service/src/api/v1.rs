//! The `/v1` handlers and the [`Auth`] extractor that guards them.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
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
) -> Result<Response, ApiError> {
    if claims.role != Role::Admin && claims.sub != learner_id {
        // 404, not 403: a learner cannot tell whether another learner exists.
        return Err(ApiError::new(StatusCode::NOT_FOUND, "learner not found"));
    }
    let view = state.store.learner_training(&learner_id).await?;
    Ok(no_store(Json(view).into_response()))
}

pub(super) async fn course_learners(
    State(state): State<ApiState>,
    Auth(claims): Auth,
    Path(course_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
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
    let page = state
        .store
        .course_learners(&course_id, limit, after)
        .await?;
    Ok(no_store(Json(page).into_response()))
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

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
