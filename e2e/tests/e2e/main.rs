//! The end-to-end tests, in one binary: the real http-server and rpc-server binaries (built by
//! the harness first: `im_testkit::binary_path`) on fresh MariaDB databases and etcd, spoken to
//! over HTTP and Thrift. One module per area.

mod access;
mod awaits;
mod batches;
mod client_msg_id;
mod cluster;
mod database_faults;
mod database_limits;
mod etcd_replicas;
mod fair_use;
mod http_api;
mod http_edge;
mod inbox;
mod long_poll;
mod read_markers;
mod replica_failover;
mod replicas;
mod schema_rollback;
mod settings;
mod thrift_hostile;
mod thrift_interop;
mod tier_faults;
mod tokens;
mod upgrades;
mod web;
mod wrong_clock;
