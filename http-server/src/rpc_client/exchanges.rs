//! How sends and pulls travel to one replica: together (`SendBatch`, `PullBatch`), or, to a
//! replica that does not know those (a Kitex server, an older release), one call at a time.
//!
//! Each call keeps its deadline: it travels with it (`BudgetsMs`, or the TTHeader timeout of a
//! single call), and the rpc-server leaves out whatever it did not finish in time.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use im_idl::{
    ImServiceClient, ImServiceOneShotClient, ImServiceRequestSend, ImServiceResponseRecv,
    PullBatchRequest, PullRequest, PullResponse, SendBatchRequest, SendRequest, SendResponse,
};
use volo::client::WithOptService;
use volo::net::Address;
use volo::service::BoxCloneService;
use volo_thrift::client::CallOpt;
use volo_thrift::context::ClientContext;
use volo_thrift::{ApplicationException, ApplicationExceptionKind, ClientError};

use super::batcher::{CallId, Carried, Exchange};
use super::leaving::Leaving;
use super::request::{Reply, Request};
use super::retry::{Failed, Repeat};

/// Calls in one exchange at most; the rpc-server refuses more.
pub(super) const MAX_BATCH: usize = 1024;

/// Taken off each call's budget, for its answer to travel back before its caller gives up.
const ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// How long a replica found not to know a method is called without it; then it is tried
/// again, so a replica upgraded in place gets batches again within this time.
const RELEARN_AFTER: Duration = Duration::from_secs(30);

/// Whether a replica was found not to know a kind of exchange, and when.
#[derive(Default)]
pub(super) struct Unknown(Mutex<Option<Instant>>);

impl Unknown {
    /// Whether to call the replica one by one instead, for now.
    pub(super) fn one_by_one(&self) -> bool {
        let found = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        found.is_some_and(|at| at.elapsed() < RELEARN_AFTER)
    }

    fn found(&self, unknown: bool) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = unknown.then(Instant::now);
    }

    /// Judges an exchange's error: "unknown method" is learned and means nothing ran.
    pub(super) fn judge(&self, err: ClientError, replica: &Address) -> Failed {
        match err {
            ClientError::Application(err)
                if err.kind() == ApplicationExceptionKind::UNKNOWN_METHOD =>
            {
                tracing::info!(%replica, "the replica does not know an exchange: calls go one by one");
                self.found(true);
                Failed::NoBatches
            }
            err => Failed::Error(err),
        }
    }

    pub(super) fn known(&self) {
        self.found(false);
    }
}

/// The client for one call to one replica.
pub(super) type Addressed = ImServiceOneShotClient<
    WithOptService<
        BoxCloneService<
            ClientContext,
            ImServiceRequestSend,
            Option<ImServiceResponseRecv>,
            ClientError,
        >,
        CallOpt,
    >,
>;

/// `client` addressed to `replica`; with `timeout`, told to the replica in the TTHeader, so
/// that it answers "unavailable" (its database frozen, say) before the caller gives up.
pub(super) fn addressed(
    client: &ImServiceClient,
    replica: &Address,
    timeout: Option<Duration>,
) -> Addressed {
    let mut opt = CallOpt {
        address: Some(replica.clone()),
        ..CallOpt::default()
    };
    opt.config.set_rpc_timeout(timeout);
    client.clone().with_callopt(opt)
}

/// What a call still has of its time at `now`, less the time its answer takes to travel back.
pub(super) fn budget_ms(deadline: Instant, now: Instant) -> i32 {
    let budget = deadline.saturating_duration_since(now);
    i32::try_from(budget.saturating_sub(ANSWER_MARGIN).as_millis()).unwrap_or(i32::MAX)
}

/// A request that travels in a batch, and the method that carries one.
pub(super) trait Batched: Send + Sync + Sized + 'static {
    type Response: Send + 'static;
    const METHOD: &'static str;
    /// See [`Exchange::GATHERED_AGAIN`].
    const GATHERED_AGAIN: bool;

    fn repeat(&self) -> Repeat;

    fn carry(
        client: Addressed,
        reqs: Vec<Self>,
        budgets_ms: Vec<i32>,
    ) -> impl Future<Output = Result<Vec<Self::Response>, ClientError>> + Send;
}

impl Batched for SendRequest {
    type Response = SendResponse;
    const METHOD: &'static str = "send";
    // Into the replica's commit lanes' groups.
    const GATHERED_AGAIN: bool = true;

    fn repeat(&self) -> Repeat {
        Repeat::of_send(self)
    }

    async fn carry(
        client: Addressed,
        sends: Vec<Self>,
        budgets_ms: Vec<i32>,
    ) -> Result<Vec<SendResponse>, ClientError> {
        let budgets_ms = Some(budgets_ms);
        Ok(client
            .send_batch(SendBatchRequest { sends, budgets_ms })
            .await?
            .replies)
    }
}

impl Batched for PullRequest {
    type Response = PullResponse;
    const METHOD: &'static str = "pull";
    // A batch's pulls are read in one statement, an exchange's alone.
    const GATHERED_AGAIN: bool = false;

    fn repeat(&self) -> Repeat {
        Repeat::Harmless
    }

