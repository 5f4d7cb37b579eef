//! Renders the results as markdown: the per-round tables, the bullets every section shares,
//! and the "Framework overhead" section (printed to stdout and, on request, written into
//! BENCHMARKS.md). The Avro section is in `avro_report.rs`.

use std::fmt::Write as _;

use crate::decode::DecodeBench;
use crate::handlers::NOOP;
use crate::kafka::PARTITIONS;
use crate::lecture::FRAMED_BYTES;
use crate::machine::Machine;
use crate::measure::Variant;
use crate::produce::KEYS;
use crate::stats::{Round, summarize};

/// Everything the sections show.
pub(crate) struct Report<'a> {
    /// The command line that produced it.
    pub(crate) command: String,
    /// Where it ran.
    pub(crate) machine: &'a Machine,
    /// Records in the topic.
    pub(crate) messages: u64,
    /// Whether a warm-up round ran first.
    pub(crate) warmup: bool,
    /// librdkafka settings every variant got.
    pub(crate) tuning: &'a [(&'a str, &'a str)],
    /// The measured rounds.
    pub(crate) rounds: &'a [Round],
    /// The schema registry's URL.
    pub(crate) registry_url: String,
    /// The decode micro-benchmark.
    pub(crate) decode: &'a DecodeBench,
}

