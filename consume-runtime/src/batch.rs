//! Batch handlers: [`Batch<T>`] and the [`BatchHandler`] trait.
//!
//! A handler declared with `batch = N` takes a `Batch<T>` as its first argument, where `T` is
//! any extractor (or a tuple of extractors, e.g. `(Key<String>, Avro<Event>)`), extracted
//! from each message. Messages whose extraction fails for good are dead-lettered one by one
//! and left out of the batch; the handler sees the rest. The batch's offsets become
//! committable only when the handler returned `Ok` (or the batch failed for good and every
//! message in it was dead-lettered).

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;

use crate::extract::{Delivery, FromMessage, Requirements};
use crate::outcome::{IntoOutcome, Outcome};

/// Up to `batch = N` consecutive messages of one partition, in offset order, each extracted
/// as `T`.
///
/// ```no_run
/// use consume_runtime::{consume, Batch, HandlerError, Json, Key};
///
/// #[consume(topic = "clicks", group = "click-writer", batch = 500, batch_linger = "20ms")]
/// async fn write(batch: Batch<(Key<String>, Json<serde_json::Value>)>) -> Result<(), HandlerError> {
///     for (Key(user), Json(click)) in batch {
///         let _ = (user, click); // one bulk write for all of them, in practice
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Batch<T> {
    items: Vec<T>,
    topic: std::sync::Arc<str>,
    partition: i32,
    first_offset: i64,
    last_offset: i64,
}

impl<T> Batch<T> {
    pub(crate) fn new(
        items: Vec<T>,
        topic: std::sync::Arc<str>,
        partition: i32,
        first_offset: i64,
        last_offset: i64,
    ) -> Self {
        Self {
            items,
            topic,
            partition,
            first_offset,
            last_offset,
        }
    }

    /// A batch built by hand, for unit tests of batch handlers.
    pub fn for_test(items: Vec<T>) -> Self {
        let n = items.len() as i64;
        Self::new(items, std::sync::Arc::from("test"), 0, 0, (n - 1).max(0))
    }

    /// The items, in offset order.
    pub fn into_inner(self) -> Vec<T> {
        self.items
    }
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
    /// The partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }
    /// Offsets of the first and the last message the batch covers (messages rejected by
    /// extraction included).
    pub fn offsets(&self) -> std::ops::RangeInclusive<i64> {
        self.first_offset..=self.last_offset
    }
}

impl<T> Deref for Batch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> IntoIterator for Batch<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Batch<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// An async function usable as a batch handler: its first argument is a [`Batch<T>`], the
/// others are extractors taken from the batch's first message (meant for `State<T>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid batch handler",
    note = "a batch handler is an `async fn(Batch<T>, ...)` whose `T` and other arguments implement `FromMessage`, whose future is `Send`, and which returns `()` or `Result<(), E: Into<HandlerError>>`"
)]
pub trait BatchHandler<T, Args>: Clone + Send + Sync + Sized + 'static {
    /// Runs the function on `batch`; `first` is the batch's first message.
    fn call_batch<'a>(
        &'a self,
        batch: Batch<T>,
        first: &'a Delivery<'a>,
    ) -> impl Future<Output = Outcome> + Send;

    /// Collects what the arguments need from the runtime.
    fn requirements(requirements: &mut Requirements);
}

macro_rules! impl_batch_handler {
    ($($arg:ident),*) => {
        impl<Func, Fut, Ret, T, $($arg,)*> BatchHandler<T, ($($arg,)*)> for Func
        where
            Func: Fn(Batch<T>, $($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Ret> + Send,
            Ret: IntoOutcome,
            T: FromMessage + 'static,
            $($arg: FromMessage,)*
        {
            #[allow(non_snake_case, unused_variables)]
            async fn call_batch<'a>(&'a self, batch: Batch<T>, first: &'a Delivery<'a>) -> Outcome {
                $(
                    let $arg = match $arg::from_message(first).await {
                        Ok(value) => value,
                        Err(rejection) => return rejection.into(),
                    };
                )*
                (self)(batch, $($arg),*).await.into_outcome()
            }

            fn requirements(requirements: &mut Requirements) {
                T::requirements(requirements);
                $( $arg::requirements(requirements); )*
            }
        }
    };
}

impl_batch_handler!();
impl_batch_handler!(S1);
impl_batch_handler!(S1, S2);
impl_batch_handler!(S1, S2, S3);
impl_batch_handler!(S1, S2, S3, S4);

/// Marker used by `#[consume]` to check, on the argument itself, that a batch handler's first
/// argument is a `Batch<T>` of an extractor.
#[diagnostic::on_unimplemented(
    message = "the first argument of a `batch` handler must be `Batch<T>` with `T: FromMessage`",
    label = "expected `Batch<T>`"
)]
pub trait BatchArg {}
impl<T: FromMessage> BatchArg for Batch<T> {}

/// Type marker tying a batch handler to its item type (used by the erased handler).
pub(crate) struct BatchOf<T, A>(PhantomData<fn() -> (T, A)>);
