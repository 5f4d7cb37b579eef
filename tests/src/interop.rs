//! The interop peers in `tests/interop/` (kafkajs + @kafkajs/confluent-schema-registry, and
//! Python confluent-kafka): run them as subprocesses.

use std::path::PathBuf;
use std::process::Command;

use crate::endpoints;

/// Which client library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Node.js: kafkajs 2.2.4 + @kafkajs/confluent-schema-registry 4.1.0.
    Node,
    /// Python: confluent-kafka 2.16.1 with its AvroSerializer/AvroDeserializer.
    Python,
}

impl Peer {
    /// The prefix of the event ids it produces (`node-<i>`, `py-<i>`).
    pub fn event_prefix(self) -> &'static str {
        match self {
            Peer::Node => "node",
            Peer::Python => "py",
        }
    }
}

fn dir() -> PathBuf {
    endpoints::repo_dir().join("tests/interop")
}

/// Runs `<script> --brokers .. --registry .. --topic <topic> --count <n> [extra]` and returns
/// its stdout.
///
/// # Panics
/// When the peer is not installed (naming the command that installs it) or exits non-zero.
pub fn run(peer: Peer, script: &str, topic: &str, count: usize, extra: &[&str]) -> String {
    let d = dir();
    let mut cmd = match peer {
        Peer::Node => {
            assert!(
                d.join("node/node_modules/kafkajs").exists(),
                "the Node interop peer is not installed: run `tests/interop/setup.sh` (`./dev test` does)"
            );
            let mut c = Command::new("node");
            c.arg(d.join(format!("node/{script}.js")));
            c
        }
        Peer::Python => {
            let py = d.join("python/.venv/bin/python");
            assert!(
                py.exists(),
                "the Python interop peer is not installed: run `tests/interop/setup.sh` (`./dev test` does)"
            );
            let mut c = Command::new(py);
            c.arg(d.join(format!("python/{script}.py")));
            c
        }
    };
    cmd.args(["--brokers", &endpoints::kafka_bootstrap()])
        .args(["--registry", &endpoints::registry_url()])
        .args(["--topic", topic])
        .args(["--count", &count.to_string()])
        .args(extra);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the {peer:?} peer's {script}: {e}"));
    assert!(
        out.status.success(),
        "{peer:?} {script} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
