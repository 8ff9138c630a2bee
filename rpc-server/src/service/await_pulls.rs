//! `AwaitPulls`: long polls (waiting pulls and waiting inbox listings) handed over by a caller
//! that then holds one call open for all of them, instead of one connection each.
//!
//! Each caller (a *waiter*, named by the caller) has a session here. A pull (or listing) handed
//! over runs as a `Pull` (or `Chats`) call would, waiting on the replica with no database
//! connection, in a task of its session; its answer, once ready, waits in the session for the caller's call under way, which
//! returns as soon as there is one. A newer call of the same waiter ends the older one at once
//! with no answers (answers go only to the newest call, which gets them all), so a caller needs
//! one call in flight, and a second for a moment to hand new pulls over.
//!
//! Pulls and listings handed over and not yet collected are capped together (as waiting calls
//! are); beyond the cap one is answered at once with code 2. Those whose callers went away come
//! back as `Gone` and stop at once, so they no longer count. A session with no call for a minute
//! is forgotten, its pulls and listings with it: its caller went away.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use im_domain::{Inbox, InvalidInput, Page};
use im_idl::lenient::{
    AwaitPullsRequest, AwaitPullsResponse, AwaitedChatsResponse, AwaitedPullResponse, ChatsRequest,
    PullRequest,
};
use pilota::Bytes;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};

use super::batch::MAX_ITEMS;
use super::{CallError, MessageService, chats_response, count_request, pull_response};

/// The longest a call may hold on for an answer.
const MAX_HOLD: Duration = Duration::from_secs(30);

/// A session with no call for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// Every waiter's session, and the pulls they hold.
pub(super) struct Sessions {
    by_waiter: Mutex<HashMap<Bytes, Arc<Session>>>,
    held: Arc<AtomicUsize>,
    max_held: usize,
}

struct Session {
    ready: Mutex<Vec<(Ready, Option<Held>)>>,
    /// Woken when an answer is ready, a call takes its turn, or a pull ends.
    changed: Notify,
    /// Moves with every call: only the newest call collects answers.
    turn: AtomicU64,
    /// Calls under way, and when the last one came.
    calls: Mutex<(usize, Instant)>,
    /// The session's pulls and listings; dropping the session aborts those still waiting.
    tasks: Mutex<JoinSet<()>>,
    /// Those still running, by id.
    running: Mutex<HashMap<i64, AbortHandle>>,
}

/// An answer waiting for the waiter's next call.
enum Ready {
    Pull(AwaitedPullResponse),
    Chats(AwaitedChatsResponse),
}

impl Ready {
    fn id(&self) -> i64 {
        match self {
            Self::Pull(reply) => reply.id,
            Self::Chats(reply) => reply.id,
        }
    }

    fn pull(id: i64, result: Result<Page, CallError>) -> Self {
        let reply = pull_response(result);
        count_request("pull", reply.code);
        Self::Pull(AwaitedPullResponse { id, reply })
    }

    fn chats(id: i64, result: Result<Inbox, CallError>) -> Self {
        let reply = chats_response(result);
        count_request("chats", reply.code);
        Self::Chats(AwaitedChatsResponse { id, reply })
    }
}

/// A call handed over: a pull or a listing (missing if its caller left it out).
enum Job {
    Pull(Option<PullRequest>),
    Chats(Option<ChatsRequest>),
}

impl Job {
    async fn run(self, service: MessageService, id: i64, deadline: Option<Instant>) -> Ready {
        match self {
            Self::Pull(Some(pull)) => Ready::pull(id, service.pull(pull, deadline).await),
            Self::Chats(Some(chats)) => Ready::chats(id, service.chats(chats, deadline).await),
            job => job.refused(id, InvalidInput::Missing { field: job.field() }.into()),
        }
    }

    fn refused(&self, id: i64, err: CallError) -> Ready {
        match self {
            Self::Pull(_) => Ready::pull(id, Err(err)),
            Self::Chats(_) => Ready::chats(id, Err(err)),
        }
    }

    fn field(&self) -> &'static str {
        match self {
            Self::Pull(_) => "pull",
            Self::Chats(_) => "chats",
        }
    }
}

