//! The schedule: an unmeasured warm-up round, then rounds rotating the variants' order
//! (a, b, c; b, c, a; c, a, b; …), each variant with a fresh consumer group every time.

use std::time::Duration;

use consume_runtime::SchemaRegistry;

use crate::measure::{Measurement, STALL_TIMEOUT, Variant};
use crate::report::thousands;
use crate::stats::Round;
use crate::{BoxError, framework, handlers, raw};

/// The variants in table order.
pub(crate) const VARIANTS: [Variant; 3] = [Variant::Raw, Variant::Framework, Variant::Avro];

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
    /// librdkafka settings given to every variant.
    pub(crate) tuning: &'static [(&'static str, &'static str)],
    /// The schema registry holding the topic's value schema (used by (c)).
    pub(crate) registry: SchemaRegistry,
}

/// The order of round `number` (1-based): [`VARIANTS`] rotated by `number - 1`.
pub(crate) fn order(number: usize) -> [Variant; 3] {
    let mut o = VARIANTS;
    o.rotate_left(number.saturating_sub(1) % VARIANTS.len());
    o
}

/// Runs the warm-up (if asked) and `rounds` measured rounds. Fails as soon as a variant
/// does not read every record.
pub(crate) async fn run_all(
    target: &Target,
    rounds: usize,
    warmup: bool,
) -> Result<Vec<Round>, BoxError> {
    if warmup {
        for v in VARIANTS {
            run_variant(target, v, "warmup").await?;
        }
    }
    let mut out = Vec::with_capacity(rounds);
    for number in 1..=rounds {
        let order = order(number);
        let label = format!("r{number}");
        let (mut raw, mut framework, mut avro) = (None, None, None);
        for v in order {
            let m = run_variant(target, v, &label).await?;
            let slot = match v {
                Variant::Raw => &mut raw,
                Variant::Framework => &mut framework,
                Variant::Avro => &mut avro,
            };
            *slot = Some(m);
        }
        let (Some(raw), Some(framework), Some(avro)) = (raw, framework, avro) else {
            return Err(format!("round {number} did not run every variant").into());
        };
        out.push(Round {
            number,
            order,
            raw,
            framework,
            avro,
        });
    }
    Ok(out)
}

/// One variant, once, with its own fresh group.
async fn run_variant(t: &Target, v: Variant, label: &str) -> Result<Measurement, BoxError> {
    let group = format!("{}-{}-{label}", t.group_prefix, v.tag());
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
    };
    eprintln!(
        "  {label:>6} ({}) {:<27} {:>9} records in {:>8.3} s  {:>11} msgs/s{}",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_rotate() {
        use Variant::{Avro as C, Framework as B, Raw as A};
        assert_eq!(order(1), [A, B, C]);
        assert_eq!(order(2), [B, C, A]);
        assert_eq!(order(3), [C, A, B]);
        assert_eq!(order(4), [A, B, C]);
    }
}
