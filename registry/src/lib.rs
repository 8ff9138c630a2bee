//! etcd service registry and discovery for Volo.
//!
//! - [`Registration`] puts an instance under a lease, keeps the lease alive, registers again by
//!   itself when the lease is lost (etcd restarted, a long partition), and revokes the lease on
//!   [`Registration::deregister`] or drop.
//! - [`EtcdDiscover`] implements volo's [`Discover`](volo::discovery::Discover), `watch`
//!   included: it follows the service's keys and tells the load balancer of every change. While
//!   etcd is unreachable the last known instances stay in use.
//!
//! Keys and values are those of kitex-contrib/registry-etcd, so Go Kitex services and Volo
//! services share one registry: `<prefix>/<service>/<host:port>` holding
//! `{"network":"tcp","address":"host:port","weight":10,"tags":{...}}`. Discovery reads every
//! address registry-etcd writes ([`InstanceAddress`]): an IP, an IPv6 address without brackets,
//! or a host name, which it resolves; `"tags":null` reads as no tags.

mod discover;
mod layout;
mod register;

pub use discover::EtcdDiscover;
pub use layout::{
    DEFAULT_PREFIX, DEFAULT_WEIGHT, InstanceAddress, InstanceInfo, MAX_WEIGHT, ServiceName,
};
pub use register::Registration;

/// Connects to the etcd cluster at `endpoints` (each `http://host:port`).
/// Connecting is lazy: this succeeds while etcd is down and the calls retry later.
pub async fn connect(endpoints: &[String]) -> Result<etcd_client::Client, etcd_client::Error> {
    let options = etcd_client::ConnectOptions::new()
        .with_connect_timeout(std::time::Duration::from_secs(2))
        .with_timeout(std::time::Duration::from_secs(5))
        .with_keep_alive(
            std::time::Duration::from_secs(5),
            std::time::Duration::from_secs(3),
        );
    etcd_client::Client::connect(endpoints, Some(options)).await
}
