//! The raw baselines, no framework: (a) a plain rdkafka `BaseConsumer` poll loop on the
//! consumer's one merged queue; (a′) the framework's queues without the framework: each
//! partition's queue split off and read by a thread of its own, folding every payload byte;
//! (a″) the same with the framework's Avro decoder on every record.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use consume_runtime::avro::{Prepared, wire};

use crate::BoxError;
use crate::cpu::unix_now;
use crate::kafka::base_config;
use crate::lecture::{self, LectureProgress};
use crate::measure::{Measurement, STALL_TIMEOUT};

/// The raw loops' consumer: a fresh group from the earliest offset, no commits, no EOF
/// events, plus `tuning`.
fn consumer_config(bootstrap: &str, group: &str, tuning: &[(&str, &str)]) -> ClientConfig {
    let mut config = base_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false");
    for (k, v) in tuning {
        config.set(*k, *v);
    }
    config
}

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
    let config = consumer_config(bootstrap, group, tuning);
    let consumer: BaseConsumer = config.create()?;
    consumer.subscribe(&[topic])?;

    let mut read = 0u64;
    let mut bytes = 0u64;
    let mut first: Option<Instant> = None;
    let mut start_unix = 0.0;
    // (since when, at which count) the consumer has been idle: detects a stall without
    // reading the clock on every record.
    let mut idle: Option<(Instant, u64)> = None;
    while read < expected {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                if first.is_none() {
                    first = Some(Instant::now());
                    start_unix = unix_now();
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
        start_unix,
        ..Measurement::ZERO
    })
}

/// What (a′)/(a″) do with each payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// Fold every byte into a checksum (a′).
    TouchBytes,
    /// Split the Confluent header off and decode the body into the owned [`LectureProgress`]
    /// with `consume_runtime::avro::Prepared`, the decoder `Avro<T>` uses (a″).
    Decode,
}

/// Records a partition thread counts before adding them to the shared count.
const PUBLISH_EVERY: u64 = 256;

/// The shared state of the partition threads of one split-queue run.
struct Split {
    read: AtomicU64,
    bytes: AtomicU64,
    expected: u64,
    done: AtomicBool,
    first: OnceLock<(Instant, f64)>,
    last: OnceLock<Instant>,
    error: Mutex<Option<String>>,
}

/// Reads the whole topic with a fresh group on split partition queues: `partitions` queues
/// are split off right after `subscribe` (before the first poll, so before any assignment:
/// librdkafka never routes their records to the main queue), one OS thread per queue
/// blocks in `PartitionQueue::poll`, and this thread polls the consumer for the group's
/// events. No commits. Blocking: run it on a blocking thread.
///
/// The clock starts at the first record on any queue and stops at the `expected`-th.
pub(crate) fn run_split(
    bootstrap: &str,
    topic: &str,
    group: &str,
    expected: u64,
    partitions: i32,
    tuning: &[(&str, &str)],
    work: Work,
) -> Result<Measurement, BoxError> {
    let config = consumer_config(bootstrap, group, tuning);
    let consumer: Arc<BaseConsumer> = Arc::new(config.create()?);
    consumer.subscribe(&[topic])?;
    let mut queues = Vec::new();
    for p in 0..partitions {
        queues.push(
            consumer
                .split_partition_queue(topic, p)
                .ok_or_else(|| format!("cannot split the queue of {topic}/{p}"))?,
        );
    }
    let decoder = match work {
        Work::TouchBytes => None,
        Work::Decode => {
            let schema = lecture::schema()?;
            Some(Arc::new(Prepared::new(&schema, &schema).map_err(|e| {
                format!("the LectureProgress schema does not resolve against itself: {e}")
            })?))
        }
    };
    let split = Arc::new(Split {
        read: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        expected,
        done: AtomicBool::new(false),
        first: OnceLock::new(),
        last: OnceLock::new(),
        error: Mutex::new(None),
    });
    let threads: Vec<_> = queues
        .into_iter()
        .map(|queue| {
            let (split, decoder) = (Arc::clone(&split), decoder.clone());
            std::thread::spawn(move || {
                // Records counted here and not yet added to the shared count: published
                // every `PUBLISH_EVERY` records and whenever the queue is found empty, so
                // the threads do not contend on one counter per record.
                let mut unpublished = 0u64;
                let mut checksum = 0u64;
                while !split.done.load(Ordering::Relaxed) {
                    let m = match queue.poll(Duration::ZERO) {
                        Some(m) => m,
                        None => {
                            split.publish(std::mem::take(&mut unpublished));
                            match queue.poll(Duration::from_millis(100)) {
                                Some(m) => m,
                                None => continue,
                            }
                        }
                    };
                    let payload = match &m {
                        Ok(m) => m.payload().unwrap_or_default(),
                        Err(e) => {
                            split.fail(format!("partition queue error: {e}"));
                            break;
                        }
                    };
                    split.first.get_or_init(|| (Instant::now(), unix_now()));
                    let seen = match &decoder {
                        None => payload
                            .iter()
                            .fold(0u64, |a, b| a.wrapping_add(u64::from(*b))),
                        Some(d) => match wire::split(payload).map_err(|e| e.to_string()).and_then(
                            |(_, body)| {
                                d.decode::<LectureProgress>(body).map_err(|e| e.to_string())
                            },
                        ) {
                            Ok(p) => u64::try_from(black_box(p).watched_seconds).unwrap_or(0),
                            Err(e) => {
                                split.fail(format!("a record does not decode: {e}"));
                                break;
                            }
                        },
                    };
                    checksum = checksum.wrapping_add(seen);
                    unpublished += 1;
                    if unpublished == PUBLISH_EVERY {
                        split.publish(std::mem::take(&mut unpublished));
                    }
                }
                split.publish(unpublished);
                split.bytes.fetch_add(checksum, Ordering::Relaxed);
            })
        })
        .collect();
    let mut idle = (Instant::now(), 0u64);
    while !split.done.load(Ordering::Relaxed) {
        // Group events (join, assignment); records all go to the split queues.
        if let Some(Err(e)) = consumer.poll(Duration::from_millis(20)) {
            split.fail(format!("consumer error: {e}"));
        }
        let read = split.read.load(Ordering::Relaxed);
        if read != idle.1 {
            idle = (Instant::now(), read);
        } else if idle.0.elapsed() > STALL_TIMEOUT {
            split.done.store(true, Ordering::Relaxed);
        }
    }
    for t in threads {
        t.join().map_err(|_| "a partition thread panicked")?;
    }
    if let Some(e) = split.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e.into());
    }
    let read = split.read.load(Ordering::Relaxed).min(expected);
    let (elapsed, start_unix) = match (split.first.get(), split.last.get()) {
        (Some((f, u)), Some(l)) => (l.duration_since(*f), *u),
        _ => (Duration::ZERO, 0.0),
    };
    drop(consumer);
    Ok(Measurement {
        read,
        timed: read.saturating_sub(1),
        elapsed,
        bytes: split.bytes.load(Ordering::Relaxed),
        start_unix,
        ..Measurement::ZERO
    })
}

impl Split {
    /// Adds `n` records to the count; reaching `expected` stops the clock and every thread.
    fn publish(&self, n: u64) {
        if n == 0 {
            return;
        }
        let before = self.read.fetch_add(n, Ordering::Relaxed);
        if before < self.expected && before + n >= self.expected {
            let _ = self.last.set(Instant::now());
            self.done.store(true, Ordering::Relaxed);
        }
    }

    fn fail(&self, e: String) {
        self.error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(e);
        self.done.store(true, Ordering::Relaxed);
    }
}
