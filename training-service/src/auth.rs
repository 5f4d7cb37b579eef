//! Bearer-token authentication: HS256 JSON Web Tokens, and nothing else.
//!
//! The algorithm is pinned: a token whose header says anything but `"alg": "HS256"` (`none`,
//! `RS256`, `HS512`, …) is refused before its signature is even looked at, and the key is only
//! ever used as an HMAC-SHA-256 key. Claims: `sub` (the learner id), `role` (`learner` or
//! `admin`) and `exp` (seconds since the epoch) are required; `nbf`, if present, is honoured.
//! Neither the secret nor tokens are ever logged or printed ([`JwtSecret`]'s `Debug` redacts).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The environment variable holding the signing secret.
pub const SECRET_ENV: &str = "TRAINING_JWT_SECRET";
/// Longest token accepted, in bytes.
const MAX_TOKEN_LEN: usize = 8 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// The HS256 signing secret. Cheap to clone; never printed.
#[derive(Clone)]
pub struct JwtSecret(Arc<[u8]>);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret([redacted])")
    }
}

/// The secret is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// `TRAINING_JWT_SECRET` is not set.
    #[error("{SECRET_ENV} is not set")]
    Missing,
    /// The secret is empty.
    #[error("the JWT secret is empty")]
    Empty,
}

impl JwtSecret {
    /// Wraps a secret; it must not be empty.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes: Vec<u8> = secret.into();
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self(bytes.into()))
    }

    /// Reads `TRAINING_JWT_SECRET`.
    pub fn from_env() -> Result<Self, SecretError> {
        let v = std::env::var_os(SECRET_ENV).ok_or(SecretError::Missing)?;
        Self::new(v.into_encoded_bytes())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; `new` never fails for it.
        <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }
}

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May read their own training.
    Learner,
    /// May read everyone's.
    Admin,
}

impl Role {
    /// `learner` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Learner => "learner",
            Self::Admin => "admin",
        }
    }
}

/// The verified claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The learner id (for admins: who they are).
    pub sub: String,
    /// `learner` or `admin`.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token was refused. The messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// Not three base64url parts of JSON, or too long.
    #[error("malformed token")]
    Malformed,
    /// The header's `alg` is not `HS256` (or it has `crit` extensions).
    #[error("unsupported token algorithm (only HS256 is accepted)")]
    Algorithm,
    /// The signature does not match.
    #[error("invalid token signature")]
    Signature,
    /// `exp` is in the past.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// A required claim is missing or has the wrong type or value.
    #[error("invalid token claims: {0}")]
    Claims(&'static str),
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `claims` (header `{"alg":"HS256","typ":"JWT"}`).
pub fn sign(secret: &JwtSecret, claims: &serde_json::Value) -> String {
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let mut mac = secret.mac();
    mac.update(signing_input.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!("{signing_input}.{}", b64(&sig))
}

/// A token for `sub` with `role`, valid for `ttl` from now (for the demo and tests).
pub fn mint(secret: &JwtSecret, sub: &str, role: Role, ttl: Duration) -> String {
    let exp = now_secs().saturating_add(ttl.as_secs().max(1));
    sign(
        secret,
        &serde_json::json!({ "sub": sub, "role": role.as_str(), "exp": exp }),
    )
}

/// Verifies `token` now.
pub fn verify(secret: &JwtSecret, token: &str) -> Result<Claims, AuthError> {
    verify_at(secret, token, now_secs())
}

/// Verifies `token` as of `now` (seconds since the epoch).
pub fn verify_at(secret: &JwtSecret, token: &str, now: u64) -> Result<Claims, AuthError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AuthError::Malformed)?;
    let header = header.as_object().ok_or(AuthError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") || header.contains_key("crit") {
        return Err(AuthError::Algorithm);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| AuthError::Malformed)?;
    let mut mac = secret.mac();
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&sig).map_err(|_| AuthError::Signature)?;

    let payload: serde_json::Value = URL_SAFE_NO_PAD
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AuthError::Malformed)?;
    let payload = payload.as_object().ok_or(AuthError::Malformed)?;
    let sub = payload
        .get("sub")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::Claims("sub must be a non-empty string"))?;
    let role = match payload.get("role").and_then(|v| v.as_str()) {
        Some("learner") => Role::Learner,
        Some("admin") => Role::Admin,
        _ => return Err(AuthError::Claims("role must be learner or admin")),
    };
    let exp = payload
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .ok_or(AuthError::Claims("exp must be a non-negative integer"))?;
    if now >= exp {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = payload.get("nbf") {
        let nbf = nbf
            .as_u64()
            .ok_or(AuthError::Claims("nbf must be a non-negative integer"))?;
        if now < nbf {
            return Err(AuthError::NotYetValid);
        }
    }
    Ok(Claims {
        sub: sub.to_owned(),
        role,
        exp,
    })
}

