use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use im_idl::ImServiceServer;
use volo::net::incoming::DefaultIncoming;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::service::MessageService;
use crate::store::Store;

/// Opens the store (waiting for the database at start) and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(listen = %config.listen, "rpc-server ready");
    serve(listener, store).await
}

/// Serves `IMService` on an already bound listener (tests bind port 0).
pub async fn serve(listener: tokio::net::TcpListener, store: Store) -> anyhow::Result<()> {
    ImServiceServer::new(MessageService::new(store))
        .run(DefaultIncoming::from(listener))
        .await
        .map_err(|err| anyhow::anyhow!("thrift server failed: {err}"))
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let deadline = Instant::now() + Duration::from_secs(config.db_connect_timeout_secs);
    loop {
        match Store::open(
            &config.database_url,
            config.db_pool_size,
            Arc::new(SystemClock),
        )
        .await
        {
            Ok(store) => return Ok(store),
            Err(err) if Instant::now() < deadline => {
                tracing::warn!(%err, "database not ready, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err).context("cannot open the database"),
        }
    }
}
