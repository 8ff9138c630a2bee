use clap::Args;
use volo_etcd_registry::{DEFAULT_PREFIX, ServiceName};

/// Where the rpc-server replicas register and where the http-server looks for them.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// etcd endpoints, comma-separated. Empty: no registry.
    #[arg(
        long,
        env = "ETCD_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379"
    )]
    pub etcd_endpoints: Vec<String>,

    /// The service name the rpc-server replicas register under.
    #[arg(long, env = "IM_RPC_SERVICE", default_value = "im.rpc")]
    pub service_name: String,

    /// Key prefix in etcd; the default is Kitex's, so Go services can share the registry.
    #[arg(long, env = "IM_REGISTRY_PREFIX", default_value = DEFAULT_PREFIX)]
    pub registry_prefix: String,
}

impl RegistryArgs {
    /// The etcd endpoints, or `None` when no registry is configured.
    pub fn endpoints(&self) -> Option<Vec<String>> {
        let endpoints: Vec<String> = self
            .etcd_endpoints
            .iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        (!endpoints.is_empty()).then_some(endpoints)
    }

    pub fn service(&self) -> ServiceName {
        ServiceName::new(&self.registry_prefix, &self.service_name)
    }
}
