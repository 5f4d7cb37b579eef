//! The wire events, exactly as the education servers publish them (Avro, namespace
//! `training.v1`, schemas in `training-service/schemas/`).
//!
//! Field names are the Avro field names, so these structs decode with
//! `consume_runtime::Avro<T>` and encode with the publisher as they are.

use serde::{Deserialize, Serialize};

/// Avro schema of [`LectureProgress`] (`training.v1.LectureProgress`).
pub const LECTURE_PROGRESS_SCHEMA: &str = include_str!("../../schemas/lecture_progress.avsc");
/// Avro schema of [`AttendanceChecked`] (`training.v1.AttendanceChecked`).
pub const ATTENDANCE_CHECKED_SCHEMA: &str = include_str!("../../schemas/attendance_checked.avsc");
/// Avro schema of [`QuizSubmitted`] (`training.v1.QuizSubmitted`).
pub const QUIZ_SUBMITTED_SCHEMA: &str = include_str!("../../schemas/quiz_submitted.avsc");

/// A learner watched part of a lecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LectureProgress {
    /// Unique per event; a resend keeps the same id.
    pub event_id: String,
    /// The learner (also the message key).
    pub learner_id: String,
    /// The course the lecture belongs to.
    pub course_id: String,
    /// The lecture.
    pub lecture_id: String,
    /// Seconds watched in this event; valid range 0..=3600.
    pub watched_seconds: i32,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub occurred_at: i64,
}

/// What an attendance event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttendanceKind {
    /// The learner checked in.
    CheckIn,
    /// The learner checked out.
    CheckOut,
    /// The learner verified their identity.
    IdentityVerified,
}

impl AttendanceKind {
    /// The Avro symbol (`CHECK_IN`, `CHECK_OUT`, `IDENTITY_VERIFIED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckIn => "CHECK_IN",
            Self::CheckOut => "CHECK_OUT",
            Self::IdentityVerified => "IDENTITY_VERIFIED",
        }
    }

    /// Parses an Avro symbol.
    pub fn parse(symbol: &str) -> Option<Self> {
        match symbol {
            "CHECK_IN" => Some(Self::CheckIn),
            "CHECK_OUT" => Some(Self::CheckOut),
            "IDENTITY_VERIFIED" => Some(Self::IdentityVerified),
            _ => None,
        }
    }
}

/// A learner checked in, checked out or verified their identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendanceChecked {
    /// Unique per event; a resend keeps the same id.
    pub event_id: String,
    /// The learner (also the message key).
    pub learner_id: String,
    /// The course.
    pub course_id: String,
    /// What was checked.
    pub kind: AttendanceKind,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub occurred_at: i64,
}

/// A learner submitted a quiz.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizSubmitted {
    /// Unique per event; a resend keeps the same id.
    pub event_id: String,
    /// The learner (also the message key).
    pub learner_id: String,
    /// The course.
    pub course_id: String,
    /// The quiz.
    pub quiz_id: String,
    /// Points scored, 0..=max_score.
    pub score: i32,
    /// Points possible, > 0.
    pub max_score: i32,
    /// Seconds spent on the quiz; valid range 0..=3600.
    pub time_spent_seconds: i32,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub occurred_at: i64,
}

impl consume_runtime::avro::AvroSchema for LectureProgress {
    const SCHEMA: &'static str = LECTURE_PROGRESS_SCHEMA;
}
impl consume_runtime::avro::AvroSchema for AttendanceChecked {
    const SCHEMA: &'static str = ATTENDANCE_CHECKED_SCHEMA;
}
impl consume_runtime::avro::AvroSchema for QuizSubmitted {
    const SCHEMA: &'static str = QUIZ_SUBMITTED_SCHEMA;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_names(schema: &str) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(schema).unwrap();
        assert_eq!(v["namespace"], "training.v1");
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn struct_names<T: Serialize>(value: &T) -> Vec<String> {
        let v = serde_json::to_value(value).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn schemas_and_structs_have_the_same_fields() {
        let mut lp = field_names(LECTURE_PROGRESS_SCHEMA);
        let mut ac = field_names(ATTENDANCE_CHECKED_SCHEMA);
        let mut qs = field_names(QUIZ_SUBMITTED_SCHEMA);
        lp.sort();
        ac.sort();
        qs.sort();
        let mut l = struct_names(&LectureProgress {
            event_id: String::new(),
            learner_id: String::new(),
            course_id: String::new(),
            lecture_id: String::new(),
            watched_seconds: 0,
            occurred_at: 0,
        });
        let mut a = struct_names(&AttendanceChecked {
            event_id: String::new(),
            learner_id: String::new(),
            course_id: String::new(),
            kind: AttendanceKind::CheckIn,
            occurred_at: 0,
        });
        let mut q = struct_names(&QuizSubmitted {
            event_id: String::new(),
            learner_id: String::new(),
            course_id: String::new(),
            quiz_id: String::new(),
            score: 0,
            max_score: 1,
            time_spent_seconds: 0,
            occurred_at: 0,
        });
        l.sort();
        a.sort();
        q.sort();
        assert_eq!(lp, l);
        assert_eq!(ac, a);
        assert_eq!(qs, q);
    }

    #[test]
    fn attendance_kind_uses_the_avro_symbols() {
        for kind in [
            AttendanceKind::CheckIn,
            AttendanceKind::CheckOut,
            AttendanceKind::IdentityVerified,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(AttendanceKind::parse(kind.as_str()), Some(kind));
        }
        let v: serde_json::Value = serde_json::from_str(ATTENDANCE_CHECKED_SCHEMA).unwrap();
        let symbols = &v["fields"][3]["type"]["symbols"];
        assert_eq!(
            symbols,
            &serde_json::json!(["CHECK_IN", "CHECK_OUT", "IDENTITY_VERIFIED"])
        );
    }

    #[test]
    fn occurred_at_is_timestamp_millis() {
        for schema in [
            LECTURE_PROGRESS_SCHEMA,
            ATTENDANCE_CHECKED_SCHEMA,
            QUIZ_SUBMITTED_SCHEMA,
        ] {
            let v: serde_json::Value = serde_json::from_str(schema).unwrap();
            let f = v["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == "occurred_at")
                .unwrap();
            assert_eq!(f["type"]["type"], "long");
            assert_eq!(f["type"]["logicalType"], "timestamp-millis");
        }
    }
}
