//! The waiting pulls and inbox listings of one replica, handed over with `AwaitPulls`: one call
//! under way holds all of them (and a second one, for a moment, hands new ones over), instead of
//! a connection each.
//!
//! The replica keeps a session for this process's name; each call hands over the calls that
//! came since the last one and returns with the answers ready, the newest call ending the one
//! before it. A call that fails or times out fails every waiting call of the session (reads are
//! safe to run again, and the layers above try them on the next replica), and the next call
//! starts a session under a new name, leaving the old one for the replica to forget.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_idl::{
    AwaitPullsRequest, AwaitedChatsRequest, AwaitedPullRequest, ChatsRequest, ChatsResponse,
    PullRequest, PullResponse,
};
use tokio::sync::oneshot;
use volo::net::Address;
use volo_thrift::{ApplicationExceptionKind, ClientError};

use super::exchange::{MAX_BATCH, addressed, budget_ms};
use super::{Batches, Exchange, Failed, Support, lock};
use crate::rpc_client::retry::NoAnswer;

/// How long a call holds on at the replica for an answer; a replica that stops answering
/// altogether is found out after this and `SILENCE`.
const HOLD: Duration = Duration::from_secs(10);
const SILENCE: Duration = Duration::from_secs(2);

/// Calls under way to one replica: one holding on, one handing new pulls over.
const CALLS: usize = 2;

/// A call that waits at the replica.
#[derive(Clone)]
pub(in crate::rpc_client) enum Awaited {
    Pull(PullRequest),
    Chats(ChatsRequest),
}

/// Its answer.
pub(in crate::rpc_client) enum Reply {
    Pull(PullResponse),
    Chats(ChatsResponse),
}

impl TryFrom<Reply> for PullResponse {
    type Error = Reply;

    fn try_from(reply: Reply) -> Result<Self, Reply> {
        match reply {
            Reply::Pull(resp) => Ok(resp),
            other => Err(other),
        }
    }
}

impl TryFrom<Reply> for ChatsResponse {
    type Error = Reply;

    fn try_from(reply: Reply) -> Result<Self, Reply> {
        match reply {
            Reply::Chats(resp) => Ok(resp),
            other => Err(other),
        }
    }
}

type Answer = oneshot::Sender<Result<Reply, Failed>>;

#[derive(Default)]
pub(super) struct Awaits {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// This process's name at the replica: made anew after a failed call.
    waiter: Option<String>,
    /// Calls not yet handed over.
    new_pulls: Vec<AwaitedPullRequest>,
    new_chats: Vec<AwaitedChatsRequest>,
    /// Every call not yet answered, handed over or not.
    unanswered: HashMap<i64, Answer>,
    /// Calls handed over whose callers went away, for the replica to stop.
    gone: Vec<i64>,
    calls: usize,
    next_id: i64,
}

impl Awaits {
    pub(super) async fn call(
        self: Arc<Self>,
        batches: &Arc<Batches>,
        replica: Address,
        awaited: Awaited,
        deadline: Instant,
    ) -> Result<Reply, Failed> {
        let (answer, answered) = oneshot::channel();
        let (id, start_call) = {
            let mut state = lock(&self.state);
            let id = state.next_id;
            state.next_id += 1;
            let budget_ms = Some(budget_ms(deadline, Instant::now()));
            match awaited {
                Awaited::Pull(pull) => state.new_pulls.push(AwaitedPullRequest {
                    id,
                    pull,
                    budget_ms,
                }),
                Awaited::Chats(chats) => state.new_chats.push(AwaitedChatsRequest {
                    id,
                    chats,
                    budget_ms,
                }),
            }
            state.unanswered.insert(id, answer);
            (id, state.take_free_call())
        };
        if start_call {
            self.start_call(batches, &replica);
        }
        // Answered, the call is no longer unanswered, and this does nothing.
        let _leaving = Leaving {
            awaits: &self,
            batches,
            replica: &replica,
            id,
        };
        answered
            .await
            .unwrap_or_else(|_| Err(Failed::internal("the waiting call ended without an answer")))
    }

    /// `id`'s caller went away before its answer: its call is left out, or, handed over already,
    /// named to the replica as gone, on a call of its own if none is free to carry it.
    fn leave(self: &Arc<Self>, batches: &Arc<Batches>, replica: &Address, id: i64) {
        let mut state = lock(&self.state);
        if state.unanswered.remove(&id).is_none() {
            return;
        }
        let not_handed_over = state.new_pulls.len() + state.new_chats.len();
        state.new_pulls.retain(|pull| pull.id != id);
        state.new_chats.retain(|chats| chats.id != id);
        if state.new_pulls.len() + state.new_chats.len() < not_handed_over {
            return;
        }
        state.gone.push(id);
        if state.take_free_call() {
            drop(state);
            self.start_call(batches, replica);
        }
    }

