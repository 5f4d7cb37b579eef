//! Validation and refinement: a wire event becomes a [`RefinedEvent`] or an [`InvalidEvent`].
//!
//! Rules (documented in `docs/training-storage.md`):
//! - `event_id`, `learner_id`, `course_id`, `lecture_id`, `quiz_id` must be non-empty, at most
//!   [`MAX_ID_LEN`] bytes, and free of control characters;
//! - training seconds (`watched_seconds`, `time_spent_seconds`) must be in 0..=3600;
//! - quizzes need `max_score > 0` and `0 <= score <= max_score`;
//! - `occurred_at` must lie in 2000-01-01 ..= 2100-01-01 (UTC): anything else is a producer bug,
//!   and would otherwise land on an absurd calendar day.

use serde::{Deserialize, Serialize};

use super::events::{AttendanceChecked, AttendanceKind, LectureProgress, QuizSubmitted};
use super::time::seoul_day;

/// Largest number of training seconds one event may carry.
pub const MAX_EVENT_SECONDS: i32 = 3_600;
/// Longest accepted id, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Earliest accepted `occurred_at` (2000-01-01T00:00:00Z).
pub const MIN_OCCURRED_AT_MS: i64 = 946_684_800_000;
/// Latest accepted `occurred_at` (2100-01-01T00:00:00Z).
pub const MAX_OCCURRED_AT_MS: i64 = 4_102_444_800_000;

/// Where a refined event's time comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// Lecture watching.
    Lecture {
        /// The lecture.
        lecture_id: String,
        /// Seconds watched, 0..=3600.
        seconds: u32,
    },
    /// A quiz submission.
    Quiz {
        /// The quiz.
        quiz_id: String,
        /// Seconds spent, 0..=3600.
        seconds: u32,
        /// Points scored.
        score: i32,
        /// Points possible.
        max_score: i32,
    },
    /// An attendance check (no training seconds).
    Attendance {
        /// What was checked.
        kind: AttendanceKind,
    },
}

/// The three kinds of source, which are also the storage buckets' last key part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// [`Source::Lecture`].
    Lecture,
    /// [`Source::Quiz`].
    Quiz,
    /// [`Source::Attendance`].
    Attendance,
}

impl SourceKind {
    /// `lecture`, `quiz` or `attendance`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lecture => "lecture",
            Self::Quiz => "quiz",
            Self::Attendance => "attendance",
        }
    }

    /// Parses [`SourceKind::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lecture" => Some(Self::Lecture),
            "quiz" => Some(Self::Quiz),
            "attendance" => Some(Self::Attendance),
            _ => None,
        }
    }
}

impl Source {
    /// The kind of source.
    pub fn kind(&self) -> SourceKind {
        match self {
            Self::Lecture { .. } => SourceKind::Lecture,
            Self::Quiz { .. } => SourceKind::Quiz,
            Self::Attendance { .. } => SourceKind::Attendance,
        }
    }

    /// The training seconds this source contributes (0 for attendance).
    pub fn seconds(&self) -> u32 {
        match self {
            Self::Lecture { seconds, .. } | Self::Quiz { seconds, .. } => *seconds,
            Self::Attendance { .. } => 0,
        }
    }
}

/// A validated event, ready to be stored and counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefinedEvent {
    /// Unique per event: a second event with this id is not counted again.
    pub event_id: String,
    /// The learner.
    pub learner_id: String,
    /// The course.
    pub course_id: String,
    /// The Asia/Seoul calendar day of `occurred_at`, `YYYY-MM-DD`.
    pub day: String,
    /// What the event is about.
    pub source: Source,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub occurred_at: i64,
}

impl RefinedEvent {
    /// The training seconds this event contributes.
    pub fn seconds(&self) -> u32 {
        self.source.seconds()
    }
}

/// Why an event was rejected; the handler dead-letters it with [`InvalidEvent::to_string`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event {event_id:?}: {reason}")]
pub struct InvalidEvent {
    /// The event's id as received (may be empty).
    pub event_id: String,
    /// What is wrong with it.
    pub reason: InvalidReason,
}

