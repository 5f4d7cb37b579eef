//! Command line and environment of the peer (hand-parsed, like consume-bench's).

use std::time::Duration;

/// Printed for `--help` and after a flag error.
pub(crate) const USAGE: &str = "\
ruststream-peer: variant (e) of consume-bench. Reads <count> records of <topic> from the
beginning with a fresh consumer group through a RustStream (ruststream-rdkafka) #[subscriber]
handler, then prints one JSON line and exits.

USAGE: ruststream-peer --topic <T> --group <G> --count <N> [FLAGS]

FLAGS:
  --topic <T>              topic to read from its beginning
  --group <G>              consumer group id (use a fresh one)
  --count <N>              records to read; the peer exits once it has handled this many
  --registry <URL>         (e2) decode every value as Avro LectureProgress through RustStream's
                           AvroCodec, writer schemas from this Confluent-compatible registry
                           (default: (e), a no-op handler over the raw payload)
  --property <KEY=VALUE>   librdkafka consumer property for the subscription (repeatable)
  --commit auto|tracked    RustStream's commit mode (default auto, RustStream's default)
  --timeout-ms <MS>        give up (exit 1) when <N> records were not handled in time
                           (default 120000, counted from the start)
  -h, --help               this text

ENVIRONMENT:
  KAFKA_BOOTSTRAP          Kafka's bootstrap servers (default 127.0.0.1:9092)
  RUST_LOG                 log filter for stderr (default warn)

STDOUT: one JSON line once <N> records were handled:
  {\"count\":N,\"timed\":N-1,\"elapsed_s\":..,\"join_s\":..,\"checksum\":..}
  The clock starts at the first record handled (group join and first fetch excluded) and stops
  at the N-th; `join_s` is the time from the start of the app to the first record. `checksum`
  is the sum of payload lengths (e) or of decoded `watched_seconds` (e2).";

/// RustStream's commit modes the peer offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitMode {
    /// `Commit::Auto`, RustStream's default: librdkafka stores positions as records are handed
    /// to the application and auto-commits them.
    Auto,
    /// `Commit::Tracked`: positions advance when handlers acknowledge.
    Tracked,
}

/// What the peer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Kafka's bootstrap servers.
    pub(crate) bootstrap: String,
    /// The topic.
    pub(crate) topic: String,
    /// The consumer group.
    pub(crate) group: String,
    /// Records to handle.
    pub(crate) count: u64,
    /// Registry URL: decode as Avro (e2); `None`: no-op (e).
    pub(crate) registry: Option<String>,
    /// librdkafka consumer properties.
    pub(crate) properties: Vec<(String, String)>,
    /// Commit mode.
    pub(crate) commit: CommitMode,
    /// Overall time limit.
    pub(crate) timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bootstrap: "127.0.0.1:9092".to_owned(),
            topic: String::new(),
            group: String::new(),
            count: 0,
            registry: None,
            properties: Vec::new(),
            commit: CommitMode::Auto,
            timeout: Duration::from_secs(120),
        }
    }
}

/// The result of parsing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Run with these settings.
    Run(Settings),
    /// Print [`USAGE`].
    Help,
}

/// Parses the flags (without the program name); `bootstrap` is `KAFKA_BOOTSTRAP` if set.
pub(crate) fn parse(
    argv: impl IntoIterator<Item = String>,
    bootstrap: Option<String>,
) -> Result<Parsed, String> {
    let mut s = Settings::default();
    if let Some(b) = bootstrap.filter(|b| !b.trim().is_empty()) {
        s.bootstrap = b;
    }
    let mut count = None;
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
            "--topic" => s.topic = value("a topic")?,
            "--group" => s.group = value("a group id")?,
            "--count" => count = Some(number(&name, &value("a number")?)?),
            "--registry" => s.registry = Some(value("a URL")?),
            "--property" => {
                let kv = value("KEY=VALUE")?;
                let (k, v) = kv
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| format!("--property `{kv}` is not KEY=VALUE"))?;
                s.properties.push((k.to_owned(), v.to_owned()));
            }
            "--commit" => {
                s.commit = match value("auto or tracked")?.as_str() {
                    "auto" => CommitMode::Auto,
                    "tracked" => CommitMode::Tracked,
                    other => return Err(format!("--commit `{other}`: expected auto or tracked")),
                };
            }
            "--timeout-ms" => {
                s.timeout = Duration::from_millis(number(&name, &value("milliseconds")?)?);
            }
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    if s.topic.is_empty() || s.group.is_empty() {
        return Err("--topic and --group are required".to_owned());
    }
    s.count = match count {
        Some(n) if n > 0 => n,
        _ => return Err("--count must be at least 1".to_owned()),
    };
    Ok(Parsed::Run(s))
}

fn number(flag: &str, v: &str) -> Result<u64, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: `{v}` is not a non-negative whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(flags: &[&str]) -> Result<Settings, String> {
        match parse(flags.iter().map(|s| (*s).to_owned()), None)? {
            Parsed::Run(s) => Ok(s),
            Parsed::Help => Err("help".to_owned()),
        }
    }

    #[test]
    fn flags() {
        let s = run(&[
            "--topic",
            "t",
            "--group=g",
            "--count",
            "1_000",
            "--property",
            "fetch.wait.max.ms=10",
            "--property=a=b=c",
            "--commit",
            "tracked",
            "--timeout-ms",
            "500",
        ])
        .unwrap();
        assert_eq!(
            (s.topic.as_str(), s.group.as_str(), s.count),
            ("t", "g", 1000)
        );
        assert_eq!(
            s.properties,
            [
                ("fetch.wait.max.ms".to_owned(), "10".to_owned()),
                ("a".to_owned(), "b=c".to_owned())
            ]
        );
        assert_eq!(s.commit, CommitMode::Tracked);
        assert_eq!(s.timeout, Duration::from_millis(500));
        assert_eq!(s.bootstrap, "127.0.0.1:9092");
        assert!(s.registry.is_none());
    }

    #[test]
    fn errors_and_environment() {
        assert!(run(&["--topic", "t", "--group", "g"]).is_err());
        assert!(run(&["--topic", "t", "--group", "g", "--count", "0"]).is_err());
        assert!(run(&["--topic", "t", "--count", "1"]).is_err());
        assert!(
            run(&[
                "--topic",
                "t",
                "--group",
                "g",
                "--count",
                "1",
                "--property",
                "x"
            ])
            .is_err()
        );
        assert!(run(&["--bogus"]).is_err());
        let p = parse(
            ["--topic", "t", "--group", "g", "--count", "1"].map(str::to_owned),
            Some("k:1".to_owned()),
        )
        .unwrap();
        assert!(matches!(p, Parsed::Run(s) if s.bootstrap == "k:1"));
        assert_eq!(parse(["-h".to_owned()], None), Ok(Parsed::Help));
    }
}
