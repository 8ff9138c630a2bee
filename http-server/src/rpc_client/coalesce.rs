//! Concurrent sends and pulls bound for one replica, carried in one exchange (`SendBatch`,
//! `PullBatch`): the innermost layer of the client.
//!
//! volo's load balancer has chosen the replica (a room's calls go to one replica, so a batch
//! feeds its commit lanes together), and the layers above see each call as if it went alone:
//! an exchange that fails hands each of its calls the same error, which `retry::decide` judges
//! per call (a send with an id goes to the next replica, one without is "outcome unknown").
//!
//! No timer. While fewer than `exchanges` exchanges to a replica are under way, a call leaves at
//! once, with whatever else is waiting; otherwise it waits for the next one to leave. At one
//! connection a call goes alone and at once; under load each exchange carries what gathered
//! during the previous ones, as the commit lanes do with sends.
//!
//! Each call keeps its deadline: it travels with it (`BudgetsMs`), and the rpc-server leaves
//! out whatever it did not commit in time; a call whose caller went away before its exchange
//! left is left out here. Pulls and inbox listings that may wait never join a batch, which would
//! hold back the others: they are handed over to the replica to wait there, all on one call
//! (`awaits`, reached from `waiting` without the client's layers).
//! Replicas that do not know these methods (a Kitex server, an older release) get their calls
//! one by one. What a replica knows is learned again when discovery reports a change of it (a
//! replica replaced at its address) and after [`RELEARN_AFTER`]; a call that meets "unknown
//! method" where batches worked before (a replica rolled back) is made alone at once: nothing
//! ran, and its caller never sees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use im_idl::{
    ImServiceClient, ImServicePullResultRecv, ImServiceRequestSend, ImServiceResponseRecv,
    ImServiceSendResultRecv, PullRequest, PullResponse, SendRequest, SendResponse,
};
use metainfo::METAINFO;
use volo::Service;
use volo::context::Context;
use volo::layer::Layer;
use volo::net::Address;
use volo_thrift::context::ClientContext;
use volo_thrift::{ApplicationException, ApplicationExceptionKind, ClientError};

use awaits::Awaits;
pub(super) use awaits::{Awaited, Reply};
use exchange::Queue;

mod awaits;
mod exchange;

/// How long what a replica was found to answer is trusted before it is learned again: a
/// replica upgraded in place gets batches again within it.
const RELEARN_AFTER: Duration = Duration::from_secs(30);

/// When the whole call gives up, kept in the task's metainfo by `RpcClient::call`.
#[derive(Clone, Copy, Debug)]
pub(super) struct CallDeadline(pub Instant);

#[derive(Clone)]
pub(super) struct CoalesceLayer {
    batches: Arc<Batches>,
}

impl CoalesceLayer {
    pub(super) fn new(batches: Arc<Batches>) -> Self {
        Self { batches }
    }
}

impl<S> Layer<S> for CoalesceLayer {
    type Service = Coalesce<S>;

    fn layer(self, inner: S) -> Self::Service {
        Coalesce {
            batches: self.batches,
            inner,
        }
    }
}

#[derive(Clone)]
pub(super) struct Coalesce<S> {
    batches: Arc<Batches>,
    inner: S,
}

impl<S> Service<ClientContext, ImServiceRequestSend> for Coalesce<S>
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
    ) -> Result<S::Response, ClientError> {
        let batches = &self.batches;
        let replica = match cx.rpc_info().callee().address.clone() {
            Some(replica) if batches.exchanges > 0 => replica,
            _ => return self.inner.call(cx, req).await,
        };
        if batches.support_of(&replica, Exchange::Batch) == Some(Support::OneByOne) {
            return self.inner.call(cx, req).await;
        }
        // A copy to make alone if the replica answers "unknown method" (not proven yet, or
        // rolled back since): a clone of shared strings.
        let deadline = deadline(cx);
        let (answer, alone) = match req {
            ImServiceRequestSend::Send(send) => {
                let alone = ImServiceRequestSend::Send(send.clone());
                let queue = queue_of(&batches.sends, &replica);
                let answer = queue.call(batches, replica, send.req, deadline).await;
                let answer = answer.map(|resp| {
                    Some(ImServiceResponseRecv::Send(ImServiceSendResultRecv::Ok(
                        resp,
                    )))
                });
                (answer, alone)
            }
            // A pull that may wait comes here only from a replica that cannot hold waiting
            // calls (see `waiting`): it goes alone.
            ImServiceRequestSend::Pull(pull) if pull.req.wait_ms.is_none_or(|ms| ms <= 0) => {
                let alone = ImServiceRequestSend::Pull(pull.clone());
                let queue = queue_of(&batches.pulls, &replica);
                let answer = queue.call(batches, replica, pull.req, deadline).await;
                let answer = answer.map(|resp| {
                    Some(ImServiceResponseRecv::Pull(ImServicePullResultRecv::Ok(
                        resp,
                    )))
                });
                (answer, alone)
            }
            req => return self.inner.call(cx, req).await,
        };
        match answer {
            Ok(resp) => Ok(resp),
            Err(Failed::Error(err)) => Err(err),
            Err(Failed::NoBatches) => self.inner.call(cx, alone).await,
        }
    }
}

