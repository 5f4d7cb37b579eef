//! Renders the "Avro decoding" section ((b2) against (a) over the same rounds) and the
//! "Avro decode cost" section of the decode micro-benchmark (`decode.rs`).

use std::fmt::Write as _;

use crate::decode::{CHUNK, DECODERS, DecodeBench, Decoder, Spread};
use crate::handlers::AVRO;
use crate::machine::Machine;
use crate::measure::Variant;
use crate::report::{NOISE_NOTE, Report, common_head, common_tail, table, thousands};
use crate::stats::summarize;

/// The target for c/a with ~100-byte records.
pub(crate) const TARGET_RATIO: f64 = 0.85;

/// The id of the decode micro-benchmark's section.
pub(crate) const DECODE_SECTION_ID: &str = "avro-decode";

/// Issue 17's target: our decode time / serde_avro_fast's, owned and borrowed.
pub(crate) const DECODE_TARGET: f64 = 1.2;

/// Above this 1-minute load average the section says the machine was not quiet.
const QUIET_LOAD: f64 = 1.5;

/// The section's body (without the regeneration markers).
pub(crate) fn section(r: &Report<'_>) -> String {
    let c = summarize(r.rounds, Variant::Avro);
    let b = summarize(r.rounds, Variant::Framework);
    let mut out = String::new();
    out.push_str("## Avro decoding (issue 4)\n\n");
    out.push_str(
        "Messages per second through a `#[consume]` handler that decodes every value with \
         `Avro<LectureProgress>`, compared with a bare rdkafka poll loop reading the same \
         Confluent-framed Avro records in the same rounds; then the cost of decoding one record \
         without Kafka.\n\n",
    );
    out.push_str(&common_head(r));
    let _ = writeln!(
        out,
        "- Schema registry: the Apicurio registry of `infra/up` ({}), the schema registered under \
         `<topic>-value` with `SchemaRegistry::register` before producing",
        r.registry_url
    );
    let _ = writeln!(
        out,
        "- (b2) {}: `async fn {AVRO}(Avro(p): Avro<LectureProgress>) {{ black_box(&p) }}` run by \
         `Runtime::new(config).only([\"{AVRO}\"]).schema_registry(registry)` with the runtime's \
         default settings: per record the Confluent header is split off, the compiled \
         writer→reader plan is taken from the per-thread cache (the writer schema is fetched once \
         per id) and the body is decoded into the struct (four `String`s)",
        Variant::Avro.name()
    );
    out.push_str(&common_tail(r));
    out.push('\n');
    out.push_str(&table(r.rounds, Variant::Avro));
    let verdict = if c.median_ratio >= TARGET_RATIO {
        "met"
    } else {
        "**not met**"
    };
    let _ = writeln!(
        out,
        "\n**Ratio b2/a: {:.3}** (median of the per-round ratios; the issue's target is ≥ \
         {TARGET_RATIO:.2} for ~100-byte records: {verdict}); ratio of the medians: {:.3}. For \
         reference, the no-op handler (b1) in the same rounds: b1/a {:.3}; with decoding the \
         handler keeps {:.3} of the no-op handler's rate (median b2 / median b1).\n",
        c.median_ratio,
        c.ratio_of_medians,
        b.median_ratio,
        if b.median > 0.0 {
            c.median / b.median
        } else {
            0.0
        },
    );
    out.push_str(NOISE_NOTE);
    let d = r.decode;
    let _ = writeln!(
        out,
        "\nDecoding alone, without Kafka, in the same run: {:.0} ns per record into the struct \
         with `String`s, {:.0} ns into `&str`s (`AvroRef<T>`), serde_avro_fast {:.0} ns (medians \
         over {} distinct records); see the next section.",
        d.ns(Decoder::Ours).median,
        d.ns(Decoder::OursBorrowed).median,
        d.ns(Decoder::Fast).median,
        thousands(d.records as f64),
    );
    out
}

/// A target's verdict, decided from the whole spread over the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every round clears the target.
    Met,
    /// No round clears it.
    Missed,
    /// Some rounds do, some do not.
    Undecided,
}

