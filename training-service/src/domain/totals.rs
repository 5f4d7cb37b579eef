//! Totals: per (learner, course, day), and the API views built from them.
//!
//! `total_seconds` = lecture + quiz seconds; `credited_seconds = min(total_seconds, 28800)`
//! per day; a day is attended when it has both a `CHECK_IN` and an `IDENTITY_VERIFIED`.
//! Course and learner totals are sums over days, so the cap applies to each day separately.
//! `last_event_at` is the newest `occurred_at` among counted events (any source): what the
//! dashboard's "last counted activity" shows.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::events::AttendanceKind;
use super::refine::{RefinedEvent, Source};
use super::time::rfc3339_utc;

/// The daily cap on credited seconds (8 hours).
pub const DAILY_CAP_SECONDS: u64 = 28_800;

/// One (learner, course, day).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DayKey {
    /// The learner.
    pub learner_id: String,
    /// The course.
    pub course_id: String,
    /// `YYYY-MM-DD`, Asia/Seoul.
    pub day: String,
}

impl DayKey {
    /// The key of an event.
    pub fn of(e: &RefinedEvent) -> Self {
        Self {
            learner_id: e.learner_id.clone(),
            course_id: e.course_id.clone(),
            day: e.day.clone(),
        }
    }
}

/// What one (learner, course, day) adds up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotals {
    /// Seconds of lecture watching.
    pub lecture_seconds: u64,
    /// Seconds spent on quizzes.
    pub quiz_seconds: u64,
    /// A `CHECK_IN` was seen.
    pub check_in: bool,
    /// A `CHECK_OUT` was seen.
    pub check_out: bool,
    /// An `IDENTITY_VERIFIED` was seen.
    pub identity_verified: bool,
    /// Distinct events counted.
    pub events: u64,
    /// The newest `occurred_at` (ms since the epoch) among the counted events; `None` if none.
    #[serde(default)]
    pub last_event_at: Option<i64>,
}

impl DayTotals {
    /// Counts one event (the caller guarantees it was not counted before).
    pub fn add(&mut self, event: &RefinedEvent) {
        self.events += 1;
        self.last_event_at = self.last_event_at.max(Some(event.occurred_at));
        match &event.source {
            Source::Lecture { seconds, .. } => self.lecture_seconds += u64::from(*seconds),
            Source::Quiz { seconds, .. } => self.quiz_seconds += u64::from(*seconds),
            Source::Attendance { kind } => match kind {
                AttendanceKind::CheckIn => self.check_in = true,
                AttendanceKind::CheckOut => self.check_out = true,
                AttendanceKind::IdentityVerified => self.identity_verified = true,
            },
        }
    }

    /// Adds another partial total of the same day (for example another source's bucket).
    pub fn merge(&mut self, other: &DayTotals) {
        self.lecture_seconds += other.lecture_seconds;
        self.quiz_seconds += other.quiz_seconds;
        self.check_in |= other.check_in;
        self.check_out |= other.check_out;
        self.identity_verified |= other.identity_verified;
        self.events += other.events;
        self.last_event_at = self.last_event_at.max(other.last_event_at);
    }

    /// Lecture + quiz seconds.
    pub fn total_seconds(&self) -> u64 {
        self.lecture_seconds + self.quiz_seconds
    }

    /// `min(total_seconds, 28800)`.
    pub fn credited_seconds(&self) -> u64 {
        self.total_seconds().min(DAILY_CAP_SECONDS)
    }

    /// Both `CHECK_IN` and `IDENTITY_VERIFIED` were seen that day.
    pub fn attended(&self) -> bool {
        self.check_in && self.identity_verified
    }
}

/// One day in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTraining {
    /// `YYYY-MM-DD`, Asia/Seoul.
    pub date: String,
    /// Lecture + quiz seconds.
    pub total_seconds: u64,
    /// `min(total_seconds, 28800)`.
    pub credited_seconds: u64,
    /// Checked in and identity verified.
    pub attended: bool,
    /// A `CHECK_IN` was seen (with `identity_verified`: says what is missing for attendance).
    pub check_in: bool,
    /// An `IDENTITY_VERIFIED` was seen.
    pub identity_verified: bool,
    /// A `CHECK_OUT` was seen (not needed for attendance).
    pub check_out: bool,
}

