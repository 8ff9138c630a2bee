//! The Thrift client of the rpc-servers: spreads calls over them and sorts failures into
//! "unreachable", "too slow" and "broken".

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use im_idl::{
    ImServiceClient, ImServiceClientBuilder, PullRequest, PullResponse, SendRequest, SendResponse,
};
use volo::discovery::StaticDiscover;
use volo_thrift::ClientError;

#[derive(Debug)]
pub enum BackendError {
    Unavailable(String),
    Timeout,
    Internal(String),
}

#[derive(Clone)]
pub struct Backend {
    client: ImServiceClient,
    timeout: Duration,
}

impl Backend {
    pub fn new(addrs: Vec<SocketAddr>, timeout: Duration) -> Self {
        let client = ImServiceClientBuilder::new("im-rpc")
            .discover(StaticDiscover::from(addrs))
            // This layer's own timeout cannot be told apart from other failures; `call` times out.
            .disable_timeout_layer()
            .connect_timeout(Some(Duration::from_secs(1)))
            .build();
        Self { client, timeout }
    }

    pub async fn send(&self, req: SendRequest) -> Result<SendResponse, BackendError> {
        self.call(self.client.send(req)).await
    }

    pub async fn pull(&self, req: PullRequest) -> Result<PullResponse, BackendError> {
        self.call(self.client.pull(req)).await
    }

    async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, BackendError> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(BackendError::Timeout),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(err)) if is_unreachable(&err) => Err(BackendError::Unavailable(err.to_string())),
            Ok(Err(err)) => Err(BackendError::Internal(err.to_string())),
        }
    }
}

/// No replica could be reached. volo's load balancer reports a failed connection, or having no
/// replica at all, as an application exception carrying a `LoadBalanceError` message.
fn is_unreachable(err: &ClientError) -> bool {
    match err {
        ClientError::Transport(_) => true,
        ClientError::Application(err) => err.message().contains("load balance"),
        _ => false,
    }
}
