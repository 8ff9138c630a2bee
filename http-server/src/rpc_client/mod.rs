//! The Thrift client of the rpc-servers. A call goes to the replicas that etcd (or
//! `IM_RPC_ADDRS`) names, in the order of a consistent-hash ring keyed by room, so that one
//! room's calls go to one replica (`ring`); the one retry loop (`calls`) tries the next replica
//! when `retry` says that is safe, and tells each failed call apart as unavailable, timed out,
//! of unknown outcome, or internal. At each replica, calls of a kind are carried together by one
//! generic batcher (`batcher`): sends and pulls in batches (`exchanges`), calls that may wait
//! handed over to wait there (`awaits`), single calls to replicas that know neither
//! (`per_replica`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use im_idl::{
    ChatsRequest, ChatsResponse, ImServiceClientBuilder, MarkReadRequest, MarkReadResponse,
    PullRequest, PullResponse, SendRequest, SendResponse,
};
use volo_etcd_registry::EtcdDiscover;

use leaving::{Leaving, LeavingLayer};
use per_replica::PerReplica;
use request::{Reply, Request};
use retry::Decision;
use ring::Ring;

mod awaits;
mod batcher;
mod calls;
mod ejection;
mod exchanges;
mod leaving;
mod per_replica;
mod request;
mod retry;
mod ring;

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
    replicas: Replicas,
    ring: Ring,
    per_replica: Arc<PerReplica>,
    timeout: Duration,
    /// One attempt's time, besides the wait of a call that may wait.
    attempt_timeout: Duration,
}

impl RpcClient {
    /// `calls_per_replica` bounds the single calls in flight to one replica;
    /// `exchanges_per_replica` the exchanges of a kind that carry batches (see [`batcher`]), and
    /// so the connections open to it (0: every call alone).
    pub fn new(
        replicas: Replicas,
        timeout: Duration,
        calls_per_replica: usize,
        exchanges_per_replica: usize,
    ) -> Self {
        let leaving = Arc::new(Leaving::default());
        // Addressed per call: the ring chooses, no discovery or balancing of its own.
        let client = || {
            ImServiceClientBuilder::new(SERVICE)
                .disable_timeout_layer()
                .connect_timeout(Some(Duration::from_secs(1)))
                .layer_inner(LeavingLayer(leaving.clone()))
                .build()
        };
        let per_replica = Arc::new(PerReplica::new(
            [client(), client()],
            leaving.clone(),
            exchanges_per_replica,
            calls_per_replica,
        ));
        // The first replica on the ring and up to RETRIES next ones are tried.
        let ring = Ring::new(&replicas, SERVICE, RETRIES + 1, per_replica.clone());
        Self {
            replicas,
            ring,
            per_replica,
            timeout,
            attempt_timeout: timeout / 2,
        }
    }

    /// How many replicas are known now.
    pub fn replica_count(&self) -> usize {
        self.replicas.count()
    }

    pub async fn send(&self, req: SendRequest) -> Result<SendResponse, RpcError> {
        let room = room_hash(req.message.chat.as_deref().unwrap_or_default());
        let reply = self.call("send", room, Request::Send(req), Duration::ZERO);
        answer(reply.await?)
    }

    /// A pull that may wait up to `wait` at the rpc-server: its timeout is that much longer.
    pub async fn pull(&self, req: PullRequest, wait: Duration) -> Result<PullResponse, RpcError> {
        let room = room_hash(&req.chat);
        answer(self.call("pull", room, Request::Pull(req), wait).await?)
    }

    /// An inbox listing that may wait up to `wait` at the rpc-server. A member's listings go to
    /// one replica, so those waiting together share its reads.
    pub async fn chats(
        &self,
        req: ChatsRequest,
        wait: Duration,
    ) -> Result<ChatsResponse, RpcError> {
        let member = routing_hash(req.member.as_bytes());
        answer(
            self.call("chats", member, Request::Chats(req), wait)
                .await?,
        )
    }
}

impl RpcClient {
    /// A read marker moves at the replica of its room, where the room's sends go.
    pub async fn mark_read(&self, req: MarkReadRequest) -> Result<MarkReadResponse, RpcError> {
        let room = room_hash(&req.chat);
        let reply = self.call("mark_read", room, Request::MarkRead(req), Duration::ZERO);
        answer(reply.await?)
    }
}

/// An answer of another kind than the call would be a replica's bug.
fn answer<T: TryFrom<Reply>>(reply: Reply) -> Result<T, RpcError> {
    T::try_from(reply).map_err(|_| RpcError::Internal)
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

    /// A waiting pull holds its call's future for the whole wait, ten thousand of them at once:
    /// it was 7.5 KiB while the client's own call (a rare path) and the choice of a replica
    /// were kept in it.
    #[tokio::test]
    async fn a_waiting_pull_holds_little_over_its_wait() {
        let client = RpcClient::new(Replicas::Fixed(vec![]), Duration::from_secs(1), 8, 2);
        let pull = client.pull(PullRequest::default(), Duration::from_secs(10));
        let size = std::mem::size_of_val(&pull);
        assert!(size <= 2304, "a waiting pull's future is {size} bytes");
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
