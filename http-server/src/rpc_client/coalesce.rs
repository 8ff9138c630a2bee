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
//! left is left out here. Pulls that may wait never join a batch, which would hold back the
//! others, and replicas that do not know the batch methods (a Kitex server, an older release)
//! get their calls one by one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use im_idl::{
    ImServiceClient, ImServiceOneShotClient, ImServicePullResultRecv, ImServiceRequestSend,
    ImServiceResponseRecv, ImServiceSendResultRecv, PullBatchRequest, PullRequest, PullResponse,
    SendBatchRequest, SendRequest, SendResponse,
};
use metainfo::METAINFO;
use tokio::sync::oneshot;
use volo::Service;
use volo::client::WithOptService;
use volo::context::Context;
use volo::layer::Layer;
use volo::net::Address;
use volo::service::BoxCloneService;
use volo_thrift::client::CallOpt;
use volo_thrift::context::ClientContext;
use volo_thrift::{ApplicationException, ApplicationExceptionKind, ClientError};

use super::retry::NoAnswer;

/// Calls in one exchange at most; the rpc-server refuses more.
const MAX_BATCH: usize = 1024;

/// Taken off each call's budget, for its answer to travel back before its caller gives up.
const ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// When the whole call gives up, kept in the task's metainfo by `RpcClient::call`.
#[derive(Clone, Copy, Debug)]
pub(super) struct CallDeadline(pub Instant);

#[derive(Clone)]
pub(super) struct CoalesceLayer {
    batches: Arc<Batches>,
}

