//! `consume-bench`: how many records per second, and per CPU second, the `#[consume]` runtime
//! gets through (no-op, `Avro<T>`, `AvroRef<T>`), against baselines on the same queues
//! (raw rdkafka: one merged queue, split per-partition queues, split queues with our
//! decoder; librdkafka's own C `rdkafka_performance`) and the consumers a team would pick
//! instead (franz-go, Spring Kafka, Kafka's Java client, RustStream, kafkajs, Confluent's
//! JavaScript client), all on one topic of Confluent-framed Avro records produced once;
//! what one Avro decode costs against serde_avro_fast and apache-avro; scaling (partitions,
//! processes, handlers, a backlog); key-ordered concurrency against its bound and Parallel
//! Consumer (issues 7 and 17).
//!
//! ```text
//! bench/run                                        # the full run, writes BENCHMARKS.md
//! cargo run --release -p consume-bench -- --all --smoke   # seconds: the harness still works
//! cargo run --release -p consume-bench -- --no-peers      # only the in-process variants
//! bench/profile avro raw-decode                    # where (b2) spends its CPU against (a″)
//! ```
//!
//! Needs Kafka and the schema registry (`infra/up`); the peers need the Node packages
//! (`tests/interop/setup.sh`), Kafka's jars (`infra/up`), Go and Maven for franz-go, Spring
//! Kafka and Parallel Consumer (`bench/*-peer/build.sh`, run by the benchmark; no-ops when
//! up to date) and the RustStream peer (`bench/ruststream-peer`, built with cargo on first
//! use). Progress goes to stderr, the markdown result to stdout.

mod args;
mod avro_report;
mod c_performance;
mod charts;
mod comparison;
mod cpu;
mod decode;
mod echo;
mod framework;
mod handlers;
mod kafka;
mod key_ordered;
mod keyspace;
mod ko_peers;
mod lecture;
mod machine;
mod markdown_file;
mod measure;
mod member;
mod other_stacks;
mod peers;
mod produce;
mod raw;
mod registry;
mod report;
mod rounds;
mod sampler;
mod scale_handlers;
mod scaling;
mod setup;
mod stats;
mod tuning;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use args::{Args, Parsed};
use machine::Machine;
use measure::Variant;
use report::Report;
use rounds::Target;

