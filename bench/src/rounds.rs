//! The schedule: an unmeasured warm-up round of the in-process variants, then rounds rotating
//! the variants' order (see [`order`]), each variant with a fresh consumer group every time.

use std::time::Duration;

use consume_runtime::SchemaRegistry;

use crate::cpu::{self, Runs};
use crate::measure::{Measurement, STALL_TIMEOUT, Variant};
use crate::other_stacks::{self, Stack};
use crate::peers::{self, NodeRun, PeerReport, PeerRun};
use crate::report::thousands;
use crate::stats::{Round, balanced_order};
use crate::{BoxError, c_performance, framework, handlers, lecture, raw};

/// Every variant, in table order.
pub(crate) const ALL_VARIANTS: [Variant; 18] = [
    Variant::Raw,
    Variant::RawSplit,
    Variant::RawDecode,
    Variant::CPerformance,
    Variant::Framework,
    Variant::Avro,
    Variant::AvroBorrowed,
    Variant::KafkajsNoop,
    Variant::KafkajsAvro,
    Variant::ConfluentJsNoop,
    Variant::ConfluentJsAvro,
    Variant::Java,
    Variant::RustStreamNoop,
    Variant::RustStreamAvro,
    Variant::FranzNoop,
    Variant::FranzAvro,
    Variant::SpringNoop,
    Variant::SpringAvro,
];

/// Our variants and the baselines only (`--no-peers`).
pub(crate) const RUST_VARIANTS: [Variant; 7] = [
    Variant::Raw,
    Variant::RawSplit,
    Variant::RawDecode,
    Variant::CPerformance,
    Variant::Framework,
    Variant::Avro,
    Variant::AvroBorrowed,
];

/// The rounds the slow variants ([`is_slow`]) run in, at most; the fast ones run in every
/// round.
pub(crate) const SLOW_ROUNDS: usize = 2;

/// What every run reads.
#[derive(Clone)]
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
    /// Partitions of the topic (the split-queue baselines split each).
    pub(crate) partitions: i32,
    /// The built `rdkafka_performance` (if (a0) runs).
    pub(crate) c_performance: Option<std::path::PathBuf>,
}

/// Whether `v` takes many seconds per run (kafkajs, Confluent's JavaScript client, Spring
/// Kafka: 5–60 s for 2 million records, plus the JVM's start and Spring's context).
fn is_slow(v: Variant) -> bool {
    matches!(
        v,
        Variant::KafkajsNoop
            | Variant::KafkajsAvro
            | Variant::ConfluentJsNoop
            | Variant::ConfluentJsAvro
            | Variant::SpringNoop
            | Variant::SpringAvro
    )
}

