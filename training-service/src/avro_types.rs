//! The three event types as `Avro<T>` payloads: transparent wrappers that attach each
//! type's reader schema (`schemas/*.avsc`) for the framework's decoder and publisher.

use consume_runtime::avro::AvroSchema;
use serde::{Deserialize, Serialize};
use training_service::domain::{
    ATTENDANCE_CHECKED_SCHEMA, AttendanceChecked, InvalidEvent, LECTURE_PROGRESS_SCHEMA,
    LectureProgress, QUIZ_SUBMITTED_SCHEMA, QuizSubmitted, RefinedEvent,
};

/// An event type of the service: decodable from Avro and refinable by the domain rules.
pub(crate) trait TrainingEvent: AvroSchema + Serialize + Sync {
    /// The learner the event belongs to (also its Kafka key).
    fn learner_id(&self) -> &str;
    /// Validates and refines the event.
    fn refine(self) -> Result<RefinedEvent, InvalidEvent>;
}

macro_rules! avro_event {
    ($wrapper:ident, $inner:ty, $schema:expr) => {
        #[doc = concat!("`", stringify!($inner), "` with its Avro schema.")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub(crate) struct $wrapper(pub(crate) $inner);

        impl AvroSchema for $wrapper {
            const SCHEMA: &'static str = $schema;
        }

        impl TrainingEvent for $wrapper {
            fn learner_id(&self) -> &str {
                &self.0.learner_id
            }
            fn refine(self) -> Result<RefinedEvent, InvalidEvent> {
                RefinedEvent::try_from(self.0)
            }
        }
    };
}

avro_event!(LectureAvro, LectureProgress, LECTURE_PROGRESS_SCHEMA);
avro_event!(AttendanceAvro, AttendanceChecked, ATTENDANCE_CHECKED_SCHEMA);
avro_event!(QuizAvro, QuizSubmitted, QUIZ_SUBMITTED_SCHEMA);

#[cfg(test)]
mod tests {
    use apache_avro::writer::datum::GenericDatumWriter;
    use consume_runtime::avro::{Prepared, reader_schema};
    use training_service::domain::AttendanceKind;

    use super::*;

    /// Encodes like the publisher does and decodes like `Avro<T>` does.
    fn round_trip<T: AvroSchema + Serialize + PartialEq + std::fmt::Debug>(value: &T) {
        let schema = reader_schema::<T>().expect("schema parses");
        let body = GenericDatumWriter::builder(&schema)
            .build()
            .and_then(|w| w.write_ser_to_vec(value))
            .expect("encodes");
        let prepared = Prepared::new(&schema, &schema).expect("resolves");
        assert_eq!(&prepared.decode::<T>(&body).expect("decodes"), value);
    }

    #[test]
    fn every_event_type_round_trips_through_its_schema() {
        round_trip(&LectureAvro(LectureProgress {
            event_id: "e1".into(),
            learner_id: "l1".into(),
            course_id: "c1".into(),
            lecture_id: "lec".into(),
            watched_seconds: 300,
            occurred_at: 1_773_154_799_999,
        }));
        for kind in [
            AttendanceKind::CheckIn,
            AttendanceKind::CheckOut,
            AttendanceKind::IdentityVerified,
        ] {
            round_trip(&AttendanceAvro(AttendanceChecked {
                event_id: "e2".into(),
                learner_id: "l1".into(),
                course_id: "c1".into(),
                kind,
                occurred_at: 1,
            }));
        }
        round_trip(&QuizAvro(QuizSubmitted {
            event_id: "e3".into(),
            learner_id: "l1".into(),
            course_id: "c1".into(),
            quiz_id: "q".into(),
            score: 7,
            max_score: 10,
            time_spent_seconds: 120,
            occurred_at: 2,
        }));
    }
}