/// One learner's course in the API (`courses[]` of `GET /v1/learners/{id}/training`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseTraining {
    /// The course.
    pub course_id: String,
    /// Sum of the days' `total_seconds`.
    pub total_seconds: u64,
    /// Sum of the days' `credited_seconds` (the cap applies per day).
    pub credited_seconds: u64,
    /// Lecture seconds over all days.
    pub lecture_seconds: u64,
    /// Quiz seconds over all days.
    pub quiz_seconds: u64,
    /// Days attended.
    pub attended_days: u64,
    /// The days, oldest first.
    pub days: Vec<DayTraining>,
}

/// Sums of one learner in one course over days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sums {
    total: u64,
    credited: u64,
    lecture: u64,
    quiz: u64,
    attended: u64,
    last_event_at: Option<i64>,
    days: Vec<DayTraining>,
}

fn sum_days<'a>(days: impl IntoIterator<Item = (&'a str, &'a DayTotals)>) -> Sums {
    let mut s = Sums::default();
    for (day, t) in days {
        s.total += t.total_seconds();
        s.credited += t.credited_seconds();
        s.lecture += t.lecture_seconds;
        s.quiz += t.quiz_seconds;
        s.attended += u64::from(t.attended());
        s.last_event_at = s.last_event_at.max(t.last_event_at);
        s.days.push(DayTraining {
            date: day.to_owned(),
            total_seconds: t.total_seconds(),
            credited_seconds: t.credited_seconds(),
            attended: t.attended(),
            check_in: t.check_in,
            identity_verified: t.identity_verified,
            check_out: t.check_out,
        });
    }
    s.days.sort_by(|a, b| a.date.cmp(&b.date));
    s
}

impl CourseTraining {
    /// Builds a course's view from its days (any order).
    pub fn from_days<'a>(
        course_id: &str,
        days: impl IntoIterator<Item = (&'a str, &'a DayTotals)>,
    ) -> Self {
        Self::from_sums(course_id, sum_days(days))
    }

    fn from_sums(course_id: &str, s: Sums) -> Self {
        Self {
            course_id: course_id.to_owned(),
            total_seconds: s.total,
            credited_seconds: s.credited,
            lecture_seconds: s.lecture,
            quiz_seconds: s.quiz,
            attended_days: s.attended,
            days: s.days,
        }
    }
}

/// `GET /v1/learners/{learner_id}/training`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerTraining {
    /// The learner.
    pub learner_id: String,
    /// Sum over courses.
    pub total_seconds: u64,
    /// Sum over courses of the per-day capped seconds.
    pub credited_seconds: u64,
    /// The courses, by `course_id`.
    pub courses: Vec<CourseTraining>,
    /// When the store last changed this learner's totals (RFC 3339, UTC); `null` if never.
    pub updated_at: Option<String>,
    /// The newest `occurred_at` among this learner's counted events (RFC 3339, UTC, ms);
    /// `null` if none. Unlike `updated_at` it is part of the totals (the same after a replay).
    pub last_event_at: Option<String>,
}

impl LearnerTraining {
    /// Builds the view from the learner's days (any order); `updated_at` in ms since the epoch.
    pub fn from_days<'a>(
        learner_id: &str,
        days: impl IntoIterator<Item = (&'a str, &'a str, &'a DayTotals)>,
        updated_at_ms: Option<i64>,
    ) -> Self {
        let mut by_course: BTreeMap<&str, Vec<(&str, &DayTotals)>> = BTreeMap::new();
        for (course, day, t) in days {
            by_course.entry(course).or_default().push((day, t));
        }
        let mut last_event_at = None;
        let courses: Vec<CourseTraining> = by_course
            .into_iter()
            .map(|(c, days)| {
                let s = sum_days(days);
                last_event_at = last_event_at.max(s.last_event_at);
                CourseTraining::from_sums(c, s)
            })
            .collect();
        Self {
            learner_id: learner_id.to_owned(),
            total_seconds: courses.iter().map(|c| c.total_seconds).sum(),
            credited_seconds: courses.iter().map(|c| c.credited_seconds).sum(),
            courses,
            updated_at: updated_at_ms.map(rfc3339_utc),
            last_event_at: last_event_at.map(rfc3339_utc),
        }
    }

    /// Zeros: a learner with no events.
    pub fn empty(learner_id: &str) -> Self {
        Self::from_days(learner_id, [], None)
    }
}

