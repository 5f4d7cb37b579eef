//! The training-hours service as a library: the rules ([`domain`]), storage ([`store`]),
//! authentication ([`auth`]), the HTTP API with its dashboard and admin endpoints ([`api`])
//! and the service's metrics ([`metrics`]). The binary wires them to Kafka handlers.

pub mod api;
pub mod auth;
pub mod domain;
pub mod metrics;
pub mod store;
