//! [`Rejection`]: why an extractor could not build its argument.

use std::fmt;

use crate::error::{ErrorKind, HandlerError};

/// An extractor's failure. Permanent rejections (bad bytes, missing key) are never retried;
/// retryable ones (a dependency that is down) are retried like handler errors.
pub struct Rejection {
    kind: ErrorKind,
    extractor: &'static str,
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl Rejection {
    /// A rejection that retrying cannot fix (e.g. the bytes do not decode).
    pub fn permanent(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            extractor,
            error: error.into(),
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

    pub(crate) fn into_handler_error(self) -> HandlerError {
        let kind = self.kind;
        let wrapped = RejectionError {
            extractor: self.extractor,
            error: self.error,
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
