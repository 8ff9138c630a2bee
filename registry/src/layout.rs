use std::collections::HashMap;
use std::net::SocketAddr;

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
}
