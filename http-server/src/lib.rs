//! The http-server: the HTTP API of idl_http.proto in front of the rpc-servers.
//!
//! Request path: `routes` (one file per endpoint) → `fields` (request binding) → `backend`
//! (Thrift client over the replicas) → rpc-server; `error` maps every failure to a status.

pub mod api;
pub mod backend;
pub mod config;
pub mod error;
pub mod fields;
pub mod routes;
pub mod startup;
