//! The exchanges of one replica: its calls waiting to leave, and the batch that carries them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_idl::{
    ImServiceClient, ImServiceOneShotClient, ImServiceRequestSend, ImServiceResponseRecv,
    PullBatchRequest, PullRequest, PullResponse, SendBatchRequest, SendRequest, SendResponse,
};
use tokio::sync::oneshot;
use volo::client::WithOptService;
use volo::net::Address;
use volo::service::BoxCloneService;
use volo_thrift::client::CallOpt;
use volo_thrift::context::ClientContext;
use volo_thrift::{ApplicationException, ApplicationExceptionKind, ClientError};

use super::{Batches, Exchange, Failed, Support, lock};
use crate::rpc_client::retry::NoAnswer;

/// Calls in one exchange at most; the rpc-server refuses more.
pub(super) const MAX_BATCH: usize = 1024;

/// Taken off each call's budget, for its answer to travel back before its caller gives up.
const ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// One replica's calls of one method waiting to leave, and its exchanges under way.
pub(super) struct Queue<Req, Resp> {
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
    pub(super) async fn call(
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
        metrics::gauge!("im_rpc_client_calls_waiting", "method" => Req::METHOD).increment(1.0);
        if leave_now {
            tokio::spawn(self.exchange_while_waiting(batches.clone(), replica));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(Failed::internal("the exchange ended without an answer")))
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
            metrics::gauge!("im_rpc_client_calls_waiting", "method" => Req::METHOD)
                .decrement(batch.len() as f64);
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
        budgets.push(budget_ms(waiting.deadline, now));
        reqs.push(waiting.req);
        answers.push(waiting.answer);
    }
    let count = reqs.len();
    metrics::histogram!("im_rpc_client_batch_size", "method" => Req::METHOD).record(count as f64);
    let exchange = Req::exchange(&batches.client, replica, reqs, budgets);
    let Ok(result) = tokio::time::timeout_at(last.into(), exchange).await else {
        // Made anew for each call: a clone of an error keeps its text, not its type.
        return answer_all(answers, || {
            Failed::Error(NoAnswer(last - now).into_client_error())
        });
    };
    match result {
        Ok(replies) if replies.len() == count => {
            batches.learn(replica, Exchange::Batch, Support::Batches);
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
            batches.learn(replica, Exchange::Batch, Support::OneByOne);
            answer_all(answers, || Failed::NoBatches);
        }
        Err(err) => answer_all(answers, || Failed::Error(err.clone())),
    }
}

/// What a call still has of its time at `now`, less the time its answer takes to travel back.
pub(super) fn budget_ms(deadline: Instant, now: Instant) -> i32 {
    let budget = deadline.saturating_duration_since(now);
    i32::try_from(budget.saturating_sub(ANSWER_MARGIN).as_millis()).unwrap_or(i32::MAX)
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
pub(super) trait Batched<Resp>: Send + Sized + 'static {
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

pub(super) fn addressed(client: &ImServiceClient, replica: &Address) -> Addressed {
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
