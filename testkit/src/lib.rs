//! Test set-up against the real services that `scripts/test` starts: a MariaDB (and etcd) on
//! loopback. Every test gets a database of its own, so tests never see each other's rows.

mod database;
mod process;
mod stack;

pub use database::fresh_database_url;
pub use process::{ServerProcess, free_port};
pub use stack::{Stack, start_http_server, start_rpc_server};