/// One learner of a course in the admin view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseLearner {
    /// The learner.
    pub learner_id: String,
    /// Sum of the days' `total_seconds`.
    pub total_seconds: u64,
    /// Sum of the days' `credited_seconds`.
    pub credited_seconds: u64,
    /// Lecture seconds over all days.
    pub lecture_seconds: u64,
    /// Quiz seconds over all days.
    pub quiz_seconds: u64,
    /// Days attended.
    pub attended_days: u64,
    /// The newest `occurred_at` among the learner's counted events in this course (RFC 3339,
    /// UTC, ms).
    pub last_event_at: Option<String>,
    /// The days, oldest first.
    pub days: Vec<DayTraining>,
}

impl CourseLearner {
    /// Builds a learner's row from their days in the course (any order).
    pub fn from_days<'a>(
        learner_id: &str,
        days: impl IntoIterator<Item = (&'a str, &'a DayTotals)>,
    ) -> Self {
        let s = sum_days(days);
        Self {
            learner_id: learner_id.to_owned(),
            total_seconds: s.total,
            credited_seconds: s.credited,
            lecture_seconds: s.lecture,
            quiz_seconds: s.quiz,
            attended_days: s.attended,
            last_event_at: s.last_event_at.map(rfc3339_utc),
            days: s.days,
        }
    }
}

/// `GET /v1/courses/{course_id}/learners`: one page of a course's learners by `learner_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoursePage {
    /// The course.
    pub course_id: String,
    /// Learners with `learner_id > after`, ascending, at most `limit`.
    pub learners: Vec<CourseLearner>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<String>,
}

/// Totals per (learner, course, day), computed in memory: the ground truth for tests,
/// `simulate` and `reconcile`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// The days.
    pub days: BTreeMap<DayKey, DayTotals>,
}