impl CoalesceLayer {
    /// `client` carries the exchanges (addressed per call); `exchanges` bounds those under way
    /// to one replica.
    pub(super) fn new(client: ImServiceClient, exchanges: usize) -> Self {
        let batches = Batches {
            client,
            exchanges: exchanges.max(1),
            sends: Mutex::default(),
            pulls: Mutex::default(),
            support: Mutex::default(),
        };
        Self {
            batches: Arc::new(batches),
        }
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
        let Some(replica) = cx.rpc_info().callee().address.clone() else {
            return self.inner.call(cx, req).await;
        };
        let batches = &self.batches;
        let support = lock(&batches.support).get(&replica).copied();
        if support == Some(Support::OneByOne) {
            return self.inner.call(cx, req).await;
        }
        // Until the replica has answered a batch, a copy of the call is kept to make alone.
        let unproven = support.is_none();
        let deadline = deadline(cx);
        let (answer, alone) = match req {
            ImServiceRequestSend::Send(send) => {
                let alone = unproven.then(|| ImServiceRequestSend::Send(send.clone()));
                let queue = queue_of(&batches.sends, &replica);
                let answer = queue.call(batches, replica, send.req, deadline).await;
                let answer = answer.map(|resp| {
                    Some(ImServiceResponseRecv::Send(ImServiceSendResultRecv::Ok(
                        resp,
                    )))
                });
                (answer, alone)
            }
            ImServiceRequestSend::Pull(pull) if pull.req.wait_ms.is_none_or(|ms| ms <= 0) => {
                let alone = unproven.then(|| ImServiceRequestSend::Pull(pull.clone()));
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
        match (answer, alone) {
            (Ok(resp), _) => Ok(resp),
            (Err(Failed::Error(err)), _) => Err(err),
            (Err(Failed::NoBatches), Some(req)) => self.inner.call(cx, req).await,
            (Err(Failed::NoBatches), None) => {
                Err(ClientError::Application(ApplicationException::new(
                    ApplicationExceptionKind::UNKNOWN_METHOD,
                    "the replica no longer knows the batch methods",
                )))
            }
        }
    }
}

/// Why a call that joined a batch got no answer of its own.
enum Failed {
    /// The exchange failed: what it failed with.
    Error(ClientError),
    /// The replica does not know the batch methods; nothing ran.
    NoBatches,
}

/// What a replica was found to answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Support {
    Batches,
    OneByOne,
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

struct Batches {
    client: ImServiceClient,
    exchanges: usize,
    sends: Mutex<HashMap<Address, Arc<Queue<SendRequest, SendResponse>>>>,
    pulls: Mutex<HashMap<Address, Arc<Queue<PullRequest, PullResponse>>>>,
    /// Whether a replica answered a batch, or "unknown method"; not yet known: absent.
    support: Mutex<HashMap<Address, Support>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn queue_of<Req, Resp>(
    queues: &Mutex<HashMap<Address, Arc<Queue<Req, Resp>>>>,
    replica: &Address,
) -> Arc<Queue<Req, Resp>> {
    lock(queues).entry(replica.clone()).or_default().clone()
}

/// One replica's calls of one method waiting to leave, and its exchanges under way.
struct Queue<Req, Resp> {
    state: Mutex<QueueState<Req, Resp>>,
}

impl<Req, Resp> Default for Queue<Req, Resp> {
    fn default() -> Self {
        Self {
            state: Mutex::new(QueueState {
                waiting: Vec::new(),
                under_way: 0,
            }),
        }
    }
}

struct QueueState<Req, Resp> {
    waiting: Vec<Waiting<Req, Resp>>,
    under_way: usize,
}

struct Waiting<Req, Resp> {
    req: Req,
    deadline: Instant,
    answer: oneshot::Sender<Result<Resp, Failed>>,
}

impl<Req: Batched<Resp>, Resp: Send + 'static> Queue<Req, Resp> {
    async fn call(
        self: Arc<Self>,
        batches: &Arc<Batches>,
        replica: Address,
        req: Req,
        deadline: Instant,
    ) -> Result<Resp, Failed> {
        let (answer, answered) = oneshot::channel();
        let leave_now = {
            let mut state = lock(&self.state);
            state.waiting.push(Waiting {
                req,
                deadline,
                answer,
            });
            let free = state.under_way < batches.exchanges;
            state.under_way += usize::from(free);
            free
        };
        if leave_now {
            tokio::spawn(self.exchange_while_waiting(batches.clone(), replica));
        }
        answered.await.unwrap_or_else(|_| {
            Err(Failed::Error(ClientError::Application(
                ApplicationException::new(
                    ApplicationExceptionKind::INTERNAL_ERROR,
                    "the exchange ended without an answer",
                ),
            )))
        })
    }

    /// Carries what is waiting, again and again, until nothing is.
    async fn exchange_while_waiting(self: Arc<Self>, batches: Arc<Batches>, replica: Address) {
        loop {
            let batch: Vec<Waiting<Req, Resp>> = {
                let mut state = lock(&self.state);
                if state.waiting.is_empty() {
                    state.under_way -= 1;
                    return;
                }
                let leaving = state.waiting.len().min(MAX_BATCH);
                let rest = state.waiting.split_off(leaving);
                std::mem::replace(&mut state.waiting, rest)
            };
            // Callers that went away are left out before their calls leave.
            let batch: Vec<_> = batch
                .into_iter()
                .filter(|w| !w.answer.is_closed())
                .collect();
            if !batch.is_empty() {
                exchange(&batches, &replica, batch).await;
            }
        }
    }
}

async fn exchange<Req: Batched<Resp>, Resp>(
    batches: &Batches,
    replica: &Address,
    batch: Vec<Waiting<Req, Resp>>,
) {
    let now = Instant::now();
    let last = batch.iter().map(|w| w.deadline).max().unwrap_or(now);
    let mut reqs = Vec::with_capacity(batch.len());
    let mut budgets = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    for waiting in batch {
        let budget = waiting.deadline.saturating_duration_since(now);
        let budget = budget.saturating_sub(ANSWER_MARGIN).as_millis();
        budgets.push(i32::try_from(budget).unwrap_or(i32::MAX));
        reqs.push(waiting.req);
        answers.push(waiting.answer);
    }
    let count = reqs.len();
    metrics::histogram!("im_rpc_client_batch_calls", "method" => Req::METHOD).record(count as f64);
    let exchange = Req::exchange(&batches.client, replica, reqs, budgets);
    let Ok(result) = tokio::time::timeout_at(last.into(), exchange).await else {
        // Made anew for each call: a clone of an error keeps its text, not its type.
        return answer_all(answers, || {
            Failed::Error(NoAnswer(last - now).into_client_error())
        });
    };
    match result {
        Ok(replies) if replies.len() == count => {
            lock(&batches.support).insert(replica.clone(), Support::Batches);
            for (answer, reply) in answers.into_iter().zip(replies) {
                let _ = answer.send(Ok(reply));
            }
        }
        Ok(replies) => {
            let err = ClientError::Application(ApplicationException::new(
                ApplicationExceptionKind::MISSING_RESULT,
                format!("{count} calls in a batch got {} answers", replies.len()),
            ));
            answer_all(answers, || Failed::Error(err.clone()));
        }
        Err(ClientError::Application(err))
            if err.kind() == ApplicationExceptionKind::UNKNOWN_METHOD =>
        {
            tracing::info!(%replica, "the replica has no batch methods: calling it one by one");
            lock(&batches.support).insert(replica.clone(), Support::OneByOne);
            answer_all(answers, || Failed::NoBatches);
        }
        Err(err) => answer_all(answers, || Failed::Error(err.clone())),
    }
}

fn answer_all<Resp>(
    answers: Vec<oneshot::Sender<Result<Resp, Failed>>>,
    failed: impl Fn() -> Failed,
) {
    for answer in answers {
        let _ = answer.send(Err(failed()));
    }
}

/// A request that travels in a batch, and the exchange that carries one.
trait Batched<Resp>: Send + Sized + 'static {
    /// The method label of the metrics.
    const METHOD: &'static str;

    fn exchange(
        client: &ImServiceClient,
        replica: &Address,
        reqs: Vec<Self>,
        budgets_ms: Vec<i32>,
    ) -> impl Future<Output = Result<Vec<Resp>, ClientError>> + Send;
}

/// The client for one call to one replica.
type Addressed = ImServiceOneShotClient<
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

fn addressed(client: &ImServiceClient, replica: &Address) -> Addressed {
    let opt = CallOpt {
        address: Some(replica.clone()),
        ..CallOpt::default()
    };
    client.clone().with_callopt(opt)
}

impl Batched<SendResponse> for SendRequest {
    const METHOD: &'static str = "send";

    async fn exchange(
        client: &ImServiceClient,
        replica: &Address,
        sends: Vec<Self>,
        budgets_ms: Vec<i32>,
    ) -> Result<Vec<SendResponse>, ClientError> {
        let req = SendBatchRequest {
            sends,
            budgets_ms: Some(budgets_ms),
        };
        Ok(addressed(client, replica).send_batch(req).await?.replies)
    }
}

impl Batched<PullResponse> for PullRequest {
    const METHOD: &'static str = "pull";

    async fn exchange(
        client: &ImServiceClient,
        replica: &Address,
        pulls: Vec<Self>,
        budgets_ms: Vec<i32>,
    ) -> Result<Vec<PullResponse>, ClientError> {
        let req = PullBatchRequest {
            pulls,
            budgets_ms: Some(budgets_ms),
        };
        Ok(addressed(client, replica).pull_batch(req).await?.replies)
    }
}
