//! Variant (a): a plain rdkafka `BaseConsumer` poll loop, no framework.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;

use crate::BoxError;
use crate::kafka::base_config;
use crate::measure::{Measurement, STALL_TIMEOUT};

/// Reads the whole topic with a fresh group (`group`), without committing, summing payload
/// lengths so the loop has to look at every record; `tuning` is added to the consumer's
/// settings. Blocking: run it on a blocking thread.
///
/// The clock starts when the first record arrives (group join and the first fetch are
/// excluded) and stops when the last expected record arrives.
pub(crate) fn run(
    bootstrap: &str,
    topic: &str,
    group: &str,
    expected: u64,
    tuning: &[(&str, &str)],
) -> Result<Measurement, BoxError> {
    let mut config = base_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false");
    for (k, v) in tuning {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create()?;
    consumer.subscribe(&[topic])?;

    let mut read = 0u64;
    let mut bytes = 0u64;
    let mut first: Option<Instant> = None;
    // (since when, at which count) the consumer has been idle: detects a stall without
    // reading the clock on every record.
    let mut idle: Option<(Instant, u64)> = None;
    while read < expected {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                if first.is_none() {
                    first = Some(Instant::now());
                }
                read += 1;
                bytes += m.payload().map_or(0, <[u8]>::len) as u64;
            }
            Some(Err(e)) => {
                return Err(format!("raw consumer error after {read} records: {e}").into());
            }
            None => match idle {
                Some((since, at)) if at == read => {
                    if since.elapsed() > STALL_TIMEOUT {
                        break;
                    }
                }
                _ => idle = Some((Instant::now(), read)),
            },
        }
    }
    let elapsed = first.map_or(Duration::ZERO, |f| f.elapsed());
    // Close (leave the group) outside the measured interval.
    drop(consumer);
    // The first record only starts the clock: the interval covers the other `read - 1`.
    Ok(Measurement {
        read,
        timed: read.saturating_sub(1),
        elapsed,
        bytes,
    })
}
