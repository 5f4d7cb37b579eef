//! The schedule: an unmeasured warm-up round of the in-process variants, then rounds rotating
//! the variants' order (see [`order`]), each variant with a fresh consumer group every time.

use std::time::Duration;

use consume_runtime::SchemaRegistry;

use crate::measure::{Measurement, STALL_TIMEOUT, Variant};
use crate::peers::{self, NodeRun, RustStreamRun};
use crate::report::thousands;
use crate::stats::Round;
use crate::{BoxError, framework, handlers, lecture, raw};

/// Every variant, in table order.
pub(crate) const ALL_VARIANTS: [Variant; 8] = [
    Variant::Raw,
    Variant::Framework,
    Variant::Avro,
    Variant::KafkajsNoop,
    Variant::KafkajsAvro,
    Variant::Java,
    Variant::RustStreamNoop,
    Variant::RustStreamAvro,
];

/// The in-process variants only (`--no-peers`).
pub(crate) const RUST_VARIANTS: [Variant; 3] = [Variant::Raw, Variant::Framework, Variant::Avro];

/// What every run reads.
pub(crate) struct Target {
    /// Kafka's bootstrap servers.
    pub(crate) bootstrap: String,
    /// The filled topic.
    pub(crate) topic: String,
    /// Records in it.
    pub(crate) expected: u64,
    /// Prefix of this invocation's group ids (unique per invocation).
    pub(crate) group_prefix: String,
    /// librdkafka settings given to every librdkafka-based variant.
    pub(crate) tuning: &'static [(&'static str, &'static str)],
    /// The schema registry holding the topic's value schema (used by (b2)).
    pub(crate) registry: SchemaRegistry,
    /// Its URL (given to (c2) and (e2)).
    pub(crate) registry_url: String,
    /// The variants to run, in table order.
    pub(crate) variants: Vec<Variant>,
}

/// The order of round `number` (1-based). The variants that read the topic in a second or
/// two (a, b1, b2, d, e, e2) run back to back, rotated by `number - 1` among themselves, so
/// the two sides of b1/a, b2/a, a/d and b1/e are measured seconds apart, not across the
/// kafkajs runs (which take 5–15 s each, and the machine's load changes meanwhile); the
/// kafkajs variants (c1, c2) run as a block before them in odd rounds and after them in even
/// rounds, rotated among themselves too.
pub(crate) fn order(number: usize, variants: &[Variant]) -> Vec<Variant> {
    let rotated = |mut g: Vec<Variant>| {
        if !g.is_empty() {
            let by = number.saturating_sub(1) % g.len();
            g.rotate_left(by);
        }
        g
    };
    let slow = |v: &Variant| matches!(v, Variant::KafkajsNoop | Variant::KafkajsAvro);
    let fast = rotated(variants.iter().copied().filter(|v| !slow(v)).collect());
    let kafkajs = rotated(variants.iter().copied().filter(slow).collect());
    if number % 2 == 1 {
        [kafkajs, fast].concat()
    } else {
        [fast, kafkajs].concat()
    }
}

/// Runs the warm-up (if asked: each in-process variant once, which also brings the topic
/// into the page cache; the other stacks start a fresh process per run anyway) and `rounds`
/// measured rounds. Fails as soon as a variant does not read every record.
pub(crate) async fn run_all(
    target: &Target,
    rounds: usize,
    warmup: bool,
) -> Result<Vec<Round>, BoxError> {
    // Σ watched_seconds over the topic: what (c2) and (e2) must report after decoding every
    // record.
    let watched_sum: u64 = if target
        .variants
        .iter()
        .any(|v| matches!(v, Variant::KafkajsAvro | Variant::RustStreamAvro))
    {
        (0..target.expected)
            .map(|seq| u64::try_from(lecture::record(seq).watched_seconds).unwrap_or(0))
            .sum()
    } else {
        0
    };
    if warmup {
        for v in target.variants.iter().filter(|v| !v.is_peer()) {
            run_variant(target, *v, "warmup", watched_sum).await?;
        }
    }
    let mut out = Vec::with_capacity(rounds);
    for number in 1..=rounds {
        let order = order(number, &target.variants);
        let label = format!("r{number}");
        let mut results = Vec::with_capacity(order.len());
        for v in &order {
            let m = run_variant(target, *v, &label, watched_sum).await?;
            results.push((*v, m));
        }
        out.push(Round {
            number,
            order,
            results,
        });
    }
    Ok(out)
}

