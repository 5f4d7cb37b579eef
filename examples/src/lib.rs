//! Runnable examples of `consume-runtime`; see `src/bin/`.
