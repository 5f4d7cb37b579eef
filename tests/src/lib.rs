//! Shared support for the integration tests, which run against the real servers that
//! `infra/up` starts (Kafka, the schema registry, FerretDB).
//!
//! Every test first calls one of the [`require`] functions: when a server is down the test
//! fails at once with a message naming the command that starts it, never skips.

pub mod asyncapi;
pub mod endpoints;
pub mod interop;
pub mod kafka;
pub mod lib_handlers;
pub mod procs;
pub mod require;
pub mod runtime;
pub mod unique;
