//! Long polls: a forward pull whose page is empty waits for the room's next message, and a
//! forward inbox listing whose page is empty waits for any room of the member to change. Both
//! ride on one machinery:
//!
//! - [`waiters`]: who waits for which [`Topic`] (a room, or a member's inbox), capped, and
//!   waking them. A call subscribes first, then reads, and waits only if its answer is empty;
//!   a commit after the subscription wakes it, so no commit can fall between the read and the
//!   wait. A wake-up only says "look again": the woken call reads again and waits on if its
//!   answer is still empty (a send_time reserved for a duplicate moves a room without a
//!   message).
//! - [`shared_reads`]: calls woken together with the same request share one read.
//! - [`watch`]: commits of other replicas, found by one query per batch of topics waited on.
//!
//! This replica's writer wakes a room's waiters, and its members' inbox waiters, as soon as it
//! commits there. No waiting call holds a database connection.

mod shared_reads;
mod waiters;
mod watch;

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use im_domain::{Inbox, InboxRequest, Page, PageRequest, Window};

use crate::store::{Store, StoreError};
pub use shared_reads::SharedReads;
pub use waiters::{CannotWait, Subscription, Waiters};
pub use watch::watch_other_replicas;

/// What a waiting call follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A room (its key): moves with every message committed there.
    Room(String),
    /// A member's inbox: moves with every commit in any of the member's rooms.
    Inbox(String),
}

/// The metrics of the calls that follow one kind of topic.
struct TopicMetrics {
    /// Gauge: calls waiting now.
    waiting: &'static str,
    /// Counter of wake-ups, by `source` (this replica, another one).
    wakeups: &'static str,
    /// Histogram: how long calls that could wait took.
    wait_seconds: &'static str,
}

impl Topic {
    fn metrics(&self) -> &'static TopicMetrics {
        match self {
            Self::Room(_) => &TopicMetrics {
                waiting: "im_pull_waiting",
                wakeups: "im_pull_wakeups_total",
                wait_seconds: "im_pull_wait_seconds",
            },
            Self::Inbox(_) => &TopicMetrics {
                waiting: "im_chats_waiting",
                wakeups: "im_chats_wakeups_total",
                wait_seconds: "im_chats_wait_seconds",
            },
        }
    }
}

/// A request that can wait for its topic to move: a forward pull or a forward listing.
pub trait Followed: Clone + Eq + std::hash::Hash + Send + Sync + 'static {
    type Answer: Clone + Send + Sync + 'static;

    fn topic(&self) -> Topic;

    /// Only a forward window may wait.
    fn window(&self) -> &Window;

    /// Reads the answer now, within `caller_deadline`.
    fn read(
        &self,
        store: &Store,
        caller_deadline: Option<Instant>,
    ) -> BoxFuture<'static, Result<Self::Answer, StoreError>>;

    /// Whether the answer is empty, so the call would wait.
    fn is_empty(answer: &Self::Answer) -> bool;
}

impl Followed for PageRequest {
    type Answer = Page;

    fn topic(&self) -> Topic {
        Topic::Room(self.room().key().to_owned())
    }

    fn window(&self) -> &Window {
        PageRequest::window(self)
    }

    fn read(
        &self,
        store: &Store,
        caller_deadline: Option<Instant>,
    ) -> BoxFuture<'static, Result<Page, StoreError>> {
        let (store, req) = (store.clone(), self.clone());
        Box::pin(async move { store.read_page(&req, caller_deadline).await })
    }

    fn is_empty(answer: &Page) -> bool {
        answer.messages.is_empty()
    }
}

impl Followed for InboxRequest {
    type Answer = Inbox;

    fn topic(&self) -> Topic {
        Topic::Inbox(self.member().as_str().to_owned())
    }

    fn window(&self) -> &Window {
        InboxRequest::window(self)
    }

    fn read(
        &self,
        store: &Store,
        caller_deadline: Option<Instant>,
    ) -> BoxFuture<'static, Result<Inbox, StoreError>> {
        let (store, req) = (store.clone(), self.clone());
        Box::pin(async move { store.list_inbox(&req, caller_deadline).await })
    }

    fn is_empty(answer: &Inbox) -> bool {
        answer.chats.is_empty()
    }
}

/// Why a call could not be answered.
#[derive(Debug)]
pub enum WaitError {
    /// As many calls wait as the replica allows.
    Full,
    Store(StoreError),
}

impl From<StoreError> for WaitError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// Answers `req` as soon as its answer is not empty, or after `wait` (then with the empty
/// answer), or at once when the server stops.
pub async fn answer_when_changed<F: Followed>(
    waiters: &std::sync::Arc<Waiters>,
    reads: &SharedReads<F>,
    store: &Store,
    req: &F,
    wait: Duration,
    caller_deadline: Option<Instant>,
) -> Result<F::Answer, WaitError> {
    let started = Instant::now();
    let until = tokio::time::Instant::now() + wait;
    let topic = req.topic();
    let metrics = topic.metrics();
    // Interest first, then the read: a commit after the read wakes the wait.
    let mut subscription = waiters.subscribe(topic).map_err(|_| WaitError::Full)?;
    let mut answer = req.read(store, caller_deadline).await?;
    while F::is_empty(&answer) {
        let Some(wake) = subscription.wait(until).await else {
            break;
        };
        answer = reads.read(store, req, wake).await?;
    }
    metrics::histogram!(metrics.wait_seconds).record(started.elapsed());
    Ok(answer)
}
