//! The training-hours service as a library: the rules ([`domain`]), storage ([`store`]),
//! authentication ([`auth`]) and the HTTP API with its dashboard ([`api`]). The binary wires
//! them to Kafka handlers.

pub mod api;
pub mod auth;
pub mod domain;
pub mod store;
