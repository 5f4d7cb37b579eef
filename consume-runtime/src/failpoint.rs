//! Failpoints: abort the process at a named point, to prove in tests that a crash there loses
//! nothing.
//!
//! Compiled in only with the `failpoints` feature *and* debug assertions (test builds); in a
//! release build [`hit`] is an empty inline function. At run time, `CONSUME_FAILPOINT=<name>`
//! aborts at the first hit of `<name>`, `<name>@<n>` at the n-th hit (counted per process).
//!
//! | name | where |
//! |---|---|
//! | `after-decode` | every argument extracted, before the handler runs |
//! | `after-handler` | the handler returned `Ok`, before the offset is stored |
//! | `after-store` | an offset was stored, before it is committed |
//! | `dead-letter` | a dead letter was acknowledged, before its offset is stored |
//! | `mid-batch` | half of a batch's messages extracted, before the handler runs |
//! | `revoke` | partitions revoked and drained, before the revocation commit |

/// Every failpoint name, for tests and error messages.
pub const NAMES: &[&str] = &[
    "after-decode",
    "after-handler",
    "after-store",
    "dead-letter",
    "mid-batch",
    "revoke",
];

#[cfg(all(feature = "failpoints", debug_assertions))]
mod active {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Armed {
        name: String,
        at: u64,
        hits: AtomicU64,
    }

    fn armed() -> Option<&'static Armed> {
        static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
        ARMED
            .get_or_init(|| {
                let spec = std::env::var("CONSUME_FAILPOINT").ok()?;
                let (name, at) = match spec.split_once('@') {
                    Some((n, at)) => (n.to_owned(), at.trim().parse().unwrap_or(1)),
                    None => (spec.clone(), 1),
                };
                if !super::NAMES.contains(&name.as_str()) {
                    eprintln!(
                        "CONSUME_FAILPOINT: unknown failpoint `{name}`; known: {:?}",
                        super::NAMES
                    );
                    std::process::abort();
                }
                Some(Armed {
                    name,
                    at: at.max(1),
                    hits: AtomicU64::new(0),
                })
            })
            .as_ref()
    }

    pub(crate) fn hit(name: &'static str) {
        let Some(a) = armed() else { return };
        if a.name == name && a.hits.fetch_add(1, Ordering::SeqCst) + 1 == a.at {
            eprintln!("failpoint `{name}` reached (hit {}): aborting", a.at);
            std::process::abort();
        }
    }
}

#[cfg(all(feature = "failpoints", debug_assertions))]
pub(crate) use active::hit;

/// Failpoints are compiled out: nothing happens.
#[cfg(not(all(feature = "failpoints", debug_assertions)))]
#[inline(always)]
pub(crate) fn hit(_name: &'static str) {}