/// What is wrong with a rejected event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidReason {
    /// Training seconds outside 0..=3600.
    #[error("{field} = {value} is outside 0..=3600")]
    SecondsOutOfRange {
        /// `watched_seconds` or `time_spent_seconds`.
        field: &'static str,
        /// The value received.
        value: i32,
    },
    /// An id is empty, too long or has control characters.
    #[error("{field} is {problem}")]
    BadId {
        /// Which id.
        field: &'static str,
        /// `empty`, `longer than 256 bytes` or `contains control characters`.
        problem: &'static str,
    },
    /// `max_score <= 0` or `score` outside `0..=max_score`.
    #[error(
        "score {score} / max_score {max_score} is not a valid result (need max_score > 0 and 0 <= score <= max_score)"
    )]
    BadScore {
        /// The score.
        score: i32,
        /// The maximum score.
        max_score: i32,
    },
    /// `occurred_at` before 2000 or after 2100.
    #[error("occurred_at = {0} ms is outside 2000-01-01..=2100-01-01")]
    OccurredAtOutOfRange(i64),
}

fn check_id(field: &'static str, value: &str) -> Result<(), InvalidReason> {
    let problem = if value.is_empty() {
        "empty"
    } else if value.len() > MAX_ID_LEN {
        "longer than 256 bytes"
    } else if value.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(InvalidReason::BadId { field, problem })
}

fn check_seconds(field: &'static str, value: i32) -> Result<u32, InvalidReason> {
    if (0..=MAX_EVENT_SECONDS).contains(&value) {
        Ok(value.unsigned_abs())
    } else {
        Err(InvalidReason::SecondsOutOfRange { field, value })
    }
}

fn check_common(
    event_id: &str,
    learner_id: &str,
    course_id: &str,
    occurred_at: i64,
) -> Result<(), InvalidReason> {
    check_id("event_id", event_id)?;
    check_id("learner_id", learner_id)?;
    check_id("course_id", course_id)?;
    if !(MIN_OCCURRED_AT_MS..=MAX_OCCURRED_AT_MS).contains(&occurred_at) {
        return Err(InvalidReason::OccurredAtOutOfRange(occurred_at));
    }
    Ok(())
}

fn refined(
    event_id: String,
    learner_id: String,
    course_id: String,
    occurred_at: i64,
    source: Source,
) -> RefinedEvent {
    RefinedEvent {
        event_id,
        learner_id,
        course_id,
        day: seoul_day(occurred_at),
        source,
        occurred_at,
    }
}

fn invalid(event_id: &str) -> impl FnOnce(InvalidReason) -> InvalidEvent + '_ {
    move |reason| InvalidEvent {
        event_id: event_id.to_owned(),
        reason,
    }
}

impl TryFrom<LectureProgress> for RefinedEvent {
    type Error = InvalidEvent;

    fn try_from(e: LectureProgress) -> Result<Self, InvalidEvent> {
        let seconds = (|| {
            check_common(&e.event_id, &e.learner_id, &e.course_id, e.occurred_at)?;
            check_id("lecture_id", &e.lecture_id)?;
            check_seconds("watched_seconds", e.watched_seconds)
        })()
        .map_err(invalid(&e.event_id))?;
        let source = Source::Lecture {
            lecture_id: e.lecture_id,
            seconds,
        };
        Ok(refined(
            e.event_id,
            e.learner_id,
            e.course_id,
            e.occurred_at,
            source,
        ))
    }
}

impl TryFrom<QuizSubmitted> for RefinedEvent {
    type Error = InvalidEvent;

    fn try_from(e: QuizSubmitted) -> Result<Self, InvalidEvent> {
        let seconds = (|| {
            check_common(&e.event_id, &e.learner_id, &e.course_id, e.occurred_at)?;
            check_id("quiz_id", &e.quiz_id)?;
            let seconds = check_seconds("time_spent_seconds", e.time_spent_seconds)?;
            if e.max_score <= 0 || !(0..=e.max_score).contains(&e.score) {
                return Err(InvalidReason::BadScore {
                    score: e.score,
                    max_score: e.max_score,
                });
            }
            Ok(seconds)
        })()
        .map_err(invalid(&e.event_id))?;
        let source = Source::Quiz {
            quiz_id: e.quiz_id,
            seconds,
            score: e.score,
            max_score: e.max_score,
        };
        Ok(refined(
            e.event_id,
            e.learner_id,
            e.course_id,
            e.occurred_at,
            source,
        ))
    }
}

