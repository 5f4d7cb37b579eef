//! [`Handler`]: async functions whose arguments are extractors, for 0 to 12 arguments.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::batch::{BatchHandler, BatchOf};
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

/// A handler with its argument types erased, as stored in a registration. The per-message
/// path stays monomorphic: the erased object only starts one partition worker at a time
/// (one allocation per partition assignment, none per message).
#[derive(Clone)]
pub struct ErasedHandler {
    inner: Arc<dyn DynHandler>,
}

impl std::fmt::Debug for ErasedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasedHandler")
    }
}

pub(crate) trait DynHandler: Send + Sync {
    fn requirements(&self, r: &mut Requirements);
    fn is_batch(&self) -> bool {
        false
    }
    fn spawn_worker(&self, worker: crate::consumer::worker::Worker) -> tokio::task::JoinHandle<()>;
}

struct Typed<H, A> {
    handler: H,
    _args: PhantomData<fn() -> A>,
}

impl<H, A> DynHandler for Typed<H, A>
where
    H: Handler<A>,
    A: 'static,
{
    fn requirements(&self, r: &mut Requirements) {
        H::requirements(r);
    }

    fn spawn_worker(&self, worker: crate::consumer::worker::Worker) -> tokio::task::JoinHandle<()> {
        worker.spawn(self.handler.clone())
    }
}

/// A batch handler, typed.
struct TypedBatch<H, T, A> {
    handler: H,
    _args: PhantomData<BatchOf<T, A>>,
}

impl<H, T, A> DynHandler for TypedBatch<H, T, A>
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
    A: 'static,
{
    fn requirements(&self, r: &mut Requirements) {
        H::requirements(r);
    }

    fn is_batch(&self) -> bool {
        true
    }

    fn spawn_worker(&self, worker: crate::consumer::worker::Worker) -> tokio::task::JoinHandle<()> {
        worker.spawn_batch(self.handler.clone())
    }
}

impl ErasedHandler {
    /// Whether this is a batch handler (takes a `Batch<T>`).
    pub(crate) fn is_batch(&self) -> bool {
        self.inner.is_batch()
    }

    pub(crate) fn requirements(&self) -> Requirements {
        let mut r = Requirements::default();
        self.inner.requirements(&mut r);
        r
    }

    pub(crate) fn spawn_worker(
        &self,
        worker: crate::consumer::worker::Worker,
    ) -> tokio::task::JoinHandle<()> {
        self.inner.spawn_worker(worker)
    }
}

/// Erases a handler's type (used by `#[consume]`'s generated code).
pub fn erase<H, A>(handler: H) -> ErasedHandler
where
    H: Handler<A>,
    A: 'static,
{
    ErasedHandler {
        inner: Arc::new(Typed {
            handler,
            _args: PhantomData,
        }),
    }
}

/// Erases a batch handler's type (used by `#[consume(batch = N)]`'s generated code).
pub fn erase_batch<H, T, A>(handler: H) -> ErasedHandler
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
    A: 'static,
{
    ErasedHandler {
        inner: Arc::new(TypedBatch {
            handler,
            _args: PhantomData,
        }),
    }
}

/// Calls a handler once on a hand-built delivery, without Kafka: for unit tests of handlers.
pub async fn call_handler<H, A>(handler: &H, delivery: &Delivery<'_>) -> Outcome
where
    H: Handler<A>,
{
    // Reborrow with one lifetime for `Handler::call`.
    let d: Delivery<'_> = *delivery;
    handler.call(&d).await
}
