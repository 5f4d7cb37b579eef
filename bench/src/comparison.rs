//! The side-by-side section (issue 7): every variant over the same rounds, the ratios the
//! issue sets targets for, and the charts.

use std::fmt::Write as _;
use std::path::Path;

use crate::BoxError;
use crate::charts::{self, Bar};
use crate::key_ordered::KeyOrdered;
use crate::measure::Variant;
use crate::report::{NOISE_NOTE, Report, common_head, order, thousands};
use crate::stats::{Round, median, median_rate, ratio};

/// The markdown section id.
pub(crate) const SECTION_ID: &str = "side-by-side";

/// The chart files (in the charts directory).
pub(crate) const THROUGHPUT_PNG: &str = "throughput.png";
/// The ratios-against-targets chart.
pub(crate) const RATIOS_PNG: &str = "ratios.png";
/// The key-ordered chart.
pub(crate) const KEY_ORDERED_PNG: &str = "key-ordered.png";

/// A ratio the issue sets a target for, or one shown for context (`target: None`).
#[derive(Debug, Clone)]
pub(crate) struct RatioRow {
    /// `b1/a`, …
    pub(crate) name: String,
    /// What it compares.
    pub(crate) what: &'static str,
    /// Median of the per-round ratios.
    pub(crate) median: f64,
    /// Smallest and largest per-round ratio.
    pub(crate) range: (f64, f64),
    /// The target (at least).
    pub(crate) target: Option<f64>,
}

impl RatioRow {
    fn met(&self) -> Option<bool> {
        self.target.map(|t| self.median >= t)
    }
}

/// A ratio row `num/den` over `rounds` (`None` if either variant did not run).
fn row(
    rounds: &[Round],
    num: Variant,
    den: Variant,
    what: &'static str,
    target: Option<f64>,
) -> Option<RatioRow> {
    let ran = |v| rounds.iter().all(|r| r.order.contains(&v));
    if rounds.is_empty() || !ran(num) || !ran(den) {
        return None;
    }
    let per_round: Vec<f64> = rounds.iter().map(|r| r.ratio_of(num, den)).collect();
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(RatioRow {
        name: format!("{}/{}", num.letter(), den.letter()),
        what,
        median: median(per_round),
        range: (lo, hi),
        target,
    })
}

