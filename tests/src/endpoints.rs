//! Where the test servers listen. Defaults match `infra/lib.sh`; each can be overridden by
//! an environment variable (for running the suite against servers started elsewhere).

use std::collections::HashMap;
use std::path::PathBuf;

/// The command that starts every server the tests need.
pub const START_COMMAND: &str = "infra/up";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Kafka's PLAINTEXT listener (`KAFKA_BOOTSTRAP`, default `127.0.0.1:9092`).
pub fn kafka_bootstrap() -> String {
    env_or("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
}

/// The Confluent-compatible registry API (`SCHEMA_REGISTRY_URL`).
pub fn registry_url() -> String {
    env_or(
        "SCHEMA_REGISTRY_URL",
        "http://127.0.0.1:8081/apis/ccompat/v7",
    )
}

/// FerretDB's MongoDB URI (`MONGODB_URI`).
pub fn mongodb_uri() -> String {
    env_or(
        "MONGODB_URI",
        "mongodb://127.0.0.1:27017/?directConnection=true",
    )
}

/// The repository's root (the parent of this crate).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// SASL_SSL settings that `infra/kafka/start.sh` generated on first start.
#[derive(Debug, Clone)]
pub struct SaslSettings {
    /// `host:port` of the SASL_SSL listener.
    pub bootstrap: String,
    /// SCRAM-SHA-512 user name.
    pub username: String,
    /// Its password (random per machine).
    pub password: String,
    /// PEM file of the throwaway CA that signed the broker's certificate.
    pub ca_location: String,
}

/// Reads `.infra/kafka/credentials.env` (or `$INFRA_STATE/kafka/credentials.env`).
///
/// # Panics
/// When the file is missing, with a message naming [`START_COMMAND`].
pub fn kafka_sasl() -> SaslSettings {
    let state = std::env::var_os("INFRA_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join(".infra"));
    let path = state.join("kafka/credentials.env");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read Kafka's test credentials at {} ({e}); start the servers with `{START_COMMAND}`",
            path.display()
        )
    });
    let vars: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let get = |k: &str| {
        vars.get(k)
            .map(|v| (*v).to_owned())
            .unwrap_or_else(|| panic!("{} has no {k}; rerun `{START_COMMAND}`", path.display()))
    };
    SaslSettings {
        bootstrap: get("KAFKA_SASL_BOOTSTRAP"),
        username: get("KAFKA_SASL_USERNAME"),
        password: get("KAFKA_SASL_PASSWORD"),
        ca_location: get("KAFKA_SSL_CA_LOCATION"),
    }
}
