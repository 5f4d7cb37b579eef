//! Command-line flags (hand-parsed: the benchmark needs no argument-parsing crate).

use std::path::PathBuf;

/// Printed for `--help` and after a flag error.
pub(crate) const USAGE: &str = "\
consume-bench: messages/second of a raw rdkafka poll loop, #[consume] handlers (no-op and
Avro<T>), kafkajs (no-op and with @kafkajs/confluent-schema-registry decoding), Kafka's Java
consumer (kafka-consumer-perf-test) and RustStream #[subscriber] handlers (no-op and Avro,
bench/ruststream-peer, built with cargo on first use) on one topic of Confluent-framed Avro
records; the cost of one Avro decode; key-ordered concurrency vs sequential

USAGE: cargo run --release -p consume-bench -- [FLAGS]
       bench/run        (the full run of issue 7: --all, writes BENCHMARKS.md and bench/charts/)

FLAGS:
  --all                    everything: the side-by-side rounds, the decode micro-benchmark,
                           the scaling runs and the key-ordered run; with --write-markdown it
                           writes every section
  --no-peers               only the in-process variants (a, b1, b2): no kafkajs (c1, c2), no
                           Java (d), no RustStream (e, e2), no peers in the key-ordered run
  --charts <DIR>           write the PNG charts there (with --smoke --all: a temporary dir)
  --messages <N>           messages to produce and read per variant and round (default 1000000)
  --rounds <R>             measured rounds after the warm-up round (default 11; the slow peers --
                           kafkajs, Confluent's JS client, Spring Kafka -- in the first 2 only)
  --topic <NAME>           topic to use (default: bench-<millis>, created and deleted by the run);
                           an existing topic is reused if it holds exactly N messages framed
                           with the schema id the registry has under <topic>-value
  --write-markdown <PATH>  (re)write the framework-overhead and avro sections of this
                           markdown file
  --decode-iterations <N>  distinct records in the decode micro-benchmark, each decoded once
                           per decoder and round (default 100000)
  --decode-reps <R>        measured rounds of the decode micro-benchmark (default 11)
  --decode                 instead: only the decode micro-benchmark (no Kafka, no registry);
                           writes the avro-decode section
  --librdkafka-defaults    give every variant librdkafka's default fetch settings instead of
                           the shared tuning (see bench/src/tuning.rs)
  --key-ordered            instead: key-ordered concurrency against its bound: ours at
                           concurrency 1, 4, 16, 64, 256, Parallel Consumer at 64, kafkajs on
                           16 partitions, uniform and Zipf keys, one round trip per record to
                           a 2 ms loopback echo stub; writes the key-ordered section (--rounds
                           applies, default 5; --no-peers: ours only)
  --scaling                instead: the scaling runs (1/4/16 partitions, two processes in one
                           group, memory and threads at 1/10/50 handlers against Java's
                           client, peak RSS under a backlog); writes the scaling section
  --only <TAGS>            instead: only these side-by-side variants (comma-separated tags:
                           raw, raw-split, raw-decode, c-performance, framework, avro,
                           avro-ref, franz, …; see `Variant::tag`), with their per-round
                           rates and CPU on stderr; no decode, no report, writes nothing
                           (for profiling one variant: `perf record -- … --only avro`)
  --partitions <N>         with --only: the topic's partitions (default 4)
  --smoke                  tiny run (20000 messages, 1 round, no warm-up, 10000 records x 2)
                           that fails unless every variant reads every message (and, with
                           --all, draws the charts into a temporary dir); never writes
                           markdown
  -h, --help               this text

ENVIRONMENT:
  KAFKA_BOOTSTRAP          Kafka's PLAINTEXT listener (default 127.0.0.1:9092, started by infra/up)
  SCHEMA_REGISTRY_URL      Confluent-compatible schema registry
                           (default http://127.0.0.1:8081/apis/ccompat/v7, started by infra/up)
  RUST_LOG                 log filter for stderr (default warn)
  NODE, JAVA_HOME          the node and java used for (c) and (d) (default: from PATH)
  BENCH_KAFKA_LIBS         Kafka's jars (default infra/kafka/target/libs, installed by infra/up)
  BENCH_FONT               a .ttf for the charts' text (default: DejaVu/Liberation Sans)
  BENCH_COMMAND            the command shown in the markdown (bench/run sets it)";

const DEFAULT_MESSAGES: u64 = 1_000_000;
const DEFAULT_ROUNDS: usize = 11;
const SMOKE_MESSAGES: u64 = 20_000;
const DEFAULT_DECODE_ITERATIONS: u64 = 100_000;
const DEFAULT_DECODE_REPS: usize = 11;
const SMOKE_DECODE_ITERATIONS: u64 = 10_000;
const SMOKE_DECODE_REPS: usize = 2;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    /// Messages in the topic (every variant reads all of them each round).
    pub(crate) messages: u64,
    /// Measured rounds.
    pub(crate) rounds: usize,
    /// Whether an unmeasured warm-up round runs first.
    pub(crate) warmup: bool,
    /// Topic given by the user (`None`: a fresh, unique one).
    pub(crate) topic: Option<String>,
    /// Markdown file whose section to (re)write.
    pub(crate) write_markdown: Option<PathBuf>,
    /// Tiny verification run.
    pub(crate) smoke: bool,
    /// Measure without the shared consumer tuning.
    pub(crate) librdkafka_defaults: bool,
    /// Distinct records of the decode micro-benchmark (each decoded once per decoder and round).
    pub(crate) decode_iterations: u64,
    /// Rounds of the micro-benchmark.
    pub(crate) decode_reps: usize,
    /// Run only the decode micro-benchmark.
    pub(crate) decode_only: bool,
    /// Run the key-ordered concurrency benchmark instead.
    pub(crate) key_ordered: bool,
    /// Run the scaling runs instead.
    pub(crate) scaling: bool,
    /// `--rounds` as given (`None`: the benchmark's default).
    pub(crate) rounds_given: Option<usize>,
    /// Run everything (side by side, decode, key-ordered).
    pub(crate) all: bool,
    /// Skip the other stacks (kafkajs, Java).
    pub(crate) no_peers: bool,
    /// Where to write the charts.
    pub(crate) charts: Option<PathBuf>,
    /// `--only`: run just these variants (by tag) and report nothing but their rounds.
    pub(crate) only: Vec<String>,
    /// `--partitions` (with `--only`): partitions of the topic it creates.
    pub(crate) partitions: Option<i32>,
}

/// The result of parsing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Run the benchmark.
    Run(Args),
    /// Print [`USAGE`] and exit successfully.
    Help,
}

