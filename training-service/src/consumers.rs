//! The Kafka side of the service: one batch handler per topic, all doing the same thing —
//! decode each event (`Avro<T>`), refine and validate it (invalid events are dead-lettered
//! with the reason and never counted), and hand the batch to the group-commit writer
//! (`writer.rs`), whose store calls are idempotent by `event_id` (docs/training-storage.md).
//!
//! Each topic has its own consumer group, so a rebalance of one topic never pauses the
//! others. Keys are learner ids: one partition, hence one writer, per learner and topic.
//! The `${…}` placeholders get their values from the configuration (`config::Topics`, given
//! to the runtime with `Runtime::var`), where the topic names and the group prefix live.

use std::marker::PhantomData;

use consume_runtime::extract::Requirements;
use consume_runtime::{
    Avro, Batch, Delivery, FromMessage, HandlerError, Rejection, State, consume,
};
use training_service::domain::RefinedEvent;

use crate::avro_types::{AttendanceAvro, LectureAvro, QuizAvro, TrainingEvent};
use crate::writer::Writer;

/// What the handlers share: the group-commit writer in front of the store.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) writer: Writer,
}

impl App {
    async fn apply<T>(&self, batch: Batch<Refined<T>>) -> Result<(), HandlerError> {
        let mut published = Vec::with_capacity(batch.len());
        let events: Vec<RefinedEvent> = batch
            .into_iter()
            .map(|r| {
                published.push(r.published_ms);
                r.event
            })
            .collect();
        self.writer.apply(events, published).await
    }
}

/// An event decoded from Avro and refined; extraction rejects (permanently, so it is
/// dead-lettered with the reason) an event the rules refuse, and one whose Kafka key is not
/// its learner id (it would break one-writer-per-learner).
pub(crate) struct Refined<T> {
    event: RefinedEvent,
    /// The record's Kafka timestamp (ms), for the latency histogram.
    published_ms: Option<i64>,
    _type: PhantomData<fn() -> T>,
}

impl<T: TrainingEvent> FromMessage for Refined<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let Avro(event) = Avro::<T>::from_message(d).await?;
        if d.key() != Some(event.learner_id().as_bytes()) {
            let key = d.key().map(String::from_utf8_lossy);
            return Err(Rejection::permanent(
                "Refined",
                format!(
                    "the message key {key:?} is not the event's learner_id {:?}",
                    event.learner_id()
                ),
            ));
        }
        let event = event
            .refine()
            .map_err(|e| Rejection::permanent("Refined", e))?;
        Ok(Refined {
            event,
            published_ms: d.timestamp().to_millis(),
            _type: PhantomData,
        })
    }

    fn requirements(r: &mut Requirements) {
        Avro::<T>::requirements(r);
        r.describe_key(serde_json::json!({
            "type": "string",
            "description": "The event's learner_id (one partition, hence one writer, per learner)."
        }));
    }
}

#[consume(
    topic = "${TRAINING_LECTURE_TOPIC}",
    group = "${TRAINING_GROUP}.lecture-progress",
    batch = 1000,
    backoff = "100ms",
    max_backoff = "5s"
)]
async fn lecture_progress(
    batch: Batch<Refined<LectureAvro>>,
    State(app): State<App>,
) -> Result<(), HandlerError> {
    app.apply(batch).await
}

#[consume(
    topic = "${TRAINING_ATTENDANCE_TOPIC}",
    group = "${TRAINING_GROUP}.attendance",
    batch = 1000,
    backoff = "100ms",
    max_backoff = "5s"
)]
async fn attendance(
    batch: Batch<Refined<AttendanceAvro>>,
    State(app): State<App>,
) -> Result<(), HandlerError> {
    app.apply(batch).await
}

#[consume(
    topic = "${TRAINING_QUIZ_TOPIC}",
    group = "${TRAINING_GROUP}.quiz-submitted",
    batch = 1000,
    backoff = "100ms",
    max_backoff = "5s"
)]
async fn quiz_submitted(
    batch: Batch<Refined<QuizAvro>>,
    State(app): State<App>,
) -> Result<(), HandlerError> {
    app.apply(batch).await
}
