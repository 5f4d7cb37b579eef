//! Prepares the topic every variant reads: a fresh one is filled once with Avro records
//! framed with the schema id registered under `<topic>-value`; an existing one is reused
//! only if it holds exactly N records framed with that id.

use std::time::{Duration, Instant};

use consume_runtime::avro::wire;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;

use crate::kafka::{self, base_config};
use crate::lecture::{self, Encoder};
use crate::report::thousands;
use crate::{BoxError, produce};

/// Fills the freshly created `topic` with `messages` records framed with `schema_id` and
/// checks they all landed.
pub(crate) async fn fill_topic(
    bootstrap: &str,
    topic: &str,
    messages: u64,
    schema_id: u32,
) -> Result<(), BoxError> {
    eprintln!("producing {messages} Avro records (schema id {schema_id}) to `{topic}`…");
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    let took = tokio::task::spawn_blocking(move || {
        let schema = lecture::schema()?;
        let mut encoder = Encoder::new(&schema, schema_id)?;
        produce::fill(&b, &t, messages, &mut encoder)
    })
    .await??;
    let stored = kafka::count_messages(bootstrap, topic)?.map_or(0, |(_, n)| n);
    eprintln!(
        "produced in {:.1} s ({} msgs/s); the topic holds {stored} records",
        took.as_secs_f64(),
        thousands(messages as f64 / took.as_secs_f64().max(1e-9))
    );
    if stored != messages {
        return Err(
            format!("topic `{topic}` holds {stored} records after producing {messages}").into(),
        );
    }
    Ok(())
}

/// Uses an existing topic only if it holds exactly `messages` records and its first record
/// is framed with `schema_id` (the registry forgets schemas when it restarts, and may then
/// hand out other ids).
pub(crate) async fn check_reusable(
    bootstrap: &str,
    topic: &str,
    messages: u64,
    schema_id: u32,
) -> Result<(), BoxError> {
    let n = match kafka::count_messages(bootstrap, topic)? {
        Some((_, n)) if n == messages => n,
        found => {
            return Err(format!(
                "topic `{topic}` already exists with {} records, not {messages}; pick another \
                 --topic or omit it for a fresh one",
                found.map_or(0, |(_, n)| n)
            )
            .into());
        }
    };
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    let first = tokio::task::spawn_blocking(move || first_value(&b, &t)).await??;
    match wire::split(&first) {
        Ok((id, _)) if id == schema_id => {
            eprintln!("topic `{topic}` exists with {n} records framed with schema id {id}: reusing it");
            Ok(())
        }
        Ok((id, _)) => Err(format!(
            "topic `{topic}` holds records framed with schema id {id}, but the registry has the \
             LectureProgress schema as id {schema_id} under `{topic}-value` (was the registry \
             restarted?); omit --topic for a fresh one"
        )
        .into()),
        Err(e) => Err(format!(
            "topic `{topic}` does not hold Confluent-framed Avro ({e}); omit --topic for a fresh one"
        )
        .into()),
    }
}

/// The value of the first record the topic delivers from the beginning (no group commits).
fn first_value(bootstrap: &str, topic: &str) -> Result<Vec<u8>, BoxError> {
    let consumer: BaseConsumer = base_config(bootstrap)
        .set("group.id", "consume-bench-probe")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => return Ok(m.payload().unwrap_or_default().to_vec()),
            Some(Err(e)) => return Err(format!("reading a record of `{topic}`: {e}").into()),
            None => {}
        }
    }
    Err(format!(
        "no record of `{topic}` arrived within 30 s (is Kafka still up? see `infra/status`, start \
         it with `infra/up`)"
    )
    .into())
}
