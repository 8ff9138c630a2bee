//! Layers between volo's load balancer and the transport, where the chosen replica is known.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use im_idl::{ImServiceRequestSend, ImServiceResponseRecv};
use metainfo::METAINFO;
use tokio::sync::Semaphore;
use volo::Service;
use volo::context::Context;
use volo::layer::Layer;
use volo::net::Address;
use volo_thrift::context::ClientContext;
use volo_thrift::{BizError, ClientError};

/// Marks a Send whose replica failed after the request may have reached it.
pub(super) const SEND_OUTCOME_UNKNOWN: i32 = -1;

/// When the load balancer may try a call again on another replica. A Send without a
/// client_msg_id only if the first replica never got it: a connection that failed mid-call may
/// have delivered it, and running it twice would store the message twice. A Send with an id
/// always, and also when an attempt takes longer than `attempt_timeout`: the rpc-servers store
/// an id once, whichever replica gets it, so a retry is safe. A Pull is a read, safe to run
/// twice: it is retried like a Send with an id, its attempt allowed its wait on top, so that a
/// replica that stopped answering (frozen, its lease not yet expired) costs a caller a slower
/// answer, not a failed one.
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
        let attempt_timeout = match &req {
            ImServiceRequestSend::Send(send) if send.req.message.client_msg_id.is_none() => None,
            ImServiceRequestSend::Send(_) => Some(self.attempt_timeout),
            ImServiceRequestSend::Pull(_) | ImServiceRequestSend::Chats(_) => {
                Some(self.attempt_timeout + may_wait(&req).unwrap_or_default())
            }
        };
        if let Some(attempt_timeout) = attempt_timeout {
            // Sent in the TTHeader: the replica answers "unavailable" before this attempt
            // would time out (its database frozen, say), so only a silent replica is retried.
            cx.rpc_info_mut()
                .config_mut()
                .set_rpc_timeout(Some(attempt_timeout));
            return match tokio::time::timeout(attempt_timeout, self.inner.call(cx, req)).await {
                Ok(result) => result,
                Err(_) => {
                    if let Some(replica) = cx.rpc_info.callee().address.clone() {
                        note_attempt(LastAttempt {
                            replica,
                            error: Some(format!("no answer within {attempt_timeout:?}")),
                            timed_out: true,
                        });
                    }
                    // A transport error is what the load balancer retries.
                    Err(ClientError::Transport(
                        io::Error::new(io::ErrorKind::TimedOut, "the attempt took too long").into(),
                    ))
                }
            };
        }
        match self.inner.call(cx, req).await {
            Err(ClientError::Transport(err)) if !never_delivered(err.kind()) => {
                Err(ClientError::Biz(BizError::new(
                    SEND_OUTCOME_UNKNOWN,
                    format!("the rpc-server failed during the send ({err})").into(),
                )))
            }
            other => other,
        }
    }
}

/// How long a pull or an inbox listing may wait at the rpc-server, if it may.
fn may_wait(req: &ImServiceRequestSend) -> Option<Duration> {
    let wait_ms = match req {
        ImServiceRequestSend::Pull(pull) => pull.req.wait_ms,
        ImServiceRequestSend::Chats(chats) => chats.req.wait_ms,
        ImServiceRequestSend::Send(_) => None,
    }?;
    Some(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)))
}

/// Connection failures that happen before a single byte of the request left.
fn never_delivered(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused | AddrNotAvailable | NetworkUnreachable | HostUnreachable | TimedOut
    )
}

/// At most `limit` calls in flight to each replica, pulls that may wait aside; further calls
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
        // A call that may wait holds its call idle for long: it is bounded by the cap on
        // waiting calls instead, or a few hundred of them would stall every other call.
        if may_wait(&req).is_some() {
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
    pub error: Option<String>,
    /// The replica gave no answer within the attempt's time.
    pub timed_out: bool,
}

impl fmt::Display for LastAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(error) => write!(f, "{} ({error})", self.replica),
            None => write!(f, "{}", self.replica),
        }
    }
}

/// Notes every attempt as [`LastAttempt`], for the one log line of a failed call.
#[derive(Clone)]
pub(super) struct NoteAttemptLayer;

impl<S> Layer<S> for NoteAttemptLayer {
    type Service = NoteAttempt<S>;

    fn layer(self, inner: S) -> Self::Service {
        NoteAttempt(inner)
    }
}

#[derive(Clone)]
pub(super) struct NoteAttempt<S>(S);

impl<S, Req> Service<ClientContext, Req> for NoteAttempt<S>
where
    S: Service<ClientContext, Req, Error = ClientError> + Send + Sync,
    Req: Send,
{
    type Response = S::Response;
    type Error = ClientError;

    async fn call(&self, cx: &mut ClientContext, req: Req) -> Result<S::Response, ClientError> {
        let result = self.0.call(cx, req).await;
        if let Some(replica) = cx.rpc_info.callee().address.clone() {
            note_attempt(LastAttempt {
                replica,
                error: result.as_ref().err().map(ToString::to_string),
                timed_out: false,
            });
        }
        result
    }
}

fn note_attempt(attempt: LastAttempt) {
    // Outside a metainfo scope (never, through `Backend`) there is nowhere to note it.
    let _ = METAINFO.try_with(|info| info.borrow_mut().insert(attempt));
}
