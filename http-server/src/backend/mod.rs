//! The Thrift client of the rpc-servers: volo's consistent-hash load balancer over the replicas
//! that etcd (or `IM_RPC_ADDRS`) names, keyed by room so that one room's calls go to one replica,
//! a retry on the next replica when one cannot be reached, and failures sorted into
//! "unreachable", "too slow" and "broken".

use std::cell::RefCell;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use im_idl::{
    ChatsRequest, ChatsResponse, ImServiceClient, ImServiceClientBuilder, PullRequest,
    PullResponse, SendRequest, SendResponse,
};
use metainfo::{METAINFO, MetaInfo};
use volo::discovery::StaticDiscover;
use volo::loadbalance::RequestHash;
use volo::loadbalance::consistent_hash::{ConsistentHashBalance, ConsistentHashOption};
use volo_etcd_registry::EtcdDiscover;
use volo_thrift::ClientError;

use layers::{
    LastAttempt, NoteAttemptLayer, PerReplicaLimitLayer, RetryPolicyLayer, SEND_OUTCOME_UNKNOWN,
};

mod layers;

/// Replicas tried for one call: the first pick and up to two others.
const RETRIES: usize = 2;

#[derive(Debug)]
pub enum BackendError {
    /// No replica could be reached: the call never ran.
    Unavailable,
    /// A Send's replica failed after the request may have reached it.
    OutcomeUnknown,
    Timeout,
    Internal,
}

impl BackendError {
    /// The `outcome` label of the client metrics and the `kind` of the failure log line.
    fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }
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
            // The first replica on the ring and up to RETRIES next ones are tried.
            .load_balance(ConsistentHashBalance::new(ConsistentHashOption::new(
                RETRIES + 1,
                100,
                true,
            )))
            .layer_inner(RetryPolicyLayer {
                attempt_timeout: timeout / 2,
            })
            .layer_inner(PerReplicaLimitLayer::new(calls_per_replica))
            .layer_inner(NoteAttemptLayer)
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
        let room = room_hash(req.message.chat.as_deref().unwrap_or_default());
        let retried_safely = req.message.client_msg_id.is_some();
        match self
            .call("send", room, self.timeout, Box::pin(self.client.send(req)))
            .await
        {
            // Without an id, a send that timed out may have been stored.
            Err(BackendError::Timeout) if !retried_safely => Err(BackendError::OutcomeUnknown),
            other => other,
        }
    }

    /// A pull that may wait up to `wait` at the rpc-server: its timeout is that much longer.
    pub async fn pull(
        &self,
        req: PullRequest,
        wait: Duration,
    ) -> Result<PullResponse, BackendError> {
        let room = room_hash(&req.chat);
        self.call(
            "pull",
            room,
            self.timeout + wait,
            Box::pin(self.client.pull(req)),
        )
        .await
    }

    /// An inbox listing that may wait up to `wait` at the rpc-server. A member's listings go to
    /// one replica, so those waiting together share its reads.
    pub async fn chats(
        &self,
        req: ChatsRequest,
        wait: Duration,
    ) -> Result<ChatsResponse, BackendError> {
        let mut hasher = DefaultHasher::new();
        req.member.hash(&mut hasher);
        self.call(
            "chats",
            hasher.finish(),
            self.timeout + wait,
            Box::pin(self.client.chats(req)),
        )
        .await
    }

    /// `call` comes boxed: the client's futures are large, and moving them by value through the
    /// layers here showed as memory copying in profiles.
    async fn call<T>(
        &self,
        method: &'static str,
        room: u64,
        timeout: Duration,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, BackendError> {
        let started = Instant::now();
        // The consistent-hash balancer reads the key of the call from the task's metainfo, and
        // `NoteAttemptLayer` leaves the last replica tried there.
        let (result, last_attempt) = METAINFO
            .scope(RefCell::new(MetaInfo::default()), async {
                METAINFO.with(|info| info.borrow_mut().insert(RequestHash(room)));
                let result = tokio::time::timeout(timeout, call).await;
                let last_attempt =
                    METAINFO.with(|info| info.borrow().get::<LastAttempt>().cloned());
                (result, last_attempt)
            })
            .await;
        let result = match result {
            Err(_) => Err(BackendError::Timeout),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(ClientError::Biz(err))) if err.status_code == SEND_OUTCOME_UNKNOWN => {
                Err(BackendError::OutcomeUnknown)
            }
            // Every replica tried, the last one silent: the backend timed out.
            Ok(Err(err))
                if is_unreachable(&err) && last_attempt.as_ref().is_some_and(|a| a.timed_out) =>
            {
                Err(BackendError::Timeout)
            }
            Ok(Err(err)) if is_unreachable(&err) => Err(BackendError::Unavailable),
            Ok(Err(_)) => Err(BackendError::Internal),
        };
        let elapsed = started.elapsed();
        let outcome = result.as_ref().err().map_or("ok", BackendError::kind);
        metrics::histogram!("im_rpc_client_duration_seconds", "method" => method, "outcome" => outcome)
            .record(elapsed);
        if let Err(err) = &result {
            let replica = last_attempt.map_or_else(|| "none known".to_owned(), |a| a.to_string());
            let elapsed_ms = elapsed.as_millis() as u64;
            match err {
                BackendError::Internal => {
                    tracing::error!(method, kind = err.kind(), %replica, elapsed_ms, "rpc call failed")
                }
                _ => {
                    tracing::warn!(method, kind = err.kind(), %replica, elapsed_ms, "rpc call failed")
                }
            }
        }
        result
    }
}

/// Both spellings of a room (`bob:al`, `al:bob`) hash alike; a malformed chat hashes as it is
/// (the rpc-server refuses it anyway).
fn room_hash(chat: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    match im_domain::Room::parse(chat) {
        Ok(room) => room.key().hash(&mut hasher),
        Err(_) => chat.hash(&mut hasher),
    }
    hasher.finish()
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
