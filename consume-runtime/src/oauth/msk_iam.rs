//! AWS MSK IAM over SASL/OAUTHBEARER (cargo feature `msk-iam`).
//!
//! A token is a presigned `kafka-cluster:Connect` URL, base64url-encoded without padding,
//! the same as AWS's own signers (`aws-msk-iam-sasl-signer-*`) produce:
//!
//! ```text
//! https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect
//!   &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=<key id>%2F<date>%2F<region>%2Fkafka-cluster%2Faws4_request
//!   &X-Amz-Date=<yyyymmddThhmmssZ>&X-Amz-Expires=900&X-Amz-SignedHeaders=host
//!   &X-Amz-Signature=<SigV4>[&X-Amz-Security-Token=<session token>]&User-Agent=consume-runtime%2F<version>
//! ```
//!
//! signed with SigV4 (service `kafka-cluster`, `GET /`, header `host`, empty payload; the
//! session token is signed, the `User-Agent` is added after signing) by `aws-sigv4`. It is valid for 900 s from `X-Amz-Date`, or until the credentials expire if
//! that is sooner; librdkafka asks for the next one 80 % of the way there.
//!
//! Credentials come from the standard AWS chain (`aws-config`): environment, profile files,
//! web identity (IRSA), EKS Pod Identity and ECS container credentials, then EC2 instance
//! metadata. They are fetched on a thread of their own ("consume-aws-credentials", with a
//! current-thread tokio runtime) and refreshed 5 minutes before they expire, so that
//! signing a token — which librdkafka requests synchronously on its polling threads — never
//! waits for the network. Only the very first token waits, up to 10 s, for the first
//! credentials.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials as _;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;

pub use aws_credential_types::Credentials;

use super::{Token, TokenError, TokenProvider};
use crate::secret::Secret;

/// The SigV4 service name MSK checks.
pub const SIGNING_NAME: &str = "kafka-cluster";
/// The action the presigned URL grants.
pub const ACTION: &str = "kafka-cluster:Connect";
/// How long a token is valid (`X-Amz-Expires`).
pub const EXPIRES_IN: Duration = Duration::from_secs(900);
/// The `User-Agent` query parameter appended after signing (MSK logs it).
pub const USER_AGENT: &str = concat!("consume-runtime/", env!("CARGO_PKG_VERSION"));
/// The principal name handed to librdkafka with each token (MSK derives the real principal
/// from the signature; this one is only informational).
pub const PRINCIPAL: &str = "aws-msk-iam";

/// Credentials are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long the first token waits for the first credentials.
const FIRST_CREDENTIALS_WAIT: Duration = Duration::from_secs(10);
/// How often credentials without an expiry (static keys, profile files) are re-read.
const STATIC_RECHECK: Duration = Duration::from_secs(60 * 60);

