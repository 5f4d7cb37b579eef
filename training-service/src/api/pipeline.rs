//! `GET /v1/pipeline` (admin): the state of this instance's pipeline for the dashboard's
//! header, read from the process's own metrics (no store call): events applied, the
//! consumers' lag in records and seconds (both from the Prometheus exporter), and dead
//! letters (from the consume runtime's [`Metrics`]: since start by handler, the last hour by
//! reason and handler, and the most recent ones with their reasons). "Events per minute" is
//! a difference between the page's successive samples; the instance's name and start time
//! tell the page when its samples came from another instance or an earlier life of this one.
//!
//! Per instance, on purpose: each replica consumes its own partitions and counts its own
//! dead letters; the deployment's totals are a sum over replicas, which Prometheus does
//! (`sum by (reason) (increase(consume_dead_letters_total[1h]))`).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::UNIX_EPOCH;

use consume_runtime::{Metrics, RecentDeadLetter};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::v1::Auth;
use super::{ApiError, ApiState};
use crate::auth::Role;
use crate::domain::time::{now_ms, rfc3339_utc};

/// Recent dead letters in an answer, at most.
const RECENT: usize = 10;

/// What the header shows, for this instance.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(super) struct Pipeline {
    /// When these were read (RFC 3339, UTC).
    sampled_at: String,
    /// Which process answered.
    instance: Instance,
    /// `training_events_applied_total`.
    events_applied_total: u64,
    /// Dead letters published since this process started.
    dead_letters_total: u64,
    /// The same, by handler.
    dead_letters: BTreeMap<String, u64>,
    /// Dead letters published in the last hour (the current minute and the 59 before it).
    dead_letters_last_hour: LastHour,
    /// The most recent dead letters, newest first (at most [`RECENT`]).
    recent_dead_letters: Vec<DeadLetter>,
    /// The largest `consume_partition_lag_seconds` (`null` before any partition reported).
    lag_seconds: Option<f64>,
    /// `consume_partition_lag_messages`, summed (`null` before any partition reported).
    lag_messages: Option<u64>,
    /// Partitions reporting lag.
    partitions: u64,
}

/// The process that answered: its host name (the pod's, on Kubernetes) and start time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct Instance {
    /// `HOSTNAME`, else the kernel's host name; `null` if neither is known.
    name: Option<String>,
    /// When the process started serving (RFC 3339, UTC).
    started_at: String,
}

impl Instance {
    /// This process (read once).
    fn this() -> Instance {
        static THIS: OnceLock<Instance> = OnceLock::new();
        THIS.get_or_init(|| Instance {
            name: std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty()),
            started_at: rfc3339_utc(now_ms()),
        })
        .clone()
    }
}

/// Dead letters in the last hour.
#[derive(Debug, Default, PartialEq, Serialize)]
struct LastHour {
    total: u64,
    /// By reason (`decode`, `key`, `rejected`, `permanent`, `retries_exhausted`,
    /// `worker_crashed`); reasons with none are left out.
    by_reason: BTreeMap<&'static str, u64>,
    /// By handler.
    by_handler: BTreeMap<String, u64>,
}

/// One recent dead letter: where it came from and why (the runtime's summary: no quoted
/// values, at most 160 characters).
#[derive(Debug, PartialEq, Serialize)]
struct DeadLetter {
    at: String,
    handler: String,
    topic: String,
    partition: i32,
    offset: i64,
    reason: &'static str,
    attempts: u32,
    summary: String,
}

impl From<RecentDeadLetter> for DeadLetter {
    fn from(d: RecentDeadLetter) -> Self {
        let ms =
            d.at.duration_since(UNIX_EPOCH)
                .map_or(0, |t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
        DeadLetter {
            at: rfc3339_utc(ms),
            handler: d.handler,
            topic: d.topic,
            partition: d.partition,
            offset: d.offset,
            reason: d.reason.as_str(),
            attempts: d.attempts,
            summary: d.summary,
        }
    }
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
    dead_letters(&mut p, &state.consumers);
    p.instance = Instance::this();
    p.sampled_at = rfc3339_utc(now_ms());
    Ok(super::v1::no_store(Json(p).into_response()))
}

/// The dead letters of `consumers` (the runtime's in-process record; a few locks, no I/O).
fn dead_letters(p: &mut Pipeline, consumers: &Metrics) {
    for h in consumers.snapshot() {
        p.dead_letters_total += h.dead_lettered;
        *p.dead_letters.entry(h.handler).or_default() += h.dead_lettered;
    }
    for c in consumers.dead_letters_last_hour() {
        let hour = &mut p.dead_letters_last_hour;
        hour.total += c.count;
        *hour.by_reason.entry(c.reason.as_str()).or_default() += c.count;
        *hour.by_handler.entry(c.handler).or_default() += c.count;
    }
    p.recent_dead_letters = consumers
        .recent_dead_letters()
        .into_iter()
        .take(RECENT)
        .map(DeadLetter::from)
        .collect();
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
        let name = series.split_once('{').map_or(series, |(n, _)| n);
        let whole = value.max(0.0) as u64;
        match name {
            crate::metrics::EVENTS_APPLIED => p.events_applied_total += whole,
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
        assert_eq!(
            p.dead_letters_total, 0,
            "dead letters come from the runtime"
        );
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
