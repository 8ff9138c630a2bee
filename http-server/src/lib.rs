//! The http-server: the HTTP API of idl_http.proto in front of the rpc-servers.
//!
//! Request path: `middleware` (load shedding, the body deadline, metrics) → `routes` (one file
//! per endpoint) → `access` (who the caller is and what it may do) → `fields` (request binding;
//! `body` bounds the body) → `rpc_client` (Thrift client over the replicas) → rpc-server;
//! `error` maps every failure to a status; `state` is what the layers and routes share. `web`
//! serves the web messenger.

pub mod access;
pub mod api;
pub mod body;
pub mod config;
pub mod error;
pub mod fields;
pub mod middleware;
pub mod routes;
pub mod rpc_client;
pub mod startup;
pub mod state;
pub mod web;
