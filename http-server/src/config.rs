use std::net::SocketAddr;

use clap::Parser;

/// The HTTP front end of the IM service. Every flag falls back to the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "http-server", version, about)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "IM_HTTP_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// rpc-server addresses, comma-separated (host:port). Calls are spread over all of them.
    #[arg(
        long,
        env = "IM_RPC_ADDRS",
        value_delimiter = ',',
        default_value = "127.0.0.1:8888"
    )]
    pub rpc_addrs: Vec<SocketAddr>,

    /// How long to wait for an rpc-server's answer before replying 504, in milliseconds.
    #[arg(long, env = "IM_RPC_TIMEOUT_MS", default_value_t = 3000)]
    pub rpc_timeout_ms: u64,
}
