//! Command line: `training-service [serve]`, `simulate ...`, `reconcile`.

use std::path::PathBuf;
use std::time::Duration;

use crate::simulate::SimConfig;

/// Printed for `--help` and after a usage error.
pub(crate) const USAGE: &str = "\
training-service: every learner's training time, exact and in real time

USAGE:
  training-service [serve]     run the service. Without KAFKA_BROKERS: a self-contained demo
                               (in-process Kafka, mock:// schema registry, in-memory store,
                               simulated learners, API and dashboard)
  training-service simulate [--learners N] [--rate EVENTS_PER_S] [--duration SECONDS]
                            [--duplicates FRACTION] [--invalid FRACTION] [--spread-days D]
                            [--courses N] [--seed S] [--truth PATH]
                               publish realistic events to KAFKA_BROKERS (Avro through
                               SCHEMA_REGISTRY_URL) and write the expected totals as JSON
  training-service reconcile   recompute every total from the stored events (MONGODB_URI) and
                               compare with the stored totals; exit 1 on any difference

ENVIRONMENT (serve):
  KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*   the cluster (see consume-runtime)
  SCHEMA_REGISTRY_URL [+ _USERNAME/_PASSWORD]            Confluent-compatible registry
  MONGODB_URI, TRAINING_DB (default training)            the store; without MONGODB_URI,
                                                         in memory (demo only)
  TRAINING_HTTP_ADDR (default 0.0.0.0:8080)              the API
  TRAINING_JWT_SECRET                                    HS256 secret (required with Kafka)
  TRAINING_GROUP (default training-hours)                consumer group prefix
  TRAINING_WRITE_INTERVAL_MS (default 12)                shortest time between store calls
  TRAINING_BUCKET_CACHE_IDS (default 500000, 0 = off)    event ids the MongoDB store caches
  TRAINING_MONGO_GUARD (auto | version | id-only)        override the store's write guard";

/// What to do.
#[derive(Debug)]
pub(crate) enum Command {
    Serve,
    Simulate(SimConfig),
    Reconcile,
    Help,
}

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut it = args.into_iter();
    let Some(first) = it.next() else {
        return Ok(Command::Serve);
    };
    match first.as_str() {
        "serve" => Ok(Command::Serve),
        "reconcile" => Ok(Command::Reconcile),
        "-h" | "--help" | "help" => Ok(Command::Help),
        "simulate" => simulate(it).map(Command::Simulate),
        other => Err(format!("unknown command `{other}`")),
    }
}

fn simulate(mut it: impl Iterator<Item = String>) -> Result<SimConfig, String> {
    let mut c = SimConfig::default();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--learners" => c.learners = num(&flag, &value()?)?,
            "--courses" => c.courses = num(&flag, &value()?)?,
            "--rate" => c.rate = num(&flag, &value()?)?,
            "--duration" => c.duration = Duration::from_secs_f64(num(&flag, &value()?)?),
            "--duplicates" => c.duplicates = fraction(&flag, &value()?)?,
            "--invalid" => c.invalid = fraction(&flag, &value()?)?,
            "--spread-days" => c.spread_days = num(&flag, &value()?)?,
            "--seed" => c.seed = num(&flag, &value()?)?,
            "--truth" => c.truth = Some(PathBuf::from(value()?)),
            other => return Err(format!("simulate: unknown flag `{other}`")),
        }
    }
    if c.learners == 0 || c.courses == 0 || c.rate.is_nan() || c.rate <= 0.0 {
        return Err("simulate: --learners, --courses and --rate must be positive".to_owned());
    }
    Ok(c)
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: `{v}` is not a valid number"))
}

fn fraction(flag: &str, v: &str) -> Result<f64, String> {
    let f: f64 = num(flag, v)?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{flag}: `{v}` is not between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Command, String> {
        parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn commands() {
        assert!(matches!(args(""), Ok(Command::Serve)));
        assert!(matches!(args("reconcile"), Ok(Command::Reconcile)));
        assert!(args("bogus").is_err());
        let Ok(Command::Simulate(c)) = args(
            "simulate --learners 50 --rate 2_000 --duration 1.5 --duplicates 0.02 --truth t.json",
        ) else {
            panic!("simulate");
        };
        assert_eq!((c.learners, c.rate), (50, 2000.0));
        assert_eq!(c.duration, Duration::from_millis(1500));
        assert_eq!(c.truth, Some(PathBuf::from("t.json")));
        assert!(args("simulate --duplicates 2").is_err());
        assert!(args("simulate --rate 0").is_err());
        assert!(args("simulate --learners").is_err());
    }
}
