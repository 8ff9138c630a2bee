use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use im_idl::lenient::ImServiceServer;
use im_ops::{ReadinessCheck, Socket, Telemetry, admin_router, listen};
use volo::net::incoming::DefaultIncoming;

use crate::caller_deadline::CallerDeadlineLayer;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::long_poll::{Waiters, watch_other_replicas};
use crate::readiness::Readiness;
use crate::registration;
use crate::service::MessageService;
use crate::store::{Internal, Store, StoreError};

/// The least time a replica keeps serving after leaving etcd, for http-servers to hear of it.
const AFTER_DEREGISTERING: Duration = Duration::from_millis(500);

/// Opens the store (waiting for the database), starts the admin server, registers in etcd and
/// serves until SIGINT or SIGTERM. On a signal: answer waiting calls; deregister while serving
/// for the drain (and at least `AFTER_DEREGISTERING` after it), every reply telling its caller to
/// close its connection (TTHeader `crrst`: callers at fixed addresses learn of the stop too);
/// then stop accepting, finish what is in flight, return (see `vendor/volo-thrift/PATCHED.md`).
pub async fn run(mut config: Config, telemetry: Telemetry) -> anyhow::Result<()> {
    // Lanes and readers hold their connections; health checks and long-poll scans need one more.
    anyhow::ensure!(
        u32::from(config.db_commit_lanes) + u32::from(config.db_readers) < config.db_pool_size,
        "IM_DB_COMMIT_LANES ({}) plus IM_DB_READERS ({}) must be below IM_DB_POOL_SIZE ({})",
        config.db_commit_lanes,
        config.db_readers,
        config.db_pool_size
    );
    // Thrift clients may each keep a connection, and a long poll holds its own.
    if let Err(err) = im_ops::raise_open_file_limit() {
        tracing::warn!(%err, "cannot read or raise the open-file limit");
    }
    let waiters = Waiters::new(config.pull_max_waiting);
    let store = open_store(&config, waiters.clone()).await?;
    if config.migrate_only {
        tracing::info!("the database is migrated; exiting (IM_MIGRATE_ONLY)");
        return Ok(());
    }
    tokio::spawn(watch_other_replicas(
        waiters.clone(),
        store.clone(),
        Duration::from_millis(config.pull_watch_interval_ms),
    ));
    let listener = listen(config.listen, Socket::Api)?;
    // A handed-over socket, or port 0, decides the address that is logged and registered.
    config.listen = listener.local_addr()?;
    track_pool_usage(store.clone(), config.db_pool_size);
    let readiness = Readiness::start(store.clone(), registration::registrar(&config).await?);
    serve_admin(&config, readiness.check(), telemetry).await?;

    let drain = Duration::from_millis(config.shutdown_drain_ms);
    tracing::info!(listen = %config.listen, "rpc-server ready");
    let max_wait = Duration::from_millis(config.pull_max_wait_ms);
    let service = MessageService::new(
        store,
        waiters.clone(),
        max_wait,
        config.pull_max_waiting,
        config.batch_methods,
    );
    ImServiceServer::new(service)
        .layer_front(CallerDeadlineLayer)
        .register_shutdown_hook(move || {
            Box::pin(async move {
                // Waiting calls answer at once, as on their timeout. The drain runs alongside
                // the deregistration (with etcd frozen, callers learn of the stop from `crrst`),
                // and lasts a while after it, for etcd's watchers.
                waiters.stop();
                let deregistered = async {
                    readiness.stop().await;
                    tokio::time::sleep(AFTER_DEREGISTERING.min(drain)).await;
                };
                tokio::join!(deregistered, tokio::time::sleep(drain));
            })
        })
        .run(DefaultIncoming::from(listener))
        .await
        .map_err(|err| anyhow::anyhow!("thrift server failed: {err}"))?;
    tracing::info!("rpc-server stopped");
    Ok(())
}

async fn open_store(config: &Config, waiters: Arc<Waiters>) -> anyhow::Result<Store> {
    let deadline = Instant::now() + Duration::from_secs(config.db_connect_timeout_secs);
    loop {
        match Store::open(
            &config.database_url,
            &config.store_options(),
            Arc::new(SystemClock),
            waiters.clone(),
        )
        .await
        {
            Ok(store) => return Ok(store),
            // A setting the database cannot serve: trying again changes nothing.
            Err(
                err @ StoreError::Internal(
                    Internal::ClockVersionsOnGalera | Internal::CounterVersionsOnVitess,
                ),
            ) => {
                return Err(err).context("cannot serve with these settings");
            }
            Err(err) if Instant::now() < deadline => {
                tracing::warn!(%err, "database not ready, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err).context("cannot open the database"),
        }
    }
}

/// `/healthz`, `/readyz` (the database answers) and `/metrics` on the admin address.
async fn serve_admin(
    config: &Config,
    ready: ReadinessCheck,
    telemetry: Telemetry,
) -> anyhow::Result<()> {
    let listener = listen(config.admin_listen, Socket::Admin)?;
    let server = volo_http::server::Server::new(admin_router(ready, telemetry));
    tokio::spawn(async move {
        if let Err(err) = server.run(DefaultIncoming::from(listener)).await {
            tracing::error!(%err, "admin server failed");
        }
    });
    Ok(())
}

/// Publishes the pool's size, idle connections and limit as gauges.
fn track_pool_usage(store: Store, max: u32) {
    metrics::gauge!("im_db_pool_max_connections").set(f64::from(max));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            let (open, idle) = store.pool_usage();
            metrics::gauge!("im_db_pool_connections", "state" => "idle").set(idle as f64);
            metrics::gauge!("im_db_pool_connections", "state" => "in_use")
                .set(open.saturating_sub(idle) as f64);
        }
    });
}