/// The ratio rows: the targets first, then context.
pub(crate) fn ratio_rows(rounds: &[Round], ko: Option<&KeyOrdered>) -> Vec<RatioRow> {
    use Variant::{
        Avro, Framework, Java, KafkajsAvro, KafkajsNoop, Raw, RustStreamAvro, RustStreamNoop,
    };
    let mut rows: Vec<RatioRow> = [
        row(
            rounds,
            Framework,
            Raw,
            "framework no-op vs raw librdkafka",
            Some(0.95),
        ),
        row(
            rounds,
            Avro,
            Raw,
            "framework + Avro vs raw librdkafka",
            Some(0.85),
        ),
        row(
            rounds,
            Avro,
            KafkajsAvro,
            "framework + Avro vs the seed's stack",
            Some(15.0),
        ),
        row(
            rounds,
            Raw,
            Java,
            "raw librdkafka vs Kafka's Java client",
            Some(1.0),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(k) = ko {
        rows.push(RatioRow {
            name: "key-parallel/sequential".to_owned(),
            what: "key-ordered `concurrency = 64` vs one at a time, 2 ms I/O",
            median: ratio(k.parallel, k.sequential),
            range: (
                ratio(k.parallel, k.sequential),
                ratio(k.parallel, k.sequential),
            ),
            target: Some(20.0),
        });
    }
    rows.extend(
        [
            row(
                rounds,
                Avro,
                Framework,
                "cost of `Avro<T>` in the framework",
                None,
            ),
            row(
                rounds,
                Framework,
                KafkajsNoop,
                "framework no-op vs kafkajs no-op",
                None,
            ),
            row(
                rounds,
                KafkajsAvro,
                KafkajsNoop,
                "cost of decoding in kafkajs",
                None,
            ),
            row(
                rounds,
                Framework,
                Java,
                "framework no-op vs Kafka's Java client",
                None,
            ),
            row(
                rounds,
                RustStreamNoop,
                Raw,
                "RustStream no-op vs raw librdkafka",
                None,
            ),
            row(
                rounds,
                Framework,
                RustStreamNoop,
                "framework no-op vs RustStream no-op",
                None,
            ),
            row(
                rounds,
                Avro,
                RustStreamAvro,
                "framework + Avro vs RustStream + Avro",
                None,
            ),
            row(
                rounds,
                RustStreamAvro,
                RustStreamNoop,
                "cost of Avro decoding in RustStream",
                None,
            ),
        ]
        .into_iter()
        .flatten(),
    );
    if let Some(k) = ko
        && let Some(kjs) = k.kafkajs
    {
        rows.push(RatioRow {
            name: "key-parallel/kafkajs".to_owned(),
            what: "key-ordered `concurrency = 64` vs kafkajs `partitionsConsumedConcurrently`, 2 ms I/O",
            median: ratio(k.parallel, kjs),
            range: (ratio(k.parallel, kjs), ratio(k.parallel, kjs)),
            target: None,
        });
    }
    rows
}

/// The column header of `v` in the per-round table.
fn column(v: Variant) -> String {
    format!("({}) {}", v.letter(), v.name())
}

/// The per-round table of every variant's msgs/s, with a median row.
pub(crate) fn rounds_table(rounds: &[Round], variants: &[Variant]) -> String {
    let mut t = String::from("| round | order |");
    for v in variants {
        let _ = write!(t, " {} |", column(*v));
    }
    t.push_str("\n|---:|:---|");
    for _ in variants {
        t.push_str("---:|");
    }
    t.push('\n');
    for r in rounds {
        let _ = write!(t, "| {} | {} |", r.number, order(&r.order));
        for v in variants {
            let _ = write!(t, " {} |", thousands(r.of(*v).rate()));
        }
        t.push('\n');
    }
    t.push_str("| **median** | |");
    for v in variants {
        let _ = write!(t, " **{}** |", thousands(median_rate(rounds, *v)));
    }
    t.push('\n');
    t
}

/// The ratio table.
pub(crate) fn ratios_table(rows: &[RatioRow]) -> String {
    let mut t = String::from(
        "| ratio | compares | median | min – max over rounds | target | met |\n|:---|:---|---:|:---:|---:|:---:|\n",
    );
    for r in rows {
        let fmt = |x: f64| {
            if x >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.3}")
            }
        };
        let _ = writeln!(
            t,
            "| {} | {} | **{}** | {} – {} | {} | {} |",
            r.name,
            r.what,
            fmt(r.median),
            fmt(r.range.0),
            fmt(r.range.1),
            r.target
                .map_or_else(|| "–".to_owned(), |x| format!("≥ {x}")),
            match r.met() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            }
        );
    }
    t
}

/// The colour of a variant's bar.
fn color(v: Variant) -> plotters::style::RGBColor {
    match v {
        Variant::Raw | Variant::Java => charts::CEILING,
        Variant::Framework | Variant::Avro => charts::OURS,
        Variant::KafkajsNoop | Variant::KafkajsAvro => charts::SEED,
        Variant::RustStreamNoop | Variant::RustStreamAvro => charts::RUST_PEER,
    }
}

