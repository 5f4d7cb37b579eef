//! The side-by-side section (issue 7): every variant over the same rounds, the ratios the
//! issue sets targets for, and the charts.

use std::fmt::Write as _;
use std::path::Path;

use crate::BoxError;
use crate::charts::{self, Bar};
use crate::key_ordered::KeyOrdered;
use crate::measure::Variant;
use crate::report::{NOISE_NOTE, Report, common_head, order, thousands};
use crate::stats::{Interval, Round, Verdict, bootstrap, median, median_rate, ratio};

/// The markdown section id.
pub(crate) const SECTION_ID: &str = "side-by-side";

/// The chart files (in the charts directory).
pub(crate) const THROUGHPUT_PNG: &str = "throughput.png";
/// The ratios-against-targets chart.
pub(crate) const RATIOS_PNG: &str = "ratios.png";
/// The key-ordered chart.
pub(crate) const KEY_ORDERED_PNG: &str = "key-ordered.png";

/// A ratio an issue sets a target for, or one shown for context (`target: None`).
#[derive(Debug, Clone)]
pub(crate) struct RatioRow {
    /// `b1/a`, …
    pub(crate) name: String,
    /// What it compares.
    pub(crate) what: &'static str,
    /// Median of the per-round ratios and its 95 % bootstrap interval.
    pub(crate) interval: Interval,
    /// Rounds both sides ran in.
    pub(crate) rounds: usize,
    /// The target (at least), and the issue that set it.
    pub(crate) target: Option<(f64, u32)>,
}

impl RatioRow {
    /// Met only when the whole interval clears the target.
    pub(crate) fn verdict(&self) -> Option<Verdict> {
        self.target.map(|(t, _)| self.interval.at_least(t))
    }
}

/// A ratio row `num/den` over the rounds both ran in (`None` if they never ran together).
fn row(
    rounds: &[Round],
    num: Variant,
    den: Variant,
    what: &'static str,
    target: Option<(f64, u32)>,
) -> Option<RatioRow> {
    let per_round: Vec<f64> = rounds
        .iter()
        .filter(|r| r.order.contains(&num) && r.order.contains(&den))
        .map(|r| r.ratio_of(num, den))
        .collect();
    if per_round.is_empty() {
        return None;
    }
    Some(RatioRow {
        name: format!("{}/{}", num.letter(), den.letter()),
        what,
        interval: bootstrap(&per_round),
        rounds: per_round.len(),
        target,
    })
}

