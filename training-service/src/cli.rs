//! The command line: `training-service [serve | demo | simulate | reconcile | asyncapi]`;
//! without a command, the demo. The settings themselves live in `config.rs`.

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{AsyncApiArgs, DemoArgs, LogArgs, ReconcileArgs, ServeArgs, SimulateArgs};

/// Every learner's training time, exact and in real time: consumes learners' activity from
/// Kafka, stores it in MongoDB, serves the totals over HTTP with a live dashboard.
///
/// Without a command it runs the self-contained demo (`training-service demo`). Every setting
/// is a flag and an environment variable (shown as [env: …]).
#[derive(Parser, Debug)]
#[command(name = "training-service", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// What to run.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the service: the Kafka consumers, the API and dashboard, and the admin endpoints.
    /// Refuses to start without Kafka, a schema registry, MongoDB (or `--store memory`) and
    /// the token settings.
    Serve(Box<ServeArgs>),
    /// A self-contained demo on 127.0.0.1: in-process Kafka, a mock schema registry, the
    /// in-memory store, simulated learners, and short-lived tokens from a random secret.
    Demo(DemoArgs),
    /// Publish realistic events to Kafka (Avro through the registry) and write the totals
    /// they must produce (the ground truth) as JSON.
    Simulate(Box<SimulateArgs>),
    /// Recompute every total from the stored events and compare with the stored totals;
    /// exit 1 on any difference.
    Reconcile(ReconcileArgs),
    /// Print the AsyncAPI 3.0 document of the service's consumers: topics, consumer groups,
    /// Avro schemas and dead-letter topics. Connects to nothing.
    Asyncapi(AsyncApiArgs),
}

impl Cli {
    /// The command; the demo when none was given (its settings from the environment), unless
    /// `KAFKA_BROKERS` is set: that is a deployment that meant `serve`, and starting a demo
    /// (printing admin tokens) in its place would fail open.
    pub(crate) fn into_command(self) -> Result<Command, clap::Error> {
        if let Some(c) = self.command {
            return Ok(c);
        }
        if std::env::var_os("KAFKA_BROKERS").is_some_and(|v| !v.is_empty()) {
            return Err(Cli::command().error(
                clap::error::ErrorKind::MissingSubcommand,
                "KAFKA_BROKERS is set but no command was given: run `training-service serve` \
                 (or `training-service demo` for the self-contained demo)",
            ));
        }
        match Cli::try_parse_from(["training-service", "demo"])?.command {
            Some(c) => Ok(c),
            None => unreachable!("`demo` parses as the demo command"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_is_the_demo() {
        let cli = Cli::try_parse_from(["training-service", "--log-format", "json", "reconcile"]);
        assert!(matches!(
            cli.unwrap().into_command(),
            Ok(Command::Reconcile(_))
        ));
        if std::env::var_os("KAFKA_BROKERS").is_none() {
            let cli = Cli::try_parse_from(["training-service"]).unwrap();
            assert!(matches!(cli.into_command(), Ok(Command::Demo(_))));
        }
    }

    #[test]
    fn bad_numbers_are_usage_errors() {
        for args in [
            &["simulate", "--duration", "-1"][..],
            &["simulate", "--duration", "nan"],
            &["simulate", "--rate", "1e300"],
            &["simulate", "--learners", "0"],
            &["simulate", "--duplicates", "2"],
            &["serve", "--max-connections", "0"],
            &["serve", "--jwt-leeway-s", "600"],
            &["demo", "--header-read-timeout-ms", "-5"],
            &["asyncapi", "--format", "xml"],
        ] {
            let e = Cli::try_parse_from(
                std::iter::once("training-service").chain(args.iter().copied()),
            )
            .unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }
}
