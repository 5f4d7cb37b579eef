//! [`Secret`]: a string that never shows up in `Debug` or `Display` output.

use std::fmt;

/// A secret value (password, key). `Debug` and `Display` print `***`; read it with
/// [`Secret::expose`] only where it is handed to the client library.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Whether a librdkafka property holds secret material.
pub(crate) fn is_sensitive_property(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        ".pem",
        "jaas",
        "oauthbearer.config",
        "token",
    ]
    .iter()
    .any(|s| n.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn sensitive_properties() {
        for p in [
            "sasl.password",
            "ssl.key.pem",
            "ssl.key.password",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.client.secret",
        ] {
            assert!(is_sensitive_property(p), "{p}");
        }
        for p in ["fetch.min.bytes", "bootstrap.servers", "sasl.username"] {
            assert!(!is_sensitive_property(p), "{p}");
        }
    }
}
