//! The Thrift client of the rpc-servers: volo's load balancer over the replicas that etcd (or
//! `IM_RPC_ADDRS`) names, a retry on another replica when one cannot be reached, and failures
//! sorted into "unreachable", "too slow" and "broken".

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use im_idl::{
    ImServiceClient, ImServiceClientBuilder, ImServiceRequestSend, ImServiceResponseRecv,
    PullRequest, PullResponse, SendRequest, SendResponse,
};
use volo::Service;
use volo::discovery::StaticDiscover;
use volo::layer::Layer;
use volo_etcd_registry::EtcdDiscover;
use volo_thrift::context::ClientContext;
use volo_thrift::{BizError, ClientError};

/// Replicas tried for one call: the first pick and up to two others.
const RETRIES: usize = 2;

/// Marks a Send whose replica failed after the request may have reached it.
const SEND_OUTCOME_UNKNOWN: i32 = -1;

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
    pub fn new(replicas: Replicas, timeout: Duration) -> Self {
        let builder = ImServiceClientBuilder::new("im-rpc")
            .layer_inner(SendAtMostOnceLayer)
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

/// Keeps the load balancer from retrying a Send on another replica unless the first one never
/// got it: a connection that failed mid-call may have delivered the Send, and running it twice
/// would store the message twice. Pulls are always safe to retry.
#[derive(Clone)]
struct SendAtMostOnceLayer;

impl<S> Layer<S> for SendAtMostOnceLayer {
    type Service = SendAtMostOnce<S>;

    fn layer(self, inner: S) -> Self::Service {
        SendAtMostOnce(inner)
    }
}

#[derive(Clone)]
struct SendAtMostOnce<S>(S);

impl<S> Service<ClientContext, ImServiceRequestSend> for SendAtMostOnce<S>
where
    S: Service<
            ClientContext,
            ImServiceRequestSend,
            Response = Option<ImServiceResponseRecv>,
            Error = ClientError,
        > + Send
        + Sync,
{
    type Response = S::Response;
    type Error = ClientError;

    async fn call(
        &self,
        cx: &mut ClientContext,
        req: ImServiceRequestSend,
    ) -> Result<Self::Response, Self::Error> {
        let is_send = matches!(req, ImServiceRequestSend::Send(_));
        match self.0.call(cx, req).await {
            Err(ClientError::Transport(err)) if is_send && !never_delivered(err.kind()) => {
                Err(ClientError::Biz(BizError::new(
                    SEND_OUTCOME_UNKNOWN,
                    format!(
                        "the rpc-server failed during the send ({err}); the message may or may \
                         not have been stored"
                    )
                    .into(),
                )))
            }
            other => other,
        }
    }
}

/// Connection failures that happen before a single byte of the request left.
fn never_delivered(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused | AddrNotAvailable | NetworkUnreachable | HostUnreachable | TimedOut
    )
}
