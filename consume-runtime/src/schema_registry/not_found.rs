//! [`NotFoundCache`]: schema ids the registry said it does not have, remembered for a short
//! time and in bounded number, so a stream of records with unknown ids does not cost one
//! registry request per record.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::RegistryError;

/// How long an id the registry did not have is answered from memory (it may be registered
/// meanwhile; the registry is asked again after this).
pub(super) const NOT_FOUND_TTL: Duration = Duration::from_secs(30);

/// At most this many unknown ids are remembered; beyond, the expired then the oldest go.
pub(super) const NOT_FOUND_CAP: usize = 1024;

/// The registry's answer, kept to give the same error again.
struct Miss {
    expires: Instant,
    url: String,
    what: String,
}

/// Unknown ids with their expiry (permanent failures only: a registry that is down is asked
/// again on every lookup).
#[derive(Default)]
pub(super) struct NotFoundCache {
    misses: HashMap<u32, Miss>,
}

impl NotFoundCache {
    /// The remembered [`RegistryError::NotFound`] for `id`, if it has not expired at `now`.
    pub(super) fn get(&mut self, id: u32, now: Instant) -> Option<RegistryError> {
        let miss = self.misses.get(&id)?;
        if miss.expires <= now {
            self.misses.remove(&id);
            return None;
        }
        Some(RegistryError::NotFound {
            url: miss.url.clone(),
            what: miss.what.clone(),
        })
    }

    /// Remembers `err` for `id` until `now + NOT_FOUND_TTL` when it is a
    /// [`RegistryError::NotFound`]; other errors are not remembered.
    pub(super) fn remember(&mut self, id: u32, err: &RegistryError, now: Instant) {
        let RegistryError::NotFound { url, what } = err else {
            return;
        };
        if self.misses.len() >= NOT_FOUND_CAP && !self.misses.contains_key(&id) {
            self.make_room(now);
        }
        self.misses.insert(
            id,
            Miss {
                expires: now + NOT_FOUND_TTL,
                url: url.clone(),
                what: what.clone(),
            },
        );
    }

    /// Forgets `id` (it has just been registered).
    pub(super) fn forget(&mut self, id: u32) {
        self.misses.remove(&id);
    }

    /// Drops the expired entries, or else the one that expires first (the oldest: the TTL is
    /// the same for all). A linear scan, done only when full and after a registry request.
    fn make_room(&mut self, now: Instant) {
        self.misses.retain(|_, m| m.expires > now);
        if self.misses.len() < NOT_FOUND_CAP {
            return;
        }
        if let Some(oldest) = self
            .misses
            .iter()
            .min_by_key(|(_, m)| m.expires)
            .map(|(id, _)| *id)
        {
            self.misses.remove(&oldest);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.misses.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found(id: u32) -> RegistryError {
        RegistryError::NotFound {
            url: "http://sr".to_owned(),
            what: format!("schema id {id}"),
        }
    }

    #[test]
    fn remembers_not_found_until_the_ttl() {
        let t0 = Instant::now();
        let mut c = NotFoundCache::default();
        c.remember(7, &not_found(7), t0);
        let again = c.get(7, t0 + NOT_FOUND_TTL / 2).expect("within the TTL");
        assert_eq!(again.to_string(), not_found(7).to_string());
        assert!(c.get(7, t0 + NOT_FOUND_TTL).is_none(), "expired");
        assert_eq!(c.len(), 0, "an expired entry is dropped when seen");
        assert!(c.get(8, t0).is_none());
    }

    #[test]
    fn transient_errors_are_not_remembered() {
        let mut c = NotFoundCache::default();
        let down = RegistryError::Unavailable {
            url: "http://sr".to_owned(),
            cause: "connection refused".to_owned(),
        };
        c.remember(7, &down, Instant::now());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn full_drops_expired_then_oldest() {
        let t0 = Instant::now();
        let mut c = NotFoundCache::default();
        let cap = NOT_FOUND_CAP as u32;
        for id in 0..cap {
            c.remember(id, &not_found(id), t0 + Duration::from_millis(id.into()));
        }
        // Full and nothing expired: the oldest (id 0) goes.
        c.remember(cap, &not_found(cap), t0 + Duration::from_millis(cap.into()));
        assert_eq!(c.len(), NOT_FOUND_CAP);
        let now = t0 + Duration::from_millis(cap.into());
        assert!(c.get(0, now).is_none(), "oldest evicted");
        assert!(c.get(1, now).is_some() && c.get(cap, now).is_some());
        // Refreshing an id already there takes no room.
        c.remember(5, &not_found(5), now);
        assert_eq!(c.len(), NOT_FOUND_CAP);
        // Once all have expired, a new id clears them.
        let later = now + NOT_FOUND_TTL + Duration::from_secs(1);
        c.remember(u32::MAX, &not_found(u32::MAX), later);
        assert_eq!(c.len(), 1);
    }
}