    async fn carry(
        client: Addressed,
        pulls: Vec<Self>,
        budgets_ms: Vec<i32>,
    ) -> Result<Vec<PullResponse>, ClientError> {
        let budgets_ms = Some(budgets_ms);
        Ok(client
            .pull_batch(PullBatchRequest { pulls, budgets_ms })
            .await?
            .replies)
    }
}

/// Sends (or pulls) to one replica, many to an exchange.
pub(super) struct Batches<Req> {
    client: ImServiceClient,
    replica: Address,
    unknown: Arc<Unknown>,
    leaving: Arc<Leaving>,
    kind: PhantomData<fn(Req)>,
}

impl<Req> Batches<Req> {
    pub(super) fn new(
        client: ImServiceClient,
        replica: Address,
        unknown: Arc<Unknown>,
        leaving: Arc<Leaving>,
    ) -> Self {
        Self {
            client,
            replica,
            unknown,
            leaving,
            kind: PhantomData,
        }
    }
}

/// Whether a call that `repeat`s so, queued for `replica` at `queued`, goes elsewhere instead
/// (see [`super::retry::Withheld`]).
fn withheld(repeat: Repeat, leaving: &Leaving, replica: &Address, queued: Instant) -> bool {
    repeat == Repeat::Duplicates && leaving.heard_after(replica, queued, Instant::now())
}

impl<Req: Batched> Exchange for Batches<Req> {
    type Item = Req;
    type Reply = Req::Response;
    const METHOD: &'static str = Req::METHOD;
    const MAX_ITEMS: usize = MAX_BATCH;
    const HOLDS: bool = false;
    const GATHERED_AGAIN: bool = Req::GATHERED_AGAIN;

    fn withholds(&self, req: &Req, queued: Instant) -> bool {
        withheld(req.repeat(), &self.leaving, &self.replica, queued)
    }

    async fn exchange(
        &self,
        carried: Carried<Req>,
    ) -> Result<Vec<(CallId, Req::Response)>, Failed> {
        let now = Instant::now();
        let last = carried
            .items
            .iter()
            .map(|(.., deadline)| *deadline)
            .max()
            .unwrap_or(now);
        let count = carried.items.len();
        let mut ids = Vec::with_capacity(count);
        let mut reqs = Vec::with_capacity(count);
        let mut budgets = Vec::with_capacity(count);
        for (id, req, deadline) in carried.items {
            ids.push(id);
            reqs.push(req);
            budgets.push(budget_ms(deadline, now));
        }
        let client = addressed(&self.client, &self.replica, None);
        match tokio::time::timeout_at(last.into(), Req::carry(client, reqs, budgets)).await {
            Err(_) => Err(Failed::Silent(last - now)),
            Ok(Ok(replies)) if replies.len() == count => {
                self.unknown.known();
                Ok(ids.into_iter().zip(replies).collect())
            }
            Ok(Ok(replies)) => Err(Failed::Error(ClientError::Application(
                ApplicationException::new(
                    ApplicationExceptionKind::MISSING_RESULT,
                    format!("{count} calls in a batch got {} answers", replies.len()),
                ),
            ))),
            Ok(Err(err)) => Err(self.unknown.judge(err, &self.replica)),
        }
    }
}

/// Calls to one replica one at a time, each on a connection of its own: what a replica that
/// does not know the batch methods gets.
pub(super) struct Singles {
    client: ImServiceClient,
    replica: Address,
    leaving: Arc<Leaving>,
}

impl Singles {
    pub(super) fn new(client: ImServiceClient, replica: Address, leaving: Arc<Leaving>) -> Self {
        Self {
            client,
            replica,
            leaving,
        }
    }

    /// `request` alone, answered by `deadline` or counted silent. A call that is harmless to
    /// repeat tells the replica its time; a send without an id does not, since a replica that is
    /// only slow may still store it.
    pub(super) async fn call(&self, request: Request, deadline: Instant) -> Result<Reply, Failed> {
        let time = deadline.saturating_duration_since(Instant::now());
        let told = (request.repeat() == Repeat::Harmless).then_some(time);
        let client = addressed(&self.client, &self.replica, told);
        let call = async move {
            match request {
                Request::Send(req) => client.send(req).await.map(Reply::Send),
                Request::Pull(req) => client.pull(req).await.map(Reply::Pull),
                Request::Chats(req) => client.chats(req).await.map(Reply::Chats),
                Request::MarkRead(req) => client.mark_read(req).await.map(Reply::MarkRead),
            }
        };
        match tokio::time::timeout_at(deadline.into(), call).await {
            Ok(result) => result.map_err(Failed::Error),
            Err(_) => Err(Failed::Silent(time)),
        }
    }
}

impl Exchange for Singles {
    type Item = Request;
    type Reply = Reply;
    const METHOD: &'static str = "single";
    const MAX_ITEMS: usize = 1;
    const HOLDS: bool = false;
    const GATHERED_AGAIN: bool = false;

    fn withholds(&self, request: &Request, queued: Instant) -> bool {
        withheld(request.repeat(), &self.leaving, &self.replica, queued)
    }

    async fn exchange(&self, carried: Carried<Request>) -> Result<Vec<(CallId, Reply)>, Failed> {
        let mut replies = Vec::with_capacity(carried.items.len());
        for (id, request, deadline) in carried.items {
            replies.push((id, self.call(request, deadline).await?));
        }
        Ok(replies)
    }
}