/// Signs an MSK IAM token for `region` with `credentials` at time `at` (pure: no clock, no
/// network). The token expires 900 s after `at` (truncated to the second, as `X-Amz-Date`
/// is), or when the credentials do if sooner.
///
/// # Errors
/// When the region or credentials cannot be signed with (e.g. an empty region).
pub fn sign_token(
    region: &str,
    credentials: &Credentials,
    at: SystemTime,
) -> Result<Token, TokenError> {
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!("{region:?} is not an AWS region").into());
    }
    let host = format!("kafka.{region}.amazonaws.com");
    let unsigned = format!("https://{host}/?Action={}", encode(ACTION));
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(EXPIRES_IN);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| format!("SigV4 parameters: {e}"))?;
    let request = SignableRequest::new(
        "GET",
        &unsigned,
        std::iter::empty(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| format!("SigV4 request: {e}"))?;
    let (instructions, _) = sign(request, &params.into())
        .map_err(|e| format!("SigV4 signing: {e}"))?
        .into_parts();
    let mut url = unsigned;
    for (name, value) in instructions.params() {
        url.push('&');
        url.push_str(&encode(name));
        url.push('=');
        url.push_str(&encode(value));
    }
    url.push_str("&User-Agent=");
    url.push_str(&encode(USER_AGENT));

    let signed_at = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            at.duration_since(SystemTime::UNIX_EPOCH)
                .map_err(|_| "signing time before 1970")?
                .as_secs(),
        );
    let mut expires_at = signed_at + EXPIRES_IN;
    if let Some(c) = credentials.expiry() {
        expires_at = expires_at.min(c);
    }
    Ok(Token {
        value: Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)),
        principal: PRINCIPAL.to_owned(),
        expires_at,
    })
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4's
/// canonical query string does (so the URL's query is already canonical).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The region to sign for: `KAFKA_MSK_IAM_REGION`, else the region in the brokers' MSK
/// host names (`….kafka.<region>.amazonaws.com`, `….kafka-serverless.<region>.amazonaws.com`),
/// else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
///
/// # Errors
/// When none of them names a region, or the brokers name different regions.
pub fn region_for(brokers: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let set = |k: &str| {
        env(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(r) = set("KAFKA_MSK_IAM_REGION") {
        return Ok(r);
    }
    let mut found: Option<String> = None;
    for broker in brokers.split(',') {
        let host = broker
            .trim()
            .rsplit_once(':')
            .map_or(broker.trim(), |(h, _)| h);
        let labels: Vec<&str> = host.split('.').collect();
        let Some(i) = labels
            .iter()
            .position(|l| *l == "kafka" || *l == "kafka-serverless")
        else {
            continue;
        };
        if labels.get(i + 2) == Some(&"amazonaws")
            && let Some(region) = labels.get(i + 1)
        {
            match &found {
                Some(r) if r != region => {
                    return Err(format!(
                        "the brokers are in different AWS regions ({r}, {region}); set KAFKA_MSK_IAM_REGION"
                    ));
                }
                _ => found = Some((*region).to_owned()),
            }
        }
    }
    if let Some(r) = found {
        return Ok(r);
    }
    set("AWS_REGION")
        .or_else(|| set("AWS_DEFAULT_REGION"))
        .ok_or_else(|| {
            "AWS_MSK_IAM needs a region: set KAFKA_MSK_IAM_REGION or AWS_REGION (the brokers' \
         host names do not name one)"
                .to_owned()
        })
}

/// The process's MSK IAM provider for `region` (created on first use; every client signing
/// for that region shares its credentials).
pub fn shared(region: &str) -> super::OAuthBearer {
    static BY_REGION: OnceLock<Mutex<HashMap<String, super::OAuthBearer>>> = OnceLock::new();
    let mut map = BY_REGION
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(region.to_owned())
        .or_insert_with(|| super::OAuthBearer::new(MskIam::from_default_chain(region)))
        .clone()
}

/// Where the signing credentials come from.
enum Source {
    Fixed(Credentials),
    Chain(Arc<Refresher>),
}

/// A [`TokenProvider`] for AWS MSK IAM.
pub struct MskIam {
    region: String,
    source: Source,
    clock: fn() -> SystemTime,
}

impl MskIam {
    /// Signs with credentials from the standard AWS chain, fetched and refreshed on a
    /// thread of its own (started by the first token request).
    pub fn from_default_chain(region: impl Into<String>) -> Self {
        let region = region.into();
        Self {
            source: Source::Chain(Refresher::new(region.clone())),
            region,
            clock: SystemTime::now,
        }
    }

    /// Signs with the given credentials (tests, or keys managed by the application).
    pub fn with_credentials(region: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            region: region.into(),
            source: Source::Fixed(credentials),
            clock: SystemTime::now,
        }
    }

    /// Replaces the clock used to sign (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    /// The region tokens are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }
}

impl TokenProvider for MskIam {
    fn token(&self, _client: &str) -> Result<Token, TokenError> {
        let now = (self.clock)();
        let credentials = match &self.source {
            Source::Fixed(c) => c.clone(),
            Source::Chain(r) => r.current(now)?,
        };
        sign_token(&self.region, &credentials, now)
    }

    fn describe(&self) -> String {
        let source = match self.source {
            Source::Fixed(_) => "fixed credentials",
            Source::Chain(_) => "AWS default credential chain",
        };
        format!("AWS MSK IAM ({}, {source})", self.region)
    }
}

/// The latest credentials, or why there are none.
#[derive(Default)]
struct Latest {
    credentials: Option<Credentials>,
    error: Option<String>,
    /// Results so far (each fetch, successful or not, adds one).
    fetches: u64,
}

/// Fetches credentials from the AWS chain on its own thread and keeps the latest.
struct Refresher {
    region: String,
    latest: Mutex<Latest>,
    changed: Condvar,
    /// Wakes the thread for an early refresh; set once the thread runs.
    wake: OnceLock<Mutex<mpsc::Sender<()>>>,
}

impl Refresher {
    fn new(region: String) -> Arc<Self> {
        Arc::new(Self {
            region,
            latest: Mutex::default(),
            changed: Condvar::new(),
            wake: OnceLock::new(),
        })
    }

    /// Credentials valid at `now`; waits (bounded) only when there have never been any.
    fn current(self: &Arc<Self>, now: SystemTime) -> Result<Credentials, TokenError> {
        self.start();
        let usable = |c: &Credentials| c.expiry().is_none_or(|e| e > now);
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if latest.credentials.as_ref().is_none_or(|c| !usable(c)) && latest.fetches == 0 {
            let deadline = std::time::Instant::now() + FIRST_CREDENTIALS_WAIT;
            while latest.fetches == 0 {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                latest = self
                    .changed
                    .wait_timeout(latest, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        match &latest.credentials {
            Some(c) if usable(c) => {
                if c.expiry().is_some_and(|e| e <= now + REFRESH_MARGIN) {
                    self.poke();
                }
                Ok(c.clone())
            }
            _ => {
                self.poke();
                Err(match &latest.error {
                    Some(e) => format!("no AWS credentials: {e}").into(),
                    None => "no AWS credentials yet (still fetching)".into(),
                })
            }
        }
    }

    fn poke(&self) {
        if let Some(tx) = self.wake.get() {
            let _ = tx.lock().unwrap_or_else(|p| p.into_inner()).send(());
        }
    }

    /// Starts the refresh thread once.
    fn start(self: &Arc<Self>) {
        if self.wake.get().is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        if self.wake.set(Mutex::new(tx)).is_err() {
            return; // another caller started it
        }
        let weak = Arc::downgrade(self);
        let region = self.region.clone();
        let spawned = std::thread::Builder::new()
            .name("consume-aws-credentials".into())
            .spawn(move || refresh_loop(&region, &weak, &rx));
        if let Err(e) = spawned {
            self.publish(Err(format!("cannot start the credentials thread: {e}")));
        }
    }

    fn publish(&self, result: Result<Credentials, String>) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest.fetches += 1;
        match result {
            Ok(c) => {
                latest.credentials = Some(c);
                latest.error = None;
            }
            Err(e) => latest.error = Some(e),
        }
        self.changed.notify_all();
    }
}

/// The credentials thread: fetch, publish, sleep until the next refresh (or a poke), until
/// the provider is dropped.
fn refresh_loop(region: &str, me: &Weak<Refresher>, wake: &mpsc::Receiver<()>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            if let Some(r) = me.upgrade() {
                r.publish(Err(format!("cannot start the credentials runtime: {e}")));
            }
            return;
        }
    };
    let chain = runtime.block_on(async {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .http_client(http)
            .load()
            .await
            .credentials_provider()
    });
    let Some(chain) = chain else {
        if let Some(r) = me.upgrade() {
            r.publish(Err("aws-config found no credentials provider".into()));
        }
        return;
    };
    let mut failures = 0u32;
    loop {
        let fetched = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), chain.provide_credentials()).await
        });
        let wait = match fetched {
            Ok(Ok(c)) => {
                failures = 0;
                let wait = next_refresh(c.expiry(), SystemTime::now());
                tracing::info!(
                    region,
                    expires_in_s = c
                        .expiry()
                        .and_then(|e| e.duration_since(SystemTime::now()).ok())
                        .map(|d| d.as_secs()),
                    next_refresh_s = wait.as_secs(),
                    "AWS credentials for MSK IAM loaded"
                );
                let Some(r) = me.upgrade() else { return };
                r.publish(Ok(c));
                wait
            }
            failed => {
                let e = match failed {
                    Ok(Err(e)) => chain_of(&e),
                    _ => "timed out after 30 s".to_owned(),
                };
                failures += 1;
                let wait = Duration::from_secs(1 << failures.min(6)).min(Duration::from_secs(60));
                tracing::warn!(region, error = %e, retry_in_s = wait.as_secs(), "loading AWS credentials for MSK IAM failed");
                let Some(r) = me.upgrade() else { return };
                r.publish(Err(e));
                wait
            }
        };
        match wake.recv_timeout(wait) {
            Ok(()) => while wake.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if me.strong_count() == 0 {
            return;
        }
    }
}

