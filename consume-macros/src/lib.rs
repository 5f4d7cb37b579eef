//! The `#[consume]` attribute of [`consume-runtime`](https://docs.rs/consume-runtime).
//!
//! Depend on `consume-runtime`, which re-exports this macro; this crate holds no behaviour.

use proc_macro::TokenStream;

/// Registers an async function as a Kafka message handler.
///
/// Not implemented yet (issue 3): using it is a compile error that says so.
#[proc_macro_attribute]
pub fn consume(_args: TokenStream, item: TokenStream) -> TokenStream {
    let mut out: TokenStream = "::core::compile_error!(\"#[consume] is not implemented yet\");"
        .parse()
        .unwrap_or_default();
    out.extend(item);
    out
}