/// Writes the three charts into `dir` (created if needed).
pub(crate) fn write_charts(
    dir: &Path,
    rounds: &[Round],
    variants: &[Variant],
    rows: &[RatioRow],
    ko: Option<&KeyOrdered>,
) -> Result<(), BoxError> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let bars: Vec<Bar> = variants
        .iter()
        .map(|v| {
            let rate = median_rate(rounds, *v);
            Bar {
                label: format!("({}) {}", v.letter(), short_name(*v)),
                value: rate,
                caption: charts::short(rate),
                color: color(*v),
            }
        })
        .collect();
    charts::bars(
        &dir.join(THROUGHPUT_PNG),
        "Messages/s, median over rounds (same topic, same run)",
        "messages per second",
        &bars,
        None,
    )?;
    let bars: Vec<Bar> = rows
        .iter()
        .filter_map(|r| {
            let t = r.target?;
            Some(Bar {
                label: r.name.clone(),
                value: ratio(r.median, t),
                caption: format!("{} (≥ {t})", charts::short(r.median)),
                color: if r.median >= t {
                    charts::MET
                } else {
                    charts::SEED
                },
            })
        })
        .collect();
    charts::bars(
        &dir.join(RATIOS_PNG),
        "Ratio ÷ target (line: target met)",
        "measured ratio / target",
        &bars,
        Some(1.0),
    )?;
    if let Some(k) = ko {
        let mut bars = vec![
            Bar {
                label: "ours, sequential".to_owned(),
                value: k.sequential,
                caption: charts::rate_caption(k.sequential),
                color: charts::CEILING,
            },
            Bar {
                label: "ours, concurrency = 64".to_owned(),
                value: k.parallel,
                caption: charts::rate_caption(k.parallel),
                color: charts::OURS,
            },
        ];
        if let Some(kjs) = k.kafkajs {
            bars.push(Bar {
                label: "kafkajs".to_owned(),
                value: kjs,
                caption: charts::rate_caption(kjs),
                color: charts::SEED,
            });
        }
        charts::bars(
            &dir.join(KEY_ORDERED_PNG),
            "Key-ordered, 2 ms I/O per message, 1 partition, 1000 keys",
            "messages per second",
            &bars,
            None,
        )?;
    }
    Ok(())
}

/// A variant's name short enough for a chart label.
fn short_name(v: Variant) -> &'static str {
    match v {
        Variant::Raw => "raw rdkafka",
        Variant::Framework => "ours no-op",
        Variant::Avro => "ours Avro<T>",
        Variant::KafkajsNoop => "kafkajs",
        Variant::KafkajsAvro => "kafkajs+decode",
        Variant::Java => "Java",
        Variant::RustStreamNoop => "RustStream",
        Variant::RustStreamAvro => "RustStr.+Avro",
    }
}

/// Everything the section shows besides the report.
pub(crate) struct Extras<'a> {
    /// The variants in table order.
    pub(crate) variants: &'a [Variant],
    /// The key-ordered run, if it ran.
    pub(crate) key_ordered: Option<&'a KeyOrdered>,
    /// The peers' versions.
    pub(crate) peer_versions: &'a str,
    /// The charts' directory as the markdown file sees it (`None`: no charts).
    pub(crate) charts: Option<&'a str>,
}

