//! Bearer-token authentication: HS256 JSON Web Tokens, verified with `jsonwebtoken`.
//!
//! What a token must be to pass [`Verifier::verify`]:
//!
//! - header `"alg": "HS256"`, nothing else (`none`, `RS256`, `HS512`, … are refused before
//!   the signature is looked at), and no `crit` extensions;
//! - signed with the current secret or, during a roll-over, the previous one;
//! - claims `sub` (the learner id), `role` (`learner` or `admin`), `exp`, `aud` (the configured
//!   audience) and `iss` (the configured issuer); `nbf`, if present, is honoured;
//! - `exp` and `nbf` checked with a leeway for clock skew (default 30 s, at most 60 s);
//! - valid for no longer than the maximum lifetime: `exp` minus `iat` (or minus now when
//!   there is no `iat`).
//!
//! Secrets are at least 32 bytes (RFC 7518 §3.2: an HS256 key is at least as long as the
//! hash). Neither the secrets nor tokens are ever logged or printed ([`JwtSecret`]'s `Debug`
//! redacts; [`AuthError`] messages never contain the token).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Shortest secret accepted, in bytes (256 bits, the size of HS256's hash).
pub const MIN_SECRET_BYTES: usize = 32;
/// Largest clock-skew leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);
/// Longest token accepted, in bytes.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// How to make a good secret, for error messages and `--help`.
pub const HOW_TO_GENERATE: &str = "generate one with `openssl rand -base64 48`";

/// An HS256 signing secret of at least [`MIN_SECRET_BYTES`]. Cheap to clone; never printed.
#[derive(Clone)]
pub struct JwtSecret(Arc<[u8]>);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret([redacted])")
    }
}

/// The secret is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Fewer than [`MIN_SECRET_BYTES`] bytes.
    #[error(
        "the JWT secret is {len} bytes; HS256 needs at least {MIN_SECRET_BYTES} (RFC 7518 §3.2): {HOW_TO_GENERATE}"
    )]
    TooShort {
        /// Its length.
        len: usize,
    },
}

impl JwtSecret {
    /// Wraps a secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes: Vec<u8> = secret.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort { len: bytes.len() });
        }
        Ok(Self(bytes.into()))
    }

    /// 48 random bytes from the operating system (for the demo).
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes.to_vec().into()))
    }
}

/// How tokens are checked: secrets, audience, issuer, lifetime and leeway.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Signs minted tokens and verifies presented ones.
    pub secret: JwtSecret,
    /// Also accepted during a roll-over (never used to sign).
    pub previous: Option<JwtSecret>,
    /// The required `aud`.
    pub audience: String,
    /// The required `iss`.
    pub issuer: String,
    /// Longest validity a token may claim.
    pub max_lifetime: Duration,
    /// Clock skew allowed on `exp` and `nbf` (at most [`MAX_LEEWAY`]).
    pub leeway: Duration,
}

impl JwtConfig {
    /// Tokens for `audience` from `issuer`, signed with `secret`; at most 24 h long, 30 s of
    /// leeway, no previous secret.
    pub fn new(secret: JwtSecret, audience: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            secret,
            previous: None,
            audience: audience.into(),
            issuer: issuer.into(),
            max_lifetime: Duration::from_secs(24 * 3600),
            leeway: Duration::from_secs(30),
        }
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
    /// The signature matches neither secret.
    #[error("invalid token signature")]
    Signature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `aud` is not this service's audience.
    #[error("token is for another audience")]
    Audience,
    /// `iss` is not the configured issuer.
    #[error("token is from another issuer")]
    Issuer,
    /// The token claims a validity longer than the maximum lifetime.
    #[error("token lifetime exceeds the maximum")]
    Lifetime,
    /// A required claim is missing or has the wrong type or value.
    #[error("invalid token claims: {0}")]
    Claims(String),
}

