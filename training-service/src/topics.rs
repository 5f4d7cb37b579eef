//! The topic names, overridable for tests and staging (`TRAINING_LECTURE_TOPIC`,
//! `TRAINING_ATTENDANCE_TOPIC`, `TRAINING_QUIZ_TOPIC`); the same variables (with the same
//! defaults) resolve the handlers' `#[consume]` placeholders.

use std::sync::OnceLock;

use training_service::domain::{ATTENDANCE_TOPIC, LECTURE_PROGRESS_TOPIC, QUIZ_SUBMITTED_TOPIC};

fn resolved() -> &'static [String; 3] {
    static TOPICS: OnceLock<[String; 3]> = OnceLock::new();
    TOPICS.get_or_init(|| {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        [
            var("TRAINING_LECTURE_TOPIC", LECTURE_PROGRESS_TOPIC),
            var("TRAINING_ATTENDANCE_TOPIC", ATTENDANCE_TOPIC),
            var("TRAINING_QUIZ_TOPIC", QUIZ_SUBMITTED_TOPIC),
        ]
    })
}

/// Lecture progress.
pub(crate) fn lecture() -> &'static str {
    &resolved()[0]
}
/// Attendance.
pub(crate) fn attendance() -> &'static str {
    &resolved()[1]
}
/// Quiz submissions.
pub(crate) fn quiz() -> &'static str {
    &resolved()[2]
}
/// All three.
pub(crate) fn all() -> [&'static str; 3] {
    [lecture(), attendance(), quiz()]
}
