//! `consume-bench`: how many messages per second the `#[consume]` runtime gets through
//! compared with a bare rdkafka poll loop, on one topic produced once.
//!
//! ```text
//! cargo run --release -p consume-bench -- --messages 1000000 --rounds 5 --write-markdown BENCHMARKS.md
//! cargo run --release -p consume-bench -- --smoke
//! ```
//!
//! Needs Kafka (`infra/up`). Progress goes to stderr, the markdown result to stdout.

mod args;
mod framework;
mod kafka;
mod machine;
mod markdown_file;
mod measure;
mod produce;
mod raw;
mod report;
mod rounds;
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

/// The id of this benchmark's section in the markdown file.
const SECTION_ID: &str = "framework-overhead";

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
    let bootstrap = kafka::bootstrap();
    kafka::check_reachable(&bootstrap)?;
    let machine = Machine::detect();
    eprintln!("machine: {}", machine.one_line());

    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let topic = args
        .topic
        .clone()
        .unwrap_or_else(|| format!("bench-{millis}"));
    let created = kafka::create_topic(&bootstrap, &topic).await?;
    let target = Target {
        bootstrap: bootstrap.clone(),
        topic: topic.clone(),
        expected: args.messages,
        group_prefix: format!("consume-bench-{millis}"),
        tuning: tuning::selected(args.librdkafka_defaults),
    };
    let measured = async {
        if created {
            fill_topic(&bootstrap, &topic, args.messages).await?;
        } else {
            check_reusable(&bootstrap, &topic, args.messages)?;
        }
        eprintln!(
            "reading {} records per variant: {}{} round(s), order alternating",
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

    let report = Report {
        command: command_line(),
        machine: &machine,
        messages: args.messages,
        warmup: args.warmup,
        tuning: target.tuning,
        rounds: &rounds,
        summary: stats::summarize(&rounds),
    };
    let body = report::section(&report);
    println!("{body}");
    if let Some(path) = &args.write_markdown {
        markdown_file::write_section(path, SECTION_ID, &body)?;
        eprintln!("wrote section `{SECTION_ID}` of {}", path.display());
    }
    if args.smoke {
        eprintln!(
            "smoke: OK, both variants read all {} records (smoke-sized rates mean nothing)",
            args.messages
        );
    }
    Ok(())
}

/// Uses an existing topic only if it holds exactly `messages` records.
fn check_reusable(bootstrap: &str, topic: &str, messages: u64) -> Result<(), BoxError> {
    match kafka::count_messages(bootstrap, topic)? {
        Some((_, n)) if n == messages => {
            eprintln!("topic `{topic}` exists with {n} records: reusing it");
            Ok(())
        }
        found => Err(format!(
            "topic `{topic}` already exists with {} records, not {messages}; pick another \
             --topic or omit it for a fresh one",
            found.map_or(0, |(_, n)| n)
        )
        .into()),
    }
}

/// Fills the freshly created `topic` with `messages` records and checks they all landed.
async fn fill_topic(bootstrap: &str, topic: &str, messages: u64) -> Result<(), BoxError> {
    eprintln!(
        "producing {messages} records to `{topic}` ({} partitions)…",
        kafka::PARTITIONS
    );
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    let took = tokio::task::spawn_blocking(move || produce::fill(&b, &t, messages)).await??;
    let stored = kafka::count_messages(bootstrap, topic)?.map_or(0, |(_, n)| n);
    eprintln!(
        "produced in {:.1} s ({} msgs/s); the topic holds {stored} records",
        took.as_secs_f64(),
        report::thousands(messages as f64 / took.as_secs_f64().max(1e-9))
    );
    if stored != messages {
        return Err(
            format!("topic `{topic}` holds {stored} records after producing {messages}").into(),
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
