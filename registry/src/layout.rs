use std::collections::HashMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The key prefix of kitex-contrib/registry-etcd.
pub const DEFAULT_PREFIX: &str = "kitex/registry-etcd";

/// Kitex's default instance weight.
pub const DEFAULT_WEIGHT: u32 = 10;

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

    /// A weight of zero or less (Kitex writes 0 when unset) counts as the default.
    pub fn effective_weight(&self) -> u32 {
        u32::try_from(self.weight)
            .ok()
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_WEIGHT)
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
}