/// Parses the flags (without the program name).
pub(crate) fn parse(argv: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut messages = None;
    let mut rounds = None;
    let mut decode_iterations = None;
    let mut decode_reps = None;
    let mut topic = None;
    let mut write_markdown = None;
    let mut smoke = false;
    let mut librdkafka_defaults = false;
    let mut key_ordered = false;
    let mut scaling = false;
    let mut decode_only = false;
    let mut all = false;
    let mut no_peers = false;
    let mut charts = None;
    let mut only = Vec::new();
    let mut partitions = None;
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (flag.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--smoke" => smoke = true,
            "--key-ordered" => key_ordered = true,
            "--scaling" => scaling = true,
            "--decode" => decode_only = true,
            "--all" => all = true,
            "--no-peers" => no_peers = true,
            "--only" => {
                only = value("variant tags")?
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                if only.is_empty() {
                    return Err("--only needs at least one variant tag".to_owned());
                }
            }
            "--partitions" => partitions = Some(number::<i32>(&name, &value("a number")?)?),
            "--charts" => charts = Some(PathBuf::from(value("a directory")?)),
            "--librdkafka-defaults" => librdkafka_defaults = true,
            "--messages" => messages = Some(number::<u64>(&name, &value("a number")?)?),
            "--rounds" => rounds = Some(number::<usize>(&name, &value("a number")?)?),
            "--decode-iterations" => {
                decode_iterations = Some(number::<u64>(&name, &value("a number")?)?);
            }
            "--decode-reps" => decode_reps = Some(number::<usize>(&name, &value("a number")?)?),
            "--topic" => topic = Some(value("a topic name")?),
            "--write-markdown" => write_markdown = Some(PathBuf::from(value("a path")?)),
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    if smoke && write_markdown.is_some() {
        return Err("--smoke never writes markdown: drop --write-markdown".to_owned());
    }
    if all && (key_ordered || scaling) {
        return Err("--all already includes --key-ordered and --scaling".to_owned());
    }
    if !only.is_empty()
        && (all || key_ordered || scaling || decode_only || write_markdown.is_some())
    {
        return Err("--only runs just the named side-by-side variants: drop --all, --key-ordered, --scaling, --decode and --write-markdown".to_owned());
    }
    if partitions.is_some() && only.is_empty() {
        return Err("--partitions goes with --only".to_owned());
    }
    if partitions.is_some_and(|p| p < 1) {
        return Err("--partitions must be at least 1".to_owned());
    }
    if key_ordered && scaling {
        return Err("run --key-ordered and --scaling one at a time (or --all)".to_owned());
    }
    if decode_only && (all || key_ordered || scaling) {
        return Err(
            "--decode runs only the decode micro-benchmark: drop --all/--key-ordered".to_owned(),
        );
    }
    let args = Args {
        messages: messages.unwrap_or(if smoke {
            SMOKE_MESSAGES
        } else {
            DEFAULT_MESSAGES
        }),
        rounds: rounds.unwrap_or(if smoke { 1 } else { DEFAULT_ROUNDS }),
        rounds_given: rounds,
        key_ordered,
        scaling,
        decode_only,
        all,
        no_peers,
        charts,
        only,
        partitions,
        warmup: !smoke,
        topic,
        write_markdown,
        smoke,
        librdkafka_defaults,
        decode_iterations: decode_iterations.unwrap_or(if smoke {
            SMOKE_DECODE_ITERATIONS
        } else {
            DEFAULT_DECODE_ITERATIONS
        }),
        decode_reps: decode_reps.unwrap_or(if smoke {
            SMOKE_DECODE_REPS
        } else {
            DEFAULT_DECODE_REPS
        }),
    };
    if args.messages == 0
        || args.rounds == 0
        || args.decode_iterations == 0
        || args.decode_reps == 0
    {
        return Err(
            "--messages, --rounds, --decode-iterations and --decode-reps must be at least 1"
                .to_owned(),
        );
    }
    Ok(Parsed::Run(args))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: `{v}` is not a non-negative whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(flags: &[&str]) -> Result<Args, String> {
        match parse(flags.iter().map(|s| (*s).to_owned()))? {
            Parsed::Run(a) => Ok(a),
            Parsed::Help => Err("help".to_owned()),
        }
    }

    #[test]
    fn defaults() {
        let a = run(&[]).unwrap();
        assert_eq!(
            (a.messages, a.rounds, a.warmup, a.smoke),
            (1_000_000, 11, true, false)
        );
        assert!(a.topic.is_none() && a.write_markdown.is_none() && !a.librdkafka_defaults);
        assert!(!a.all && !a.no_peers && a.charts.is_none());
        assert_eq!((a.decode_iterations, a.decode_reps), (100_000, 11));
        assert!(!a.decode_only && run(&["--decode"]).unwrap().decode_only);
        assert!(run(&["--librdkafka-defaults"]).unwrap().librdkafka_defaults);
        assert!(run(&["--scaling"]).unwrap().scaling);
        assert!(run(&["--all", "--scaling"]).is_err());
        assert!(run(&["--key-ordered", "--scaling"]).is_err());
        assert!(a.only.is_empty());
    }

    #[test]
    fn only_names_variants_and_excludes_the_rest() {
        let a = run(&["--only", "avro, raw-decode"]).unwrap();
        assert_eq!(a.only, ["avro", "raw-decode"]);
        assert!(run(&["--only", ","]).is_err());
        assert!(run(&["--only", "avro", "--all"]).is_err());
        assert!(run(&["--only=avro", "--write-markdown", "B.md"]).is_err());
        assert_eq!(
            run(&["--only", "raw", "--partitions", "16"])
                .unwrap()
                .partitions,
            Some(16)
        );
        assert!(run(&["--partitions", "16"]).is_err());
        assert!(run(&["--only", "raw", "--partitions", "0"]).is_err());
    }

    #[test]
    fn flags_with_space_or_equals() {
        let a = run(&[
            "--messages",
            "1_000",
            "--rounds=3",
            "--topic",
            "t",
            "--write-markdown=B.md",
            "--decode-iterations=2_000",
            "--decode-reps",
            "7",
        ])
        .unwrap();
        assert_eq!((a.messages, a.rounds), (1000, 3));
        assert_eq!((a.decode_iterations, a.decode_reps), (2000, 7));
        assert_eq!(a.topic.as_deref(), Some("t"));
        assert_eq!(a.write_markdown, Some(PathBuf::from("B.md")));
        let a = run(&["--all", "--no-peers", "--charts", "c"]).unwrap();
        assert!(a.all && a.no_peers);
        assert_eq!(a.charts, Some(PathBuf::from("c")));
    }

    #[test]
    fn smoke_is_tiny_and_never_writes() {
        let a = run(&["--smoke"]).unwrap();
        assert_eq!((a.messages, a.rounds, a.warmup), (20_000, 1, false));
        assert_eq!((a.decode_iterations, a.decode_reps), (10_000, 2));
        assert!(run(&["--smoke", "--write-markdown", "B.md"]).is_err());
    }

    #[test]
    fn errors() {
        assert!(run(&["--messages"]).is_err());
        assert!(run(&["--messages", "x"]).is_err());
        assert!(run(&["--rounds", "0"]).is_err());
        assert!(run(&["--decode-reps", "0"]).is_err());
        assert!(run(&["--bogus"]).is_err());
        assert!(run(&["--all", "--key-ordered"]).is_err());
        assert!(run(&["--all", "--decode"]).is_err());
        assert!(run(&["--charts"]).is_err());
        assert_eq!(parse(["--help".to_owned()]), Ok(Parsed::Help));
    }
}