/// `1234567.8` → `1,234,568`.
pub(crate) fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a, b1, b2, …`: the order a round ran its variants in.
pub(crate) fn order(o: &[Variant]) -> String {
    let letters: Vec<&str> = o.iter().map(|v| v.letter()).collect();
    letters.join(", ")
}

/// The column header of variant `v`.
fn column(v: Variant) -> String {
    format!("({}) {}, msgs/s", v.letter(), v.name())
}

/// The per-round table of (a) and `v`, with a median row.
pub(crate) fn table(rounds: &[Round], v: Variant) -> String {
    let s = summarize(rounds, v);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| round | order | {} | {} | {}/a |",
        column(Variant::Raw),
        column(v),
        v.letter()
    );
    t.push_str("|---:|:---:|---:|---:|---:|\n");
    for r in rounds {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {:.3} |",
            r.number,
            order(&r.order),
            thousands(r.of(Variant::Raw).rate()),
            thousands(r.of(v).rate()),
            r.ratio(v)
        );
    }
    let _ = writeln!(
        t,
        "| **median** | | **{}** | **{}** | **{:.3}** |",
        thousands(s.raw_median),
        thousands(s.median),
        s.median_ratio
    );
    t
}

/// The first bullets of a section: command, date, machine, broker, data, variant (a).
pub(crate) fn common_head(r: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "- Command: `{}`", r.command);
    let _ = writeln!(out, "- Date: {}", r.machine.date);
    let _ = writeln!(out, "- Machine: {}", r.machine.one_line());
    out.push_str("- Broker: the local single-node Kafka of `infra/up` (PLAINTEXT on loopback)\n");
    let _ = writeln!(
        out,
        "- Data: one topic, {PARTITIONS} partitions, {} records of {FRAMED_BYTES} B with {} distinct \
         keys: Confluent-framed Avro `training.v1.LectureProgress` values (5-byte header, 95-byte \
         body: four strings, an `int`, a `timestamp-millis` `long`), produced once (no compression, \
         `acks=1`) and read in full by every variant in every round",
        thousands(r.messages as f64),
        thousands(KEYS as f64),
    );
    let _ = writeln!(
        out,
        "- (a) {}: one consumer polling its queue, `enable.auto.commit=false`, summing payload lengths",
        Variant::Raw.name()
    );
    out
}

/// The last bullets of a section: shared tuning and the method.
pub(crate) fn common_tail(r: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- All consumers get the same extra librdkafka settings: {}. With librdkafka's defaults \
         the result is decided by 1 s and 0.5 s fetch back-offs rather than per-message work \
         (see `bench/src/tuning.rs`; `--librdkafka-defaults` measures without them)",
        crate::tuning::describe(r.tuning)
    );
    let _ = writeln!(
        out,
        "- Method: {}{} measured round{} rotating the order of the variants ({} in round 1; \
         see the side-by-side section for the rule); a fresh consumer group per variant and round; each \
         clock runs from the first record received (a) or handled (b1, b2) to the last, so \
         group join and shutdown are excluded; (b1) and (b2) read the runtime's `handled` \
         counter every 5 ms from a plain thread (see `bench/src/sampler.rs`)",
        if r.warmup {
            "one warm-up round of the in-process variants (not shown), then "
        } else {
            ""
        },
        r.rounds.len(),
        if r.rounds.len() == 1 { "" } else { "s" },
        r.rounds
            .first()
            .map_or_else(String::new, |x| order(&x.order)),
    );
    out
}

/// The closing note on noise.
pub(crate) const NOISE_NOTE: &str = "> The machine is shared and noisy: absolute msgs/s move \
    from run to run with whatever else is running. The ratio measured within one run, with the \
    variants interleaved round by round, is the figure of merit; compare ratios, not absolute \
    rates, across runs.\n";

/// The framework-overhead section's body (without the regeneration markers).
pub(crate) fn section(r: &Report<'_>) -> String {
    let s = summarize(r.rounds, Variant::Framework);
    let mut out = String::new();
    out.push_str("## Framework overhead (issue 3)\n\n");
    out.push_str(
        "Messages per second through a no-op `#[consume]` handler, compared with a bare rdkafka \
         poll loop reading the same topic from the same broker.\n\n",
    );
    out.push_str(&common_head(r));
    let _ = writeln!(
        out,
        "- (b1) {}: no-op `async fn {NOOP}()` run by \
         `Runtime::new(config).only([\"{NOOP}\"])` with the runtime's default settings (a \
         worker task per partition on tokio's multi-thread runtime with {} worker threads, \
         offsets stored in batches, commits every second)",
        Variant::Framework.name(),
        r.machine.nproc
    );
    out.push_str(&common_tail(r));
    out.push('\n');
    out.push_str(&table(r.rounds, Variant::Framework));
    let _ = writeln!(
        out,
        "\n**Ratio b1/a: {:.3}** (median of the per-round ratios); ratio of the medians: {:.3}.\n",
        s.median_ratio, s.ratio_of_medians
    );
    out.push_str(NOISE_NOTE);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::measure::Measurement;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }

    #[test]
    fn table_has_a_row_per_round_and_a_median() {
        let m = |n| Measurement {
            read: n,
            timed: n,
            elapsed: Duration::from_secs(1),
            ..Measurement::ZERO
        };
        let round = |number, order: Vec<Variant>, a, b, c| Round {
            number,
            order,
            results: vec![
                (Variant::Raw, m(a)),
                (Variant::Framework, m(b)),
                (Variant::Avro, m(c)),
            ],
        };
        let rounds = vec![
            round(
                1,
                vec![Variant::Raw, Variant::Framework, Variant::Avro],
                1000,
                900,
                700,
            ),
            round(
                2,
                vec![Variant::Framework, Variant::Avro, Variant::Raw],
                1000,
                800,
                900,
            ),
        ];
        let t = table(&rounds, Variant::Framework);
        assert!(t.contains("| b1/a |"), "{t}");
        assert!(t.contains("| 1 | a, b1, b2 | 1,000 | 900 | 0.900 |"), "{t}");
        assert!(t.contains("| 2 | b1, b2, a | 1,000 | 800 | 0.800 |"), "{t}");
        assert!(
            t.contains("| **median** | | **1,000** | **850** | **0.850** |"),
            "{t}"
        );
        let c = table(&rounds, Variant::Avro);
        assert!(c.contains("| b2/a |"), "{c}");
        assert!(c.contains("| 1 | a, b1, b2 | 1,000 | 700 | 0.700 |"), "{c}");
        assert!(
            c.contains("| **median** | | **1,000** | **800** | **0.800** |"),
            "{c}"
        );
    }
}
