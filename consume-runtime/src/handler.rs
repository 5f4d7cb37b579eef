//! [`Handler`]: async functions whose arguments are extractors, for 0 to 12 arguments.

use std::future::Future;

use crate::extract::{Delivery, FromMessage, Requirements};
use crate::outcome::{IntoOutcome, Outcome};

/// An async function usable as a message handler: every argument implements
/// [`FromMessage`] and the output implements [`IntoOutcome`]. Implemented for
/// `Fn(T1, …, Tn) -> impl Future` with up to 12 arguments; `Args` is a marker tuple.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid `#[consume]` handler",
    note = "a handler is an `async fn` whose arguments implement `FromMessage`, whose future is `Send`, and which returns `()` or `Result<(), E: Into<HandlerError>>`"
)]
pub trait Handler<Args>: Clone + Send + Sync + Sized + 'static {
    /// Extracts the arguments from the delivery and runs the function.
    fn call<'a>(&'a self, delivery: &'a Delivery<'a>) -> impl Future<Output = Outcome> + Send;

    /// Collects what the arguments need from the runtime.
    fn requirements(requirements: &mut Requirements);
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<Func, Fut, Ret, $($arg,)*> Handler<($($arg,)*)> for Func
        where
            Func: Fn($($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Ret> + Send,
            Ret: IntoOutcome,
            $($arg: FromMessage,)*
        {
            #[allow(non_snake_case, unused_variables)]
            async fn call<'a>(&'a self, delivery: &'a Delivery<'a>) -> Outcome {
                $(
                    let $arg = match $arg::from_message(delivery).await {
                        Ok(value) => value,
                        Err(rejection) => return rejection.into(),
                    };
                )*
                crate::failpoint::hit("after-decode");
                (self)($($arg),*).await.into_outcome()
            }

            #[allow(unused_variables)]
            fn requirements(requirements: &mut Requirements) {
                $( $arg::requirements(requirements); )*
            }
        }
    };
}

impl_handler!();
impl_handler!(T1);
impl_handler!(T1, T2);
impl_handler!(T1, T2, T3);
impl_handler!(T1, T2, T3, T4);
impl_handler!(T1, T2, T3, T4, T5);
impl_handler!(T1, T2, T3, T4, T5, T6);
impl_handler!(T1, T2, T3, T4, T5, T6, T7);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);

/// Calls a handler once on a hand-built delivery, without Kafka: for unit tests of handlers.
pub async fn call_handler<H, A>(handler: &H, delivery: &Delivery<'_>) -> Outcome
where
    H: Handler<A>,
{
    // Reborrow with one lifetime for `Handler::call`.
    let d: Delivery<'_> = *delivery;
    handler.call(&d).await
}
