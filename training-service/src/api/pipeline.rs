//! `GET /v1/pipeline` (admin): the state of this instance's pipeline for the dashboard's
//! header, read from the process's own metrics (no store call): events applied, dead letters
//! per handler, and the consumers' lag in records and seconds. Rates ("per minute", "in the
//! last hour") are differences between the page's successive samples.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::v1::Auth;
use super::{ApiError, ApiState};
use crate::auth::Role;
use crate::domain::time::{now_ms, rfc3339_utc};

/// What the header shows, for this instance.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(super) struct Pipeline {
    /// When these were read (RFC 3339, UTC).
    sampled_at: String,
    /// `training_events_applied_total`.
    events_applied_total: u64,
    /// `consume_dead_letters_total`, summed.
    dead_letters_total: u64,
    /// `consume_dead_letters_total` by `handler`.
    dead_letters: BTreeMap<String, u64>,
    /// The largest `consume_partition_lag_seconds` (`null` before any partition reported).
    lag_seconds: Option<f64>,
    /// `consume_partition_lag_messages`, summed (`null` before any partition reported).
    lag_messages: Option<u64>,
    /// Partitions reporting lag.
    partitions: u64,
}

pub(super) async fn pipeline(
    State(state): State<ApiState>,
    Auth(claims): Auth,
) -> Result<Response, ApiError> {
    if claims.role != Role::Admin {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "admin role required",
        ));
    }
    let text = state.exporter.render(&*state.store);
    let mut p = read(&text);
    p.sampled_at = rfc3339_utc(now_ms());
    Ok(super::v1::no_store(Json(p).into_response()))
}

/// Reads the few series the header needs from the exporter's Prometheus text. Sample lines
/// are `name{label="value",…} number` or `name number`; everything else is skipped.
fn read(text: &str) -> Pipeline {
    let mut p = Pipeline::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let whole = value.max(0.0) as u64;
        match name {
            crate::metrics::EVENTS_APPLIED => p.events_applied_total += whole,
            consume_runtime::metrics::DEAD_LETTERS => {
                p.dead_letters_total += whole;
                let handler = label(labels, "handler").unwrap_or_default();
                *p.dead_letters.entry(handler).or_default() += whole;
            }
            consume_runtime::metrics::PARTITION_LAG_SECONDS => {
                p.partitions += 1;
                p.lag_seconds = Some(p.lag_seconds.map_or(value, |s: f64| s.max(value)));
            }
            consume_runtime::metrics::PARTITION_LAG_MESSAGES => {
                p.lag_messages = Some(p.lag_messages.unwrap_or(0) + whole);
            }
            _ => {}
        }
    }
    p
}

/// The value of `key` in `k="v",…` (label values here are handler names: no escapes).
fn label(labels: &str, key: &str) -> Option<String> {
    labels.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_series_the_header_needs() {
        let text = "\
# HELP training_events_applied_total Events counted for the first time.
# TYPE training_events_applied_total counter
training_events_applied_total 1234
consume_dead_letters_total{handler=\"lecture_progress\",group=\"g.l\"} 3
consume_dead_letters_total{handler=\"quiz_submitted\",group=\"g.q\"} 1
consume_partition_lag_seconds{handler=\"a\",group=\"g\",topic=\"t\",partition=\"0\"} 0.25
consume_partition_lag_seconds{handler=\"a\",group=\"g\",topic=\"t\",partition=\"1\"} 2.5
consume_partition_lag_messages{handler=\"a\",group=\"g\",topic=\"t\",partition=\"0\"} 7
consume_partition_lag_messages{handler=\"a\",group=\"g\",topic=\"t\",partition=\"1\"} 5
training_events_applied_totalx 99
garbage line
";
        let p = read(text);
        assert_eq!(p.events_applied_total, 1234);
        assert_eq!(p.dead_letters_total, 4);
        assert_eq!(p.dead_letters["lecture_progress"], 3);
        assert_eq!(p.dead_letters["quiz_submitted"], 1);
        assert_eq!(p.lag_seconds, Some(2.5));
        assert_eq!(p.lag_messages, Some(12));
        assert_eq!(p.partitions, 2);
    }

    #[test]
    fn nothing_recorded_yet_reads_as_zeros_and_nulls() {
        let p = read("");
        assert_eq!(p, Pipeline::default());
        assert_eq!(p.lag_seconds, None);
    }
}