impl Verdict {
    /// The verdict on "ratio ≤ `target`".
    pub(crate) fn at_most(s: Spread, target: f64) -> Self {
        if s.max <= target {
            Verdict::Met
        } else if s.min > target {
            Verdict::Missed
        } else {
            Verdict::Undecided
        }
    }

    fn word(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::Undecided => "undecided",
        }
    }
}

/// The label of a decoder in the tables.
fn label(d: Decoder) -> &'static str {
    match d {
        Decoder::Ours => "ours, owned: `Prepared::decode::<LectureProgress>` (`Avro<T>`)",
        Decoder::OursBorrowed => {
            "ours, borrowed: `Prepared::decode::<LectureProgressRef>` (`AvroRef<T>`)"
        }
        Decoder::Fast => "serde_avro_fast 2.1, owned: `from_datum_slice::<LectureProgress>`",
        Decoder::FastBorrowed => {
            "serde_avro_fast 2.1, borrowed: `from_datum_slice::<LectureProgressRef>`"
        }
        Decoder::Apache => {
            "apache-avro 0.22: `from_avro_datum(&w, &mut body, Some(&r))` + `from_value`"
        }
    }
}

/// A short column name.
fn short(d: Decoder) -> &'static str {
    match d {
        Decoder::Ours => "ours",
        Decoder::OursBorrowed => "ours borrowed",
        Decoder::Fast => "saf",
        Decoder::FastBorrowed => "saf borrowed",
        Decoder::Apache => "apache-avro",
    }
}

fn spread(s: Spread, digits: usize) -> String {
    format!("{:.digits$}–{:.digits$}", s.min, s.max)
}

fn load(l: Option<f64>) -> String {
    l.map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}"))
}

