use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_broadcast::{InactiveReceiver, Receiver, Sender};
use etcd_client::{Client, EventType, GetOptions, KeyValue, WatchOptions};
use volo::context::Endpoint;
use volo::discovery::{Change, Discover, Instance, diff_address};

use crate::layout::{InstanceAddress, InstanceInfo, ServiceName};

/// How long to wait before listing and watching again after etcd failed.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// The longest a host name in an instance's address may take to resolve; the watch waits.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The instances of one service, followed in etcd. Cheap to clone.
#[derive(Clone)]
pub struct EtcdDiscover {
    shared: Arc<Shared>,
}

struct Shared {
    instances: RwLock<Vec<Arc<Instance>>>,
    changes: Sender<Change<()>>,
    /// Keeps the channel open while no load balancer listens yet.
    idle: InactiveReceiver<Change<()>>,
    /// Times listing or watching failed (etcd unreachable), for a caller that watches health.
    failures: AtomicU64,
}

impl EtcdDiscover {
    /// Lists the service's instances (waiting at most a few seconds for etcd) and keeps
    /// following them in the background.
    pub async fn start(client: Client, service: &ServiceName) -> Self {
        let (mut changes, idle) = async_broadcast::broadcast(16);
        // A slow listener loses old changes rather than holding up new ones; each carries `all`.
        changes.set_overflow(true);
        let discover = Self {
            shared: Arc::new(Shared {
                instances: RwLock::new(Vec::new()),
                changes,
                idle: idle.deactivate(),
                failures: AtomicU64::new(0),
            }),
        };
        let (listed, first_listing) = tokio::sync::oneshot::channel();
        tokio::spawn(follow(
            client,
            service.key_prefix(),
            discover.shared.clone(),
            listed,
        ));
        let _ = tokio::time::timeout(RETRY_DELAY * 5, first_listing).await;
        discover
    }

    /// The instances known now.
    pub fn instances(&self) -> Vec<Arc<Instance>> {
        self.shared.instances.read().expect("lock").clone()
    }

    /// How many times listing or watching etcd has failed so far; the instances known stay.
    pub fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }
}

impl Discover for EtcdDiscover {
    type Key = ();
    type Error = Infallible;

    async fn discover<'s>(&'s self, _: &'s Endpoint) -> Result<Vec<Arc<Instance>>, Infallible> {
        Ok(self.instances())
    }

    fn key(&self, _: &Endpoint) {}

    fn watch(&self, _: Option<&[()]>) -> Option<Receiver<Change<()>>> {
        Some(self.shared.idle.activate_cloned())
    }
}

impl Shared {
    /// Publishes a new instance set. An empty listing keeps the last known set: when etcd comes
    /// back empty (restarted without its data) the replicas register again within seconds, and
    /// until then the old set is the best guess.
    fn publish(&self, next: Vec<Arc<Instance>>) {
        let mut current = self.instances.write().expect("lock");
        if next.is_empty() && !current.is_empty() {
            tracing::warn!(
                known = current.len(),
                "etcd lists no instance; keeping the last known ones"
            );
            return;
        }
        let (change, changed) = diff_address((), current.clone(), next.clone());
        if changed {
            tracing::info!(
                instances = ?next.iter().map(|i| i.address.to_string()).collect::<Vec<_>>(),
                "instances changed"
            );
            *current = next;
            let _ = self.changes.try_broadcast(change);
        }
    }
}

async fn follow(
    mut client: Client,
    prefix: String,
    shared: Arc<Shared>,
    listed: tokio::sync::oneshot::Sender<()>,
) {
    let mut listed = Some(listed);
    loop {
        if let Err(err) = list_and_watch(&mut client, &prefix, &shared, &mut listed).await {
            shared.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%err, "etcd unreachable; keeping the last known instances");
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Lists the prefix, then applies every later change until the watch ends or fails.
async fn list_and_watch(
    client: &mut Client,
    prefix: &str,
    shared: &Shared,
    listed: &mut Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<(), etcd_client::Error> {
    let listing = client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await?;
    let revision = listing.header().map_or(0, |h| h.revision());
    let mut known: BTreeMap<Vec<u8>, Arc<Instance>> = BTreeMap::new();
    for kv in listing.kvs() {
        if let Some(instance) = parse_instance(kv).await {
            known.insert(kv.key().to_vec(), instance);
        }
    }
    shared.publish(known.values().cloned().collect());
    if let Some(listed) = listed.take() {
        let _ = listed.send(());
    }

    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1);
    let mut watch = client.watch(prefix, Some(options)).await?;
    while let Some(resp) = watch.message().await? {
        if resp.canceled() {
            // Compacted past our revision: list again.
            return Ok(());
        }
        for event in resp.events() {
            let Some(kv) = event.kv() else { continue };
            match event.event_type() {
                EventType::Put => match parse_instance(kv).await {
                    Some(instance) => known.insert(kv.key().to_vec(), instance),
                    None => known.remove(kv.key()),
                },
                EventType::Delete => known.remove(kv.key()),
            };
        }
        shared.publish(known.values().cloned().collect());
    }
    Ok(())
}

async fn parse_instance(kv: &KeyValue) -> Option<Arc<Instance>> {
    let info: InstanceInfo = match serde_json::from_slice(kv.value()) {
        Ok(info) => info,
        Err(err) => {
            tracing::warn!(key = ?kv.key_str(), %err, "ignoring an unreadable instance");
            return None;
        }
    };
    if info.network != "tcp" {
        tracing::warn!(network = %info.network, "ignoring a non-tcp instance");
        return None;
    }
    let address = match InstanceAddress::parse(&info.address) {
        Some(InstanceAddress::Ip(address)) => address,
        Some(InstanceAddress::Host(host, port)) => resolve(&host, port).await?,
        None => {
            tracing::warn!(address = %info.address, "ignoring an instance whose address is not host:port");
            return None;
        }
    };
    if address.ip().is_unspecified() {
        tracing::warn!(
            key = ?kv.key_str(),
            %address,
            "an instance registered an unspecified address, which reaches only this host; \
             it should register the address others reach it at (KITEX_IP_TO_REGISTRY for Kitex)"
        );
    }
    Some(Arc::new(Instance {
        address: address.into(),
        weight: info.effective_weight(),
        tags: info
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    }))
}

/// The address a host name stands for now, IPv4 first (a Go server listening on `:port`
/// accepts both families, one bound to an IPv4 address only IPv4). A new answer is taken when
/// the instance's key is written again, as a restarted instance does.
async fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await;
    let addrs: Vec<SocketAddr> = match lookup {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(err)) => {
            tracing::warn!(host, %err, "ignoring an instance whose host name does not resolve");
            return None;
        }
        Err(_) => {
            tracing::warn!(
                host,
                "ignoring an instance whose host name did not resolve in time"
            );
            return None;
        }
    };
    let chosen = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied();
    if chosen.is_none() {
        tracing::warn!(host, "ignoring an instance whose host name has no address");
    }
    chosen
}
