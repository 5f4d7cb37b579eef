//! [`Rejection`]: why an extractor could not build its argument.

use std::fmt;

use crate::error::HandlerError;

/// An extractor's failure. Permanent rejections (bad bytes, missing key) are never retried;
/// retryable ones (a dependency that is down) are retried like handler errors.
pub struct Rejection {
    permanent: bool,
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
            permanent: true,
            extractor,
            error: error.into(),
        }
    }

    /// A rejection that may succeed later (e.g. a registry that is unreachable).
    pub fn retryable(
        extractor: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            permanent: false,
            extractor,
            error: error.into(),
        }
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// The extractor that rejected (`"Json"`, `"Key"`, …).
    pub fn extractor(&self) -> &'static str {
        self.extractor
    }

    pub(crate) fn into_handler_error(self) -> HandlerError {
        let permanent = self.permanent;
        let wrapped = RejectionError {
            extractor: self.extractor,
            error: self.error,
        };
        if permanent {
            HandlerError::permanent(wrapped)
        } else {
            HandlerError::retryable(wrapped)
        }
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("permanent", &self.permanent)
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
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}
