//! The http-server: the HTTP API of idl_http.proto in front of the rpc-servers.
//!
//! Request path: `middleware` (load shedding, the body deadline, metrics) → `routes` (one file
//! per endpoint) → `fields` (request binding; `body` bounds the body) → `rpc_client` (Thrift
//! client over the replicas) → rpc-server; `error` maps every failure to a status.

pub mod api;
pub mod body;
pub mod config;
pub mod error;
pub mod fields;
pub mod middleware;
pub mod routes;
pub mod rpc_client;
pub mod startup;