/// One pull counted against the cap until its answer is collected (or forgotten).
struct Held(Arc<AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Sessions {
    /// At most `max_held` pulls handed over and not yet collected, all waiters together.
    pub(super) fn new(max_held: usize) -> Self {
        Self {
            by_waiter: Mutex::default(),
            held: Arc::default(),
            max_held,
        }
    }

    fn hold(&self) -> Option<Held> {
        if self.held.fetch_add(1, Ordering::SeqCst) >= self.max_held {
            self.held.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Held(self.held.clone()))
    }

    /// The waiter's session, made when new; sessions idle too long are forgotten on the way.
    fn session(&self, waiter: Bytes) -> Arc<Session> {
        let mut sessions = lock(&self.by_waiter);
        sessions.retain(|_, session| {
            let (calls, last) = *lock(&session.calls);
            calls > 0 || last.elapsed() < FORGET_AFTER
        });
        sessions
            .entry(waiter)
            .or_insert_with(|| {
                Arc::new(Session {
                    ready: Mutex::default(),
                    changed: Notify::new(),
                    turn: AtomicU64::new(0),
                    calls: Mutex::new((0, Instant::now())),
                    tasks: Mutex::new(JoinSet::new()),
                    running: Mutex::default(),
                })
            })
            .clone()
    }
}

/// Hands the request's pulls and listings over, then returns the waiter's answers as soon as
/// there are any, after `HoldMs` with none, or at once with none when a newer call of the same
/// waiter comes.
pub(super) async fn await_pulls(
    service: &MessageService,
    req: AwaitPullsRequest,
) -> AwaitPullsResponse {
    let sessions = &service.sessions;
    let session = sessions.session(req.waiter.unwrap_or_default());
    let _call = CallUnderWay::start(&session);
    session.forget(&req.gone.unwrap_or_default());
    let pulls = (req.pulls.unwrap_or_default().into_iter())
        .map(|item| (item.id, item.budget_ms, Job::Pull(item.pull)));
    let listings = (req.chats.unwrap_or_default().into_iter())
        .map(|item| (item.id, item.budget_ms, Job::Chats(item.chats)));
    for (i, (id, budget_ms, job)) in pulls.chain(listings).enumerate() {
        let id = id.unwrap_or_default();
        match (i < MAX_ITEMS, sessions.hold()) {
            (true, Some(held)) => session.start(
                id,
                held,
                job.run(service.clone(), id, deadline_of(budget_ms)),
            ),
            (false, held) => session.answer(job.refused(id, CallError::BatchTooLarge), held),
            (true, None) => session.answer(job.refused(id, CallError::TooManyWaiting), None),
        }
    }
    let hold = Duration::from_millis(req.hold_ms.unwrap_or(0).max(0) as u64).min(MAX_HOLD);
    let (mut replies, mut chats_replies) = (Vec::new(), Vec::new());
    for ready in session.collect(service, hold).await {
        match ready {
            Ready::Pull(reply) => replies.push(reply),
            Ready::Chats(reply) => chats_replies.push(reply),
        }
    }
    AwaitPullsResponse {
        replies,
        chats_replies: Some(chats_replies),
    }
}

/// A handed-over call's own budget: it outlives the call that handed it over.
fn deadline_of(budget_ms: Option<i32>) -> Option<Instant> {
    budget_ms.map(|ms| Instant::now() + Duration::from_millis(ms.max(0) as u64))
}

impl Session {
    fn start(
        self: &Arc<Self>,
        id: i64,
        held: Held,
        work: impl Future<Output = Ready> + Send + 'static,
    ) {
        let running = Running {
            session: Arc::downgrade(self),
            id,
        };
        // Held until the task is noted, which a task that ends at once waits for to remove it.
        let mut all_running = lock(&self.running);
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        let task = tasks.spawn(async move {
            let ready = work.await;
            if let Some(session) = Weak::upgrade(&running.session) {
                session.answer(ready, Some(held));
            }
            drop(running);
        });
        all_running.insert(id, task);
    }

    /// Stops the pulls and listings of `gone` and drops their answers: their callers went away.
    fn forget(&self, gone: &[i64]) {
        if gone.is_empty() {
            return;
        }
        let gone: HashSet<i64> = gone.iter().copied().collect();
        let stopped: Vec<AbortHandle> = {
            let mut running = lock(&self.running);
            gone.iter().filter_map(|id| running.remove(id)).collect()
        };
        for task in stopped {
            task.abort();
        }
        lock(&self.ready).retain(|(ready, _)| !gone.contains(&ready.id()));
    }

    fn answer(&self, ready: Ready, held: Option<Held>) {
        lock(&self.ready).push((ready, held));
        self.changed.notify_waiters();
    }

    async fn collect(&self, service: &MessageService, hold: Duration) -> Vec<Ready> {
        let turn = self.turn.fetch_add(1, Ordering::SeqCst) + 1;
        self.changed.notify_waiters();
        let until = tokio::time::Instant::now() + hold;
        let mut stopping = false;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.turn.load(Ordering::SeqCst) != turn {
                return Vec::new();
            }
            let ready = std::mem::take(&mut *lock(&self.ready));
            // Stopping, the pulls end their waits at once: their answers go with this call.
            let all_ended = stopping && lock(&self.running).is_empty();
            if !ready.is_empty() || all_ended {
                return ready.into_iter().map(|(answer, _held)| answer).collect();
            }
            tokio::select! {
                () = &mut changed => {}
                () = tokio::time::sleep_until(until), if !stopping => return Vec::new(),
                () = service.waiters.stopped(), if !stopping => stopping = true,
            }
        }
    }
}

/// A pull or listing running in its session's tasks, until it ends or is aborted.
struct Running {
    session: Weak<Session>,
    id: i64,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(session) = Weak::upgrade(&self.session) {
            lock(&session.running).remove(&self.id);
            session.changed.notify_waiters();
        }
    }
}

/// Counts a call under way for as long as it is, so that its session is not forgotten.
struct CallUnderWay<'a>(&'a Session);

impl<'a> CallUnderWay<'a> {
    fn start(session: &'a Session) -> Self {
        let mut calls = lock(&session.calls);
        *calls = (calls.0 + 1, Instant::now());
        metrics::gauge!("im_await_pulls_calls").increment(1.0);
        Self(session)
    }
}

impl Drop for CallUnderWay<'_> {
    fn drop(&mut self) {
        let mut calls = lock(&self.0.calls);
        *calls = (calls.0 - 1, Instant::now());
        metrics::gauge!("im_await_pulls_calls").decrement(1.0);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