impl Totals {
    /// Totals of `events`, counting each `event_id` once (the first occurrence wins).
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a RefinedEvent>) -> Self {
        let mut t = Self::default();
        let mut seen = HashSet::new();
        for e in events {
            if seen.insert(e.event_id.clone()) {
                t.add(e);
            }
        }
        t
    }

    /// Counts one event (no duplicate check).
    pub fn add(&mut self, e: &RefinedEvent) {
        self.days.entry(DayKey::of(e)).or_default().add(e);
    }

    /// The learner's view (zeros if unknown); `updated_at` is left `null`.
    pub fn learner_training(&self, learner_id: &str) -> LearnerTraining {
        LearnerTraining::from_days(
            learner_id,
            self.days
                .iter()
                .filter(|(k, _)| k.learner_id == learner_id)
                .map(|(k, t)| (k.course_id.as_str(), k.day.as_str(), t)),
            None,
        )
    }

    /// Every learner with at least one counted event, ascending.
    pub fn learners(&self) -> Vec<String> {
        let mut v: Vec<String> = self.days.keys().map(|k| k.learner_id.clone()).collect();
        v.dedup();
        v
    }

    /// Every course with at least one counted event, ascending.
    pub fn courses(&self) -> Vec<String> {
        let mut v: Vec<String> = self.days.keys().map(|k| k.course_id.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// One page of a course's learners (see [`CoursePage`]).
    pub fn course_learners(
        &self,
        course_id: &str,
        limit: usize,
        after: Option<&str>,
    ) -> CoursePage {
        let mut by_learner: BTreeMap<&str, Vec<(&str, &DayTotals)>> = BTreeMap::new();
        for (k, t) in &self.days {
            if k.course_id == course_id && after.is_none_or(|a| k.learner_id.as_str() > a) {
                by_learner
                    .entry(k.learner_id.as_str())
                    .or_default()
                    .push((k.day.as_str(), t));
            }
        }
        page(course_id, by_learner, limit)
    }
}

/// Builds a [`CoursePage`] from learners (ascending) with their days, keeping `limit`.
pub(crate) fn page<'a>(
    course_id: &str,
    by_learner: BTreeMap<&'a str, Vec<(&'a str, &'a DayTotals)>>,
    limit: usize,
) -> CoursePage {
    let more = by_learner.len() > limit;
    let learners: Vec<CourseLearner> = by_learner
        .into_iter()
        .take(limit)
        .map(|(l, days)| CourseLearner::from_days(l, days))
        .collect();
    let next = if more && limit > 0 {
        learners.last().map(|l| l.learner_id.clone())
    } else {
        None
    };
    CoursePage {
        course_id: course_id.to_owned(),
        learners,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::refine::Source;

    fn ev(id: &str, learner: &str, course: &str, day: &str, source: Source) -> RefinedEvent {
        RefinedEvent {
            event_id: id.into(),
            learner_id: learner.into(),
            course_id: course.into(),
            day: day.into(),
            source,
            occurred_at: 0,
        }
    }

    fn lecture(s: u32) -> Source {
        Source::Lecture {
            lecture_id: "x".into(),
            seconds: s,
        }
    }

    fn att(kind: AttendanceKind) -> Source {
        Source::Attendance { kind }
    }

    #[test]
    fn cap_applies_per_day_and_sums_over_days() {
        let mut events = Vec::new();
        for i in 0..9 {
            events.push(ev(&format!("a{i}"), "l", "c", "2026-03-10", lecture(3600)));
        }
        events.push(ev(
            "q",
            "l",
            "c",
            "2026-03-10",
            Source::Quiz {
                quiz_id: "q".into(),
                seconds: 100,
                score: 1,
                max_score: 1,
            },
        ));
        events.push(ev("b", "l", "c", "2026-03-11", lecture(1000)));
        let t = Totals::from_events(&events);
        let v = t.learner_training("l");
        assert_eq!(v.total_seconds, 9 * 3600 + 100 + 1000);
        assert_eq!(v.credited_seconds, 28_800 + 1000);
        let c = &v.courses[0];
        assert_eq!(c.lecture_seconds, 9 * 3600 + 1000);
        assert_eq!(c.quiz_seconds, 100);
        assert_eq!(c.days.len(), 2);
        assert_eq!(c.days[0].date, "2026-03-10");
        assert_eq!(c.days[0].credited_seconds, 28_800);
        assert_eq!(c.days[1].credited_seconds, 1000);
    }

    #[test]
    fn attended_needs_check_in_and_identity_on_the_same_day() {
        let events = vec![
            ev("1", "l", "c", "2026-03-10", att(AttendanceKind::CheckIn)),
            ev(
                "2",
                "l",
                "c",
                "2026-03-10",
                att(AttendanceKind::IdentityVerified),
            ),
            ev("3", "l", "c", "2026-03-11", att(AttendanceKind::CheckIn)),
            ev("4", "l", "c", "2026-03-11", att(AttendanceKind::CheckOut)),
            ev(
                "5",
                "l",
                "c",
                "2026-03-12",
                att(AttendanceKind::IdentityVerified),
            ),
        ];
        let v = Totals::from_events(&events).learner_training("l");
        let c = &v.courses[0];
        assert_eq!(c.attended_days, 1);
        assert_eq!(
            c.days.iter().map(|d| d.attended).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(v.total_seconds, 0);
    }

    #[test]
    fn duplicates_count_once_and_unknown_learner_is_zero() {
        let events = vec![
            ev("1", "l", "c", "d", lecture(10)),
            ev("1", "l", "c", "d", lecture(10)),
        ];
        let t = Totals::from_events(&events);
        assert_eq!(t.learner_training("l").total_seconds, 10);
        let z = t.learner_training("nobody");
        assert_eq!(z, LearnerTraining::empty("nobody"));
        assert_eq!(z.total_seconds, 0);
        assert!(z.courses.is_empty());
        assert_eq!(z.updated_at, None);
    }

    #[test]
    fn course_pages_follow_learner_ids() {
        let events: Vec<_> = (0..5)
            .map(|i| ev(&format!("e{i}"), &format!("l{i}"), "c", "d", lecture(i)))
            .collect();
        let t = Totals::from_events(&events);
        let p1 = t.course_learners("c", 2, None);
        assert_eq!(p1.learners.len(), 2);
        assert_eq!(p1.next.as_deref(), Some("l1"));
        let p3 = t.course_learners("c", 2, Some("l3"));
        assert_eq!(p3.learners.len(), 1);
        assert_eq!(p3.learners[0].learner_id, "l4");
        assert_eq!(p3.next, None);
        assert_eq!(t.course_learners("c", 5, None).next, None);
        assert_eq!(t.courses(), ["c"]);
    }
}