/// The token of an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> JwtSecret {
        JwtSecret::new("test-secret-0123456789").unwrap()
    }

    fn forge(header: &str, payload: &serde_json::Value, key: &[u8]) -> String {
        let h = b64(header.as_bytes());
        let p = b64(payload.to_string().as_bytes());
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", b64(&mac.finalize().into_bytes()))
    }

    #[test]
    fn minted_tokens_verify() {
        let t = mint(&secret(), "l1", Role::Learner, Duration::from_secs(60));
        let c = verify(&secret(), &t).unwrap();
        assert_eq!((c.sub.as_str(), c.role), ("l1", Role::Learner));
        let a = mint(&secret(), "boss", Role::Admin, Duration::from_secs(60));
        assert_eq!(verify(&secret(), &a).unwrap().role, Role::Admin);
    }

    #[test]
    fn known_vector_matches_an_independent_hs256() {
        // HMAC-SHA256 over "h.p" computed with Python's hmac module for this key and input.
        let claims = serde_json::json!({"exp": 4_102_444_800_u64, "role": "admin", "sub": "x"});
        let t = sign(&JwtSecret::new("k").unwrap(), &claims);
        assert_eq!(
            t,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDAsInJvbGUiOiJhZG1pbiIsInN1YiI6IngifQ.29xyStGgO-GfXqMDwGiNTUFfvNrTM5dVGy89Nulo_6w"
        );
    }

    #[test]
    fn expired_and_not_yet_valid_are_refused() {
        let s = secret();
        let t = sign(
            &s,
            &serde_json::json!({"sub": "l", "role": "learner", "exp": 100}),
        );
        assert_eq!(verify_at(&s, &t, 99).unwrap().exp, 100);
        assert_eq!(verify_at(&s, &t, 100), Err(AuthError::Expired));
        let t = sign(
            &s,
            &serde_json::json!({"sub": "l", "role": "learner", "exp": 100, "nbf": 50}),
        );
        assert_eq!(verify_at(&s, &t, 49), Err(AuthError::NotYetValid));
    }

    #[test]
    fn other_algorithms_are_refused() {
        let s = secret();
        let claims = serde_json::json!({"sub": "l", "role": "admin", "exp": u64::MAX / 2});
        // alg none, with and without a signature part.
        let h = b64(br#"{"alg":"none","typ":"JWT"}"#);
        let p = b64(claims.to_string().as_bytes());
        assert_eq!(verify(&s, &format!("{h}.{p}.")), Err(AuthError::Algorithm));
        assert_eq!(verify(&s, &format!("{h}.{p}")), Err(AuthError::Malformed));
        // Correctly HMAC-signed with our secret, but declaring another algorithm.
        for alg in ["RS256", "HS512", "hs256", "None", "ES256"] {
            let t = forge(
                &format!(r#"{{"alg":"{alg}"}}"#),
                &claims,
                b"test-secret-0123456789",
            );
            assert_eq!(verify(&s, &t), Err(AuthError::Algorithm), "{alg}");
        }
        let t = forge(r#"{"typ":"JWT"}"#, &claims, b"test-secret-0123456789");
        assert_eq!(verify(&s, &t), Err(AuthError::Algorithm));
        let t = forge(
            r#"{"alg":"HS256","crit":["x"]}"#,
            &claims,
            b"test-secret-0123456789",
        );
        assert_eq!(verify(&s, &t), Err(AuthError::Algorithm));
    }

    #[test]
    fn wrong_secret_and_tampering_are_refused() {
        let s = secret();
        let other = JwtSecret::new("another-secret").unwrap();
        let t = mint(&other, "l", Role::Admin, Duration::from_secs(60));
        assert_eq!(verify(&s, &t), Err(AuthError::Signature));
        // Swap the payload for one saying admin, keep the learner token's signature.
        let learner = mint(&s, "l", Role::Learner, Duration::from_secs(60));
        let admin = mint(&s, "l", Role::Admin, Duration::from_secs(60));
        let l: Vec<&str> = learner.split('.').collect();
        let a: Vec<&str> = admin.split('.').collect();
        let tampered = format!("{}.{}.{}", l[0], a[1], l[2]);
        assert_eq!(verify(&s, &tampered), Err(AuthError::Signature));
        // A flipped signature character.
        let mut bad = learner.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == 'A' { 'B' } else { 'A' });
        assert!(verify(&s, &bad).is_err());
    }

    #[test]
    fn malformed_tokens_and_bad_claims_are_refused() {
        let s = secret();
        for t in ["", "a", "a.b", "a.b.c.d", "!!.??.##", &"x".repeat(9000)] {
            assert!(verify(&s, t).is_err(), "{t}");
        }
        let t = sign(
            &s,
            &serde_json::json!({"sub": "l", "role": "root", "exp": u64::MAX}),
        );
        assert!(matches!(verify(&s, &t), Err(AuthError::Claims(_))));
        let t = sign(&s, &serde_json::json!({"sub": "l", "role": "admin"}));
        assert!(matches!(verify(&s, &t), Err(AuthError::Claims(_))));
        let t = sign(&s, &serde_json::json!({"role": "admin", "exp": u64::MAX}));
        assert!(matches!(verify(&s, &t), Err(AuthError::Claims(_))));
        let t = sign(
            &s,
            &serde_json::json!({"sub": "l", "role": "admin", "exp": "never"}),
        );
        assert!(matches!(verify(&s, &t), Err(AuthError::Claims(_))));
    }

    #[test]
    fn bearer_header_parsing_and_redaction() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(format!("{:?}", secret()), "JwtSecret([redacted])");
        assert!(matches!(JwtSecret::new(""), Err(SecretError::Empty)));
    }
}
