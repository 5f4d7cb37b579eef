//! SASL/OAUTHBEARER: tokens from a [`TokenProvider`], handed to librdkafka through its
//! token-refresh callback by every client the runtime creates (each handler's consumer, the
//! [`Publisher`](crate::Publisher), the boot probe and the admin client that creates
//! missing topics).
//!
//! librdkafka asks for a token when a client starts and again once 80 % of the current
//! token's lifetime has passed; a failed request is retried every 10 s while the previous
//! token stays in use until it expires. Brokers that enforce re-authentication (KIP-368,
//! `connections.max.reauth.ms`, which MSK does) close a connection whose token expired, so
//! a connection lives on only through these refreshes.
//!
//! Providers:
//! - `msk_iam::MskIam` (cargo feature `msk-iam`): AWS MSK IAM, tokens signed with SigV4
//!   from the standard AWS credential chain; `KAFKA_SASL_MECHANISM=AWS_MSK_IAM` selects it
//!   (see `docs/msk-iam.md`);
//! - your own: implement [`TokenProvider`] and set [`Config::oauthbearer`](crate::Config::oauthbearer).
//!
//! Tokens are secrets: they are held as [`Secret`] and never logged.

#[cfg(feature = "msk-iam")]
pub mod msk_iam;

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rdkafka::client::ClientContext;

use crate::secret::Secret;

/// Why a provider could not issue a token.
pub type TokenError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An OAUTHBEARER token.
#[derive(Clone)]
pub struct Token {
    /// The token itself (sent to the broker; never logged).
    pub value: Secret,
    /// The Kafka principal librdkafka associates with it (informational on the client side).
    pub principal: String,
    /// When it stops being valid. librdkafka asks for the next one when 80 % of the time
    /// until then has passed.
    pub expires_at: SystemTime,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &self.value)
            .field("principal", &self.principal)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Issues OAUTHBEARER tokens.
///
/// [`TokenProvider::token`] is called synchronously on the thread that serves the client's
/// events: a consumer's control thread, a producer's polling thread, the boot probe's
/// blocking thread, and occasionally a thread that flushes a producer (which may be a tokio
/// worker). It must return quickly: sign with material already at hand and fetch anything
/// slow (credentials over the network) ahead of time on a thread of its own, as
/// `msk_iam::MskIam` does.
pub trait TokenProvider: Send + Sync + 'static {
    /// A fresh token for the client whose `client.id` is `client`.
    ///
    /// # Errors
    /// Any reason no token can be issued now; librdkafka asks again in 10 s.
    fn token(&self, client: &str) -> Result<Token, TokenError>;

    /// One line describing the provider for logs and `Debug` output (never a secret).
    fn describe(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

/// A shared [`TokenProvider`] (cheap to clone), as held by [`Config::oauthbearer`](crate::Config::oauthbearer).
#[derive(Clone)]
pub struct OAuthBearer(Arc<dyn TokenProvider>);

impl OAuthBearer {
    /// Wraps a provider.
    pub fn new(provider: impl TokenProvider) -> Self {
        Self(Arc::new(provider))
    }

    /// Wraps a provider that is already shared.
    pub fn from_arc(provider: Arc<dyn TokenProvider>) -> Self {
        Self(provider)
    }

    /// The provider.
    pub fn provider(&self) -> &dyn TokenProvider {
        &*self.0
    }
}

impl fmt::Debug for OAuthBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OAuthBearer({})", self.0.describe())
    }
}

/// A token in rdkafka's form, for `ClientContext::generate_oauth_token` of every context
/// the runtime creates. Logs the outcome (never the token); a provider that panics is a
/// failed refresh, not a dead polling thread.
pub(crate) fn generate(
    oauth: Option<&OAuthBearer>,
    client: &str,
) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
    let Some(oauth) = oauth else {
        return Err(
            "sasl.mechanisms=OAUTHBEARER but no token provider is configured: set \
                    KAFKA_SASL_MECHANISM=AWS_MSK_IAM (feature `msk-iam`) or Config::oauthbearer"
                .into(),
        );
    };
    let issued = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        oauth.provider().token(client)
    }))
    .unwrap_or_else(|_| Err("the OAUTHBEARER token provider panicked".into()));
    let result = issued.map_err(|e| e.to_string()).and_then(|t| {
        let lifetime_ms = t
            .expires_at
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .ok_or_else(|| "the token's expiry is not a valid time".to_owned())?;
        let left = t
            .expires_at
            .duration_since(SystemTime::now())
            .map_err(|_| "the provider issued a token that has already expired".to_owned())?;
        Ok((t, lifetime_ms, left))
    });
    match result {
        Ok((t, lifetime_ms, left)) => {
            tracing::debug!(
                client,
                principal = %t.principal,
                expires_in_s = left.as_secs(),
                provider = %oauth.provider().describe(),
                "OAUTHBEARER token issued"
            );
            Ok(rdkafka::client::OAuthToken {
                token: t.value.expose().to_owned(),
                principal_name: t.principal,
                lifetime_ms,
            })
        }
        Err(e) => {
            tracing::warn!(
                client,
                error = %e,
                provider = %oauth.provider().describe(),
                "OAUTHBEARER token refresh failed; librdkafka retries in 10 s"
            );
            Err(e.into())
        }
    }
}

/// The context of the runtime's producers and admin clients: librdkafka's default logging
/// (like rdkafka's `DefaultClientContext`) plus OAUTHBEARER tokens from the configured
/// provider.
pub(crate) struct ClientAuth {
    oauth: Option<OAuthBearer>,
    client: String,
}

impl ClientAuth {
    pub(crate) fn new(oauth: Option<OAuthBearer>, client: impl Into<String>) -> Self {
        Self {
            oauth,
            client: client.into(),
        }
    }
}

