//! The replicas a call goes to, in the order it tries them: volo's consistent-hash ring over the
//! replicas known, keyed by room (or member), so that a room's calls, waiting pulls included,
//! go to one replica (its sends feed its commit lanes together, its waiting pulls are woken
//! there at once). The ring follows discovery, and tells [`PerReplica`] of every replica added,
//! changed or gone.

use std::cell::RefCell;
use std::sync::Arc;

use async_broadcast::RecvError;
use metainfo::{METAINFO, MetaInfo};
use volo::context::Endpoint;
use volo::discovery::{Discover, StaticDiscover};
use volo::loadbalance::consistent_hash::{ConsistentHashBalance, ConsistentHashOption};
use volo::loadbalance::{LoadBalance, RequestHash};
use volo::net::Address;
use volo_etcd_registry::EtcdDiscover;

use super::Replicas;
use super::per_replica::PerReplica;

#[derive(Clone)]
pub(super) struct Ring {
    balance: Arc<ConsistentHashBalance<()>>,
    discovery: Discovery,
    callee: Arc<Endpoint>,
}

#[derive(Clone)]
enum Discovery {
    Fixed(StaticDiscover),
    Etcd(EtcdDiscover),
}

impl Ring {
    /// `tries`: how many replicas a call goes to at most, the first and those after it.
    pub(super) fn new(
        replicas: &Replicas,
        service: &'static str,
        tries: usize,
        per_replica: Arc<PerReplica>,
    ) -> Self {
        let balance = Arc::new(ConsistentHashBalance::new(ConsistentHashOption::new(
            tries, 100, true,
        )));
        let discovery = match replicas {
            Replicas::Fixed(addrs) => Discovery::Fixed(StaticDiscover::from(addrs.clone())),
            Replicas::Etcd(discover) => {
                follow(discover, balance.clone(), per_replica);
                Discovery::Etcd(discover.clone())
            }
        };
        Self {
            balance,
            discovery,
            callee: Arc::new(Endpoint::new(service.into())),
        }
    }

    /// The first replica for `key` not in `tried` (none when no replica is left to try).
    pub(super) async fn next_replica(&self, key: u64, tried: &[Address]) -> Option<Address> {
        // The balancer reads the key from the task's metainfo.
        let mut info = MetaInfo::default();
        info.insert(RequestHash(key));
        let picker = METAINFO.scope(RefCell::new(info), async {
            match &self.discovery {
                Discovery::Fixed(discover) => self.balance.get_picker(&self.callee, discover).await,
                Discovery::Etcd(discover) => self.balance.get_picker(&self.callee, discover).await,
            }
        });
        picker.await.ok()?.find(|replica| !tried.contains(replica))
    }
}

/// Moves the ring with every change discovery reports, until discovery ends.
fn follow(
    discover: &EtcdDiscover,
    balance: Arc<ConsistentHashBalance<()>>,
    per_replica: Arc<PerReplica>,
) {
    let Some(mut changes) = discover.watch(None) else {
        return;
    };
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    // The ring first: a call after it no longer picks a replica that left, so
                    // nothing makes its state again once it is forgotten.
                    let changed: Vec<Address> = (change.added.iter())
                        .chain(&change.updated)
                        .chain(&change.removed)
                        .map(|instance| instance.address.clone())
                        .collect();
                    LoadBalance::<EtcdDiscover>::rebalance(&*balance, change);
                    for replica in &changed {
                        per_replica.forget(replica);
                    }
                }
                Err(RecvError::Closed) => return,
                Err(err) => tracing::warn!(%err, "missed changes of the replicas"),
            }
        }
    });
}
