use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use bytes::Bytes;
use im_ops::{
    ReadinessCheck, Socket, Telemetry, connections_within, listen, raise_open_file_limit,
};
use volo::net::incoming::DefaultIncoming;
use volo_etcd_registry::EtcdDiscover;
use volo_http::server::Server;

use crate::access::Access;
use crate::config::Config;
use crate::error::ApiError;
use crate::routes;
use crate::rpc_client::{Replicas, RpcClient};
use crate::state::{Api, ApiLimits};
use crate::web::Web;

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
    let access = Access::new(&config.access, listener.local_addr()?)?;
    tracing::info!(listen = %listener.local_addr()?, replicas = rpc.replica_count(), "http-server ready");
    let limits = ApiLimits {
        max_in_flight: config.max_in_flight,
        body_timeout: Duration::from_millis(config.body_timeout_ms),
        max_waiting_pulls: config.max_waiting_pulls,
        max_wait: Duration::from_millis(config.max_wait_ms),
    };
    let web = config.web.then(Web::load);
    let api = Api::new(rpc, access, limits);
    let mut server = Server::new(routes::router(api, web, ready, telemetry));
    server
        .set_max_connections(connection_cap(config.max_connections), refusal())
        .http1_config()
        .set_header_read_timeout(Duration::from_millis(config.header_timeout_ms));
    server
        .run(DefaultIncoming::from(listener))
        .await
        .map_err(|err| anyhow::anyhow!("http server failed: {err}"))?;
    tracing::info!("http-server stopped");
    Ok(())
}

/// The most client connections served at once: as configured, unless the open-file limit (raised
/// as far as it goes) cannot hold that many besides the server's own files. Beyond the file limit, accepting a connection would
/// fail, and the client would get no answer at all.
fn connection_cap(configured: usize) -> usize {
    match raise_open_file_limit() {
        Ok(files) => {
            let cap = connections_within(files);
            if configured > cap {
                tracing::warn!(
                    configured,
                    open_file_limit = files,
                    "IM_HTTP_MAX_CONNECTIONS is more than the open-file limit allows: serving at most {cap}"
                );
            }
            configured.min(cap)
        }
        Err(err) => {
            tracing::warn!(%err, "cannot read or raise the open-file limit");
            configured
        }
    }
}

/// What a connection beyond the cap gets before it is closed: the 503 of any overload.
fn refusal() -> Bytes {
    let body = ApiError::too_many_connections().body();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    [head.into_bytes(), body].concat().into()
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
                Ok(None)
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