/// The order of round `number` (1-based). The variants that read the topic in a second or
/// two run back to back in a balanced order ([`balanced_order`]: over the rounds each runs
/// in every position and right after every other one equally often), so the two sides of
/// every ratio are measured seconds apart and neither always runs first or after the same
/// neighbour. The slow ones ([`is_slow`]) run only in the first [`SLOW_ROUNDS`] rounds, as a
/// block before the fast ones in odd rounds and after them in even ones.
pub(crate) fn order(number: usize, variants: &[Variant]) -> Vec<Variant> {
    let fast: Vec<Variant> = variants.iter().copied().filter(|v| !is_slow(*v)).collect();
    let fast: Vec<Variant> = balanced_order(number, fast.len())
        .into_iter()
        .map(|i| fast[i])
        .collect();
    let mut slow: Vec<Variant> = if number <= SLOW_ROUNDS {
        variants.iter().copied().filter(|v| is_slow(*v)).collect()
    } else {
        Vec::new()
    };
    if number.is_multiple_of(2) {
        slow.reverse();
    }
    if !number.is_multiple_of(2) {
        [slow, fast].concat()
    } else {
        [fast, slow].concat()
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
    // Σ watched_seconds over the topic: what (a″), (c2), (j2), (e2), (f2) and (s2) must
    // report after decoding every record.
    let watched_sum: u64 = if target.variants.iter().any(|v| {
        matches!(
            v,
            Variant::KafkajsAvro
                | Variant::ConfluentJsAvro
                | Variant::RustStreamAvro
                | Variant::RawDecode
                | Variant::FranzAvro
                | Variant::SpringAvro
        )
    }) {
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

/// Runs a peer process (`run`, blocking) on a blocking thread, reading `t`'s topic with
/// `group`, decoding through the registry if `decode`.
async fn peer<F>(t: &Target, group: &str, decode: bool, run: F) -> Result<PeerReport, BoxError>
where
    F: FnOnce(&PeerRun<'_>) -> Result<PeerReport, BoxError> + Send + 'static,
{
    let (bootstrap, topic, group) = (t.bootstrap.clone(), t.topic.clone(), group.to_owned());
    let (url, count, tuning) = (t.registry_url.clone(), t.expected, t.tuning);
    tokio::task::spawn_blocking(move || {
        run(&PeerRun {
            bootstrap: &bootstrap,
            topic: &topic,
            group: &group,
            count,
            registry: decode.then_some(url.as_str()),
            tuning,
        })
    })
    .await?
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
    let in_process = !v.is_peer();
    let mut m = match v {
        Variant::Raw => {
            let (bootstrap, topic, expected) = (t.bootstrap.clone(), t.topic.clone(), t.expected);
            let g = group.clone();
            let tuning = t.tuning;
            tokio::task::spawn_blocking(move || raw::run(&bootstrap, &topic, &g, expected, tuning))
                .await??
        }
        Variant::RawSplit | Variant::RawDecode => {
            let (bootstrap, topic, expected) = (t.bootstrap.clone(), t.topic.clone(), t.expected);
            let (g, tuning, partitions) = (group.clone(), t.tuning, t.partitions);
            let work = if v == Variant::RawDecode {
                raw::Work::Decode
            } else {
                raw::Work::TouchBytes
            };
            let m = tokio::task::spawn_blocking(move || {
                raw::run_split(&bootstrap, &topic, &g, expected, partitions, tuning, work)
            })
            .await??;
            if v == Variant::RawDecode {
                check_checksum(v, label, true, m.bytes, t.expected, watched_sum)?;
            }
            m
        }
        Variant::CPerformance => {
            let binary = t
                .c_performance
                .clone()
                .ok_or("rdkafka_performance was not built")?;
            let (bootstrap, topic, g) = (t.bootstrap.clone(), t.topic.clone(), group.clone());
            let (count, tuning) = (t.expected, t.tuning);
            let r = tokio::task::spawn_blocking(move || {
                c_performance::run(&binary, &bootstrap, &topic, &g, count, tuning)
            })
            .await??;
            let mut m = r.measurement;
            // Its own clock has no wall-clock anchor: its CPU is its whole life's.
            m.cpu = cpu::child_life(r.pid);
            extra = "  (CPU over its whole life)".to_owned();
            m
        }
        Variant::Framework => framework::run(t, handlers::NOOP, &group).await?,
        Variant::Avro => framework::run(t, handlers::AVRO, &group).await?,
        Variant::AvroBorrowed => framework::run(t, handlers::AVRO_REF, &group).await?,
        Variant::FranzNoop
        | Variant::FranzAvro
        | Variant::SpringNoop
        | Variant::SpringAvro
        | Variant::RustStreamNoop
        | Variant::RustStreamAvro
        | Variant::ConfluentJsNoop
        | Variant::ConfluentJsAvro => {
            // The peers printing the common JSON line: the same run, check and note.
            let decode = matches!(
                v,
                Variant::FranzAvro
                    | Variant::SpringAvro
                    | Variant::RustStreamAvro
                    | Variant::ConfluentJsAvro
            );
            let r = match v {
                Variant::FranzNoop | Variant::FranzAvro => {
                    peer(t, &group, decode, |r| other_stacks::run(Stack::Franz, r)).await?
                }
                Variant::SpringNoop | Variant::SpringAvro => {
                    peer(t, &group, decode, |r| other_stacks::run(Stack::Spring, r)).await?
                }
                Variant::RustStreamNoop | Variant::RustStreamAvro => {
                    peer(t, &group, decode, peers::run_ruststream).await?
                }
                _ => peer(t, &group, decode, peers::run_confluent_js).await?,
            };
            check_checksum(v, label, decode, r.checksum, t.expected, watched_sum)?;
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
    if in_process {
        let from = m.start_unix;
        m.cpu = cpu::spent(Runs::InProcess, from, from + m.elapsed.as_secs_f64());
    }
    let cpu = |c: Option<f64>| c.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"));
    eprintln!(
        "  {label:>6} ({:<2}) {:<31} {:>9} records in {:>7.3} s {:>11} msgs/s, CPU {} s, broker {} s{extra}",
        v.letter(),
        v.name(),
        m.read,
        m.elapsed.as_secs_f64(),
        thousands(m.rate()),
        cpu(m.cpu.process),
        cpu(m.cpu.broker),
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
    fn orders_balance_the_fast_variants_and_run_the_slow_peers_in_the_first_rounds() {
        use Variant::{
            ConfluentJsAvro as J2, ConfluentJsNoop as J1, KafkajsAvro as C2, KafkajsNoop as C1,
        };
        let v = ALL_VARIANTS;
        let fast: Vec<Variant> = v.iter().copied().filter(|x| !is_slow(*x)).collect();
        // 12 fast variants: every one in every position once over 12 rounds.
        let mut first = std::collections::HashSet::new();
        for n in 1..=fast.len() {
            let o = order(n, &v);
            let f: Vec<Variant> = o.iter().copied().filter(|x| !is_slow(*x)).collect();
            let mut sorted = f.clone();
            sorted.sort();
            assert_eq!(sorted, fast, "round {n} runs every fast variant once");
            first.insert(f[0]);
            if n <= SLOW_ROUNDS {
                assert_eq!(o.len(), v.len());
                if n % 2 == 1 {
                    assert_eq!(&o[..2], [C1, C2], "round {n}");
                } else {
                    assert_eq!(&o[o.len() - 2..], [C2, C1], "round {n}");
                }
                assert!(o.contains(&J1) && o.contains(&J2), "round {n}");
            } else {
                for slow in [C1, C2, J1, J2] {
                    assert!(!o.contains(&slow), "round {n}");
                }
            }
        }
        assert_eq!(first.len(), fast.len(), "each fast variant opens one round");
        assert!(order(1, &[]).is_empty());
        assert_eq!(
            order(2, &RUST_VARIANTS).len(),
            RUST_VARIANTS.len(),
            "no kafkajs: only the fast ones"
        );
    }
}