/// Why a call that joined a batch got no answer of its own.
pub(super) enum Failed {
    /// The exchange failed: what it failed with.
    Error(ClientError),
    /// The replica does not know the batch methods; nothing ran.
    NoBatches,
}

impl Failed {
    /// A call left without an answer by an exchange that ended (a bug, never a replica's fault).
    fn internal(what: &'static str) -> Self {
        Self::Error(ClientError::Application(ApplicationException::new(
            ApplicationExceptionKind::INTERNAL_ERROR,
            what,
        )))
    }
}

/// The two kinds of exchange a replica may or may not know.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Exchange {
    /// `SendBatch` and `PullBatch`.
    Batch,
    /// `AwaitPulls`.
    Await,
}

/// What a replica was found to answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Support {
    Batches,
    OneByOne,
}

/// What a replica answered, and when that was learned.
#[derive(Clone, Copy)]
struct Learned {
    support: Support,
    at: Instant,
}

/// The earlier of the whole call's deadline and this attempt's own timeout.
fn deadline(cx: &ClientContext) -> Instant {
    let call = METAINFO
        .try_with(|info| info.borrow().get::<CallDeadline>().copied())
        .ok()
        .flatten()
        .map(|deadline| deadline.0);
    let attempt = cx
        .rpc_info()
        .config()
        .rpc_timeout()
        .map(|timeout| Instant::now() + timeout);
    [call, attempt]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(60))
}

pub(super) struct Batches {
    client: ImServiceClient,
    exchanges: usize,
    sends: Mutex<HashMap<Address, Arc<Queue<SendRequest, SendResponse>>>>,
    pulls: Mutex<HashMap<Address, Arc<Queue<PullRequest, PullResponse>>>>,
    awaits: Mutex<HashMap<Address, Arc<Awaits>>>,
    /// Whether a replica answered an exchange of a kind, or "unknown method"; not yet known (or
    /// forgotten): absent.
    support: Mutex<HashMap<(Address, Exchange), Learned>>,
}

impl Batches {
    /// `client` carries the exchanges (addressed per call); `exchanges` bounds those under way
    /// to one replica (0: no batches, every call its own exchange, waiting calls too).
    pub(super) fn new(client: ImServiceClient, exchanges: usize) -> Self {
        Self {
            client,
            exchanges,
            sends: Mutex::default(),
            pulls: Mutex::default(),
            awaits: Mutex::default(),
            support: Mutex::default(),
        }
    }

    /// Whether calls that may wait are handed to the replicas together.
    pub(super) fn hold_waiting_calls(&self) -> bool {
        self.exchanges > 0
    }

    /// Whether `replica` was found not to know `AwaitPulls`.
    pub(super) fn one_by_one(&self, replica: &Address) -> bool {
        self.support_of(replica, Exchange::Await) == Some(Support::OneByOne)
    }

    /// What `replica` was last found to answer to `exchange`, unless that is stale.
    fn support_of(&self, replica: &Address, exchange: Exchange) -> Option<Support> {
        let learned = lock(&self.support)
            .get(&(replica.clone(), exchange))
            .copied()?;
        (learned.at.elapsed() < RELEARN_AFTER).then_some(learned.support)
    }

    fn learn(&self, replica: &Address, exchange: Exchange, support: Support) {
        let learned = Learned {
            support,
            at: Instant::now(),
        };
        lock(&self.support).insert((replica.clone(), exchange), learned);
    }

    /// Discovery reported `replica` added, changed or gone: what it answers is learned anew,
    /// and its queues go (calls under way keep theirs).
    pub(super) fn forget(&self, replica: &Address) {
        lock(&self.support).retain(|(address, _), _| address != replica);
        lock(&self.sends).remove(replica);
        lock(&self.pulls).remove(replica);
    }

    /// Hands `awaited` to `replica`, with the calls waiting there already.
    pub(super) async fn await_at(
        self: &Arc<Self>,
        replica: Address,
        awaited: Awaited,
        deadline: Instant,
    ) -> Result<Reply, Failed> {
        let awaits = queue_of(&self.awaits, &replica);
        awaits.call(self, replica, awaited, deadline).await
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The replica's queue (or awaits) in `queues`, made when new.
fn queue_of<T: Default>(queues: &Mutex<HashMap<Address, Arc<T>>>, replica: &Address) -> Arc<T> {
    lock(queues).entry(replica.clone()).or_default().clone()
}
