//! The rules of the training-hours service, independent of how events arrive and of storage.
//!
//! [`events`] holds the wire events; [`refine`] validates them into [`RefinedEvent`]s;
//! [`totals`] adds refined events up per (learner, course, day) and builds the API views.

pub mod events;
pub mod refine;
pub mod time;
pub mod totals;

pub use events::{
    ATTENDANCE_CHECKED_SCHEMA, AttendanceChecked, AttendanceKind, LECTURE_PROGRESS_SCHEMA,
    LectureProgress, QUIZ_SUBMITTED_SCHEMA, QuizSubmitted,
};
pub use refine::{InvalidEvent, InvalidReason, RefinedEvent, Source, SourceKind};
pub use time::seoul_day;
pub use totals::{
    CourseLearner, CoursePage, CourseTraining, DAILY_CAP_SECONDS, DayKey, DayTotals, DayTraining,
    LearnerTraining, Totals,
};
