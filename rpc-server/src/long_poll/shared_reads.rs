//! Calls that follow a topic together with the same request (same room, cursor and limit; or
//! same member, cursor and limit) are woken together; one read serves all of them, so a message
//! in a room followed by a thousand receivers costs one read, not a thousand. Only reads that
//! start after a wake-up are shared: a call woken by wake-up `n` joins only a read started for
//! wake-up `n` or later, which began after the commit that caused it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::Followed;
use crate::store::{Store, StoreError};

type SharedRead<A> = Shared<BoxFuture<'static, Result<A, StoreError>>>;

/// How long a finished shared read is kept for calls woken with it that run late.
const KEEP_FINISHED_READ: Duration = Duration::from_secs(1);

/// The latest read of each request after a wake-up of its topic.
pub struct SharedReads<F: Followed> {
    reads: Mutex<State<F>>,
}

struct State<F: Followed> {
    /// The latest read of each request: the wake-up it was started for, when, and the read.
    latest: HashMap<F, (u64, Instant, SharedRead<F::Answer>)>,
    last_purge: Option<Instant>,
}

impl<F: Followed> Default for SharedReads<F> {
    fn default() -> Self {
        Self {
            reads: Mutex::new(State {
                latest: HashMap::new(),
                last_purge: None,
            }),
        }
    }
}

impl<F: Followed> SharedReads<F> {
    /// The answer to `req` as read after wake-up `wake` of its topic (or a later one).
    pub async fn read(&self, store: &Store, req: &F, wake: u64) -> Result<F::Answer, StoreError> {
        let read = {
            let mut state = self.reads.lock().expect("reads lock");
            state.purge_finished();
            match state.latest.get(req) {
                Some((started_for, _, read)) if *started_for >= wake => read.clone(),
                _ => {
                    let read = req.read(store, None).shared();
                    state
                        .latest
                        .insert(req.clone(), (wake, Instant::now(), read.clone()));
                    read
                }
            }
        };
        read.await
    }
}

impl<F: Followed> State<F> {
    /// Drops reads finished over [`KEEP_FINISHED_READ`] ago, at most once a second.
    fn purge_finished(&mut self) {
        let now = Instant::now();
        if self
            .last_purge
            .is_some_and(|last| now - last < KEEP_FINISHED_READ)
        {
            return;
        }
        self.last_purge = Some(now);
        self.latest.retain(|_, (_, started, read)| {
            read.peek().is_none() || now - *started < KEEP_FINISHED_READ
        });
    }
}
