use std::net::SocketAddr;

use clap::Parser;
use im_ops::RegistryArgs;

/// The IMService Thrift server. Every flag falls back to the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "rpc-server", version, about)]
pub struct Config {
    /// Address the Thrift server listens on.
    #[arg(long, env = "IM_RPC_LISTEN", default_value = "0.0.0.0:8888")]
    pub listen: SocketAddr,

    /// Address registered in etcd for clients to call. Default: the listen address, or this
    /// host's first non-loopback IP when listening on 0.0.0.0 / [::].
    #[arg(long, env = "IM_RPC_ADVERTISE")]
    pub advertise: Option<SocketAddr>,

    /// Address of the admin HTTP server: /healthz, /readyz (database reachable), /metrics.
    #[arg(long, env = "IM_RPC_ADMIN_LISTEN", default_value = "0.0.0.0:9888")]
    pub admin_listen: SocketAddr,

    /// MySQL/MariaDB URL. The database is created if it does not exist.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "mysql://root@127.0.0.1:3306/im"
    )]
    pub database_url: String,

    /// Maximum number of database connections this replica opens.
    #[arg(long, env = "IM_DB_POOL_SIZE", default_value_t = 32)]
    pub db_pool_size: u32,

    /// Commit lanes: each room belongs to one, and each lane commits one group of sends at a
    /// time. Sends arriving meanwhile are committed together in the next group.
    #[arg(long, env = "IM_DB_COMMIT_LANES", default_value_t = 4)]
    pub db_commit_lanes: usize,

    /// How long to keep retrying the first database connection at start, in seconds.
    #[arg(long, env = "IM_DB_CONNECT_TIMEOUT_SECS", default_value_t = 60)]
    pub db_connect_timeout_secs: u64,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Lease time-to-live of the etcd registration, in seconds: how long a replica that died
    /// stays listed.
    #[arg(long, env = "IM_REGISTRY_TTL_SECS", default_value_t = 10)]
    pub registry_ttl_secs: u64,

    /// On SIGTERM/SIGINT, how long to keep serving after deregistering, so that http-servers
    /// stop sending here before the listener closes, in milliseconds.
    #[arg(long, env = "IM_SHUTDOWN_DRAIN_MS", default_value_t = 1500)]
    pub shutdown_drain_ms: u64,
}
