//! The rpc-server: `IMService` over volo-thrift, backed by MySQL/MariaDB, registered in etcd.
//!
//! Request path: `service` (Thrift ⇄ domain) → `store` (SQL) → MariaDB; `long_poll` holds the
//! waiting pulls and inbox listings and wakes them; `caller_deadline` bounds each call by its
//! caller's timeout. Around it: `startup`
//! (wiring, admin server, shutdown), `readiness` (the database check that `/readyz` and the
//! etcd registration follow), `registration` (etcd), `config`, `clock`.

pub mod caller_deadline;
pub mod clock;
pub mod config;
pub mod long_poll;
pub mod readiness;
pub mod registration;
pub mod service;
pub mod startup;
pub mod store;
