use std::time::Duration;

use etcd_client::{Client, PutOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::layout::InstanceInfo;

/// How long to wait before trying etcd again after a failure.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// The longest a stop waits for etcd to revoke the lease: a replica stopping waits for it, and
/// an unrevoked lease expires by itself.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(1);

/// An instance registered under a lease, kept alive by a background task.
pub struct Registration {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

enum KeepAliveEnd {
    Stop,
    Lost(String),
}

impl Registration {
    /// Registers `info` under `key` with a lease of `ttl`, now and again whenever the lease is
    /// lost. Returns at once; while etcd is unreachable the task keeps trying.
    pub fn start(client: Client, key: String, info: &InstanceInfo, ttl: Duration) -> Self {
        let value = serde_json::to_string(info).expect("instance info serialises");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(keep_registered(client, key, value, ttl, stopped));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Revokes the lease, which deletes the key at once, and waits for that to finish.
    pub async fn deregister(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The task sees the closed channel and revokes the lease on its own.
        self.stop.take();
    }
}

async fn keep_registered(
    mut client: Client,
    key: String,
    value: String,
    ttl: Duration,
    mut stop: oneshot::Receiver<()>,
) {
    let ttl_secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
    loop {
        let registered = tokio::select! {
            _ = &mut stop => return,
            registered = register_once(&mut client, &key, &value, ttl_secs) => registered,
        };
        match registered {
            Ok(lease) => {
                tracing::info!(%key, lease, "registered in etcd");
                match keep_alive(&mut client, lease, ttl, &mut stop).await {
                    KeepAliveEnd::Stop => {
                        match tokio::time::timeout(REVOKE_TIMEOUT, client.lease_revoke(lease)).await
                        {
                            Ok(Ok(_)) => tracing::info!(%key, "deregistered from etcd"),
                            _ => tracing::warn!(%key, "could not revoke the lease; it expires"),
                        }
                        return;
                    }
                    KeepAliveEnd::Lost(reason) => {
                        tracing::warn!(%key, %reason, "etcd lease lost; registering again");
                    }
                }
            }
            Err(err) => tracing::warn!(%key, %err, "cannot register in etcd; retrying"),
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(RETRY_DELAY) => {}
        }
    }
}

async fn register_once(
    client: &mut Client,
    key: &str,
    value: &str,
    ttl_secs: i64,
) -> Result<i64, etcd_client::Error> {
    let lease = client.lease_grant(ttl_secs, None).await?.id();
    client
        .put(key, value, Some(PutOptions::new().with_lease(lease)))
        .await?;
    Ok(lease)
}

/// Refreshes the lease three times per TTL until told to stop or until etcd no longer knows it.
async fn keep_alive(
    client: &mut Client,
    lease: i64,
    ttl: Duration,
    stop: &mut oneshot::Receiver<()>,
) -> KeepAliveEnd {
    let started = tokio::select! {
        _ = &mut *stop => return KeepAliveEnd::Stop,
        started = client.lease_keep_alive(lease) => started,
    };
    let (mut keeper, mut responses) = match started {
        Ok(pair) => pair,
        Err(err) => return KeepAliveEnd::Lost(err.to_string()),
    };
    let mut tick = tokio::time::interval(ttl / 3);
    loop {
        tokio::select! {
            _ = &mut *stop => return KeepAliveEnd::Stop,
            _ = tick.tick() => {}
        }
        if let Err(err) = keeper.keep_alive().await {
            return KeepAliveEnd::Lost(err.to_string());
        }
        let answer = tokio::select! {
            _ = &mut *stop => return KeepAliveEnd::Stop,
            answer = tokio::time::timeout(ttl, responses.message()) => answer,
        };
        match answer {
            Ok(Ok(Some(resp))) if resp.ttl() > 0 => {}
            Ok(Ok(Some(_))) => return KeepAliveEnd::Lost("the lease expired".to_owned()),
            Ok(Ok(None)) => return KeepAliveEnd::Lost("keep-alive stream closed".to_owned()),
            Ok(Err(err)) => return KeepAliveEnd::Lost(err.to_string()),
            Err(_) => return KeepAliveEnd::Lost("no keep-alive answer in time".to_owned()),
        }
    }
}
