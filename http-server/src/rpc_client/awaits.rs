//! Pulls and inbox listings that may wait, handed to their replica with `AwaitPulls`: one call
//! under way holds all of them (and a second one, for a moment, hands new ones over), instead of
//! a connection each. The batcher runs it as an exchange that holds.
//!
//! The replica keeps a session for this process's name; each call hands over the calls that
//! came since the last one and returns with the answers ready, the newest call ending the one
//! before it. A call that fails or times out fails every call of the session (reads are safe to
//! run again, and the retry loop tries them on the next replica), and the next call starts a
//! session under a new name, leaving the old one for the replica to forget.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use im_idl::{
    AwaitPullsRequest, AwaitedChatsRequest, AwaitedPullRequest, ChatsRequest, ImServiceClient,
    PullRequest,
};
use volo::net::Address;

use super::batcher::{CallId, Carried, Exchange};
use super::exchanges::{MAX_BATCH, Unknown, addressed, budget_ms};
use super::request::Reply;
use super::retry::Failed;

/// How long a call holds on at the replica for an answer; a replica that stops answering
/// altogether is found out after this and `SILENCE`.
const HOLD: Duration = Duration::from_secs(10);
const SILENCE: Duration = Duration::from_secs(2);

/// Calls under way to one replica: one holding on, one handing new calls over.
pub(super) const CALLS: usize = 2;

/// A call that waits at the replica.
pub(super) enum Awaited {
    Pull(PullRequest),
    Chats(ChatsRequest),
}

/// The waiting calls of one replica.
pub(super) struct Awaits {
    client: ImServiceClient,
    replica: Address,
    unknown: Arc<Unknown>,
    /// This process's name at the replica: made anew after a failed call.
    waiter: Mutex<Option<String>>,
}

impl Awaits {
    pub(super) fn new(client: ImServiceClient, replica: Address, unknown: Arc<Unknown>) -> Self {
        Self {
            client,
            replica,
            unknown,
            waiter: Mutex::default(),
        }
    }

    fn waiter(&self) -> String {
        let mut waiter = self.waiter.lock().unwrap_or_else(PoisonError::into_inner);
        waiter.get_or_insert_with(new_waiter_name).clone()
    }

    fn end_session(&self) {
        *self.waiter.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl Exchange for Awaits {
    type Item = Awaited;
    type Reply = Reply;
    const METHOD: &'static str = "await_pulls";
    const MAX_ITEMS: usize = MAX_BATCH;
    const HOLDS: bool = true;
    const GATHERED_AGAIN: bool = false;

    async fn exchange(&self, carried: Carried<Awaited>) -> Result<Vec<(CallId, Reply)>, Failed> {
        let now = Instant::now();
        let (mut pulls, mut chats) = (Vec::new(), Vec::new());
        for (id, awaited, deadline) in carried.items {
            let budget_ms = Some(budget_ms(deadline, now));
            match awaited {
                Awaited::Pull(pull) => pulls.push(AwaitedPullRequest {
                    id,
                    pull,
                    budget_ms,
                }),
                Awaited::Chats(chats_req) => chats.push(AwaitedChatsRequest {
                    id,
                    chats: chats_req,
                    budget_ms,
                }),
            }
        }
        // Only naming the gone, it need not hold on.
        let hold = if carried.hold { HOLD } else { Duration::ZERO };
        let req = AwaitPullsRequest {
            waiter: self.waiter().into(),
            pulls,
            hold_ms: hold.as_millis() as i32,
            chats: Some(chats),
            gone: Some(carried.gone),
        };
        let call = addressed(&self.client, &self.replica, None).await_pulls(req);
        let failed = match tokio::time::timeout(HOLD + SILENCE, call).await {
            Ok(Ok(resp)) => {
                self.unknown.known();
                let pulls = resp
                    .replies
                    .into_iter()
                    .map(|a| (a.id, Reply::Pull(a.reply)));
                let chats = (resp.chats_replies.unwrap_or_default().into_iter())
                    .map(|a| (a.id, Reply::Chats(a.reply)));
                return Ok(pulls.chain(chats).collect());
            }
            Ok(Err(err)) => self.unknown.judge(err, &self.replica),
            Err(_) => Failed::Silent(HOLD + SILENCE),
        };
        self.end_session();
        Err(failed)
    }
}

/// Unique to this process and session: the replica tells sessions apart by it.
fn new_waiter_name() -> String {
    let random = RandomState::new().hash_one(Instant::now());
    format!("http-server-{}-{random:016x}", std::process::id())
}
