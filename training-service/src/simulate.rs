//! `training-service simulate`: realistic learner activity published to Kafka through the
//! framework's publisher, plus the ground truth (what the totals must be) as JSON. Also the
//! event source of the embedded demo.
//!
//! Each learner follows sessions per course: CHECK_IN, IDENTITY_VERIFIED, then lecture
//! progress (30–600 s) and the odd quiz (60–900 s), then CHECK_OUT. `--duplicates` re-sends
//! a fraction of events (same event id, same bytes) and `--invalid` sends a fraction with
//! out-of-range seconds (the service must dead-letter them and count nothing).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use consume_runtime::Publisher;
use serde::Serialize;
use training_service::domain::time::now_ms;
use training_service::domain::{
    AttendanceChecked, AttendanceKind, LearnerTraining, LectureProgress, QuizSubmitted,
    RefinedEvent, Totals,
};

use crate::avro_types::{AttendanceAvro, LectureAvro, QuizAvro, TrainingEvent};
use crate::config::Topics;

/// `simulate` settings (from `config::LoadArgs`, or the demo's own).
#[derive(Debug, Clone)]
pub(crate) struct SimConfig {
    pub(crate) learners: usize,
    pub(crate) courses: usize,
    /// Events per second.
    pub(crate) rate: f64,
    pub(crate) duration: Duration,
    /// Fraction of sends that repeat an earlier event.
    pub(crate) duplicates: f64,
    /// Fraction of events that are invalid.
    pub(crate) invalid: f64,
    /// Events' `occurred_at` spread over this many past days (0: now).
    pub(crate) spread_days: u32,
    pub(crate) seed: u64,
    pub(crate) truth: Option<PathBuf>,
    /// Latency probes (`--probe-every-ms`, `--probe-log`), for a client that polls the API.
    pub(crate) probe: Option<Probe>,
}

/// Latency probes: every `every`, one extra lecture event of 1 s for a learner of its own
/// (`probe-<run>`), so that learner's total is the number of probes applied. The wall-clock
/// send time of each (ms, just before it is handed to the publisher) goes to `log` as JSON
/// `{"learner": …, "sent_ms": [...]}`: a client polling the learner's API total then knows
/// when probe k became visible (total ≥ k) and so its publish → visible latency
/// (bench/training-latency).
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub(crate) every: Duration,
    pub(crate) log: PathBuf,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            learners: 200,
            courses: 5,
            rate: 200.0,
            duration: Duration::from_secs(10),
            duplicates: 0.02,
            invalid: 0.01,
            spread_days: 2,
            seed: 1,
            truth: None,
            probe: None,
        }
    }
}

/// One generated event, ready to publish.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    Lecture(LectureAvro),
    Attendance(AttendanceAvro),
    Quiz(QuizAvro),
}

impl Event {
    fn topic<'t>(&self, topics: &'t Topics) -> &'t str {
        match self {
            Event::Lecture(_) => &topics.lecture,
            Event::Attendance(_) => &topics.attendance,
            Event::Quiz(_) => &topics.quiz,
        }
    }

    fn learner(&self) -> &str {
        match self {
            Event::Lecture(e) => e.learner_id(),
            Event::Attendance(e) => e.learner_id(),
            Event::Quiz(e) => e.learner_id(),
        }
    }

    /// The refined event if the rules accept it.
    pub(crate) fn refined(&self) -> Option<RefinedEvent> {
        match self.clone() {
            Event::Lecture(e) => e.refine().ok(),
            Event::Attendance(e) => e.refine().ok(),
            Event::Quiz(e) => e.refine().ok(),
        }
    }

    /// Publishes the event, keyed by its learner.
    pub(crate) async fn publish(
        &self,
        p: &Publisher,
        topics: &Topics,
    ) -> Result<(), consume_runtime::PublishError> {
        let key = Some(self.learner().as_bytes());
        let topic = self.topic(topics);
        match self {
            Event::Lecture(e) => p.send_avro(topic, key, e, &[]).await,
            Event::Attendance(e) => p.send_avro(topic, key, e, &[]).await,
            Event::Quiz(e) => p.send_avro(topic, key, e, &[]).await,
        }
        .map(|_| ())
    }
}

