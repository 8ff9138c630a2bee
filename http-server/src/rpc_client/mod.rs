//! The Thrift client of the rpc-servers: volo's consistent-hash load balancer over the replicas
//! that etcd (or `IM_RPC_ADDRS`) names, keyed by room so that one room's calls go to one replica,
//! a retry on the next replica when `retry` says that is safe, and each failed call told apart as
//! unavailable, timed out, of unknown outcome, or internal. Calls that may wait take a shorter
//! way to the same replicas (`waiting`).

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use im_idl::{
    ChatsRequest, ChatsResponse, ImServiceClient, ImServiceClientBuilder, PullRequest,
    PullResponse, SendRequest, SendResponse,
};
use metainfo::{METAINFO, MetaInfo};
use volo::discovery::StaticDiscover;
use volo::loadbalance::RequestHash;
use volo_etcd_registry::EtcdDiscover;
use volo_thrift::ClientError;

use coalesce::{Awaited, Batches, CallDeadline, CoalesceLayer};
use layers::{LastAttempt, PerReplicaLimitLayer, RetryPolicyLayer};
use retry::{Decision, Repeat, decide};
use ring::Ring;

mod coalesce;
mod layers;
mod retry;
mod ring;
mod waiting;

/// The service name the client calls the replicas by.
const SERVICE: &str = "im-rpc";

/// Replicas tried for one call: the first pick and up to two others.
const RETRIES: usize = 2;

#[derive(Debug)]
pub enum RpcError {
    /// No replica could be reached: the call never ran.
    Unavailable,
    /// A Send's replica failed after the request may have reached it.
    OutcomeUnknown,
    Timeout,
    Internal,
}

/// A failed call, once no replica is left to try.
impl From<Decision> for RpcError {
    fn from(decision: Decision) -> Self {
        match decision {
            Decision::Retry { silent: true } => Self::Timeout,
            Decision::Retry { silent: false } => Self::Unavailable,
            Decision::OutcomeUnknown => Self::OutcomeUnknown,
            Decision::Final => Self::Internal,
        }
    }
}

impl RpcError {
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
pub struct RpcClient {
    client: ImServiceClient,
    replicas: Replicas,
    ring: Ring,
    batches: Arc<Batches>,
    timeout: Duration,
    /// One attempt's time, besides the wait of a call that may wait.
    attempt_timeout: Duration,
}

impl RpcClient {
    /// `calls_per_replica` bounds the calls in flight to one replica; `exchanges_per_replica`
    /// the exchanges that carry them (see [`coalesce`]), and so the connections open to it.
    pub fn new(
        replicas: Replicas,
        timeout: Duration,
        calls_per_replica: usize,
        exchanges_per_replica: usize,
    ) -> Self {
        // Addressed per exchange by `coalesce`: no discovery or balancing of its own.
        let exchanges = ImServiceClientBuilder::new(SERVICE)
            .disable_timeout_layer()
            .connect_timeout(Some(Duration::from_secs(1)))
            .build();
        let batches = Arc::new(Batches::new(exchanges, exchanges_per_replica));
        // The first replica on the ring and up to RETRIES next ones are tried.
        let ring = Ring::new(&replicas, SERVICE, RETRIES + 1, batches.clone());
        let attempt_timeout = timeout / 2;
        let builder = ImServiceClientBuilder::new(SERVICE)
            .load_balance(ring.balance())
            .layer_inner(RetryPolicyLayer { attempt_timeout })
            .layer_inner(PerReplicaLimitLayer::new(calls_per_replica))
            .layer_inner(CoalesceLayer::new(batches.clone()))
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
            ring,
            batches,
            timeout,
            attempt_timeout,
        }
    }

    /// How many replicas are known now.
    pub fn replica_count(&self) -> usize {
        self.replicas.count()
    }

    pub async fn send(&self, req: SendRequest) -> Result<SendResponse, RpcError> {
        let room = room_hash(req.message.chat.as_deref().unwrap_or_default());
        let repeat = Repeat::of_send(&req);
        let call = Box::pin(self.client.send(req));
        self.call("send", room, repeat, self.timeout, call).await
    }

    /// A pull that may wait up to `wait` at the rpc-server: its timeout is that much longer.
    pub async fn pull(&self, req: PullRequest, wait: Duration) -> Result<PullResponse, RpcError> {
        let room = room_hash(&req.chat);
        if !wait.is_zero()
            && let Some(resp) =
                (self.await_change("pull", room, Awaited::Pull(req.clone()), wait)).await?
        {
            return Ok(resp);
        }
        let call = Box::pin(self.client.pull(req));
        self.call("pull", room, Repeat::Harmless, self.timeout + wait, call)
            .await
    }

