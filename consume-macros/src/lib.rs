//! The `#[consume]` attribute of [`consume-runtime`](https://docs.rs/consume-runtime).
//!
//! Depend on `consume-runtime`, which re-exports this macro and documents it; this crate only
//! parses the attribute, checks the function's signature and emits one registration.
//! Parsing lives in `args.rs`, signature rules in `check.rs`, code generation in `expand.rs`.

use proc_macro::TokenStream;

mod args;
mod check;
mod expand;

/// Registers an `async fn` as a Kafka message handler. See `consume_runtime::consume`.
#[proc_macro_attribute]
pub fn consume(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::consume(args.into(), item.into()).into()
}