/// xorshift64*: deterministic for a seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// Where a learner is in a course session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Out,
    CheckedIn,
    Verified,
}

/// Generates learners' events.
#[derive(Debug)]
pub(crate) struct Generator {
    rng: Rng,
    run: String,
    seq: u64,
    learners: Vec<(String, Vec<String>)>,
    /// (learner index, course index) → phase.
    phases: BTreeMap<(usize, usize), Phase>,
    spread_days: u32,
    invalid: f64,
    duplicates: f64,
    /// Recent valid events, for duplicate sends.
    recent: VecDeque<Event>,
}

impl Generator {
    pub(crate) fn new(c: &SimConfig) -> Self {
        let mut rng = Rng::new(c.seed);
        let run = format!("{:08x}", rng.next() as u32);
        let courses: Vec<String> = (1..=c.courses.max(1))
            .map(|i| format!("course-{i:02}"))
            .collect();
        let learners = (1..=c.learners.max(1))
            .map(|i| {
                let n = 1 + (rng.next() % 2) as usize;
                let mine = (0..n)
                    .map(|_| courses[(rng.next() % courses.len() as u64) as usize].clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                (format!("learner-{i:05}"), mine)
            })
            .collect();
        Self {
            rng,
            run,
            seq: 0,
            learners,
            phases: BTreeMap::new(),
            spread_days: c.spread_days,
            invalid: c.invalid,
            duplicates: c.duplicates,
            recent: VecDeque::with_capacity(1024),
        }
    }

    /// The learner ids.
    pub(crate) fn learner_ids(&self) -> impl Iterator<Item = &str> {
        self.learners.iter().map(|(l, _)| l.as_str())
    }

    /// The next event to send; `true` if it repeats an earlier one.
    pub(crate) fn next(&mut self) -> (Event, bool) {
        if !self.recent.is_empty() && self.rng.chance(self.duplicates) {
            let i = (self.rng.next() % self.recent.len() as u64) as usize;
            return (self.recent[i].clone(), true);
        }
        let ev = self.fresh();
        if self.recent.len() == 1024 {
            self.recent.pop_front();
        }
        self.recent.push_back(ev.clone());
        (ev, false)
    }

    /// The learner the latency probes are for (not one of the simulated learners).
    pub(crate) fn probe_learner(&self) -> String {
        format!("probe-{}", self.run)
    }

    /// Latency probe `k` (from 1): 1 s of lecture, now, for [`Self::probe_learner`].
    pub(crate) fn probe(&self, k: u64) -> Event {
        Event::Lecture(LectureAvro(LectureProgress {
            event_id: format!("probe-{}-{k:09}", self.run),
            learner_id: self.probe_learner(),
            course_id: "course-01".to_owned(),
            lecture_id: "probe".to_owned(),
            watched_seconds: 1,
            occurred_at: now_ms(),
        }))
    }

    fn fresh(&mut self) -> Event {
        self.seq += 1;
        let event_id = format!("sim-{}-{:09}", self.run, self.seq);
        let li = (self.rng.next() % self.learners.len() as u64) as usize;
        let (learner_id, courses) = &self.learners[li];
        let ci = (self.rng.next() % courses.len() as u64) as usize;
        let course_id = courses[ci].clone();
        let learner_id = learner_id.clone();
        let back = if self.spread_days == 0 {
            0
        } else {
            self.rng.range(0, i64::from(self.spread_days) * 86_400_000)
        };
        let occurred_at = now_ms() - back;
        let invalid = self.rng.chance(self.invalid);
        let phase = self.phases.entry((li, ci)).or_insert(Phase::Out);
        let attendance = |kind| {
            Event::Attendance(AttendanceAvro(AttendanceChecked {
                event_id: event_id.clone(),
                learner_id: learner_id.clone(),
                course_id: course_id.clone(),
                kind,
                occurred_at,
            }))
        };
        match *phase {
            Phase::Out => {
                *phase = Phase::CheckedIn;
                return attendance(AttendanceKind::CheckIn);
            }
            Phase::CheckedIn => {
                *phase = Phase::Verified;
                return attendance(AttendanceKind::IdentityVerified);
            }
            Phase::Verified => {}
        }
        let roll = self.rng.next() % 100;
        if roll < 4 {
            *phase = Phase::Out;
            return attendance(AttendanceKind::CheckOut);
        }
        let bad = |rng: &mut Rng| {
            if rng.chance(0.5) {
                rng.range(3_601, 20_000) as i32
            } else {
                -(rng.range(1, 600) as i32)
            }
        };
        if roll < 18 {
            let seconds = if invalid {
                bad(&mut self.rng)
            } else {
                self.rng.range(60, 900) as i32
            };
            let max_score = 100;
            return Event::Quiz(QuizAvro(QuizSubmitted {
                event_id,
                learner_id,
                course_id,
                quiz_id: format!("quiz-{}", self.rng.range(1, 20)),
                score: self.rng.range(0, max_score) as i32,
                max_score: max_score as i32,
                time_spent_seconds: seconds,
                occurred_at,
            }));
        }
        let seconds = if invalid {
            bad(&mut self.rng)
        } else {
            self.rng.range(30, 600) as i32
        };
        Event::Lecture(LectureAvro(LectureProgress {
            event_id,
            learner_id,
            course_id,
            lecture_id: format!("lecture-{}", self.rng.range(1, 40)),
            watched_seconds: seconds,
            occurred_at,
        }))
    }
}

/// What a simulation sent and what the totals must be.
#[derive(Debug, Default, Serialize)]
pub(crate) struct GroundTruth {
    /// Messages published (duplicates and invalid ones included).
    pub(crate) sent: u64,
    /// Distinct valid events (what must be counted).
    pub(crate) unique_valid: u64,
    /// Re-sends of an earlier event.
    pub(crate) duplicates: u64,
    /// Invalid events (must be dead-lettered, not counted).
    pub(crate) invalid: u64,
    /// Every learner's expected totals (`updated_at` is not part of the truth).
    pub(crate) learners: BTreeMap<String, LearnerTraining>,
}

/// Accumulates the ground truth of what was sent.
#[derive(Debug, Default)]
pub(crate) struct Truth {
    seen: HashSet<String>,
    totals: Totals,
    truth: GroundTruth,
}

impl Truth {
    /// Records one published event.
    pub(crate) fn record(&mut self, ev: &Event, duplicate: bool) {
        self.truth.sent += 1;
        if duplicate {
            self.truth.duplicates += 1;
        }
        match ev.refined() {
            None => {
                if !duplicate {
                    self.truth.invalid += 1;
                }
            }
            Some(r) => {
                if self.seen.insert(r.event_id.clone()) {
                    self.truth.unique_valid += 1;
                    self.totals.add(&r);
                }
            }
        }
    }