impl TryFrom<AttendanceChecked> for RefinedEvent {
    type Error = InvalidEvent;

    fn try_from(e: AttendanceChecked) -> Result<Self, InvalidEvent> {
        check_common(&e.event_id, &e.learner_id, &e.course_id, e.occurred_at)
            .map_err(invalid(&e.event_id))?;
        let source = Source::Attendance { kind: e.kind };
        Ok(refined(
            e.event_id,
            e.learner_id,
            e.course_id,
            e.occurred_at,
            source,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_773_154_799_999; // 2026-03-10T14:59:59.999Z = 23:59:59.999 KST

    fn lecture(seconds: i32) -> LectureProgress {
        LectureProgress {
            event_id: "e1".into(),
            learner_id: "l1".into(),
            course_id: "c1".into(),
            lecture_id: "lec".into(),
            watched_seconds: seconds,
            occurred_at: T,
        }
    }

    fn quiz(seconds: i32, score: i32, max_score: i32) -> QuizSubmitted {
        QuizSubmitted {
            event_id: "q1".into(),
            learner_id: "l1".into(),
            course_id: "c1".into(),
            quiz_id: "quiz".into(),
            score,
            max_score,
            time_spent_seconds: seconds,
            occurred_at: T + 1,
        }
    }

    #[test]
    fn lecture_is_refined_with_the_seoul_day() {
        let r = RefinedEvent::try_from(lecture(3600)).unwrap();
        assert_eq!(r.day, "2026-03-10");
        assert_eq!(r.seconds(), 3600);
        assert_eq!(r.source.kind(), SourceKind::Lecture);
        let q = RefinedEvent::try_from(quiz(0, 0, 10)).unwrap();
        assert_eq!(q.day, "2026-03-11");
        assert_eq!(q.seconds(), 0);
    }

    #[test]
    fn seconds_out_of_range_are_rejected_with_a_reason() {
        for bad in [-1, 3601, i32::MAX, i32::MIN] {
            let err = RefinedEvent::try_from(lecture(bad)).unwrap_err();
            assert_eq!(
                err.reason,
                InvalidReason::SecondsOutOfRange {
                    field: "watched_seconds",
                    value: bad
                }
            );
            assert!(err.to_string().contains("outside 0..=3600"), "{err}");
            let err = RefinedEvent::try_from(quiz(bad, 1, 1)).unwrap_err();
            assert!(err.to_string().contains("time_spent_seconds"), "{err}");
        }
    }

    #[test]
    fn bad_ids_scores_and_times_are_rejected() {
        let mut e = lecture(1);
        e.learner_id.clear();
        assert!(
            RefinedEvent::try_from(e)
                .unwrap_err()
                .to_string()
                .contains("learner_id is empty")
        );
        let mut e = lecture(1);
        e.event_id = "a\nb".into();
        assert!(RefinedEvent::try_from(e).is_err());
        let mut e = lecture(1);
        e.course_id = "x".repeat(257);
        assert!(RefinedEvent::try_from(e).is_err());
        let mut e = lecture(1);
        e.occurred_at = 0;
        assert!(RefinedEvent::try_from(e).is_err());
        assert!(RefinedEvent::try_from(quiz(1, 1, 0)).is_err());
        assert!(RefinedEvent::try_from(quiz(1, -1, 10)).is_err());
        assert!(RefinedEvent::try_from(quiz(1, 11, 10)).is_err());
        assert!(RefinedEvent::try_from(quiz(1, 10, 10)).is_ok());
        let a = AttendanceChecked {
            event_id: String::new(),
            learner_id: "l".into(),
            course_id: "c".into(),
            kind: AttendanceKind::CheckIn,
            occurred_at: T,
        };
        assert!(RefinedEvent::try_from(a).is_err());
    }
}