impl ClientContext for ClientAuth {
    // Only consulted when `sasl.mechanisms=OAUTHBEARER`; with no provider a refresh fails
    // with a message naming the settings. librdkafka's own OIDC refresher bypasses it.
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        generate(self.oauth.as_ref(), &self.client)
    }
}

/// Hands `client` its first token directly.
///
/// rdkafka's `AdminClient` never serves its main queue, where librdkafka delivers token
/// requests, so an admin client under OAUTHBEARER would wait forever for a token. The
/// runtime's admin client lives for one boot step, far shorter than any token, so one
/// token set when it is created is enough.
pub(crate) fn set_initial_token<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    oauth: &OAuthBearer,
    client_id: &str,
) -> Result<(), String> {
    let token = generate(Some(oauth), client_id).map_err(|e| e.to_string())?;
    ffi::set_token(client.native_ptr(), &token)
}

/// Whether the SASL mechanism setting selects AWS MSK IAM.
pub(crate) fn is_msk_iam(mechanism: &str) -> bool {
    matches!(
        mechanism
            .trim()
            .to_ascii_uppercase()
            .replace('-', "_")
            .as_str(),
        "AWS_MSK_IAM" | "MSK_IAM"
    )
}

/// The MSK IAM provider for the given brokers (one per region in the process, sharing its
/// credentials), or why there is none.
pub(crate) fn msk_iam_for(brokers: &str) -> Result<OAuthBearer, String> {
    #[cfg(feature = "msk-iam")]
    {
        let region = msk_iam::region_for(brokers, |k| std::env::var(k).ok())?;
        Ok(msk_iam::shared(&region))
    }
    #[cfg(not(feature = "msk-iam"))]
    {
        let _ = brokers;
        Err(
            "KAFKA_SASL_MECHANISM=AWS_MSK_IAM needs consume-runtime's cargo feature `msk-iam` \
             (this build does not have it)"
                .to_owned(),
        )
    }
}

#[allow(unsafe_code)]
mod ffi {
    //! The one librdkafka call rdkafka does not expose for admin clients.

    use std::ffi::CString;

    use rdkafka::bindings as rd;

    /// `rd_kafka_oauthbearer_set_token` on a live client, exactly as rdkafka's own refresh
    /// handler calls it.
    pub(super) fn set_token(
        rk: *mut rd::rd_kafka_t,
        token: &rdkafka::client::OAuthToken,
    ) -> Result<(), String> {
        let value = CString::new(token.token.as_str()).map_err(|_| "token contains NUL")?;
        let principal =
            CString::new(token.principal_name.as_str()).map_err(|_| "principal contains NUL")?;
        let mut err = [0 as std::ffi::c_char; 512];
        // SAFETY: `rk` is the live client handle of a client the caller borrows; the strings
        // are NUL-terminated and outlive the call (librdkafka copies them); no extensions
        // (null pointer, size 0); `err` is a writable buffer of the given size.
        let code = unsafe {
            rd::rd_kafka_oauthbearer_set_token(
                rk,
                value.as_ptr(),
                token.lifetime_ms,
                principal.as_ptr(),
                std::ptr::null_mut(),
                0,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            // SAFETY: librdkafka wrote a NUL-terminated message into `err` (zeroed above,
            // so it is terminated even if it wrote nothing).
            let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
            Err(format!(
                "setting the OAUTHBEARER token failed ({code:?}): {}",
                msg.to_string_lossy()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    struct Fixed(SystemTime);
    impl TokenProvider for Fixed {
        fn token(&self, client: &str) -> Result<Token, TokenError> {
            if client == "panic" {
                panic!("provider bug");
            }
            Ok(Token {
                value: Secret::new("s3cr3t-token"),
                principal: "p".into(),
                expires_at: self.0,
            })
        }
    }

    #[test]
    fn tokens_reach_rdkafka_with_their_expiry_in_epoch_millis() {
        let exp = SystemTime::now() + Duration::from_secs(60);
        let t = generate(Some(&OAuthBearer::new(Fixed(exp))), "c").expect("issued");
        assert_eq!(t.token, "s3cr3t-token");
        assert_eq!(
            t.lifetime_ms as u128,
            exp.duration_since(UNIX_EPOCH)
                .expect("after epoch")
                .as_millis()
        );
    }

    #[test]
    fn expired_tokens_missing_providers_and_panics_are_failed_refreshes() {
        let failure = |oauth: Option<&OAuthBearer>, client: &str| match generate(oauth, client) {
            Ok(_) => panic!("a token was issued"),
            Err(e) => e.to_string(),
        };
        let past = SystemTime::now() - Duration::from_secs(1);
        let e = failure(Some(&OAuthBearer::new(Fixed(past))), "c");
        assert!(e.contains("already expired"), "{e}");
        let e = failure(None, "c");
        assert!(e.contains("AWS_MSK_IAM"), "{e}");
        let future = SystemTime::now() + Duration::from_secs(60);
        let e = failure(Some(&OAuthBearer::new(Fixed(future))), "panic");
        assert!(e.contains("panicked"), "{e}");
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let t = Fixed(SystemTime::now()).token("c").expect("issued");
        assert!(!format!("{t:?}").contains("s3cr3t"));
    }

    #[test]
    fn msk_iam_spellings() {
        for m in ["AWS_MSK_IAM", "aws_msk_iam", "MSK_IAM", "aws-msk-iam"] {
            assert!(is_msk_iam(m), "{m}");
        }
        assert!(!is_msk_iam("OAUTHBEARER"));
        assert!(!is_msk_iam("SCRAM-SHA-512"));
    }
}