    /// The final truth, with every learner (zeros for one with no valid event).
    pub(crate) fn finish<'a>(mut self, learners: impl Iterator<Item = &'a str>) -> GroundTruth {
        for l in learners {
            let mut t = self.totals.learner_training(l);
            t.updated_at = None;
            self.truth.learners.insert(l.to_owned(), t);
        }
        self.truth
    }
}

/// Runs `simulate`: publishes for `duration` at `rate`, then writes the truth. Sends are
/// pipelined (many in flight, each awaited for its acknowledgement), so the rate holds even
/// when one acknowledgement takes longer than a tick.
pub(crate) async fn run(
    c: &SimConfig,
    topics: &Topics,
    publisher: &Publisher,
) -> Result<GroundTruth, String> {
    use futures::StreamExt as _;
    use futures::stream::FuturesUnordered;

    let mut generator = Generator::new(c);
    let mut truth = Truth::default();
    let tick = Duration::from_millis(10);
    let per_tick = c.rate * tick.as_secs_f64();
    let started = Instant::now();
    let mut owed = 0.0;
    let mut next = started;
    let mut inflight = FuturesUnordered::new();
    let publish = |e: Event| async move {
        e.publish(publisher, topics)
            .await
            .map_err(|err| format!("publishing to {}: {err}", e.topic(topics)))
    };
    let mut probes_sent: Vec<i64> = Vec::new();
    let mut next_probe = started;
    let probe_learner = generator.probe_learner();
    if let Some(p) = &c.probe {
        // The learner first (the poller waits for it), the send times at the end.
        write_probe_log(&p.log, &probe_learner, &[])?;
    }
    while started.elapsed() < c.duration {
        owed += per_tick;
        let n = owed.floor() as usize;
        owed -= n as f64;
        for _ in 0..n {
            let (e, dup) = generator.next();
            truth.record(&e, dup);
            inflight.push(publish(e));
        }
        if let Some(p) = c.probe.as_ref().filter(|_| Instant::now() >= next_probe) {
            next_probe += p.every;
            let e = generator.probe(probes_sent.len() as u64 + 1);
            truth.record(&e, false);
            probes_sent.push(now_ms());
            inflight.push(publish(e));
        }
        next += tick;
        let wait = tokio::time::sleep_until(next.into());
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                Some(r) = inflight.next(), if !inflight.is_empty() => r?,
            }
        }
    }
    while let Some(r) = inflight.next().await {
        r?;
    }
    publisher
        .flush(Duration::from_secs(30))
        .map_err(|e| format!("flushing the publisher: {e}"))?;
    if let Some(p) = &c.probe {
        write_probe_log(&p.log, &probe_learner, &probes_sent)?;
    }
    let probed = c.probe.as_ref().map(|_| probe_learner.as_str());
    let truth = truth.finish(generator.learner_ids().chain(probed));
    if let Some(path) = &c.truth {
        let json = serde_json::to_string_pretty(&truth).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(truth)
}

