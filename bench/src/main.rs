//! `consume-bench`: how many messages per second the `#[consume]` runtime gets through, with
//! a no-op handler and with an `Avro<T>` handler, compared with a bare rdkafka poll loop, on
//! one topic of Confluent-framed Avro records produced once; and what one Avro decode costs.
//!
//! ```text
//! cargo run --release -p consume-bench -- --messages 1000000 --rounds 5 --write-markdown BENCHMARKS.md
//! cargo run --release -p consume-bench -- --smoke
//! ```
//!
//! Needs Kafka and the schema registry (`infra/up`). Progress goes to stderr, the markdown
//! result to stdout.

mod args;
mod avro_report;
mod decode;
mod framework;
mod handlers;
mod kafka;
mod key_ordered;
mod lecture;
mod machine;
mod markdown_file;
mod measure;
mod produce;
mod raw;
mod registry;
mod report;
mod rounds;
mod sampler;
mod setup;
mod stats;
mod tuning;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use args::{Args, Parsed};
use machine::Machine;
use report::Report;
use rounds::Target;

/// Errors of the benchmark: reported on stderr, exit status 1.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The ids of this benchmark's sections in the markdown file.
const SECTION_ID: &str = "framework-overhead";
const AVRO_SECTION_ID: &str = "avro";

#[tokio::main]
async fn main() -> ExitCode {
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
    if args.key_ordered {
        let body = key_ordered::run(args.rounds_given, args.smoke).await?;
        println!("{body}");
        if let Some(path) = &args.write_markdown {
            markdown_file::write_section(path, key_ordered::SECTION_ID, &body)?;
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
    let machine = Machine::detect();
    eprintln!("machine: {}", machine.one_line());

    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let topic = args
        .topic
        .clone()
        .unwrap_or_else(|| format!("bench-{millis}"));
    // Registering first also checks the registry before a topic is created.
    let schema_id = registry::register_value_schema(&registry, &topic).await?;
    let created = kafka::create_topic(&bootstrap, &topic).await?;
    let target = Target {
        bootstrap: bootstrap.clone(),
        topic: topic.clone(),
        expected: args.messages,
        group_prefix: format!("consume-bench-{millis}"),
        tuning: tuning::selected(args.librdkafka_defaults),
        registry,
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

    eprintln!(
        "decode micro-benchmark: {} decodes per decoder, {} repetitions…",
        args.decode_iterations, args.decode_reps
    );
    let (n, reps) = (args.decode_iterations, args.decode_reps);
    let decode = tokio::task::spawn_blocking(move || decode::run(n, reps)).await??;

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
    println!("{body}\n{avro_body}");
    if let Some(path) = &args.write_markdown {
        markdown_file::write_section(path, SECTION_ID, &body)?;
        markdown_file::write_section(path, AVRO_SECTION_ID, &avro_body)?;
        eprintln!(
            "wrote sections `{SECTION_ID}` and `{AVRO_SECTION_ID}` of {}",
            path.display()
        );
    }
    if args.smoke {
        eprintln!(
            "smoke: OK, all three variants read all {} records and every decoder returned the \
             encoded record (smoke-sized rates mean nothing)",
            args.messages
        );
    }
    Ok(())
}

/// How this run was started, as a `cargo run` command.
fn command_line() -> String {
    let flags: Vec<String> = std::env::args().skip(1).collect();
    let mut cmd = "cargo run --release -p consume-bench".to_owned();
    if !flags.is_empty() {
        cmd.push_str(" -- ");
        cmd.push_str(&flags.join(" "));
    }
    cmd
}