/// An error and its sources on one line (the AWS errors keep the cause in the sources).
fn chain_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// When to fetch credentials again: 5 minutes before they expire (half-way for short-lived
/// ones), hourly for credentials without an expiry; at least 5 s from now.
fn next_refresh(expiry: Option<SystemTime>, now: SystemTime) -> Duration {
    let wait = match expiry.map(|e| e.duration_since(now).unwrap_or_default()) {
        None => STATIC_RECHECK,
        Some(left) if left > 2 * REFRESH_MARGIN => left - REFRESH_MARGIN,
        Some(left) => left / 2,
    };
    wait.max(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_precedence() {
        let none = |_: &str| None;
        let msk = "b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098";
        assert_eq!(region_for(msk, none).as_deref(), Ok("eu-west-1"));
        let serverless = "boot-abc.c1.kafka-serverless.us-east-2.amazonaws.com:9098";
        assert_eq!(region_for(serverless, none).as_deref(), Ok("us-east-2"));
        let env = |k: &str| (k == "AWS_REGION").then(|| "ap-south-1".to_owned());
        assert_eq!(region_for(msk, env).as_deref(), Ok("eu-west-1"));
        assert_eq!(
            region_for("10.0.0.1:9098", env).as_deref(),
            Ok("ap-south-1")
        );
        let explicit = |k: &str| (k == "KAFKA_MSK_IAM_REGION").then(|| "us-west-2".to_owned());
        assert_eq!(region_for(msk, explicit).as_deref(), Ok("us-west-2"));
        assert!(region_for("localhost:9098", none).is_err());
        let mixed =
            "b-1.x.kafka.eu-west-1.amazonaws.com:9098,b-2.x.kafka.us-east-1.amazonaws.com:9098";
        assert!(region_for(mixed, none).is_err());
    }

    #[test]
    fn refresh_schedule() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(next_refresh(None, now), STATIC_RECHECK);
        assert_eq!(
            next_refresh(Some(now + Duration::from_secs(3600)), now),
            Duration::from_secs(3300)
        );
        assert_eq!(
            next_refresh(Some(now + Duration::from_secs(300)), now),
            Duration::from_secs(150)
        );
        assert_eq!(next_refresh(Some(now), now), Duration::from_secs(5));
    }

    #[test]
    fn bad_regions_are_refused() {
        let c = Credentials::new("AKID", "SECRET", None, None, "test");
        assert!(sign_token("", &c, SystemTime::now()).is_err());
        assert!(sign_token("us-east-1/../x", &c, SystemTime::now()).is_err());
    }
}
