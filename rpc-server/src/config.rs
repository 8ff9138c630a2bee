use std::net::SocketAddr;

use clap::Parser;

/// The IMService Thrift server. Every flag falls back to the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "rpc-server", version, about)]
pub struct Config {
    /// Address the Thrift server listens on.
    #[arg(long, env = "IM_RPC_LISTEN", default_value = "0.0.0.0:8888")]
    pub listen: SocketAddr,

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

    /// How long to keep retrying the first database connection at start, in seconds.
    #[arg(long, env = "IM_DB_CONNECT_TIMEOUT_SECS", default_value_t = 60)]
    pub db_connect_timeout_secs: u64,
}
