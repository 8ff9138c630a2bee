//! The rpc-server: `IMService` over volo-thrift, backed by MySQL/MariaDB.
//!
//! Request path: `service` (Thrift ⇄ domain) → `store` (SQL) → MariaDB.

pub mod clock;
pub mod config;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
