//! [`Rejection`]: why an extractor could not build its argument.

use std::fmt;

use crate::consumer::DeadLetterReason;
use crate::error::{ErrorKind, HandlerError};

/// An extractor's failure. Permanent rejections (bad bytes, missing key) are never retried;
/// retryable ones (a dependency that is down) are retried like handler errors.
///
/// A permanent rejection's dead letter says which kind it was ([`DeadLetterReason`]):
/// [`Rejection::undecodable`] (`decode`), [`Rejection::bad_key`] (`key`) or
/// [`Rejection::permanent`] (`rejected`: anything else, e.g. an application's validation).
pub struct Rejection {
    kind: ErrorKind,
    extractor: &'static str,
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
    /// What a dead letter reports if this rejection is permanent.
    reason: DeadLetterReason,
}

impl Rejection {
    /// A rejection that retrying cannot fix: the record is valid as bytes but refused (an
    /// application's own validation, a missing setting). Dead letters report it as
    /// `rejected`; for bytes that do not decode use [`Rejection::undecodable`], for a bad key
    /// [`Rejection::bad_key`].
    pub fn permanent(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::refused(extractor, error, DeadLetterReason::Rejected)
    }

    /// The value does not decode (bad bytes, an unknown schema, a tombstone): permanent,
    /// reported as `decode`.
    pub fn undecodable(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::refused(extractor, error, DeadLetterReason::Decode)
    }

    /// The key does not decode (null, not the expected encoding): permanent, reported as
    /// `key`, by the `Key` extractor.
    pub fn bad_key(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::refused("Key", error, DeadLetterReason::Key)
    }

    fn refused(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
        reason: DeadLetterReason,
    ) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            extractor,
            error: error.into(),
            reason,
        }
    }

    /// A rejection that may succeed if retried (bounded by the retry policy).
    pub fn retryable(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind: ErrorKind::Retryable,
            extractor,
            error: error.into(),
            reason: DeadLetterReason::Rejected,
        }
    }

    /// A dependency the extractor needs is down (e.g. the schema registry): the message
    /// waits and is retried until it is back, never skipped.
    pub fn unavailable(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            extractor,
            error: error.into(),
            reason: DeadLetterReason::Rejected,
        }
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.kind == ErrorKind::Permanent
    }

    /// The extractor that rejected (`"Json"`, `"Key"`, …).
    pub fn extractor(&self) -> &'static str {
        self.extractor
    }

    /// The dead-letter reason of `error` if it is a rejection (a permanent one's kind).
    pub(crate) fn reason_of(error: &HandlerError) -> Option<DeadLetterReason> {
        error
            .source()
            .downcast_ref::<RejectionError>()
            .map(|r| r.reason)
    }

    pub(crate) fn into_handler_error(self) -> HandlerError {
        let kind = self.kind;
        let wrapped = RejectionError {
            extractor: self.extractor,
            error: self.error,
            reason: self.reason,
        };
        match kind {
            ErrorKind::Permanent => HandlerError::permanent(wrapped),
            ErrorKind::Unavailable => HandlerError::unavailable(wrapped),
            _ => HandlerError::retryable(wrapped),
        }
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("extractor", &self.extractor)
            .field("error", &self.error)
            .field("reason", &self.reason)
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} extractor rejected the message: {}",
            self.extractor, self.error
        )
    }
}

/// The error a rejection becomes inside a [`HandlerError`].
#[derive(Debug)]
struct RejectionError {
    extractor: &'static str,
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
    reason: DeadLetterReason,
}

impl fmt::Display for RejectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} extractor rejected the message: {}",
            self.extractor, self.error
        )
    }
}

impl std::error::Error for RejectionError {
    // The wrapped error's own message is already part of ours; continue the chain below it
    // so that `HandlerError`'s display does not repeat it.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}