/// Errors of the benchmark: reported on stderr, exit status 1.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The ids of this benchmark's sections in the markdown file.
const SECTION_ID: &str = "framework-overhead";
const AVRO_SECTION_ID: &str = "avro";

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::var_os(member::MEMBER_VAR).is_some() {
        init_logs();
        let result = match member::Settings::from_env() {
            Ok(s) => member::run(s).await,
            Err(e) => Err(e),
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("consume-bench member: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("consume-bench: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    init_logs();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consume-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The variants named by `--only` (tags as in [`Variant::tag`]), in table order.
fn only_variants(tags: &[String]) -> Result<Vec<Variant>, BoxError> {
    for t in tags {
        if !rounds::ALL_VARIANTS.iter().any(|v| v.tag() == t) {
            let known: Vec<&str> = rounds::ALL_VARIANTS.iter().map(|v| v.tag()).collect();
            return Err(format!(
                "--only: unknown variant `{t}` (known: {})",
                known.join(", ")
            )
            .into());
        }
    }
    Ok(rounds::ALL_VARIANTS
        .iter()
        .copied()
        .filter(|v| tags.iter().any(|t| t == v.tag()))
        .collect())
}

/// Logs (the runtime's and librdkafka's) to stderr; `RUST_LOG`, default `warn`.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
}

async fn run(args: &Args) -> Result<(), BoxError> {
    let started = Instant::now();
    if args.decode_only {
        return run_decode(args).await;
    }
    if args.key_ordered {
        let ko = key_ordered::run(
            args.rounds_given,
            args.smoke,
            !args.no_peers,
            &command_line(),
        )
        .await?;
        println!("{}", ko.body);
        if let Some(path) = &args.write_markdown {
            markdown_file::write_section(path, key_ordered::SECTION_ID, &ko.body)?;
            eprintln!(
                "wrote section `{}` of {}",
                key_ordered::SECTION_ID,
                path.display()
            );
        }
        return Ok(());
    }
    let bootstrap = kafka::bootstrap();
    kafka::check_reachable(&bootstrap)?;
    let registry = registry::client()?;
    let variants = if args.scaling {
        Vec::new()
    } else if !args.only.is_empty() {
        only_variants(&args.only)?
    } else if args.no_peers {
        rounds::RUST_VARIANTS.to_vec()
    } else {
        rounds::ALL_VARIANTS.to_vec()
    };
    // Builds before the topic exists: a failed (or first, minutes-long) build leaves nothing
    // behind.
    if variants.iter().any(|v| v.is_ruststream()) {
        eprintln!("building the RustStream peer (bench/ruststream-peer; a no-op when up to date)…");
        tokio::task::spawn_blocking(peers::build_ruststream).await??;
    }
    for (stack, uses) in [
        (
            other_stacks::Stack::Franz,
            [Variant::FranzNoop, Variant::FranzAvro],
        ),
        (
            other_stacks::Stack::Spring,
            [Variant::SpringNoop, Variant::SpringAvro],
        ),
    ] {
        if variants.iter().any(|v| uses.contains(v)) {
            eprintln!("building {stack:?}'s peer (a no-op when up to date)…");
            tokio::task::spawn_blocking(move || other_stacks::build(stack)).await??;
        }
    }
    let c_performance = if variants.contains(&Variant::CPerformance) {
        eprintln!("building librdkafka's rdkafka_performance from the bundled sources…");
        Some(tokio::task::spawn_blocking(c_performance::build).await??)
    } else {
        None
    };
    cpu::start(kafka::broker_port(&bootstrap).and_then(cpu::listener_pid));
    if !cpu::broker_watched() {
        eprintln!("warning: the broker's process was not found: its CPU is not recorded");
    }
    let machine = Machine::detect();
    eprintln!("machine: {}", machine.one_line());

    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    if args.scaling {
        let base = Target {
            bootstrap: bootstrap.clone(),
            topic: String::new(),
            expected: args.messages,
            group_prefix: format!("consume-bench-{millis}"),
            tuning: tuning::selected(args.librdkafka_defaults),
            registry,
            registry_url: registry::url(),
            variants: Vec::new(),
            partitions: kafka::PARTITIONS,
            c_performance: None,
        };
        let plan = scaling::Plan::new(args.smoke, args.messages, args.rounds_given, !args.no_peers);
        let body = scaling::run(&base, plan, &command_line(), &machine).await?;
        println!("{body}");
        if let Some(path) = &args.write_markdown {
            markdown_file::write_section(path, scaling::SECTION_ID, &body)?;
            eprintln!(
                "wrote section `{}` of {}",
                scaling::SECTION_ID,
                path.display()
            );
        }
        return Ok(());
    }
    let topic = args
        .topic
        .clone()
        .unwrap_or_else(|| format!("bench-{millis}"));
    // Registering first also checks the registry before a topic is created.
    let schema_id = registry::register_value_schema(&registry, &topic).await?;
    let partitions = args.partitions.unwrap_or(kafka::PARTITIONS);
    let created = kafka::create_topic_with(&bootstrap, &topic, partitions).await?;
    let target = Target {
        bootstrap: bootstrap.clone(),
        topic: topic.clone(),
        expected: args.messages,
        group_prefix: format!("consume-bench-{millis}"),
        tuning: tuning::selected(args.librdkafka_defaults),
        registry,
        registry_url: registry::url(),
        variants,
        partitions,
        c_performance,
    };
    let measured = async {
        if created {
            setup::fill_topic(&bootstrap, &topic, args.messages, schema_id).await?;
        } else {
            setup::check_reusable(&bootstrap, &topic, args.messages, schema_id).await?;
        }
        eprintln!(
            "reading {} records per variant: {}{} round(s), order rotating",
            args.messages,
            if args.warmup {
                "1 warm-up round + "
            } else {
                ""
            },
            args.rounds
        );
        rounds::run_all(&target, args.rounds, args.warmup).await
    }
    .await;
    // An auto-named topic is this run's alone: remove it (about 100 B per record on disk).
    if created
        && args.topic.is_none()
        && let Err(e) = kafka::delete_topic(&bootstrap, &topic).await
    {
        eprintln!("warning: could not delete topic `{topic}`: {e}");
    }
    let rounds = measured?;
    if !args.only.is_empty() {
        // A profiling run: the per-variant lines above are its whole output.
        eprintln!(
            "done in {:.0} s (--only: nothing written)",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    eprintln!(
        "decode micro-benchmark: {} distinct records, {} rounds…",
        args.decode_iterations, args.decode_reps
    );
    let (n, reps) = (args.decode_iterations, args.decode_reps);
    let decode = tokio::task::spawn_blocking(move || decode::run(n, reps)).await??;

    let scaling_body = if args.all {
        eprintln!("scaling runs…");
        let plan = scaling::Plan::new(args.smoke, args.messages, None, !args.no_peers);
        Some(scaling::run(&target, plan, &command_line(), &machine).await?)
    } else {
        None
    };

    let ko = if args.all {
        eprintln!("key-ordered run…");
        // Its own rounds (`key_ordered::ROUNDS`; one in a smoke run), whatever --rounds says for
        // the throughput rounds.
        Some(key_ordered::run(None, args.smoke, !args.no_peers, &command_line()).await?)
    } else {
        None
    };

    let report = Report {
        command: command_line(),
        machine: &machine,
        messages: args.messages,
        warmup: args.warmup,
        tuning: target.tuning,
        rounds: &rounds,
        registry_url: registry::url(),
        decode: &decode,
    };
    let body = report::section(&report);
    let avro_body = avro_report::section(&report);
    let decode_body = avro_report::decode_section(&decode, &report.command, &machine);
    let charts_dir = charts_dir(args);
    if let Some(dir) = &charts_dir {
        let rows = comparison::ratio_rows(&rounds, ko.as_ref());
        comparison::write_charts(dir, &rounds, &target.variants, &rows, ko.as_ref())?;
        eprintln!("wrote the charts into {}", dir.display());
    }
    let peer_versions = if args.no_peers {
        "none (`--no-peers`)".to_owned()
    } else {
        peers::versions()
    };
    let charts_link = match (&charts_dir, &args.write_markdown) {
        (Some(dir), Some(md)) => Some(relative_to(dir, md)),
        (Some(dir), None) => Some(dir.display().to_string()),
        _ => None,
    };
    let side_body = comparison::section(
        &report,
        &comparison::Extras {
            variants: &target.variants,
            key_ordered: ko.as_ref(),
            peer_versions: &peer_versions,
            charts: charts_link.as_deref(),
        },
    );
    if args.all {
        println!("{side_body}\n");
    }
    println!("{body}\n{avro_body}\n{decode_body}");
    if let Some(b) = &scaling_body {
        println!("\n{b}");
    }
    if let Some(k) = &ko {
        println!("\n{}", k.body);
    }
    if let Some(path) = &args.write_markdown {
        if args.all {
            markdown_file::write_section(path, comparison::SECTION_ID, &side_body)?;
        }
        markdown_file::write_section(path, SECTION_ID, &body)?;
        markdown_file::write_section(path, AVRO_SECTION_ID, &avro_body)?;
        markdown_file::write_section(path, avro_report::DECODE_SECTION_ID, &decode_body)?;
        if let Some(b) = &scaling_body {
            markdown_file::write_section(path, scaling::SECTION_ID, b)?;
        }
        if let Some(k) = &ko {
            markdown_file::write_section(path, key_ordered::SECTION_ID, &k.body)?;
        }
        eprintln!("wrote the sections into {}", path.display());
    }
    if let Some(dir) = charts_dir.filter(|_| args.smoke && args.charts.is_none()) {
        let _ = std::fs::remove_dir_all(dir);
    }
    if args.smoke {
        eprintln!(
            "smoke: OK, every variant ({}) read all {} records{}, every decoder returned the \
             encoded record{} (smoke-sized rates mean nothing)",
            target
                .variants
                .iter()
                .map(|v| v.letter())
                .collect::<Vec<_>>()
                .join(", "),
            args.messages,
            if args.no_peers {
                ""
            } else {
                " (each peer with its expected checksum)"
            },
            if args.all {
                ", the key-ordered run kept every key in order and the charts were drawn"
            } else {
                ""
            },
        );
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `--decode`: the decode micro-benchmark alone, and its section.
async fn run_decode(args: &Args) -> Result<(), BoxError> {
    let machine = Machine::detect();
    eprintln!(
        "decode micro-benchmark: {} distinct records, {} rounds…",
        args.decode_iterations, args.decode_reps
    );
    let (n, reps) = (args.decode_iterations, args.decode_reps);
    let decode = tokio::task::spawn_blocking(move || decode::run(n, reps)).await??;
    let body = avro_report::decode_section(&decode, &command_line(), &machine);
    println!("{body}");
    if let Some(path) = &args.write_markdown {
        markdown_file::write_section(path, avro_report::DECODE_SECTION_ID, &body)?;
        eprintln!(
            "wrote section `{}` of {}",
            avro_report::DECODE_SECTION_ID,
            path.display()
        );
    }
    if args.smoke {
        eprintln!("smoke: OK, every decoder returned every encoded record");
    }
    Ok(())
}

/// Where the charts go: `--charts`, or a temporary directory for `--smoke --all` (removed
/// afterwards), or nowhere.
fn charts_dir(args: &Args) -> Option<PathBuf> {
    args.charts.clone().or_else(|| {
        (args.smoke && args.all).then(|| {
            std::env::temp_dir().join(format!("consume-bench-smoke-charts-{}", std::process::id()))
        })
    })
}

/// `dir` as a link from the markdown file `md` (relative when `dir` is under `md`'s
/// directory, else as given).
fn relative_to(dir: &Path, md: &Path) -> String {
    let base = md
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let (d, b) = (absolute(dir), absolute(base));
    d.strip_prefix(&b)
        .map_or_else(|_| dir.display().to_string(), |r| r.display().to_string())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// How this run was started: `BENCH_COMMAND` (set by `bench/run`), else as a `cargo run`
/// command.
fn command_line() -> String {
    if let Ok(c) = std::env::var("BENCH_COMMAND")
        && !c.is_empty()
    {
        return c;
    }
    let flags: Vec<String> = std::env::args().skip(1).collect();
    let mut cmd = "cargo run --release -p consume-bench".to_owned();
    if !flags.is_empty() {
        cmd.push_str(" -- ");
        cmd.push_str(&flags.join(" "));
    }
    cmd
}
