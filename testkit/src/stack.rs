use std::net::SocketAddr;

use crate::{Api, ServerProcess, free_port, fresh_database_url};

/// rpc-server replicas on one fresh database, and an http-server in front of them.
pub struct Stack {
    pub database_url: String,
    pub replicas: Vec<ServerProcess>,
    pub http: ServerProcess,
}

impl Stack {
    /// Replicas found through `IM_RPC_ADDRS`, without etcd.
    pub fn start(replicas: usize) -> Self {
        let database_url = fresh_database_url();
        let replicas: Vec<_> = (0..replicas)
            .map(|_| start_rpc_server(&database_url))
            .collect();
        let http = start_http_server(replicas.iter().map(|r| r.addr).collect(), &[]);
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

fn loopback_port() -> SocketAddr {
    ([127, 0, 0, 1], free_port()).into()
}

/// An rpc-server on a free loopback port, using `database_url`, not registered anywhere.
pub fn start_rpc_server(database_url: &str) -> ServerProcess {
    start_rpc_server_with(database_url, &[("ETCD_ENDPOINTS", String::new())])
}

/// An rpc-server on a free loopback port, using `database_url`, with extra settings in `env`.
pub fn start_rpc_server_with(database_url: &str, env: &[(&str, String)]) -> ServerProcess {
    start_on_free_ports("rpc-server", Admin::OwnPort, |addr, admin| {
        let mut settings = vec![
            ("IM_RPC_LISTEN", addr.to_string()),
            ("IM_RPC_ADMIN_LISTEN", admin.to_string()),
            ("DATABASE_URL", database_url.to_owned()),
        ];
        settings.extend(env.iter().cloned());
        settings
    })
}

/// An http-server on a free loopback port calling `rpc_addrs` (none: etcd, configured in `env`).
pub fn start_http_server(rpc_addrs: Vec<SocketAddr>, env: &[(&str, String)]) -> ServerProcess {
    let rpc_addrs = rpc_addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    start_on_free_ports("http-server", Admin::ApiPort, |addr, _| {
        let mut settings = vec![
            ("IM_HTTP_LISTEN", addr.to_string()),
            ("IM_RPC_ADDRS", rpc_addrs.clone()),
        ];
        settings.extend(env.iter().cloned());
        settings
    })
}

/// Where a server answers /healthz, /readyz and /metrics.
enum Admin {
    OwnPort,
    ApiPort,
}

/// Starts `binary` on free ports, with the settings `settings` gives for its API and admin
/// addresses. Another process can take a port `free_port` handed out before the server binds
/// it, and the server then exits at once: such a start is tried again on fresh ports.
fn start_on_free_ports<'a>(
    binary: &str,
    admin_port: Admin,
    settings: impl Fn(SocketAddr, SocketAddr) -> Vec<(&'a str, String)>,
) -> ServerProcess {
    let mut tries = 0;
    loop {
        let addr = loopback_port();
        let admin = match admin_port {
            Admin::OwnPort => loopback_port(),
            Admin::ApiPort => addr,
        };
        match ServerProcess::start(binary, addr, admin, &settings(addr, admin)) {
            Ok(server) => return server,
            Err(status) if tries < 2 => {
                tries += 1;
                eprintln!("{binary} on {addr} exited at start ({status}); trying other ports");
            }
            Err(status) => panic!("{binary} on {addr} exited at start: {status}"),
        }
    }
}