/// Writes the probe log whole (a reader never sees half of it: written aside, then renamed).
fn write_probe_log(path: &std::path::Path, learner: &str, sent_ms: &[i64]) -> Result<(), String> {
    let log = serde_json::json!({ "learner": learner, "sent_ms": sent_ms });
    let aside = path.with_extension("partial");
    std::fs::write(&aside, log.to_string())
        .and_then(|()| std::fs::rename(&aside, path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_mixed() {
        let c = SimConfig {
            learners: 20,
            invalid: 0.05,
            duplicates: 0.05,
            ..SimConfig::default()
        };
        let mut a = Generator::new(&c);
        let mut b = Generator::new(&c);
        let mut truth = Truth::default();
        let names = Topics {
            lecture: "l".into(),
            attendance: "a".into(),
            quiz: "q".into(),
        };
        let mut topics = BTreeMap::new();
        for _ in 0..2_000 {
            let (x, dup) = a.next();
            let (y, _) = b.next();
            // Same events from the same seed (`occurred_at` is read from the clock).
            let same = |e: &Event| {
                e.refined().map(|mut r| {
                    r.occurred_at = 0;
                    r
                })
            };
            assert_eq!(same(&x), same(&y));
            *topics.entry(x.topic(&names).to_owned()).or_insert(0) += 1;
            truth.record(&x, dup);
        }
        assert_eq!(topics.len(), 3, "all three topics: {topics:?}");
        let t = truth.finish(a.learner_ids());
        assert!(t.duplicates > 40 && t.invalid > 40, "{t:?}");
        assert_eq!(t.learners.len(), 20);
        assert!(t.learners.values().any(|l| l.total_seconds > 0));
    }
}
