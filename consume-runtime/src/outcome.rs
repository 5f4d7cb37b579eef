//! What became of a message: [`Outcome`], and [`IntoOutcome`] for handler return types.

use crate::error::HandlerError;
use crate::extract::Rejection;

/// The result of handling one message, as the runtime sees it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Handled: the offset may be committed.
    Ack,
    /// Failed; retry in place (bounded by the retry policy unless the error is
    /// [`ErrorKind::Unavailable`](crate::error::ErrorKind::Unavailable)).
    Retry(HandlerError),
    /// Failed for good (a decode error, a permanent handler error): no retry.
    Fail(HandlerError),
}

impl Outcome {
    pub(crate) fn from_error(e: HandlerError) -> Self {
        if e.is_permanent() {
            Outcome::Fail(e)
        } else {
            Outcome::Retry(e)
        }
    }
}

/// Return types a `#[consume]` handler may have: `()`, or `Result<(), E>` where `E` converts
/// into [`HandlerError`] (any `std::error::Error + Send + Sync + 'static` does).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported return type for a `#[consume]` handler",
    label = "return `()` or `Result<(), E>` where `E: Into<HandlerError>`",
    note = "any `std::error::Error + Send + Sync + 'static` converts into `HandlerError` (retryable); wrap with `HandlerError::permanent` to skip retries"
)]
pub trait IntoOutcome {
    /// Converts the handler's return value.
    fn into_outcome(self) -> Outcome;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Outcome {
        Outcome::Ack
    }
}

impl<E: Into<HandlerError>> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(()) => Outcome::Ack,
            Err(e) => Outcome::from_error(e.into()),
        }
    }
}

impl From<Rejection> for Outcome {
    fn from(r: Rejection) -> Self {
        Outcome::from_error(r.into_handler_error())
    }
}