/// The section's body (without the regeneration markers).
pub(crate) fn section(r: &Report<'_>, x: &Extras<'_>) -> String {
    let rows = ratio_rows(r.rounds, x.key_ordered);
    let mut out = String::new();
    out.push_str(
        "## Side by side: our framework vs raw librdkafka, Kafka's Java client, RustStream and \
         the seed's kafkajs stack (issue 7)\n\n",
    );
    out.push_str(
        "Every variant reads the same topic in the same run, each with its own fresh consumer \
         group; the ratios measured together are the result, the absolute rates drift with the \
         machine's load.\n\n",
    );
    out.push_str(&common_head(r));
    let _ = writeln!(out, "- Peers: {}", x.peer_versions);
    out.push_str(
        "- (b1) `#[consume]` no-op handler, (b2) `#[consume]` handler taking \
         `Avro<LectureProgress>` (decoded into a struct of four `String`s, an `i32` and an `i64`), \
         both with the runtime's default settings (a worker task per partition, offsets stored \
         in batches, commits every second); clocked from the runtime's `handled` counter\n",
    );
    out.push_str(
        "- (c1) kafkajs `eachMessage`, no-op; (c2) kafkajs `eachMessage` + \
         `await registry.decode(message.value)` of `@kafkajs/confluent-schema-registry` (the \
         seed's stack: one message at a time, `partitionsConsumedConcurrently: 1`, autoCommit \
         and fetch settings at kafkajs' defaults). A Node child process \
         (`tests/interop/node/bench_consume.js`) with its own group reports its own count and \
         time as JSON; its clock starts at its first message (join excluded). Checked: (c1)'s \
         Σ payload lengths and (c2)'s Σ decoded `watched_seconds` equal the topic's\n",
    );
    out.push_str(
        "- (d) Kafka's Java consumer through `kafka-consumer-perf-test` \
         (`org.apache.kafka.tools.ConsumerPerformance`, `byte[]` records, no deserialization, \
         `poll(100 ms)` loop) with the JVM options of Kafka's own \
         `bin/kafka-consumer-perf-test.sh` (`-Xmx512M`, G1) and the Java client's defaults. The \
         rate is the tool's `fetch.nMsg.sec`: its clock starts when the `KafkaConsumer` has \
         been constructed, so JVM start-up is excluded, and it subtracts the group join \
         (`rebalance.time.ms`); the first offset lookup and fetch after the assignment and the \
         JIT's warm-up stay in, at millisecond resolution (ours start at the first record, so \
         (d) pays ≈ one fetch round trip more)\n",
    );
    out.push_str(
        "- (e) RustStream (`ruststream-rdkafka`, on the same rdkafka 0.39 and librdkafka build \
         as ours): one `#[subscriber]` handler mounted on a `KafkaBroker`, no-op over the raw \
         payload (RustStream's self-deserializing lane, `#[derive(Deserialized)] struct \
         Payload<'a>(&'a [u8])`, no codec; it sums the payload lengths); (e2) the same \
         subscription with a handler taking `&LectureProgress` (four `String`s, an `i32`, an \
         `i64`), decoded by RustStream's `AvroCodec::registry` (Confluent framing, the writer \
         schema by id through the broker's `SchemaPrefetch`, apache-avro's datum reader into a \
         `Value`, then serde), `on_failure(decode = fail_fast)`. Both with RustStream's \
         defaults otherwise (one sequential dispatch loop over an rdkafka `StreamConsumer` per \
         subscription, `Commit::Auto`: librdkafka stores each offset when the record is handed \
         over and auto-commits), `StartOffset::Earliest`. A child process \
         (`bench/ruststream-peer`: a crate of its own with its own `Cargo.lock`, outside the \
         workspace, built by `bench/run` and by the benchmark) with its own group reports its \
         own count and time as JSON; its clock starts at its first message (join excluded). \
         Checked: (e)'s Σ payload lengths and (e2)'s Σ decoded `watched_seconds` equal the \
         topic's\n",
    );
    let _ = writeln!(
        out,
        "- librdkafka-based variants (a, b1, b2, e, e2) get {}, see the sections below (the \
         RustStream peer as properties of its subscription, `KafkaTopic::config`); kafkajs and \
         Java run with their own defaults, as their users run them",
        crate::tuning::describe(r.tuning)
    );
    let _ = writeln!(
        out,
        "- Method: {}{} measured round{}; in each round the variants that read the topic in \
         a second or two (a, b1, b2, d, e, e2) run back to back, rotated by one among \
         themselves from round to round, so both sides of b1/a, b2/a, a/d and b1/e are \
         measured seconds apart; the kafkajs pair (c1, c2, 5–15 s each) runs before them in \
         odd rounds and after them in even rounds (round 1: {}); the tables show each \
         variant's msgs/s per round and the medians; the ratios are medians of the per-round \
         ratios",
        if r.warmup {
            "one unmeasured warm-up round of (a), (b1), (b2) (it also brings the topic into the \
             page cache; (c), (d) and (e) start a fresh process every time anyway), then "
        } else {
            ""
        },
        r.rounds.len(),
        if r.rounds.len() == 1 { "" } else { "s" },
        r.rounds
            .first()
            .map_or_else(String::new, |x| order(&x.order)),
    );
    out.push('\n');
    out.push_str(&rounds_table(r.rounds, x.variants));
    out.push('\n');
    out.push_str(&ratios_table(&rows));
    if let Some(k) = x.key_ordered {
        let _ = writeln!(
            out,
            "\nThe key-ordered ratio comes from the key-ordered run of the same invocation (section \
             \"Key-ordered concurrency\" below; uniform keys, a 2 ms echo round trip per record): \
             sequential {} msgs/s, key-parallel {} msgs/s{}{}, {} order violations.",
            thousands(k.sequential),
            thousands(k.parallel),
            k.parallel_consumer.map_or_else(String::new, |v| format!(
                ", Parallel Consumer `maxConcurrency = 64` {} msgs/s",
                thousands(v)
            )),
            k.kafkajs.map_or_else(String::new, |v| format!(
                ", kafkajs with `partitionsConsumedConcurrently` {} msgs/s",
                thousands(v)
            )),
            k.violations
        );
    }
    if let Some(dir) = x.charts {
        let _ = writeln!(
            out,
            "\n![messages per second per variant]({dir}/{THROUGHPUT_PNG})\n\n\
             ![ratios divided by their targets]({dir}/{RATIOS_PNG})"
        );
        if x.key_ordered.is_some() {
            let _ = writeln!(
                out,
                "\n![key-ordered concurrency vs sequential and kafkajs]({dir}/{KEY_ORDERED_PNG})"
            );
        }
    }
    out.push('\n');
    out.push_str(NOISE_NOTE);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::measure::Measurement;

    fn m(rate: u64) -> Measurement {
        Measurement {
            read: rate,
            timed: rate,
            elapsed: Duration::from_secs(1),
            bytes: 0,
        }
    }

    fn rounds() -> Vec<Round> {
        let vs = crate::rounds::ALL_VARIANTS;
        let rates = [
            [1000, 950, 800, 300, 50, 900, 1000, 400],
            [1000, 980, 900, 200, 60, 1100, 700, 350],
        ];
        rates
            .iter()
            .enumerate()
            .map(|(i, r)| Round {
                number: i + 1,
                order: crate::rounds::order(i + 1, &vs),
                results: vs.iter().copied().zip(r.iter().map(|x| m(*x))).collect(),
            })
            .collect()
    }

    #[test]
    fn ratios_and_targets() {
        let rs = rounds();
        let rows = ratio_rows(&rs, None);
        let get = |n: &str| rows.iter().find(|r| r.name == n).unwrap().clone();
        let b1a = get("b1/a");
        assert!((b1a.median - 0.965).abs() < 1e-9 && b1a.met() == Some(true));
        let b2c2 = get("b2/c2");
        assert!((b2c2.median - 15.5).abs() < 1e-9, "{b2c2:?}");
        assert_eq!(b2c2.met(), Some(true));
        let ad = get("a/d");
        assert_eq!(ad.met(), Some(true), "{ad:?}"); // median of 1.111 and 0.909 = 1.01
        assert_eq!(get("b2/b1").met(), None);
        let t = ratios_table(&rows);
        assert!(t.contains("| b2/a |"), "{t}");
        assert!(t.contains("| ≥ 0.85 | yes |"), "{t}");
        // (e): 1000 and 700 against (b1)'s 950 and 980.
        let b1e = get("b1/e");
        assert!((b1e.median - (0.95 + 1.4) / 2.0).abs() < 1e-9, "{b1e:?}");
        assert_eq!(b1e.target, None);
        assert!((get("e/a").median - 0.85).abs() < 1e-9);
        assert!((get("b2/e2").median - (2.0 + 900.0 / 350.0) / 2.0).abs() < 1e-9);
        assert!(get("e2/e").met().is_none());
        let table = rounds_table(&rs, &crate::rounds::ALL_VARIANTS);
        assert!(
            table.contains("| 2 | b1, b2, d, e, e2, a, c2, c1 | 1,000 | 980 |"),
            "{table}"
        );
        assert!(
            table.contains("| (e) RustStream #[subscriber] |"),
            "{table}"
        );
        assert!(
            table.contains("| **median** | | **1,000** | **965** |"),
            "{table}"
        );
    }

    #[test]
    fn rust_only_rounds_have_no_peer_ratios() {
        let rs: Vec<Round> = rounds()
            .into_iter()
            .map(|mut r| {
                r.order.retain(|v| !v.is_peer());
                r.results.retain(|(v, _)| !v.is_peer());
                r
            })
            .collect();
        let rows = ratio_rows(&rs, None);
        assert!(
            rows.iter()
                .all(|r| !r.name.contains('c') && !r.name.contains('d') && !r.name.contains('e'))
        );
    }
}
