use std::time::Duration;

use anyhow::Context;
use volo::net::incoming::DefaultIncoming;
use volo_http::server::Server;

use crate::backend::Backend;
use crate::config::Config;
use crate::routes;

/// Serves the HTTP API until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let backend = Backend::new(
        config.rpc_addrs.clone(),
        Duration::from_millis(config.rpc_timeout_ms),
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(listen = %config.listen, rpc_addrs = ?config.rpc_addrs, "http-server ready");
    Server::new(routes::router(backend))
        .run(DefaultIncoming::from(listener))
        .await
        .map_err(|err| anyhow::anyhow!("http server failed: {err}"))
}
