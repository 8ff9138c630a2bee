//! Test set-up against real services: the MariaDB that `scripts/test` starts on loopback, and
//! etcd, MariaDB and Galera cluster processes of the tests' own, which they stop, freeze and
//! restart. Every test gets a database of its own (through vtgate the keyspace, emptied for
//! it), so tests never see each other's rows. Tests speak to the servers through one client
//! ([`Api`] over HTTP, [`thrift`] over Thrift) and wait on what the servers report ([`metric`],
//! [`eventually`]), never on time alone.

mod api;
mod database;
mod etcd;
mod eventually;
mod galera;
mod mariadb;
mod metrics;
mod process;
mod proxy;
mod sockets;
mod stack;
mod tokens;

pub use api::{Api, assert_error, send_times, texts, thrift, thrift_send, thrift_send_request};
pub use database::{fresh_database_url, server_url};
pub use etcd::Etcd;
pub use eventually::eventually;
pub use galera::Galera;
pub use mariadb::MariaDb;
pub use metrics::{metric, metrics_text};
pub use process::{ServerProcess, binary_path, free_port};
pub use proxy::Proxy;
pub use sockets::connections_accepted_on;
pub use stack::{
    Stack, start_http_server, start_rpc_server, start_rpc_server_at, start_rpc_server_with,
};
pub use tokens::{Signer, TestKey, jwks, keys_dir, now, test_secret_file};
