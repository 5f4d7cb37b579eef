//! The schedule: an unmeasured warm-up round, then rounds alternating the variants' order,
//! each variant with a fresh consumer group every time.

use std::time::Duration;

use crate::measure::{Measurement, STALL_TIMEOUT, Variant};
use crate::report::thousands;
use crate::stats::Round;
use crate::{BoxError, framework, raw};

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
    /// librdkafka settings given to both variants.
    pub(crate) tuning: &'static [(&'static str, &'static str)],
}

/// Runs the warm-up (if asked) and `rounds` measured rounds. Fails as soon as a variant
/// does not read every record.
pub(crate) async fn run_all(
    target: &Target,
    rounds: usize,
    warmup: bool,
) -> Result<Vec<Round>, BoxError> {
    if warmup {
        for v in [Variant::Raw, Variant::Framework] {
            run_variant(target, v, "warmup").await?;
        }
    }
    let mut out = Vec::with_capacity(rounds);
    for number in 1..=rounds {
        let order = if number % 2 == 1 {
            [Variant::Raw, Variant::Framework]
        } else {
            [Variant::Framework, Variant::Raw]
        };
        let label = format!("r{number}");
        let first = run_variant(target, order[0], &label).await?;
        let second = run_variant(target, order[1], &label).await?;
        let (raw, framework) = if order[0] == Variant::Raw {
            (first, second)
        } else {
            (second, first)
        };
        out.push(Round {
            number,
            order,
            raw,
            framework,
        });
    }
    Ok(out)
}

/// One variant, once, with its own fresh group.
async fn run_variant(t: &Target, v: Variant, label: &str) -> Result<Measurement, BoxError> {
    let tag = match v {
        Variant::Raw => "raw",
        Variant::Framework => "framework",
    };
    let group = format!("{}-{tag}-{label}", t.group_prefix);
    let m = match v {
        Variant::Raw => {
            let (bootstrap, topic, expected) = (t.bootstrap.clone(), t.topic.clone(), t.expected);
            let g = group.clone();
            let tuning = t.tuning;
            tokio::task::spawn_blocking(move || raw::run(&bootstrap, &topic, &g, expected, tuning))
                .await??
        }
        Variant::Framework => {
            framework::run(&t.bootstrap, &t.topic, &group, t.expected, t.tuning).await?
        }
    };
    eprintln!(
        "  {label:>6} ({}) {:<26} {:>9} records in {:>8.3} s  {:>11} msgs/s{}",
        v.letter(),
        v.name(),
        m.read,
        m.elapsed.as_secs_f64(),
        thousands(m.rate()),
        if m.bytes > 0 {
            format!("  ({} payload bytes)", m.bytes)
        } else {
            String::new()
        },
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
