use std::net::SocketAddr;

use crate::process::AdminSocket;
use crate::{Api, ServerProcess, fresh_database_url};

/// rpc-server replicas on one fresh database, and an http-server in front of them.
pub struct Stack {
    pub database_url: String,
    pub replicas: Vec<ServerProcess>,
    pub http: ServerProcess,
}

impl Stack {
    /// Replicas found through `IM_RPC_ADDRS`, without etcd.
    pub fn start(replicas: usize) -> Self {
        Self::start_with(replicas, &[])
    }

    /// As [`Stack::start`], with these settings of the http-server.
    pub fn start_with(replicas: usize, http_env: &[(&str, String)]) -> Self {
        let database_url = fresh_database_url();
        let replicas: Vec<_> = (0..replicas)
            .map(|_| start_rpc_server(&database_url))
            .collect();
        let http = start_http_server(replicas.iter().map(|r| r.addr).collect(), http_env);
        Self {
            database_url,
            replicas,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http.addr)
    }

    /// A client of the http-server.
    pub fn api(&self) -> Api {
        Api::new(self.http.addr)
    }
}

/// An rpc-server on a free loopback port, using `database_url`, not registered anywhere.
pub fn start_rpc_server(database_url: &str) -> ServerProcess {
    start_rpc_server_with(database_url, &[("ETCD_ENDPOINTS", String::new())])
}

/// An rpc-server on a free loopback port, using `database_url`, with extra settings in `env`.
pub fn start_rpc_server_with(database_url: &str, env: &[(&str, String)]) -> ServerProcess {
    let mut settings = vec![("DATABASE_URL", database_url.to_owned())];
    settings.extend(env.iter().cloned());
    ServerProcess::start("rpc-server", AdminSocket::Own, &settings)
}

/// An rpc-server on `addr`, a port another just left (a replica replaced in place), using
/// `database_url`, with extra settings in `env`.
pub fn start_rpc_server_at(
    addr: SocketAddr,
    database_url: &str,
    env: &[(&str, String)],
) -> ServerProcess {
    let mut settings = vec![("DATABASE_URL", database_url.to_owned())];
    settings.extend(env.iter().cloned());
    ServerProcess::start_at("rpc-server", AdminSocket::Own, &settings, addr)
}

/// An http-server on a free loopback port calling `rpc_addrs` (none: etcd, configured in `env`).
pub fn start_http_server(rpc_addrs: Vec<SocketAddr>, env: &[(&str, String)]) -> ServerProcess {
    let rpc_addrs = rpc_addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut settings = vec![("IM_RPC_ADDRS", rpc_addrs)];
    settings.extend(env.iter().cloned());
    ServerProcess::start("http-server", AdminSocket::Api, &settings)
}
