//! The Thrift client of the rpc-servers: volo's load balancer over the replicas that etcd (or
//! `IM_RPC_ADDRS`) names, a retry on another replica when one cannot be reached, and failures
//! sorted into "unreachable", "too slow" and "broken".

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use im_idl::{
    ImServiceClient, ImServiceClientBuilder, PullRequest, PullResponse, SendRequest, SendResponse,
};
use volo::discovery::StaticDiscover;
use volo_etcd_registry::EtcdDiscover;
use volo_thrift::ClientError;

use layers::{PerReplicaLimitLayer, SEND_OUTCOME_UNKNOWN, SendAtMostOnceLayer};

mod layers;

/// Replicas tried for one call: the first pick and up to two others.
const RETRIES: usize = 2;

#[derive(Debug)]
pub enum BackendError {
    Unavailable(String),
    Timeout,
    Internal(String),
}

/// Where the replicas come from.
#[derive(Clone)]
pub enum Replicas {
    Fixed(Vec<SocketAddr>),
    Etcd(EtcdDiscover),
}

impl Replicas {
    pub fn count(&self) -> usize {
        match self {
            Self::Fixed(addrs) => addrs.len(),
            Self::Etcd(discover) => discover.instances().len(),
        }
    }
}

#[derive(Clone)]
pub struct Backend {
    client: ImServiceClient,
    replicas: Replicas,
    timeout: Duration,
}

impl Backend {
    /// `calls_per_replica` bounds the calls in flight to one replica, and so the connections
    /// open to it: volo's pool alone does not.
    pub fn new(replicas: Replicas, timeout: Duration, calls_per_replica: usize) -> Self {
        let builder = ImServiceClientBuilder::new("im-rpc")
            .layer_inner(SendAtMostOnceLayer)
            .layer_inner(PerReplicaLimitLayer::new(calls_per_replica))
            .retry_count(RETRIES)
            // This layer's own timeout cannot be told apart from other failures; `call` times out.
            .disable_timeout_layer()
            .connect_timeout(Some(Duration::from_secs(1)));
        let client = match &replicas {
            Replicas::Fixed(addrs) => builder
                .discover(StaticDiscover::from(addrs.clone()))
                .build(),
            Replicas::Etcd(discover) => builder.discover(discover.clone()).build(),
        };
        Self {
            client,
            replicas,
            timeout,
        }
    }

    /// How many replicas are known now.
    pub fn replica_count(&self) -> usize {
        self.replicas.count()
    }

    pub async fn send(&self, req: SendRequest) -> Result<SendResponse, BackendError> {
        self.call("send", self.client.send(req)).await
    }

    pub async fn pull(&self, req: PullRequest) -> Result<PullResponse, BackendError> {
        self.call("pull", self.client.pull(req)).await
    }

    async fn call<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, BackendError> {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(BackendError::Timeout),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(ClientError::Biz(err))) if err.status_code == SEND_OUTCOME_UNKNOWN => {
                Err(BackendError::Unavailable(err.status_message.to_string()))
            }
            Ok(Err(err)) if is_unreachable(&err) => Err(BackendError::Unavailable(err.to_string())),
            Ok(Err(err)) => Err(BackendError::Internal(err.to_string())),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(BackendError::Unavailable(_)) => "unavailable",
            Err(BackendError::Timeout) => "timeout",
            Err(BackendError::Internal(_)) => "internal",
        };
        metrics::histogram!("im_rpc_client_duration_seconds", "method" => method, "outcome" => outcome)
            .record(started.elapsed());
        result
    }
}

/// No replica could be reached. volo's load balancer reports running out of replicas to try,
/// or having none at all, as an application exception carrying a `LoadBalanceError` message.
fn is_unreachable(err: &ClientError) -> bool {
    match err {
        ClientError::Transport(_) => true,
        ClientError::Application(err) => err.message().contains("load balance"),
        _ => false,
    }
}
