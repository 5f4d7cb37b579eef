//! Variants (f1), (f2), (s1), (s2): the clients a team would pick instead of ours, each a
//! child process on the same topic with a fresh group, printing the common JSON line
//! ([`peers::parse_peer`]; its clock starts at its first record):
//!
//! - (f1), (f2): franz-go (`bench/franz-peer`, a Go module; `PollFetches` over the whole
//!   fetch, no-op or hamba/avro decoding), built by `bench/franz-peer/build.sh` into
//!   `target/franz-peer/`.
//! - (s1), (s2): Spring for Apache Kafka, a batch `@KafkaListener` (`bench/spring-peer`, a
//!   Maven project; no-op or Apache Avro decoding after the Confluent header), built by
//!   `bench/spring-peer/build.sh` into `target/spring-peer/`.
//!
//! Both builds are no-ops when up to date; the first fetches the Go modules or Maven
//! artifacts from their registries.

use std::path::PathBuf;
use std::process::Command;

use crate::BoxError;
use crate::peers::{self, PeerReport, PeerRun, repo_dir};

/// Which other stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stack {
    /// franz-go.
    Franz,
    /// Spring for Apache Kafka.
    Spring,
}

impl Stack {
    fn dir(self) -> &'static str {
        match self {
            Stack::Franz => "franz-peer",
            Stack::Spring => "spring-peer",
        }
    }

    fn who(self) -> &'static str {
        match self {
            Stack::Franz => "the franz-go peer",
            Stack::Spring => "the Spring Kafka peer",
        }
    }
}

/// Builds the peer with its `build.sh` (blocking).
pub(crate) fn build(stack: Stack) -> Result<(), BoxError> {
    let script = repo_dir().join("bench").join(stack.dir()).join("build.sh");
    peers::run_build_script(&script, stack.who())
}

/// The peers' library versions as their build files pin them: franz-go and hamba/avro from
/// `bench/franz-peer/go.mod`, Spring for Apache Kafka and Apache Avro from
/// `bench/spring-peer/pom.xml` (`?` where a file or entry is missing).
pub(crate) fn versions() -> String {
    let dir = |s: Stack| repo_dir().join("bench").join(s.dir());
    let go_mod = std::fs::read_to_string(dir(Stack::Franz).join("go.mod")).unwrap_or_default();
    let pom = std::fs::read_to_string(dir(Stack::Spring).join("pom.xml")).unwrap_or_default();
    let pom_value =
        |tag: &str| crate::ko_peers::xml_value(&pom, tag).unwrap_or_else(|| "?".to_owned());
    format!(
        "franz-go {}, hamba/avro {} (`bench/franz-peer/go.mod`); Spring for Apache Kafka {}, \
         Apache Avro {} (`bench/spring-peer/pom.xml`)",
        go_module_version(&go_mod, "github.com/twmb/franz-go"),
        go_module_version(&go_mod, "github.com/hamba/avro/v2"),
        pom_value("spring-kafka.version"),
        pom_value("avro.version"),
    )
}

/// The version `go.mod` requires for `module` (`?` if it does not).
fn go_module_version(go_mod: &str, module: &str) -> String {
    go_mod
        .lines()
        .map(|l| l.trim().trim_start_matches("require").trim())
        .find_map(|l| {
            let (name, rest) = l.split_once(char::is_whitespace)?;
            (name == module).then(|| rest.split_whitespace().next().map(str::to_owned))?
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// Where the build put it.
fn built(stack: Stack) -> PathBuf {
    repo_dir().join("target").join(stack.dir())
}

/// Runs the peer of `stack` to completion (blocking). It must have been built ([`build`]).
pub(crate) fn run(stack: Stack, r: &PeerRun<'_>) -> Result<PeerReport, BoxError> {
    let dir = built(stack);
    let mut cmd = match stack {
        Stack::Franz => Command::new(dir.join("franz-peer")),
        Stack::Spring => {
            let java = std::env::var_os("JAVA_HOME").map_or_else(
                || PathBuf::from("java"),
                |h| PathBuf::from(h).join("bin/java"),
            );
            let mut c = Command::new(java);
            // The jar's manifest names its dependencies, copied into lib/ beside it.
            c.args(["-Xmx512M", "-XX:+UseG1GC", "-jar"])
                .arg(dir.join("spring-peer.jar"));
            c
        }
    };
    // Generous, as for the other peers: the whole run at 20 000 msgs/s plus a minute.
    let timeout_ms = 60_000 + r.count / 20;
    cmd.args([
        "--brokers",
        r.bootstrap,
        "--topic",
        r.topic,
        "--group",
        r.group,
    ])
    .args(["--count", &r.count.to_string()])
    .args(["--timeout-ms", &timeout_ms.to_string()]);
    if let Some(url) = r.registry {
        cmd.args(["--registry", url]);
    }
    peers::run_json_peer(&mut cmd, stack.who())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_build_files() {
        let go_mod = "module m\n\nrequire (\n\tgithub.com/hamba/avro/v2 v2.31.0\n\tgithub.com/twmb/franz-go v1.22.3\n)\nrequire github.com/x/y v0.1.0 // indirect\n";
        assert_eq!(
            go_module_version(go_mod, "github.com/twmb/franz-go"),
            "v1.22.3"
        );
        assert_eq!(go_module_version(go_mod, "github.com/x/y"), "v0.1.0");
        assert_eq!(go_module_version(go_mod, "github.com/twmb/franz"), "?");
        let v = versions();
        assert!(!v.contains('?'), "{v}");
    }
}