    fn start_call(self: &Arc<Self>, batches: &Arc<Batches>, replica: &Address) {
        let call = self
            .clone()
            .hold_while_waited(batches.clone(), replica.clone());
        tokio::spawn(call);
    }

    /// Calls the replica again and again while any call waits for its answer.
    async fn hold_while_waited(self: Arc<Self>, batches: Arc<Batches>, replica: Address) {
        loop {
            let req = {
                let mut state = lock(&self.state);
                let state = &mut *state;
                let nothing_new = state.new_pulls.is_empty()
                    && state.new_chats.is_empty()
                    && state.gone.is_empty();
                let done = state.unanswered.is_empty() && state.gone.is_empty();
                // Another call is under way, and this one has nothing to hand over.
                if done || (nothing_new && state.calls > 1) {
                    state.calls -= 1;
                    return;
                }
                let pulls = state.new_pulls.len().min(MAX_BATCH);
                let chats = state.new_chats.len().min(MAX_BATCH - pulls);
                let (rest_pulls, rest_chats) = (
                    state.new_pulls.split_off(pulls),
                    state.new_chats.split_off(chats),
                );
                // Only naming the gone, it need not hold on.
                let hold = if state.unanswered.is_empty() {
                    Duration::ZERO
                } else {
                    HOLD
                };
                AwaitPullsRequest {
                    waiter: state
                        .waiter
                        .get_or_insert_with(new_waiter_name)
                        .clone()
                        .into(),
                    pulls: std::mem::replace(&mut state.new_pulls, rest_pulls),
                    hold_ms: hold.as_millis() as i32,
                    chats: Some(std::mem::replace(&mut state.new_chats, rest_chats)),
                    gone: Some(std::mem::take(&mut state.gone)),
                }
            };
            let handed = req.pulls.len() + req.chats.as_ref().map_or(0, Vec::len);
            metrics::histogram!("im_rpc_client_batch_size", "method" => "await_pulls")
                .record(handed as f64);
            let call = addressed(&batches.client, &replica).await_pulls(req);
            let result = tokio::time::timeout(HOLD + SILENCE, call).await;
            let mut state = lock(&self.state);
            let failed: Box<dyn Fn() -> Failed> = match result {
                Ok(Ok(resp)) => {
                    batches.learn(&replica, Exchange::Await, Support::Batches);
                    let pulls = (resp.replies.into_iter()).map(|a| (a.id, Reply::Pull(a.reply)));
                    let chats = (resp.chats_replies.unwrap_or_default().into_iter())
                        .map(|a| (a.id, Reply::Chats(a.reply)));
                    for (id, reply) in pulls.chain(chats) {
                        if let Some(caller) = state.unanswered.remove(&id) {
                            let _ = caller.send(Ok(reply));
                        }
                    }
                    continue;
                }
                Ok(Err(ClientError::Application(err)))
                    if err.kind() == ApplicationExceptionKind::UNKNOWN_METHOD =>
                {
                    tracing::info!(%replica, "the replica cannot hold waiting calls: one call each");
                    batches.learn(&replica, Exchange::Await, Support::OneByOne);
                    Box::new(|| Failed::NoBatches)
                }
                Ok(Err(err)) => Box::new(move || Failed::Error(err.clone())),
                // Made anew for each pull: a clone of an error keeps its text, not its type.
                Err(_) => Box::new(|| Failed::Error(NoAnswer(HOLD + SILENCE).into_client_error())),
            };
            state.waiter = None;
            state.new_pulls.clear();
            state.new_chats.clear();
            state.gone.clear();
            for (_, caller) in state.unanswered.drain() {
                let _ = caller.send(Err(failed()));
            }
        }
    }
}

impl State {
    /// Whether a call may start (fewer than `CALLS` are under way), counting it if so.
    fn take_free_call(&mut self) -> bool {
        let free = self.calls < CALLS;
        self.calls += usize::from(free);
        free
    }
}

/// Notes that a caller went away, when its call is dropped before its answer.
struct Leaving<'a> {
    awaits: &'a Arc<Awaits>,
    batches: &'a Arc<Batches>,
    replica: &'a Address,
    id: i64,
}

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.awaits.leave(self.batches, self.replica, self.id);
    }
}

/// Unique to this process and call: the replica tells sessions apart by it.
fn new_waiter_name() -> String {
    let random = RandomState::new().hash_one(Instant::now());
    format!("http-server-{}-{random:016x}", std::process::id())
}
