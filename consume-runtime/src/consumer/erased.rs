//! [`ErasedHandler`]: a handler with its argument types erased, as a registration stores
//! it, and the loop it runs on each assigned partition. The per-record path stays
//! monomorphic: the erased object only starts one partition supervisor per assignment (one
//! allocation per partition, none per record).

use std::marker::PhantomData;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::partition::{Cursor, Exit, Loop, Mode, Partition};
use crate::batch::{BatchHandler, BatchOf};
use crate::extract::{FromMessage, Requirements};
use crate::handler::Handler;

/// A handler with its argument types erased (built by `#[consume]`'s generated code).
#[derive(Clone)]
pub struct ErasedHandler {
    inner: Arc<dyn DynHandler>,
}

impl std::fmt::Debug for ErasedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasedHandler")
    }
}

trait DynHandler: Send + Sync {
    fn requirements(&self, r: &mut Requirements);
    fn is_batch(&self) -> bool;
    fn supervise(&self, p: Partition) -> JoinHandle<()>;
}

/// A record handler: the sequential loop, or the key-ordered lanes with `concurrency > 1`.
struct MessageLoop<H, A> {
    handler: H,
    _args: PhantomData<fn() -> A>,
}

impl<H, A> Loop for MessageLoop<H, A>
where
    H: Handler<A>,
    A: 'static,
{
    async fn run(&self, p: &Partition, cur: &mut Cursor, mode: &Mode) -> Exit {
        if p.shared.options.concurrency > 1 && !mode.careful() {
            super::lanes::run(&self.handler, p, cur).await
        } else {
            super::sequential::run(&self.handler, p, cur, mode).await
        }
    }
}

impl<H, A> DynHandler for MessageLoop<H, A>
where
    H: Handler<A>,
    A: 'static,
{
    fn requirements(&self, r: &mut Requirements) {
        H::requirements(r);
    }

    fn is_batch(&self) -> bool {
        false
    }

    fn supervise(&self, p: Partition) -> JoinHandle<()> {
        super::supervisor::spawn(
            MessageLoop::<H, A> {
                handler: self.handler.clone(),
                _args: PhantomData,
            },
            p,
        )
    }
}

/// A batch handler: the batch loop.
struct BatchLoop<H, T, A> {
    handler: H,
    _args: PhantomData<BatchOf<T, A>>,
}

impl<H, T, A> Loop for BatchLoop<H, T, A>
where
    H: BatchHandler<T, A>,
    T: FromMessage + 'static,
    A: 'static,
{
    async fn run(&self, p: &Partition, cur: &mut Cursor, mode: &Mode) -> Exit {
        super::batcher::run(&self.handler, p, cur, mode).await
    }
}

impl<H, T, A> DynHandler for BatchLoop<H, T, A>
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

    fn supervise(&self, p: Partition) -> JoinHandle<()> {
        super::supervisor::spawn(
            BatchLoop::<H, T, A> {
                handler: self.handler.clone(),
                _args: PhantomData,
            },
            p,
        )
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

    /// Starts the supervisor of one assigned partition.
    pub(crate) fn supervise(&self, p: Partition) -> JoinHandle<()> {
        self.inner.supervise(p)
    }
}

/// Erases a handler's type (used by `#[consume]`'s generated code).
pub fn erase<H, A>(handler: H) -> ErasedHandler
where
    H: Handler<A>,
    A: 'static,
{
    ErasedHandler {
        inner: Arc::new(MessageLoop {
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
        inner: Arc::new(BatchLoop {
            handler,
            _args: PhantomData,
        }),
    }
}
