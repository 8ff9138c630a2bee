use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// The key prefix of kitex-contrib/registry-etcd.
pub const DEFAULT_PREFIX: &str = "kitex/registry-etcd";

/// Kitex's default instance weight.
pub const DEFAULT_WEIGHT: u32 = 10;

/// The largest weight taken from the registry. Load balancers build work in proportion to the
/// weight (a consistent-hash ring has virtual nodes per unit of weight), so a foreign service
/// under the same prefix writing 1,000,000 must not cost every client memory and time.
pub const MAX_WEIGHT: u32 = 100;

/// Where one service's instances live: `<prefix>/<service>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    prefix: String,
    service: String,
}

impl ServiceName {
    pub fn new(prefix: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into().trim_end_matches('/').to_owned(),
            service: service.into(),
        }
    }

    /// The prefix every instance key of the service starts with (with the trailing `/`, so that
    /// `im` never matches `im2`).
    pub fn key_prefix(&self) -> String {
        format!("{}/{}/", self.prefix, self.service)
    }

    pub fn instance_key(&self, address: SocketAddr) -> String {
        format!("{}{address}", self.key_prefix())
    }
}

/// The JSON value of an instance key, as Kitex writes and reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub network: String,
    pub address: String,
    pub weight: i64,
    pub tags: Option<HashMap<String, String>>,
}

impl InstanceInfo {
    pub fn tcp(address: SocketAddr, weight: u32, tags: HashMap<String, String>) -> Self {
        Self {
            network: "tcp".to_owned(),
            address: address.to_string(),
            weight: weight.into(),
            tags: Some(tags),
        }
    }

    /// A weight of zero or less (Kitex writes 0 when unset) counts as the default; one above
    /// [`MAX_WEIGHT`] as that.
    pub fn effective_weight(&self) -> u32 {
        match self.weight {
            ..=0 => DEFAULT_WEIGHT,
            w => u32::try_from(w).unwrap_or(MAX_WEIGHT).min(MAX_WEIGHT),
        }
    }
}

/// Where an instance says it listens, read from its `address` as Go services write it.
///
/// kitex-contrib/registry-etcd writes `fmt.Sprintf("%s:%d", host, port)`, where the host is the
/// listener's IP, this host's first IPv4 when the listener had none (`:8888`, `[::]:8888`), or
/// whatever `KITEX_IP_TO_REGISTRY` says: so a hostname (`rpc-server:8888`, a compose service)
/// and an IPv6 address without brackets (`fd00::2:8888`) both occur. The text after the last
/// `:` is therefore always the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceAddress {
    /// An IP address with its port. An unspecified IP (`0.0.0.0`, `::`) is kept as it is: a
    /// connection to it reaches the caller's own host, as it does for a Go Kitex client, which
    /// is right only when both run on one host.
    Ip(SocketAddr),
    /// A host name to resolve (DNS, `/etc/hosts`) before connecting.
    Host(String, u16),
}

impl InstanceAddress {
    /// Reads `host:port`, `[ipv6]:port` or a bare `ipv6:port`; `None` if it is none of those.
    pub fn parse(address: &str) -> Option<Self> {
        if let Ok(addr) = address.parse::<SocketAddr>() {
            return Some(Self::Ip(addr));
        }
        let (host, port) = address.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        if let Ok(ip) = host.parse::<Ipv6Addr>() {
            return Some(Self::Ip(SocketAddr::new(IpAddr::V6(ip), port)));
        }
        is_host_name(host).then(|| Self::Host(host.to_owned(), port))
    }
}