    /// An inbox listing that may wait up to `wait` at the rpc-server. A member's listings go to
    /// one replica, so those waiting together share its reads.
    pub async fn chats(
        &self,
        req: ChatsRequest,
        wait: Duration,
    ) -> Result<ChatsResponse, RpcError> {
        let member = routing_hash(req.member.as_bytes());
        if !wait.is_zero()
            && let Some(resp) =
                (self.await_change("chats", member, Awaited::Chats(req.clone()), wait)).await?
        {
            return Ok(resp);
        }
        let call = Box::pin(self.client.chats(req));
        self.call("chats", member, Repeat::Harmless, self.timeout + wait, call)
            .await
    }

    /// `call` comes boxed: the client's futures are large, and moving them by value through the
    /// layers here showed as memory copying in profiles.
    async fn call<T>(
        &self,
        method: &'static str,
        room: u64,
        repeat: Repeat,
        timeout: Duration,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, RpcError> {
        let started = Instant::now();
        // The consistent-hash balancer reads the key of the call from the task's metainfo, and
        // `NoteAttemptLayer` leaves the last replica tried there.
        let (result, last_attempt) = METAINFO
            .scope(RefCell::new(MetaInfo::default()), async {
                METAINFO.with(|info| {
                    let mut info = info.borrow_mut();
                    info.insert(RequestHash(room));
                    info.insert(CallDeadline(started + timeout));
                });
                let result = tokio::time::timeout(timeout, call).await;
                let last_attempt =
                    METAINFO.with(|info| info.borrow().get::<LastAttempt>().cloned());
                (result, last_attempt)
            })
            .await;
        let result = match result {
            Ok(Ok(resp)) => Ok(resp),
            Err(deadline) => Err(decide(&deadline, repeat).into()),
            // volo's load balancer returns the error of the first attempt that must not be
            // retried; after the last retryable one (or before any, with no replica known) it
            // returns its own `LoadBalanceError`, which volo-thrift turns into an application
            // exception that keeps only its text. Either way, the last attempt decides.
            Ok(Err(_)) => Err(last_attempt
                .as_ref()
                .and_then(|attempt| attempt.failure.as_ref())
                .map_or(Decision::Retry { silent: false }, |(decision, _)| *decision)
                .into()),
        };
        record(method, started, &result, last_attempt);
        result
    }
}

/// Times a call in the client metrics, and logs it when it failed.
fn record<T>(
    method: &'static str,
    started: Instant,
    result: &Result<T, RpcError>,
    last_attempt: Option<LastAttempt>,
) {
    let elapsed = started.elapsed();
    let outcome = result.as_ref().err().map_or("ok", RpcError::kind);
    metrics::histogram!("im_rpc_client_duration_seconds", "method" => method, "outcome" => outcome)
        .record(elapsed);
    if let Err(err) = result {
        let replica = last_attempt.map_or_else(|| "none known".to_owned(), |a| a.to_string());
        let elapsed_ms = elapsed.as_millis() as u64;
        match err {
            RpcError::Internal => {
                tracing::error!(method, kind = err.kind(), %replica, elapsed_ms, "rpc call failed")
            }
            _ => {
                tracing::warn!(method, kind = err.kind(), %replica, elapsed_ms, "rpc call failed")
            }
        }
    }
}

/// Both spellings of a room (`bob:al`, `al:bob`) hash alike; a malformed chat hashes as it is
/// (the rpc-server refuses it anyway).
fn room_hash(chat: &str) -> u64 {
    match im_domain::Room::parse(chat) {
        Ok(room) => routing_hash(room.key().as_bytes()),
        Err(_) => routing_hash(chat.as_bytes()),
    }
}

/// Where a room's (or a member's) calls go on the ring: MurmurHash3 x64/128 with seed 0, first
/// half, of its bytes, the hash volo's ring places the replicas with. Its algorithm and seed
/// are fixed, so every http-server build, of any Rust release, sends a room to the same replica.
fn routing_hash(key: &[u8]) -> u64 {
    mur3::murmurhash3_x64_128(key, 0).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_hash_to_pinned_values_in_either_spelling() {
        assert_eq!(room_hash("al:bob"), room_hash("bob:al"));
        for (chat, hash) in [
            ("al:bob", PINNED[0]),
            ("wa0:wb0", PINNED[1]),
            ("张三:李四", PINNED[2]),
        ] {
            assert_eq!(room_hash(chat), hash, "{chat}");
        }
        assert_eq!(routing_hash(b"al"), PINNED[3]);
    }

    /// MurmurHash3 x64/128, seed 0, first half: change these and every deployed http-server
    /// routes rooms elsewhere than the new build.
    const PINNED: [u64; 4] = [
        8_556_151_383_402_709_499,
        11_588_525_227_831_794_020,
        3_471_883_010_537_141_505,
        6_249_490_736_401_794_353,
    ];
}