/// numerator, denominator, what it compares, target (at least) and the issue that set it.
type RowSpec = (Variant, Variant, &'static str, Option<(f64, u32)>);

/// The ratio rows: the targets of issue 17, then issue 7's, then context.
pub(crate) fn ratio_rows(rounds: &[Round], ko: Option<&KeyOrdered>) -> Vec<RatioRow> {
    use Variant::{
        Avro, AvroBorrowed, CPerformance, ConfluentJsAvro, ConfluentJsNoop, Framework, FranzAvro,
        FranzNoop, Java, KafkajsAvro, KafkajsNoop, Raw, RawDecode, RawSplit, RustStreamAvro,
        RustStreamNoop, SpringAvro, SpringNoop,
    };
    let spec: [RowSpec; 25] = [
        (
            Framework,
            RawSplit,
            "framework no-op vs raw on the same split queues",
            Some((0.95, 17)),
        ),
        (
            Raw,
            CPerformance,
            "raw rdkafka vs librdkafka's own C consumer",
            Some((0.9, 17)),
        ),
        (
            Avro,
            RawDecode,
            "framework + Avro vs raw split queues with the same decoder",
            Some((0.95, 17)),
        ),
        (
            Avro,
            Raw,
            "framework + `Avro<T>` (owned strings) vs raw librdkafka",
            Some((0.80, 17)),
        ),
        (
            AvroBorrowed,
            Raw,
            "framework + `AvroRef<T>` (borrowed strings) vs raw librdkafka",
            Some((0.88, 17)),
        ),
        (
            Framework,
            FranzNoop,
            "framework no-op vs franz-go",
            Some((0.9, 17)),
        ),
        (
            Avro,
            FranzAvro,
            "framework + Avro vs franz-go + hamba/avro",
            Some((1.2, 17)),
        ),
        (
            Avro,
            SpringAvro,
            "framework + Avro vs Spring Kafka batch listener + Avro",
            Some((1.2, 17)),
        ),
        (
            Avro,
            KafkajsAvro,
            "framework + Avro vs the seed's stack",
            Some((15.0, 7)),
        ),
        (
            Raw,
            Java,
            "raw librdkafka vs Kafka's Java client",
            Some((1.0, 7)),
        ),
        (
            Framework,
            Raw,
            "framework no-op vs raw librdkafka (one merged queue)",
            None,
        ),
        (
            RawSplit,
            Raw,
            "split queues (one thread each, every byte read) vs one merged queue",
            None,
        ),
        (
            RawDecode,
            RawSplit,
            "cost of our decoder without the framework",
            None,
        ),
        (Avro, Framework, "cost of `Avro<T>` in the framework", None),
        (AvroBorrowed, Avro, "`AvroRef<T>` vs `Avro<T>`", None),
        (FranzAvro, FranzNoop, "cost of hamba/avro in franz-go", None),
        (
            SpringAvro,
            SpringNoop,
            "cost of Apache Avro in Spring Kafka",
            None,
        ),
        (
            Framework,
            KafkajsNoop,
            "framework no-op vs kafkajs no-op",
            None,
        ),
        (
            KafkajsAvro,
            KafkajsNoop,
            "cost of decoding in kafkajs",
            None,
        ),
        (
            Framework,
            ConfluentJsNoop,
            "framework no-op vs Confluent's JavaScript client no-op",
            None,
        ),
        (
            Avro,
            ConfluentJsAvro,
            "framework + Avro vs Confluent's JavaScript client + decode",
            None,
        ),
        (
            Framework,
            Java,
            "framework no-op vs Kafka's Java client",
            None,
        ),
        (
            Framework,
            RustStreamNoop,
            "framework no-op vs RustStream no-op",
            None,
        ),
        (
            Avro,
            RustStreamAvro,
            "framework + Avro vs RustStream + Avro",
            None,
        ),
        (
            RustStreamAvro,
            RustStreamNoop,
            "cost of Avro decoding in RustStream",
            None,
        ),
    ];
    let mut rows: Vec<RatioRow> = spec
        .iter()
        .filter_map(|(n, d, what, t)| row(rounds, *n, *d, what, *t))
        .collect();
    if let Some(k) = ko {
        let r = ratio(k.parallel, k.sequential);
        rows.push(RatioRow {
            name: "key-parallel/sequential".to_owned(),
            what: "key-ordered `concurrency = 64` vs one at a time (key-ordered section)",
            interval: Interval {
                median: r,
                lo: r,
                hi: r,
            },
            rounds: 1,
            target: Some((20.0, 7)),
        });
    }
    rows
}

/// The CPU table: per variant, medians over the rounds of the rate, its process's CPU
/// seconds over the timed interval, records per CPU second, and the broker's CPU.
pub(crate) fn cpu_table(rounds: &[Round], variants: &[Variant]) -> String {
    let mut t = String::from(
        "| variant | msgs/s | process CPU s | msgs per CPU s (95 % interval) | broker CPU s | broker CPU µs per record |\n\
         |:---|---:|---:|---:|---:|---:|\n",
    );
    for v in variants {
        let ms: Vec<_> = rounds
            .iter()
            .filter(|r| r.order.contains(v))
            .map(|r| r.of(*v))
            .collect();
        if ms.is_empty() {
            continue;
        }
        let values = |f: &dyn Fn(&crate::measure::Measurement) -> Option<f64>| -> Vec<f64> {
            ms.iter().filter_map(f).collect()
        };
        let process = values(&|m| m.cpu.process);
        let per_cpu = values(&|m| m.per_cpu_second());
        let broker = values(&|m| m.cpu.broker);
        let broker_per = values(&|m| {
            m.cpu
                .broker
                .filter(|_| m.timed > 0)
                .map(|b| b * 1e6 / m.timed as f64)
        });
        let opt = |v: &[f64], f: &dyn Fn(f64) -> String| {
            if v.is_empty() {
                "?".to_owned()
            } else {
                f(median(v.to_vec()))
            }
        };
        let per = if per_cpu.is_empty() {
            "?".to_owned()
        } else {
            let i = bootstrap(&per_cpu);
            format!(
                "{} ({} – {})",
                thousands(i.median),
                thousands(i.lo),
                thousands(i.hi)
            )
        };
        let _ = writeln!(
            t,
            "| ({}) {}{} | {} | {} | {} | {} | {} |",
            v.letter(),
            v.name(),
            if *v == Variant::CPerformance {
                " ¹"
            } else {
                ""
            },
            thousands(median(ms.iter().map(|m| m.rate()).collect())),
            opt(&process, &|x| format!("{x:.2}")),
            per,
            opt(&broker, &|x| format!("{x:.2}")),
            opt(&broker_per, &|x| format!("{x:.2}")),
        );
    }
    t
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
            if r.order.contains(v) {
                let _ = write!(t, " {} |", thousands(r.of(*v).rate()));
            } else {
                t.push_str(" – |");
            }
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
        "| ratio | compares | median | 95 % interval | rounds | target | verdict |\n|:---|:---|---:|:---:|---:|---:|:---:|\n",
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
            "| {} | {} | **{}** | {} – {} | {} | {} | {} |",
            r.name,
            r.what,
            fmt(r.interval.median),
            fmt(r.interval.lo),
            fmt(r.interval.hi),
            r.rounds,
            r.target
                .map_or_else(|| "–".to_owned(), |(x, issue)| format!("≥ {x} (#{issue})")),
            match r.verdict() {
                Some(Verdict::Met) => "met",
                Some(Verdict::Missed) => "**missed**",
                Some(Verdict::Undecided) => "undecided",
                None => "",
            }
        );
    }
    t
}

