use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use im_ops::{ReadinessCheck, Socket, Telemetry, listen};
use volo::net::incoming::DefaultIncoming;
use volo_etcd_registry::EtcdDiscover;
use volo_http::server::Server;

use crate::config::Config;
use crate::routes::{self, ApiLimits};
use crate::rpc_client::{Replicas, RpcClient};

/// Finds the replicas, then serves the HTTP API until SIGINT or SIGTERM, finishing what is in
/// flight before returning.
pub async fn run(config: Config, telemetry: Telemetry) -> anyhow::Result<()> {
    let replicas = find_replicas(&config).await?;
    let rpc = RpcClient::new(
        replicas,
        Duration::from_millis(config.rpc_timeout_ms),
        config.rpc_max_calls_per_replica,
        config.rpc_exchanges_per_replica,
    );
    track_replicas(rpc.clone());
    let ready = readiness(rpc.clone());
    let listener = listen(config.listen, Socket::Api)?;
    tracing::info!(listen = %listener.local_addr()?, replicas = rpc.replica_count(), "http-server ready");
    let limits = ApiLimits {
        max_in_flight: config.max_in_flight,
        body_timeout: Duration::from_millis(config.body_timeout_ms),
        max_waiting_pulls: config.max_waiting_pulls,
        max_wait: Duration::from_millis(config.max_wait_ms),
    };
    let mut server = Server::new(routes::router(rpc, ready, telemetry, limits));
    server
        .set_max_connections(config.max_connections)
        .http1_config()
        .set_header_read_timeout(Duration::from_millis(config.header_timeout_ms));
    server
        .run(DefaultIncoming::from(listener))
        .await
        .map_err(|err| anyhow::anyhow!("http server failed: {err}"))?;
    tracing::info!("http-server stopped");
    Ok(())
}

async fn find_replicas(config: &Config) -> anyhow::Result<Replicas> {
    let fixed = config.fixed_rpc_addrs().await?;
    if !fixed.is_empty() {
        tracing::info!(rpc_addrs = ?fixed, "using fixed rpc-server addresses");
        return Ok(Replicas::Fixed(fixed));
    }
    let Some(endpoints) = config.registry.endpoints() else {
        bail!("no rpc-servers: set IM_RPC_ADDRS or ETCD_ENDPOINTS");
    };
    let client = volo_etcd_registry::connect(&endpoints).await?;
    let service = config.registry.service();
    tracing::info!(?endpoints, prefix = %service.key_prefix(), "discovering rpc-servers in etcd");
    Ok(Replicas::Etcd(EtcdDiscover::start(client, &service).await))
}

/// Ready once at least one rpc-server is known.
fn readiness(rpc: RpcClient) -> ReadinessCheck {
    Arc::new(move || {
        let known = rpc.replica_count();
        Box::pin(async move {
            if known > 0 {
                Ok(())
            } else {
                Err("no rpc-server known yet".to_owned())
            }
        })
    })
}

fn track_replicas(rpc: RpcClient) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            metrics::gauge!("im_rpc_replicas").set(rpc.replica_count() as f64);
        }
    });
}
