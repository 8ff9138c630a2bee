//! This replica's entry in etcd: which address to advertise, and registering it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use volo_etcd_registry::{DEFAULT_WEIGHT, InstanceInfo, Registration};

use crate::config::Config;
use crate::readiness::Register;

/// The address other hosts reach this replica at: never 0.0.0.0.
pub fn advertise_address(config: &Config) -> SocketAddr {
    if let Some(addr) = config.advertise {
        return addr;
    }
    let listen = config.listen;
    if !listen.ip().is_unspecified() {
        return listen;
    }
    let ip = local_ip_address::local_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, listen.port())
}

/// How to register this replica, if a registry is configured. Each call of the returned
/// [`Register`] starts a registration that returns at once and retries in the background while
/// etcd is unreachable.
pub async fn registrar(config: &Config) -> anyhow::Result<Option<Register>> {
    let Some(endpoints) = config.registry.endpoints() else {
        tracing::info!("no ETCD_ENDPOINTS: not registering");
        return Ok(None);
    };
    let advertise = advertise_address(config);
    let client = volo_etcd_registry::connect(&endpoints).await?;
    let key = config.registry.service().instance_key(advertise);
    let info = InstanceInfo::tcp(advertise, DEFAULT_WEIGHT, HashMap::new());
    let ttl = Duration::from_secs(config.registry_ttl_secs);
    Ok(Some(Box::new(move || {
        tracing::info!(%key, "registering in etcd");
        Registration::start(client.clone(), key.clone(), &info, ttl)
    })))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn config(args: &[&str]) -> Config {
        Config::parse_from(std::iter::once("rpc-server").chain(args.iter().copied()))
    }

    #[test]
    fn an_explicit_advertise_address_wins() {
        let config = config(&["--listen", "0.0.0.0:8888", "--advertise", "10.1.2.3:9999"]);
        assert_eq!(advertise_address(&config), "10.1.2.3:9999".parse().unwrap());
    }

    #[test]
    fn a_specific_listen_address_is_advertised_as_is() {
        let config = config(&["--listen", "127.0.0.1:7777"]);
        assert_eq!(
            advertise_address(&config),
            "127.0.0.1:7777".parse().unwrap()
        );
    }

    #[test]
    fn the_wildcard_address_is_never_advertised() {
        let advertised = advertise_address(&config(&["--listen", "0.0.0.0:8888"]));
        assert!(!advertised.ip().is_unspecified());
        assert_eq!(advertised.port(), 8888);
    }
}
