//! Renders the results as markdown: the per-round table and the "Framework overhead"
//! section (printed to stdout and, on request, written into BENCHMARKS.md).

use std::fmt::Write as _;

use crate::framework::HANDLER;
use crate::kafka::PARTITIONS;
use crate::machine::Machine;
use crate::measure::Variant;
use crate::produce::{KEYS, PAYLOAD_BYTES};
use crate::stats::{Round, Summary};

/// Everything the section shows.
pub(crate) struct Report<'a> {
    /// The command line that produced it.
    pub(crate) command: String,
    /// Where it ran.
    pub(crate) machine: &'a Machine,
    /// Records in the topic.
    pub(crate) messages: u64,
    /// Whether a warm-up round ran first.
    pub(crate) warmup: bool,
    /// librdkafka settings both variants got.
    pub(crate) tuning: &'a [(&'a str, &'a str)],
    /// The measured rounds.
    pub(crate) rounds: &'a [Round],
    /// Their medians and ratios.
    pub(crate) summary: Summary,
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

fn order(o: [Variant; 2]) -> String {
    format!("{}, {}", o[0].letter(), o[1].letter())
}

/// The per-round table with a median row.
pub(crate) fn table(rounds: &[Round], s: &Summary) -> String {
    let mut t = String::new();
    t.push_str("| round | order | (a) raw rdkafka, msgs/s | (b) `#[consume]`, msgs/s | b/a |\n");
    t.push_str("|---:|:---:|---:|---:|---:|\n");
    for r in rounds {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {:.3} |",
            r.number,
            order(r.order),
            thousands(r.raw.rate()),
            thousands(r.framework.rate()),
            r.ratio()
        );
    }
    let _ = writeln!(
        t,
        "| **median** | | **{}** | **{}** | **{:.3}** |",
        thousands(s.raw_median),
        thousands(s.framework_median),
        s.median_ratio
    );
    t
}

/// The section's body (without the regeneration markers).
pub(crate) fn section(r: &Report<'_>) -> String {
    let s = &r.summary;
    let mut out = String::new();
    out.push_str("## Framework overhead (issue 3)\n\n");
    out.push_str(
        "Messages per second through a no-op `#[consume]` handler, compared with a bare rdkafka \
         poll loop reading the same topic from the same broker.\n\n",
    );
    let _ = writeln!(out, "- Command: `{}`", r.command);
    let _ = writeln!(out, "- Date: {}", r.machine.date);
    let _ = writeln!(out, "- Machine: {}", r.machine.one_line());
    out.push_str("- Broker: the local single-node Kafka of `infra/up` (PLAINTEXT on loopback)\n");
    let _ = writeln!(
        out,
        "- Data: one topic, {PARTITIONS} partitions, {} records of {PAYLOAD_BYTES} B with {} distinct keys, \
         produced once (no compression, `acks=1`) and read in full by every variant in every round",
        thousands(r.messages as f64),
        thousands(KEYS as f64),
    );
    let _ = writeln!(
        out,
        "- (a) {}: one consumer polling its queue, `enable.auto.commit=false`, summing payload lengths",
        Variant::Raw.name()
    );
    let _ = writeln!(
        out,
        "- (b) {}: no-op `async fn {HANDLER}()` run by \
         `Runtime::new(config).only([\"{HANDLER}\"])` with the runtime's default settings (a \
         worker task per partition on tokio's multi-thread runtime with {} worker threads, \
         offsets stored in batches, commits every second)",
        Variant::Framework.name(),
        r.machine.nproc
    );
    let _ = writeln!(
        out,
        "- Both consumers get the same extra librdkafka settings: {}. With librdkafka's defaults \
         the result is decided by 1 s and 0.5 s fetch back-offs rather than per-message work \
         (see `bench/src/tuning.rs`; `--librdkafka-defaults` measures without them)",
        crate::tuning::describe(r.tuning)
    );
    let _ = writeln!(
        out,
        "- Method: {}{} measured round{} alternating the order (a, b then b, a, …); a fresh consumer \
         group per variant and round; each clock runs from the first record received (a) or handled \
         (b) to the last, so group join and shutdown are excluded; (b) reads the runtime's `handled` \
         counter every 5 ms\n",
        if r.warmup {
            "one warm-up round (not shown), then "
        } else {
            ""
        },
        r.rounds.len(),
        if r.rounds.len() == 1 { "" } else { "s" },
    );
    out.push_str(&table(r.rounds, s));
    let _ = writeln!(
        out,
        "\n**Ratio b/a: {:.3}** (median of the per-round ratios); ratio of the medians: {:.3}.\n",
        s.median_ratio, s.ratio_of_medians
    );
    out.push_str(
        "> The machine is shared and noisy: absolute msgs/s move from run to run with whatever \
         else is running. The ratio measured within one run, with the variants interleaved round \
         by round, is the figure of merit; compare ratios, not absolute rates, across runs.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::measure::Measurement;
    use crate::stats::summarize;

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
            bytes: 0,
        };
        let rounds = vec![
            Round {
                number: 1,
                order: [Variant::Raw, Variant::Framework],
                raw: m(1000),
                framework: m(900),
            },
            Round {
                number: 2,
                order: [Variant::Framework, Variant::Raw],
                raw: m(1000),
                framework: m(800),
            },
        ];
        let t = table(&rounds, &summarize(&rounds));
        assert!(t.contains("| 1 | a, b | 1,000 | 900 | 0.900 |"), "{t}");
        assert!(t.contains("| 2 | b, a | 1,000 | 800 | 0.800 |"), "{t}");
        assert!(
            t.contains("| **median** | | **1,000** | **850** | **0.850** |"),
            "{t}"
        );
    }
}