/// The claims as they arrive, before the role and lifetime checks.
#[derive(Deserialize)]
struct RawClaims {
    sub: String,
    role: String,
    exp: u64,
    iat: Option<u64>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Verifies and mints tokens for one [`JwtConfig`].
pub struct Verifier {
    config: JwtConfig,
    validation: Validation,
    current: DecodingKey,
    previous: Option<DecodingKey>,
    signing: EncodingKey,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `config` (its leeway is capped at [`MAX_LEEWAY`]).
    pub fn new(config: JwtConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        validation.set_audience(&[&config.audience]);
        validation.set_issuer(&[&config.issuer]);
        validation.leeway = config.leeway.min(MAX_LEEWAY).as_secs();
        validation.validate_nbf = true;
        Self {
            current: DecodingKey::from_secret(&config.secret.0),
            previous: config
                .previous
                .as_ref()
                .map(|s| DecodingKey::from_secret(&s.0)),
            signing: EncodingKey::from_secret(&config.secret.0),
            validation,
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// A token for `sub` with `role`, valid for `ttl` from now (at most the maximum
    /// lifetime), with this verifier's audience and issuer (for the demo and tests).
    pub fn mint(&self, sub: &str, role: Role, ttl: Duration) -> String {
        let now = now_secs();
        let ttl = ttl.min(self.config.max_lifetime).as_secs().max(1);
        self.sign(&serde_json::json!({
            "sub": sub, "role": role.as_str(), "aud": self.config.audience,
            "iss": self.config.issuer, "iat": now, "exp": now.saturating_add(ttl),
        }))
    }

    /// Signs any claims with the current secret (tests use it to forge bad tokens).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        encode(&self.signing, claims)
    }

    /// Verifies `token` now.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        check_header(token)?;
        let decoded =
            match jsonwebtoken::decode::<RawClaims>(token, &self.current, &self.validation) {
                Err(e) if *e.kind() == ErrorKind::InvalidSignature => match &self.previous {
                    Some(previous) => jsonwebtoken::decode(token, previous, &self.validation),
                    None => Err(e),
                },
                other => other,
            };
        let raw = decoded.map_err(|e| refusal(e.kind()))?.claims;
        let role = match raw.role.as_str() {
            "learner" => Role::Learner,
            "admin" => Role::Admin,
            _ => return Err(AuthError::Claims("role must be learner or admin".into())),
        };
        if raw.sub.is_empty() {
            return Err(AuthError::Claims("sub must be a non-empty string".into()));
        }
        let now = now_secs();
        let from = raw.iat.map_or(now, |iat| iat.min(now));
        let longest = self.config.max_lifetime + self.config.leeway.min(MAX_LEEWAY);
        if raw.exp.saturating_sub(from) > longest.as_secs() {
            return Err(AuthError::Lifetime);
        }
        Ok(Claims {
            sub: raw.sub,
            role,
            exp: raw.exp,
        })
    }
}

/// Refuses any `alg` but `HS256` and any `crit` extension, before the signature is checked.
fn check_header(token: &str) -> Result<(), AuthError> {
    let header = token.split('.').next().ok_or(AuthError::Malformed)?;
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AuthError::Malformed)?;
    let header = header.as_object().ok_or(AuthError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") || header.contains_key("crit") {
        return Err(AuthError::Algorithm);
    }
    Ok(())
}

fn refusal(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::Signature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAudience => AuthError::Audience,
        ErrorKind::InvalidIssuer => AuthError::Issuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::Algorithm,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::Claims(format!("{claim} is required")),
        ErrorKind::Json(e) => AuthError::Claims(claims_message(e)),
        _ => AuthError::Malformed,
    }
}

/// serde's message for a claim of the wrong type, without the input.
fn claims_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // "missing field `role` at line 1 column 80" → "missing field `role`"
    text.split(" at line ").next().unwrap_or(&text).to_owned()
}

/// Signs `claims` with `secret` (header `{"alg":"HS256","typ":"JWT"}`).
pub fn sign(secret: &JwtSecret, claims: &serde_json::Value) -> String {
    encode(&EncodingKey::from_secret(&secret.0), claims)
}

fn encode(key: &EncodingKey, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, key)
        .unwrap_or_else(|_| unreachable!("HS256 signing of JSON cannot fail"))
}

/// The token of an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests;