/// One variant, once, with its own fresh group.
async fn run_variant(
    t: &Target,
    v: Variant,
    label: &str,
    watched_sum: u64,
) -> Result<Measurement, BoxError> {
    let group = format!("{}-{}-{label}", t.group_prefix, v.tag());
    let mut extra = String::new();
    let m = match v {
        Variant::Raw => {
            let (bootstrap, topic, expected) = (t.bootstrap.clone(), t.topic.clone(), t.expected);
            let g = group.clone();
            let tuning = t.tuning;
            tokio::task::spawn_blocking(move || raw::run(&bootstrap, &topic, &g, expected, tuning))
                .await??
        }
        Variant::Framework => framework::run(t, handlers::NOOP, &group).await?,
        Variant::Avro => framework::run(t, handlers::AVRO, &group).await?,
        Variant::RustStreamNoop | Variant::RustStreamAvro => {
            let decode = v == Variant::RustStreamAvro;
            let (bootstrap, topic, g) = (t.bootstrap.clone(), t.topic.clone(), group.clone());
            let (url, count, tuning) = (t.registry_url.clone(), t.expected, t.tuning);
            let r = tokio::task::spawn_blocking(move || {
                peers::run_ruststream(&RustStreamRun {
                    bootstrap: &bootstrap,
                    topic: &topic,
                    group: &g,
                    count,
                    registry: decode.then_some(url.as_str()),
                    tuning,
                })
            })
            .await??;
            check_checksum(v, label, decode, r.checksum, count, watched_sum)?;
            extra = format!("  (join {} ms excluded)", r.join.as_millis());
            r.measurement
        }
        Variant::KafkajsNoop | Variant::KafkajsAvro => {
            let decode = v == Variant::KafkajsAvro;
            let (bootstrap, topic, g) = (t.bootstrap.clone(), t.topic.clone(), group.clone());
            let (url, count) = (t.registry_url.clone(), t.expected);
            let r = tokio::task::spawn_blocking(move || {
                peers::run_node(&NodeRun {
                    bootstrap: &bootstrap,
                    topic: &topic,
                    group: &g,
                    count,
                    registry: decode.then_some(url.as_str()),
                    concurrency: 1,
                    sleep_ms: 0,
                })
            })
            .await??;
            check_checksum(v, label, decode, r.checksum, count, watched_sum)?;
            r.measurement
        }
        Variant::Java => {
            let (bootstrap, topic, g) = (t.bootstrap.clone(), t.topic.clone(), group.clone());
            let count = t.expected;
            let r =
                tokio::task::spawn_blocking(move || peers::run_java(&bootstrap, &topic, &g, count))
                    .await??;
            extra = format!(
                "  (join {} ms excluded; {} msgs/s with it)",
                r.rebalance_ms,
                thousands(r.with_join_rate)
            );
            r.measurement
        }
    };
    eprintln!(
        "  {label:>6} ({:<2}) {:<31} {:>9} records in {:>8.3} s  {:>11} msgs/s{extra}",
        v.letter(),
        v.name(),
        m.read,
        m.elapsed.as_secs_f64(),
        thousands(m.rate()),
    );
    if !m.complete(t.expected) {
        return Err(format!(
            "{} ({label}, group {group}) read only {} of {} records: no progress for {} s \
             (is Kafka still up? see `infra/status`, start it with `infra/up`)",
            v.name(),
            m.read,
            t.expected,
            STALL_TIMEOUT.as_secs()
        )
        .into());
    }
    // Let the group leave and the broker settle before the next variant starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(m)
}

/// Fails unless a peer's `checksum` is the topic's: Σ decoded `watched_seconds` (`decode`) or
/// Σ payload lengths of `count` records.
fn check_checksum(
    v: Variant,
    label: &str,
    decode: bool,
    checksum: u64,
    count: u64,
    watched_sum: u64,
) -> Result<(), BoxError> {
    let want = if decode {
        watched_sum
    } else {
        count * lecture::FRAMED_BYTES as u64
    };
    if checksum != want {
        return Err(format!(
            "{} ({label}) reported checksum {checksum} instead of {want} (Σ {} over the topic)",
            v.name(),
            if decode {
                "decoded watched_seconds"
            } else {
                "payload lengths"
            }
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_rotate() {
        use Variant::{Avro as C, Framework as B, Raw as A};
        let v = [A, B, C];
        assert_eq!(order(1, &v), [A, B, C]);
        assert_eq!(order(2, &v), [B, C, A]);
        assert_eq!(order(3, &v), [C, A, B]);
        assert_eq!(order(4, &v), [A, B, C]);
        assert!(order(1, &[]).is_empty());
        use Variant::{Java as D, KafkajsAvro as C2, KafkajsNoop as C1};
        use Variant::{RustStreamAvro as E2, RustStreamNoop as E};
        assert_eq!(order(1, &ALL_VARIANTS), [C1, C2, A, B, C, D, E, E2]);
        assert_eq!(order(2, &ALL_VARIANTS), [B, C, D, E, E2, A, C2, C1]);
        assert_eq!(order(3, &ALL_VARIANTS), [C1, C2, C, D, E, E2, A, B]);
        assert_eq!(order(7, &ALL_VARIANTS), [C1, C2, A, B, C, D, E, E2]);
    }
}
