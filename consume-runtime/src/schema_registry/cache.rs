//! [`SchemaCache`]: schemas by id, fetched once however many callers ask at once. A failed
//! lookup leaves nothing behind; "not found" is remembered briefly ([`NotFoundCache`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::OnceCell;

use super::not_found::NotFoundCache;
use super::{RegisteredSchema, RegistryError};

type Cell = Arc<OnceCell<Arc<RegisteredSchema>>>;

#[derive(Default)]
pub(super) struct SchemaCache {
    /// Schemas found (kept for good: bounded by what the registry holds), and the cells of
    /// lookups in flight (removed when their last caller leaves without a schema).
    found: Mutex<HashMap<u32, Cell>>,
    /// Ids the registry did not have, for a short time.
    not_found: Mutex<NotFoundCache>,
}

impl SchemaCache {
    /// The schema with `id`, from memory or else from `fetch` (its text). Concurrent first
    /// lookups of one id share one `fetch`; a [`RegistryError::NotFound`] is answered from
    /// memory for a while; other errors are not remembered.
    pub(super) async fn get_or_fetch<F, Fut>(
        &self,
        id: u32,
        fetch: F,
    ) -> Result<Arc<RegisteredSchema>, RegistryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, RegistryError>>,
    {
        self.remembered_not_found(id)?;
        let hold = Hold::join(self, id);
        let Some(cell) = &hold.cell else {
            unreachable!("the cell is taken on drop only")
        };
        cell.get_or_try_init(|| async {
            // A caller that waited on a lookup that just failed "not found" takes its answer.
            self.remembered_not_found(id)?;
            match fetch().await {
                Ok(schema) => Ok(Arc::new(RegisteredSchema { id, schema })),
                Err(e) => {
                    lock(&self.not_found).remember(id, &e, Instant::now());
                    Err(e)
                }
            }
        })
        .await
        .cloned()
    }

    /// `id` has just been registered: it is no longer "not found".
    pub(super) fn registered(&self, id: u32) {
        lock(&self.not_found).forget(id);
    }

    fn remembered_not_found(&self, id: u32) -> Result<(), RegistryError> {
        match lock(&self.not_found).get(id, Instant::now()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// (cells by id, remembered "not found" ids).
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize) {
        (lock(&self.found).len(), lock(&self.not_found).len())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One caller's share in the cell of `id` for the time of its lookup. Whoever leaves an empty
/// cell last (every lookup on it failed or was cancelled) removes it from the map.
struct Hold<'a> {
    cache: &'a SchemaCache,
    id: u32,
    cell: Option<Cell>,
}

impl<'a> Hold<'a> {
    fn join(cache: &'a SchemaCache, id: u32) -> Self {
        let cell = Arc::clone(lock(&cache.found).entry(id).or_default());
        Self {
            cache,
            id,
            cell: Some(cell),
        }
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let Some(cell) = self.cell.take() else {
            return;
        };
        if cell.initialized() {
            return;
        }
        let mut found = lock(&self.cache.found);
        // Shares are taken and given back under the lock, so the last caller to leave sees
        // the map's share alone (a cell that another caller filled meanwhile stays).
        drop(cell);
        if found
            .get(&self.id)
            .is_some_and(|c| Arc::strong_count(c) == 1 && !c.initialized())
        {
            found.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn not_found(id: u32) -> RegistryError {
        RegistryError::NotFound {
            url: "test://".to_owned(),
            what: format!("schema id {id}"),
        }
    }

    #[tokio::test]
    async fn waiters_on_a_failed_first_lookup_take_its_not_found() {
        let cache = SchemaCache::default();
        let fetches = AtomicUsize::new(0);
        let lookups = (0..10).map(|_| {
            cache.get_or_fetch(5, || async {
                fetches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(not_found(5))
            })
        });
        let results = futures::future::join_all(lookups).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(RegistryError::NotFound { .. })))
        );
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "one fetch for ten callers"
        );
        assert_eq!(cache.sizes(), (0, 1), "no cell left, one id remembered");
    }

    #[tokio::test]
    async fn a_cancelled_lookup_leaves_no_cell() {
        let cache = SchemaCache::default();
        let never = cache.get_or_fetch(9, std::future::pending);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), never)
                .await
                .is_err()
        );
        assert_eq!(cache.sizes(), (0, 0));
    }

    #[tokio::test]
    async fn a_registered_id_is_no_longer_not_found() {
        let cache = SchemaCache::default();
        let err = cache.get_or_fetch(3, || async { Err(not_found(3)) }).await;
        assert!(matches!(err, Err(RegistryError::NotFound { .. })));
        cache.registered(3);
        let found = cache
            .get_or_fetch(3, || async { Ok("\"int\"".to_owned()) })
            .await
            .expect("asked again");
        assert_eq!((found.id, found.schema.as_str()), (3, "\"int\""));
        assert_eq!(cache.sizes(), (1, 0));
    }
}