/// A DNS name as RFC 1123 allows it: dot-separated labels of letters, digits and inner hyphens
/// (an underscore is tolerated, as resolvers do). Rules out anything a resolver would be asked
/// for in vain, such as an IPv4 address with a bad octet or text with spaces.
fn is_host_name(host: &str) -> bool {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    host.len() <= 253
        && host.split('.').all(label_ok)
        && !host
            .split('.')
            .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_kitex_layout() {
        let name = ServiceName::new("kitex/registry-etcd/", "im.rpc");
        assert_eq!(name.key_prefix(), "kitex/registry-etcd/im.rpc/");
        assert_eq!(
            name.instance_key("10.0.0.7:8888".parse().unwrap()),
            "kitex/registry-etcd/im.rpc/10.0.0.7:8888"
        );
    }

    #[test]
    fn values_read_and_write_as_kitex_does() {
        let info = InstanceInfo::tcp("10.0.0.7:8888".parse().unwrap(), 10, HashMap::new());
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"network":"tcp","address":"10.0.0.7:8888","weight":10,"tags":{}}"#
        );
        let from_go: InstanceInfo = serde_json::from_str(
            r#"{"network":"tcp","address":"192.168.1.2:8888","weight":0,"tags":null}"#,
        )
        .unwrap();
        assert_eq!(from_go.address, "192.168.1.2:8888");
        assert_eq!(from_go.effective_weight(), DEFAULT_WEIGHT);
    }

    #[test]
    fn weights_are_clamped_to_a_sane_range() {
        let weight = |w: i64| InstanceInfo {
            weight: w,
            ..InstanceInfo::tcp("10.0.0.7:8888".parse().unwrap(), 1, HashMap::new())
        };
        assert_eq!(weight(-5).effective_weight(), DEFAULT_WEIGHT);
        assert_eq!(weight(7).effective_weight(), 7);
        assert_eq!(weight(1_000_000).effective_weight(), MAX_WEIGHT);
        assert_eq!(weight(i64::MAX).effective_weight(), MAX_WEIGHT);
    }

    #[test]
    fn addresses_read_as_registry_etcd_writes_them() {
        let ip = |s: &str| Some(InstanceAddress::Ip(s.parse().unwrap()));
        let host = |h: &str, p| Some(InstanceAddress::Host(h.to_owned(), p));
        assert_eq!(InstanceAddress::parse("10.0.0.7:8888"), ip("10.0.0.7:8888"));
        assert_eq!(
            InstanceAddress::parse("[fd00::2]:8888"),
            ip("[fd00::2]:8888")
        );
        // KITEX_IP_TO_REGISTRY=fd00::2 gives the address without brackets.
        assert_eq!(InstanceAddress::parse("fd00::2:8888"), ip("[fd00::2]:8888"));
        assert_eq!(InstanceAddress::parse("::1:8888"), ip("[::1]:8888"));
        // KITEX_IP_TO_REGISTRY=rpc-server (a compose service name) gives a host name.
        assert_eq!(
            InstanceAddress::parse("rpc-server:8888"),
            host("rpc-server", 8888)
        );
        assert_eq!(
            InstanceAddress::parse("localhost:7000"),
            host("localhost", 7000)
        );
        assert_eq!(
            InstanceAddress::parse("im-1.rpc.svc.cluster.local:8888"),
            host("im-1.rpc.svc.cluster.local", 8888)
        );
        // A Go listener on 0.0.0.0 is written as it is; a Kitex client dials it too.
        assert_eq!(InstanceAddress::parse("0.0.0.0:8888"), ip("0.0.0.0:8888"));
        assert_eq!(InstanceAddress::parse("[::]:8888"), ip("[::]:8888"));
    }

    #[test]
    fn addresses_that_name_nothing_are_refused() {
        for bad in [
            "",
            "10.0.0.7",
            "10.0.0.7:",
            "10.0.0.7:99999",
            "10.0.0.7:port",
            "300.1.1.1:8888",
            ":8888",
            "rpc server:8888",
            "-rpc:8888",
            "rpc..server:8888",
            "/tmp/im.sock",
        ] {
            assert_eq!(InstanceAddress::parse(bad), None, "{bad:?}");
        }
    }
}
