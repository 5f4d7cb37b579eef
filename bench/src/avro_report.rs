//! Renders the "Avro decoding" section: (c) against (a) over the same rounds, and the decode
//! micro-benchmark.

use std::fmt::Write as _;

use crate::decode::{DECODERS, DecodeBench, Decoder};
use crate::handlers::AVRO;
use crate::measure::Variant;
use crate::report::{NOISE_NOTE, Report, common_head, common_tail, table, thousands};
use crate::stats::summarize;

/// The target for c/a with ~100-byte records.
pub(crate) const TARGET_RATIO: f64 = 0.85;

/// The label of a decoder in the table.
fn label(d: Decoder) -> &'static str {
    match d {
        Decoder::Ours => "ours: `consume_runtime::avro::Prepared::decode::<LectureProgress>`",
        Decoder::Generic => {
            "apache-avro 0.22 generic: `from_avro_datum(&w, &mut body, Some(&r))` + `from_value`"
        }
        Decoder::GenericReaderOnce => {
            "apache-avro 0.22 generic, reader built once: `GenericDatumReader::read_value` + \
             `from_value`"
        }
    }
}

/// The decode micro-benchmark's tables: one row per repetition, then per decoder.
pub(crate) fn decode_tables(d: &DecodeBench) -> String {
    let mut t = String::new();
    t.push_str("| repetition | ours, ns/msg | generic, ns/msg | generic (reader once), ns/msg |\n");
    t.push_str("|---:|---:|---:|---:|\n");
    for (i, r) in d.reps.iter().enumerate() {
        let _ = writeln!(t, "| {} | {:.0} | {:.0} | {:.0} |", i + 1, r[0], r[1], r[2]);
    }
    let _ = writeln!(
        t,
        "| **median** | **{:.0}** | **{:.0}** | **{:.0}** |\n",
        d.median_ns(0),
        d.median_ns(1),
        d.median_ns(2)
    );
    t.push_str("| decoder | ns/msg (median) | decodes/s on one core | ours is faster by |\n");
    t.push_str("|:---|---:|---:|---:|\n");
    for (i, dec) in DECODERS.into_iter().enumerate() {
        let ns = d.median_ns(i);
        let _ = writeln!(
            t,
            "| {} | {ns:.0} | {} | {:.1}× |",
            label(dec),
            thousands(if ns > 0.0 { 1e9 / ns } else { 0.0 }),
            d.median_speedup(i)
        );
    }
    t
}

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
        "\n### Decode cost per message (no Kafka)\n\n\
         One framed {} B `LectureProgress` value, header split off and decoded into the struct \
         {} times per decoder and repetition after a warm-up of a tenth of that, in {} \
         repetitions with the decoders' order rotating; the same process, one thread. Every \
         decoder must return the encoded record before anything is timed \
         (`bench/src/decode.rs`).\n",
        d.value_bytes,
        thousands(d.iterations as f64),
        d.reps.len()
    );
    out.push_str(&decode_tables(d));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_tables_show_medians_and_speedups() {
        let d = DecodeBench {
            iterations: 1000,
            value_bytes: 100,
            reps: vec![[100.0, 1000.0, 500.0], [200.0, 1000.0, 600.0]],
        };
        let t = decode_tables(&d);
        assert!(t.contains("| 1 | 100 | 1000 | 500 |"), "{t}");
        assert!(
            t.contains("| **median** | **150** | **1000** | **550** |"),
            "{t}"
        );
        assert!(t.contains("| 150 | 6,666,667 | 1.0× |"), "{t}");
        assert!(t.contains("| 7.5× |"), "{t}");
    }
}