/// The colour of a variant's bar.
fn color(v: Variant) -> plotters::style::RGBColor {
    match v {
        Variant::Raw
        | Variant::RawSplit
        | Variant::RawDecode
        | Variant::CPerformance
        | Variant::Java => charts::CEILING,
        Variant::Framework | Variant::Avro | Variant::AvroBorrowed => charts::OURS,
        Variant::KafkajsNoop | Variant::KafkajsAvro => charts::SEED,
        Variant::ConfluentJsNoop
        | Variant::ConfluentJsAvro
        | Variant::RustStreamNoop
        | Variant::RustStreamAvro
        | Variant::FranzNoop
        | Variant::FranzAvro
        | Variant::SpringNoop
        | Variant::SpringAvro => charts::RUST_PEER,
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
            let (t, _) = r.target?;
            let m = r.interval.median;
            Some(Bar {
                label: r.name.clone(),
                value: ratio(m, t),
                caption: format!("{} (≥ {t})", charts::short(m)),
                color: if r.verdict() == Some(Verdict::Met) {
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
        Variant::ConfluentJsNoop => "Confluent JS",
        Variant::ConfluentJsAvro => "Confl. JS+dec.",
        Variant::Java => "Java",
        Variant::RustStreamNoop => "RustStream",
        Variant::RustStreamAvro => "RustStr.+Avro",
        Variant::RawSplit => "raw split",
        Variant::RawDecode => "raw split+dec.",
        Variant::CPerformance => "C perf",
        Variant::AvroBorrowed => "ours AvroRef",
        Variant::FranzNoop => "franz-go",
        Variant::FranzAvro => "franz+hamba",
        Variant::SpringNoop => "Spring batch",
        Variant::SpringAvro => "Spring+Avro",
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
        "## Side by side: our framework against raw librdkafka, librdkafka's C consumer, \
         franz-go, Spring Kafka, Kafka's Java client, RustStream, Confluent's JavaScript client \
         and the seed's kafkajs stack (issues 7 and 17)\n\n",
    );
    out.push_str(
        "Every variant reads the same topic in the same run, each with its own fresh consumer \
         group; the ratios measured together are the result, the absolute rates drift with the \
         machine's load.\n\n",
    );
    out.push_str(&common_head(r));
    let _ = writeln!(out, "- Peers: {}", x.peer_versions);
    out.push_str(
        "- Baselines: (a′) the framework's queues without the framework: each partition's \
         queue split off right after `subscribe` (as the runtime does on assignment), one OS \
         thread per queue blocking in `PartitionQueue::poll`, every payload byte folded into a \
         checksum, counts published every 256 records; (a″) the same threads decoding every \
         record with the framework's decoder (`Prepared::decode` into the owned struct, after \
         the Confluent header), Σ `watched_seconds` checked; (a0) librdkafka's own C consumer \
         `examples/rdkafka_performance.c` built from the librdkafka sources bundled in \
         `rdkafka-sys` and linked against the same `librdkafka.a` (`-G` high-level consumer, \
         `rd_kafka_consumer_poll` per record, auto-commit off, the same tuning), its own clock \
         from the first record; ¹ its CPU covers its whole life (join and close included: it \
         prints no wall-clock time)\n",
    );
    out.push_str(
        "- (b3) `#[consume]` handler taking `AvroRef<LectureProgressRef<'static>>` and calling \
         `decode()`: the same header, registry and decoder as (b2), into four `&str` borrowed \
         from the record\n",
    );
    out.push_str(
        "- (f1) franz-go (`bench/franz-peer`, Go): `PollFetches` over every fetch, no-op \
         summing payload lengths; (f2) the same decoding each value with hamba/avro after the \
         Confluent header (writer schema fetched by id once). (s1) Spring for Apache Kafka \
         (`bench/spring-peer`, Java 17): a batch `@KafkaListener` of `byte[]` records, no-op; \
         (s2) the same decoding each value with Apache Avro (reused datum reader and binary \
         decoder, after the Confluent header, the writer schema by id once). Child processes \
         with their own groups, auto-commit off, their clients' defaults otherwise; each \
         prints its count, time from its first record, and checksum (Σ payload lengths or Σ \
         decoded `watched_seconds`, checked)\n",
    );
    out.push_str(
        "- CPU: a thread of the harness reads `/proc/<pid>/stat` (user + system, 10 ms \
         ticks) every 10 ms for the harness (the in-process variants a, a′, a″, b1, b2, b3), \
         the peer's child process while it runs, and the broker (the process listening on the \
         bootstrap port); a variant's CPU is the difference over its own timed interval, \
         interpolated between samples (± 2 ticks)\n",
    );
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
        "- (j1) Confluent's JavaScript client (`@confluentinc/kafka-javascript`: librdkafka \
         under a Node addon, built from the sources in its npm tarball by \
         `tests/interop/setup.sh`) through the KafkaJS-compatible promisified API its docs \
         recommend for new code, `eachBatch` (batches of up to 32 records taken from \
         librdkafka's queue, `js.consumer.max.batch.size` at its default), no-op summing \
         payload lengths; (j2) the same + `await registry.decode(message.value)` of \
         `@kafkajs/confluent-schema-registry` per record, as (c2). `fromBeginning: true`, \
         `partitionsConsumedConcurrently: 1`, autoCommit at the client's default (on, every \
         5 s), the librdkafka tuning below, the client's defaults otherwise. A Node child \
         process (`tests/interop/node/bench_consume_confluent.js`) with its own group reports \
         its own count and time as JSON; its clock starts at its first message (join \
         excluded). Checked: (j1)'s Σ payload lengths and (j2)'s Σ decoded `watched_seconds` \
         equal the topic's\n",
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
        "- librdkafka-based variants (a, a′, a″, a0, b1, b2, b3, e, e2, j1, j2) get {}, see the sections \
         below (the RustStream peer as properties of its subscription, `KafkaTopic::config`; \
         Confluent's JavaScript client as top-level properties of its consumer config); kafkajs \
         and Java, franz-go and Spring run with their own defaults, as their users run them",
        crate::tuning::describe(r.tuning)
    );
    let _ = writeln!(
        out,
        "- Method: {}{} measured round{}; the variants that read the topic in a second or \
         two run back to back in a balanced order (a Williams design: over the rounds each \
         runs in every position, and right after every other one, equally often), so the two \
         sides of a ratio are measured seconds apart; the slow ones (kafkajs, Confluent's \
         JavaScript client and Spring Kafka, 5–60 s each) run only in the first {} rounds, before the others in odd rounds and after them in even ones \
         (round 1: {}). A ratio is the median of its per-round ratios over the rounds both \
         sides ran in, with a 95 % percentile-bootstrap interval (4 000 resamples); a target is \
         met only when the whole interval clears it, missed when the whole interval falls \
         short, else undecided",
        if r.warmup {
            "one unmeasured warm-up round of the in-process variants (it also brings the topic \
             into the page cache; the others start a fresh process every time anyway), then "
        } else {
            ""
        },
        r.rounds.len(),
        if r.rounds.len() == 1 { "" } else { "s" },
        crate::rounds::SLOW_ROUNDS,
        r.rounds
            .first()
            .map_or_else(String::new, |x| order(&x.order)),
    );
    out.push('\n');
    out.push_str(&rounds_table(r.rounds, x.variants));
    out.push('\n');
    out.push_str(&ratios_table(&rows));
    out.push_str(
        "\nCPU over each variant's timed interval (medians over the rounds it ran in):\n\n",
    );
    out.push_str(&cpu_table(r.rounds, x.variants));
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
    use crate::cpu::Spent;
    use crate::measure::Measurement;

    fn m(rate: f64) -> Measurement {
        Measurement {
            read: rate as u64,
            timed: rate as u64,
            elapsed: Duration::from_secs(1),
            cpu: Spent {
                process: Some(rate / 1e6),
                broker: Some(0.5),
            },
            ..Measurement::ZERO
        }
    }

    /// 11 rounds; per round: a′ = 1 000 000 ± 2 %, b1 = 0.97 of it (±0.4 %), b2 = 0.95 of
    /// a″ ± 8 % (noisy), f1 = 1.25 × b1 (b1/f1 = 0.8), kafkajs and Confluent's JavaScript
    /// client in the first rounds only.
    fn rounds() -> Vec<Round> {
        use Variant::*;
        let vs = [
            RawSplit,
            RawDecode,
            Framework,
            Avro,
            FranzNoop,
            KafkajsNoop,
            ConfluentJsNoop,
        ];
        (1..=11)
            .map(|n| {
                let wobble = ((n * 7919) % 11) as f64 / 10.0 - 0.5; // -0.5 … 0.5
                let a1 = 1e6 * (1.0 + 0.04 * wobble);
                let b1 = a1 * (0.97 + 0.008 * wobble);
                let a2 = 5e5 * (1.0 - 0.04 * wobble);
                let b2 = a2 * (0.95 + 0.16 * wobble);
                let order = crate::rounds::order(n, &vs);
                let results = order
                    .iter()
                    .map(|v| {
                        let rate = match v {
                            RawSplit => a1,
                            RawDecode => a2,
                            Framework => b1,
                            Avro => b2,
                            FranzNoop => b1 * 1.25,
                            _ => 1e5,
                        };
                        (*v, m(rate))
                    })
                    .collect();
                Round {
                    number: n,
                    order,
                    results,
                }
            })
            .collect()
    }

    #[test]
    fn verdicts_come_from_the_intervals() {
        let rs = rounds();
        let rows = ratio_rows(&rs, None);
        let get = |n: &str| rows.iter().find(|r| r.name == n).unwrap().clone();
        let b1 = get("b1/a′");
        assert_eq!(b1.rounds, 11);
        assert!((b1.interval.median - 0.97).abs() < 0.005, "{b1:?}");
        assert_eq!(b1.verdict(), Some(Verdict::Met), "{b1:?}");
        let b2 = get("b2/a″");
        assert_eq!(b2.verdict(), Some(Verdict::Undecided), "{b2:?}");
        let f = get("b1/f1");
        assert_eq!(f.verdict(), Some(Verdict::Missed), "{f:?}");
        assert_eq!(get("a″/a′").verdict(), None);
        // Nothing about variants that never ran.
        assert!(
            rows.iter()
                .all(|r| !r.name.contains("s2") && !r.name.contains("a0"))
        );
        let t = ratios_table(&rows);
        assert!(
            t.contains("| b1/a′ | framework no-op vs raw on the same split queues | **0.9"),
            "{t}"
        );
        assert!(t.contains("| 11 | ≥ 0.95 (#17) | met |"), "{t}");
        assert!(t.contains("| ≥ 0.9 (#17) | **missed** |"), "{t}");
        assert!(t.contains("| ≥ 0.95 (#17) | undecided |"), "{t}");
    }

    #[test]
    fn slow_variants_show_only_where_they_ran() {
        let rs = rounds();
        let table = rounds_table(&rs, &[Variant::RawSplit, Variant::KafkajsNoop]);
        let with = table.lines().filter(|l| l.ends_with("| 100,000 |")).count();
        let without = table.lines().filter(|l| l.ends_with("| – |")).count();
        assert_eq!(
            (with, without),
            (crate::rounds::SLOW_ROUNDS, 11 - crate::rounds::SLOW_ROUNDS),
            "{table}"
        );
        let rows = ratio_rows(&rs, None);
        let c1 = rows.iter().find(|r| r.name == "b1/c1").unwrap();
        assert_eq!(c1.rounds, crate::rounds::SLOW_ROUNDS);
        let j1 = rows.iter().find(|r| r.name == "b1/j1").unwrap();
        assert_eq!(
            (j1.rounds, j1.target, j1.verdict()),
            (crate::rounds::SLOW_ROUNDS, None, None)
        );
        assert!(!rows.iter().any(|r| r.name == "b2/j2"), "j2 never ran");
    }

    #[test]
    fn the_cpu_table_shows_records_per_cpu_second() {
        let rs = rounds();
        let t = cpu_table(
            &rs,
            &[Variant::RawSplit, Variant::Avro, Variant::SpringAvro],
        );
        // a′: 1 000 000 msgs/s on 1 CPU s → 1,000,000 per CPU s (each round's rate / its CPU).
        assert!(t.contains("| (a′) raw rdkafka, split queues | 1,00"), "{t}");
        assert!(
            t.contains("| 1,000,000 (1,000,000 – 1,000,000) | 0.50 |"),
            "{t}"
        );
        assert!(
            !t.contains("Spring"),
            "a variant that never ran has no row: {t}"
        );
    }
}
