//! The replicas a call goes to, in the order it tries them: volo's consistent-hash ring over the
//! replicas known, keyed by room (or member). The client's load balancer and the calls that wait
//! (see `waiting`), which leave the client's stack aside, share one ring, so a room's waiting
//! pulls go where its sends go and are woken there at once.

use std::cell::RefCell;
use std::sync::Arc;

use metainfo::{METAINFO, MetaInfo};
use volo::context::Endpoint;
use volo::discovery::{Change, Discover, StaticDiscover};
use volo::loadbalance::consistent_hash::{
    ConsistentHashBalance, ConsistentHashOption, InstancePicker,
};
use volo::loadbalance::error::LoadBalanceError;
use volo::loadbalance::{LoadBalance, RequestHash};
use volo::net::Address;
use volo_etcd_registry::EtcdDiscover;

use super::Replicas;
use super::coalesce::Batches;

#[derive(Clone)]
pub(super) struct Ring {
    balance: Balance,
    discovery: Discovery,
    callee: Arc<Endpoint>,
}

#[derive(Clone)]
enum Discovery {
    Fixed(StaticDiscover),
    Etcd(EtcdDiscover),
}

impl Ring {
    /// `tries`: how many replicas a call goes to at most, the first and those after it;
    /// `batches` hears of each replica that discovery adds, changes or drops.
    pub(super) fn new(
        replicas: &Replicas,
        service: &'static str,
        tries: usize,
        batches: Arc<Batches>,
    ) -> Self {
        let balance = ConsistentHashBalance::new(ConsistentHashOption::new(tries, 100, true));
        let discovery = match replicas {
            Replicas::Fixed(addrs) => Discovery::Fixed(StaticDiscover::from(addrs.clone())),
            Replicas::Etcd(discover) => Discovery::Etcd(discover.clone()),
        };
        Self {
            balance: Balance(Arc::new(balance), batches),
            discovery,
            callee: Arc::new(Endpoint::new(service.into())),
        }
    }

    /// The load balancer for the client, which keeps the ring up to date as replicas come and go.
    pub(super) fn balance(&self) -> Balance {
        self.balance.clone()
    }

    /// The first replica for `key` not in `tried`, in the order the client's load balancer
    /// tries them (none when no replica is left to try).
    pub(super) async fn next_replica(&self, key: u64, tried: &[Address]) -> Option<Address> {
        // The balancer reads the key from the task's metainfo.
        let mut info = MetaInfo::default();
        info.insert(RequestHash(key));
        let picker = METAINFO.scope(RefCell::new(info), async {
            match &self.discovery {
                Discovery::Fixed(discover) => self.balance.pick(&self.callee, discover).await,
                Discovery::Etcd(discover) => self.balance.pick(&self.callee, discover).await,
            }
        });
        picker.await.ok()?.find(|replica| !tried.contains(replica))
    }
}

/// volo's consistent-hash balancer, shared, and what the client learned of each replica, which
/// a change of the replica makes it learn anew (a replica replaced by another release).
#[derive(Clone)]
pub(super) struct Balance(Arc<ConsistentHashBalance<()>>, Arc<Batches>);

impl Balance {
    async fn pick<D: Discover<Key = ()>>(
        &self,
        callee: &Endpoint,
        discover: &D,
    ) -> Result<InstancePicker, LoadBalanceError> {
        self.0.get_picker(callee, discover).await
    }
}

impl<D: Discover<Key = ()>> LoadBalance<D> for Balance {
    type InstanceIter = InstancePicker;

    async fn get_picker<'future>(
        &'future self,
        callee: &'future Endpoint,
        discover: &'future D,
    ) -> Result<InstancePicker, LoadBalanceError> {
        self.pick(callee, discover).await
    }

    fn rebalance(&self, changes: Change<()>) {
        let changed = changes
            .added
            .iter()
            .chain(&changes.updated)
            .chain(&changes.removed);
        for instance in changed {
            self.1.forget(&instance.address);
        }
        LoadBalance::<D>::rebalance(&*self.0, changes);
    }
}
