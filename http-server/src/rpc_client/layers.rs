//! Layers between volo's load balancer and the transport, where the chosen replica is known.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use im_idl::{ImServiceRequestSend, ImServiceResponseRecv};
use metainfo::METAINFO;
use tokio::sync::Semaphore;
use volo::Service;
use volo::context::Context;
use volo::layer::Layer;
use volo::net::Address;
use volo_thrift::ClientError;
use volo_thrift::context::ClientContext;

use super::retry::{Decision, NoAnswer, Repeat, decide, for_load_balancer};

/// Runs each attempt of a call, the first and every retry: bounds it in time when a retry on
/// another replica is harmless, lets [`retry::decide`] judge a failure, and notes it as the
/// call's [`LastAttempt`].
///
/// A Send without a client_msg_id gets no time of its own: a replica that is only slow may
/// still store it. A Pull, or a Send with an id, gets `attempt_timeout` (a pull its wait on top),
/// so that a replica that stopped answering (frozen, its lease not yet expired) costs a caller a
/// slower answer, not a failed one.
#[derive(Clone)]
pub(super) struct RetryPolicyLayer {
    pub attempt_timeout: Duration,
}

impl<S> Layer<S> for RetryPolicyLayer {
    type Service = RetryPolicy<S>;

    fn layer(self, inner: S) -> Self::Service {
        RetryPolicy {
            inner,
            attempt_timeout: self.attempt_timeout,
        }
    }
}

#[derive(Clone)]
pub(super) struct RetryPolicy<S> {
    inner: S,
    attempt_timeout: Duration,
}

impl<S> Service<ClientContext, ImServiceRequestSend> for RetryPolicy<S>
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
        let repeat = Repeat::of(&req);
        let attempt_timeout = match repeat {
            Repeat::Duplicates => None,
            Repeat::Harmless => Some(self.attempt_timeout + wait(&req)),
        };
        let result = match attempt_timeout {
            Some(attempt_timeout) => {
                // Sent in the TTHeader: the replica answers "unavailable" before this attempt
                // would time out (its database frozen, say), so only a silent replica is retried.
                cx.rpc_info_mut()
                    .config_mut()
                    .set_rpc_timeout(Some(attempt_timeout));
                tokio::time::timeout(attempt_timeout, self.inner.call(cx, req))
                    .await
                    .unwrap_or_else(|_| Err(NoAnswer(attempt_timeout).into_client_error()))
            }
            None => self.inner.call(cx, req).await,
        };
        let failure = result
            .as_ref()
            .err()
            .map(|err| (decide(err, repeat), err.to_string()));
        if let Some(replica) = cx.rpc_info.callee().address.clone() {
            note_attempt(LastAttempt {
                replica,
                failure: failure.clone(),
            });
        }
        match (result, failure) {
            (Err(err), Some((decision, _))) => Err(for_load_balancer(err, decision)),
            (result, _) => result,
        }
    }
}

/// How long a read may wait at the rpc-server for something new (`wait_ms`).
fn wait(req: &ImServiceRequestSend) -> Duration {
    let wait_ms = match req {
        ImServiceRequestSend::Send(_)
        | ImServiceRequestSend::SendBatch(_)
        | ImServiceRequestSend::PullBatch(_)
        | ImServiceRequestSend::AwaitPulls(_) => None,
        ImServiceRequestSend::Pull(pull) => pull.req.wait_ms,
        ImServiceRequestSend::Chats(chats) => chats.req.wait_ms,
    };
    Duration::from_millis(wait_ms.map_or(0, |ms| u64::try_from(ms).unwrap_or(0)))
}

/// At most `limit` calls in flight to each replica, calls that may wait aside; further calls
/// wait for one to finish (within the caller's timeout). Each call holds one pooled connection, so this also bounds
/// the connections per replica.
#[derive(Clone)]
pub(super) struct PerReplicaLimitLayer {
    limit: usize,
    permits: Arc<Mutex<HashMap<Address, Arc<Semaphore>>>>,
}

impl PerReplicaLimitLayer {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            permits: Arc::default(),
        }
    }
}

impl<S> Layer<S> for PerReplicaLimitLayer {
    type Service = PerReplicaLimit<S>;

    fn layer(self, inner: S) -> Self::Service {
        PerReplicaLimit {
            limits: self,
            inner,
        }
    }
}

#[derive(Clone)]
pub(super) struct PerReplicaLimit<S> {
    limits: PerReplicaLimitLayer,
    inner: S,
}

impl<S> Service<ClientContext, ImServiceRequestSend> for PerReplicaLimit<S>
where
    S: Service<ClientContext, ImServiceRequestSend, Error = ClientError> + Send + Sync,
{
    type Response = S::Response;
    type Error = ClientError;

    async fn call(
        &self,
        cx: &mut ClientContext,
        req: ImServiceRequestSend,
    ) -> Result<S::Response, ClientError> {
        // A call that may wait holds its connection idle for long: it is bounded by the cap on
        // waiting calls instead, or a few hundred of them would stall every other call.
        if !wait(&req).is_zero() {
            return self.inner.call(cx, req).await;
        }
        let permits = cx.rpc_info.callee().address.clone().map(|address| {
            let mut all = self.limits.permits.lock().expect("lock");
            all.entry(address)
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.limit)))
                .clone()
        });
        let _permit = match &permits {
            Some(permits) => Some(permits.acquire().await.expect("never closed")),
            None => None,
        };
        self.inner.call(cx, req).await
    }
}

/// The replica of a call's last attempt and how that attempt failed, kept in the task's
/// metainfo: volo's load balancer answers "retry reaches end" once every replica failed, which
/// names neither.
#[derive(Clone, Debug)]
pub(super) struct LastAttempt {
    pub replica: Address,
    /// What the failure came to, and the error as it read.
    pub failure: Option<(Decision, String)>,
}

impl fmt::Display for LastAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Some((_, error)) => write!(f, "{} ({error})", self.replica),
            None => write!(f, "{}", self.replica),
        }
    }
}

fn note_attempt(attempt: LastAttempt) {
    // Outside a metainfo scope (never, through `RpcClient`) there is nowhere to note it.
    let _ = METAINFO.try_with(|info| info.borrow_mut().insert(attempt));
}