/// The decode micro-benchmark's section (without the regeneration markers).
pub(crate) fn decode_section(d: &DecodeBench, command: &str, machine: &Machine) -> String {
    let mut out = String::new();
    out.push_str("## Avro decode cost over many distinct records (issue 17)\n\n");
    let (min, mean, max) = d.value_bytes;
    let _ = writeln!(
        out,
        "Decoding alone, no Kafka: {} distinct Confluent-framed `training.v1.LectureProgress` \
         values ({min}–{max} B, mean {mean:.0} B: four strings of varying length, some with \
         multi-byte UTF-8, an `int` and a `timestamp-millis` `long`), encoded once into one \
         buffer; each round every decoder splits off the header of every value and decodes it \
         into the struct, one thread. Before anything is timed every decoder's output for every \
         record is compared with the encoded record (`bench/src/decode.rs`).\n",
        thousands(d.records as f64)
    );
    let _ = writeln!(out, "- Command: `{command}`");
    let _ = writeln!(out, "- Date: {}", machine.date);
    let _ = writeln!(out, "- Machine: {}", machine.one_line());
    let (before, after) = d.load;
    let busy = [before, after].iter().flatten().any(|l| *l >= QUIET_LOAD);
    let _ = writeln!(
        out,
        "- Load (1-minute average) before and after the rounds: {}, {}{}",
        load(before),
        load(after),
        if busy {
            " — **the machine was not quiet** (≥ 1.5 on 2 cores): absolute times are inflated; \
             the ratios, measured in the same rounds, less so"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "- Method: one warm-up round (not shown), then {} rounds. A round walks the records in \
         chunks of {}; every decoder decodes a chunk before the next one starts, in an order \
         that rotates from chunk to chunk (reversed every other cycle), and a decoder's time in \
         the round is its sum over the chunks: all decoders share the machine's ups and downs \
         within a round, and each is the first to read a chunk from memory equally often. A \
         figure's spread is its range over the rounds; a target is met only when the whole \
         spread clears it\n",
        d.rounds.len(),
        thousands(CHUNK as f64)
    );
    out.push_str(
        "| decoder | ns/record, median | spread over rounds | records/s on one core | × ours owned |\n",
    );
    out.push_str("|:---|---:|---:|---:|---:|\n");
    for dec in DECODERS {
        let ns = d.ns(dec);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {:.2} |",
            label(dec),
            ns.median,
            spread(ns, 0),
            thousands(if ns.median > 0.0 {
                1e9 / ns.median
            } else {
                0.0
            }),
            d.ratio(dec, Decoder::Ours).median
        );
    }
    out.push_str("\n| ratio of decode times (per round) | median | spread | target | verdict |\n");
    out.push_str("|:---|---:|---:|---:|:---|\n");
    for (num, den, what) in [
        (
            Decoder::Ours,
            Decoder::Fast,
            "ours / serde_avro_fast, owned (`String`)",
        ),
        (
            Decoder::OursBorrowed,
            Decoder::FastBorrowed,
            "ours / serde_avro_fast, borrowed (`&str`)",
        ),
    ] {
        let r = d.ratio(num, den);
        let _ = writeln!(
            out,
            "| {what} | {:.3} | {} | ≤ {DECODE_TARGET} | {} |",
            r.median,
            spread(r, 3),
            Verdict::at_most(r, DECODE_TARGET).word()
        );
    }
    for (num, den, what) in [
        (
            Decoder::OursBorrowed,
            Decoder::Ours,
            "ours, borrowed / owned",
        ),
        (Decoder::Apache, Decoder::Ours, "apache-avro / ours, owned"),
    ] {
        let r = d.ratio(num, den);
        let _ = writeln!(
            out,
            "| {what} | {:.3} | {} | — | — |",
            r.median,
            spread(r, 3)
        );
    }
    out.push_str("\n| round |");
    for dec in DECODERS {
        let _ = write!(out, " {}, ns |", short(dec));
    }
    out.push_str("\n|---:|");
    out.push_str(&"---:|".repeat(DECODERS.len()));
    out.push('\n');
    for (i, r) in d.rounds.iter().enumerate() {
        let _ = write!(out, "| {} |", i + 1);
        for ns in r {
            let _ = write!(out, " {ns:.1} |");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(rounds: Vec<[f64; 5]>) -> DecodeBench {
        DecodeBench {
            records: 1000,
            value_bytes: (100, 150.0, 300),
            rounds,
            load: (Some(0.5), Some(2.0)),
        }
    }

    #[test]
    fn verdicts_come_from_the_whole_spread() {
        let s = |min, max| Spread {
            median: (min + max) / 2.0,
            min,
            max,
        };
        assert_eq!(Verdict::at_most(s(0.9, 1.2), 1.2), Verdict::Met);
        assert_eq!(Verdict::at_most(s(1.21, 1.5), 1.2), Verdict::Missed);
        assert_eq!(Verdict::at_most(s(1.0, 1.3), 1.2), Verdict::Undecided);
    }

    #[test]
    fn the_section_shows_medians_spreads_ratios_verdicts_and_a_busy_machine() {
        let d = bench(vec![
            [100.0, 60.0, 90.0, 50.0, 1000.0],
            [110.0, 70.0, 100.0, 50.0, 1100.0],
            [120.0, 65.0, 95.0, 60.0, 1200.0],
        ]);
        let m = Machine::detect();
        let t = decode_section(&d, "cmd --decode", &m);
        assert!(t.contains("- Command: `cmd --decode`"), "{t}");
        assert!(t.contains("| 110 | 100–120 | 9,090,909 | 1.00 |"), "{t}");
        // Owned ratios per round: 1.111, 1.1, 1.263: undecided; borrowed: 1.2, 1.4, 1.083.
        assert!(
            t.contains("| 1.111 | 1.100–1.263 | ≤ 1.2 | undecided |"),
            "{t}"
        );
        assert!(
            t.contains("| 1.200 | 1.083–1.400 | ≤ 1.2 | undecided |"),
            "{t}"
        );
        assert!(t.contains("the machine was not quiet"), "{t}");
        assert!(
            t.contains("| 2 | 110.0 | 70.0 | 100.0 | 50.0 | 1100.0 |"),
            "{t}"
        );
    }
}
