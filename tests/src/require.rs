//! Fail fast, with the command that fixes it, when a server the test needs is down.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::endpoints::{self, START_COMMAND};

/// Panics unless a TCP connection to `addr` (`host:port`) succeeds within two seconds.
pub fn tcp(service: &str, addr: &str) {
    if let Err(e) = try_tcp(addr) {
        panic!("{service} is not reachable at {addr} ({e}); start it with `{START_COMMAND}`");
    }
}

fn try_tcp(addr: &str) -> std::io::Result<()> {
    let mut last = std::io::Error::other("address resolved to nothing");
    for sa in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sa, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// Kafka's PLAINTEXT listener must be up.
pub fn kafka() {
    tcp("Kafka", &endpoints::kafka_bootstrap());
}

/// Kafka's SASL_SSL listener must be up (and its credentials file present).
pub fn kafka_sasl() -> endpoints::SaslSettings {
    let s = endpoints::kafka_sasl();
    tcp("Kafka (SASL_SSL)", &s.bootstrap);
    s
}

/// The schema registry must be up.
pub fn registry() {
    tcp("The schema registry", host_port(&endpoints::registry_url()));
}

/// FerretDB (MongoDB wire protocol) must be up.
pub fn mongodb() {
    tcp("FerretDB (MongoDB)", host_port(&endpoints::mongodb_uri()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_strips_scheme_path_and_query() {
        assert_eq!(
            host_port("http://127.0.0.1:8081/apis/ccompat/v7"),
            "127.0.0.1:8081"
        );
        assert_eq!(
            host_port("mongodb://127.0.0.1:27017/?directConnection=true"),
            "127.0.0.1:27017"
        );
        assert_eq!(host_port("127.0.0.1:9092"), "127.0.0.1:9092");
    }

    #[test]
    fn a_down_server_fails_with_the_command_that_starts_it() {
        // Port 9 (discard) is closed on loopback here; nothing of ours listens on it.
        let err = std::panic::catch_unwind(|| tcp("Kafka", "127.0.0.1:9"))
            .expect_err("connecting to a closed port must fail");
        let msg = err
            .downcast_ref::<String>()
            .expect("panic message is a String");
        assert!(
            msg.contains("Kafka is not reachable at 127.0.0.1:9"),
            "{msg}"
        );
        assert!(msg.contains("`infra/up`"), "{msg}");
    }
}
