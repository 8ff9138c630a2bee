//! Long-poll pulls: who waits for which room, and waking them.
//!
//! A pull that waits first subscribes to its room, then reads its page, and waits only if the
//! page is empty. A message committed after the subscription wakes it, so no commit can fall
//! between the read and the wait. A wake-up only says "look again": the woken pull reads its
//! page again and waits on if it is still empty (a send_time reserved for a duplicate moves
//! the room without a new message).
//!
//! Pulls that follow a room together (same cursor and limit) are woken together; one read of
//! their page serves all of them ([`WokenReads`]), so a message in a room followed by a thousand
//! receivers costs one read, not a thousand. Only reads that start after a wake-up are shared:
//! a pull woken by wake-up `n` joins only a read started for wake-up `n`, which began after the
//! commit that caused it.
//!
//! Wake-ups come from two places. This replica's writer wakes a room's waiters as soon as it
//! commits a message there. Messages committed by other replicas are found by the
//! [`watch_other_replicas`] task: every `interval`, while anyone waits, one query reads
//! `rooms.last_send_time` of every room being waited on (in chunks of [`ROOMS_PER_QUERY`]) and
//! wakes the rooms that moved. Its cost grows with the rooms waited on, not with the waiters,
//! and a waiter on another replica learns of a message within `interval` plus that query.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use im_domain::{Page, PageRequest};
use tokio::sync::watch;

use crate::store::{CommitListener, Store, StoreError};

/// Rooms looked up by one statement of the cross-replica watch.
const ROOMS_PER_QUERY: usize = 500;

/// The rooms being waited on, each with a counter that moves on every wake-up.
pub struct Waiters {
    rooms: Mutex<HashMap<String, Room>>,
    waiting: AtomicUsize,
    max_waiting: usize,
    stopping: watch::Sender<bool>,
}

struct Room {
    wake: watch::Sender<u64>,
    /// `rooms.last_send_time` as the cross-replica watch last saw it; `None` until it looks.
    last_seen: Option<i64>,
}

/// Why a pull cannot wait.
#[derive(Debug, PartialEq, Eq)]
pub enum CannotWait {
    /// `max_waiting` pulls wait already.
    Full,
}

/// One waiting pull's interest in its room; leaving it (drop) ends the interest.
pub struct Subscription {
    waiters: Arc<Waiters>,
    room: String,
    wake: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
}

impl Waiters {
    pub fn new(max_waiting: usize) -> Arc<Self> {
        Arc::new(Self {
            rooms: Mutex::default(),
            waiting: AtomicUsize::new(0),
            max_waiting,
            stopping: watch::channel(false).0,
        })
    }

    /// Registers interest in `room`; read the page after this, then [`Subscription::wait`].
    pub fn subscribe(self: &Arc<Self>, room: &str) -> Result<Subscription, CannotWait> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(CannotWait::Full);
        }
        metrics::gauge!("im_pull_waiting").increment(1.0);
        let wake = {
            let mut rooms = self.rooms.lock().expect("waiters lock");
            rooms
                .entry(room.to_owned())
                .or_insert_with(|| Room {
                    wake: watch::channel(0).0,
                    last_seen: None,
                })
                .wake
                .subscribe()
        };
        Ok(Subscription {
            waiters: self.clone(),
            room: room.to_owned(),
            wake,
            stopping: self.stopping.subscribe(),
        })
    }

    /// Wakes the waiters of `room`, if any: a message was committed there.
    fn wake(&self, room: &str, source: &'static str) {
        let rooms = self.rooms.lock().expect("waiters lock");
        if let Some(waiting) = rooms.get(room) {
            waiting.wake.send_modify(|n| *n += 1);
            metrics::counter!("im_pull_wakeups_total", "source" => source).increment(1);
        }
    }

    /// Ends every wait at once (for shutdown); pulls that come later do not wait.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// The rooms being waited on.
    fn rooms_waited_on(&self) -> Vec<String> {
        let rooms = self.rooms.lock().expect("waiters lock");
        rooms.keys().cloned().collect()
    }

    /// Wakes the rooms whose `last_send_time` moved since the watch last looked (or that it
    /// had not seen yet: their waiters subscribed since, and read again cheaply).
    fn saw(&self, room: &str, last_send_time: i64) {
        let mut rooms = self.rooms.lock().expect("waiters lock");
        if let Some(waiting) = rooms.get_mut(room)
            && waiting.last_seen != Some(last_send_time)
        {
            waiting.last_seen = Some(last_send_time);
            waiting.wake.send_modify(|n| *n += 1);
            metrics::counter!("im_pull_wakeups_total", "source" => "other_replica").increment(1);
        }
    }
}

/// This replica's commits wake their rooms' waiters at once.
impl CommitListener for Waiters {
    fn committed(&self, room: &str) {
        self.wake(room, "this_replica");
    }
}

impl Subscription {
    /// Waits until the room is woken, `until` passes or the server stops; returns the number
    /// of the wake-up, or `None` when not woken.
    pub async fn wait(&mut self, until: tokio::time::Instant) -> Option<u64> {
        if *self.stopping.borrow() {
            return None;
        }
        tokio::select! {
            changed = self.wake.changed() => changed.ok().map(|()| *self.wake.borrow_and_update()),
            _ = tokio::time::sleep_until(until) => None,
            _ = self.stopping.wait_for(|stopping| *stopping) => None,
        }
    }
}

type SharedRead = Shared<BoxFuture<'static, Result<Page, StoreError>>>;

/// How long a finished shared read is kept for pulls woken with it that run late.
const KEEP_FINISHED_READ: Duration = Duration::from_secs(1);

/// One read of a page for all the pulls that the same wake-up of their room woke.
#[derive(Default)]
pub struct WokenReads {
    reads: Mutex<WokenReadsState>,
}

#[derive(Default)]
struct WokenReadsState {
    /// The latest read of each page: the wake-up it was started for, when, and the read.
    latest: HashMap<PageRequest, (u64, Instant, SharedRead)>,
    last_purge: Option<Instant>,
}

impl WokenReads {
    /// The page `page` as read after wake-up `wake` of its room (or a later one).
    pub async fn read(
        &self,
        store: &Store,
        page: &PageRequest,
        wake: u64,
    ) -> Result<Page, StoreError> {
        let read = {
            let mut state = self.reads.lock().expect("reads lock");
            state.purge_finished();
            match state.latest.get(page) {
                Some((started_for, _, read)) if *started_for >= wake => read.clone(),
                _ => {
                    let (store, request) = (store.clone(), page.clone());
                    let read = async move { store.read_page(&request, None).await }
                        .boxed()
                        .shared();
                    state
                        .latest
                        .insert(page.clone(), (wake, Instant::now(), read.clone()));
                    read
                }
            }
        };
        read.await
    }
}

impl WokenReadsState {
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

impl Drop for Subscription {
    fn drop(&mut self) {
        self.waiters.waiting.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!("im_pull_waiting").decrement(1.0);
        let mut rooms = self.waiters.rooms.lock().expect("waiters lock");
        // This subscription's receiver is the last one: nobody waits for the room any more.
        if rooms
            .get(&self.room)
            .is_some_and(|room| room.wake.receiver_count() <= 1)
        {
            rooms.remove(&self.room);
        }
    }
}

/// Every `interval`, while anyone waits, reads `rooms.last_send_time` of the rooms waited on
/// and wakes those that moved: how waiters learn of messages other replicas committed.
pub async fn watch_other_replicas(waiters: Arc<Waiters>, store: Store, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let rooms = waiters.rooms_waited_on();
        for chunk in rooms.chunks(ROOMS_PER_QUERY) {
            match store.last_send_times(chunk).await {
                Ok(seen) => {
                    for (room, last_send_time) in seen {
                        waiters.saw(&room, last_send_time);
                    }
                }
                Err(err) => tracing::debug!(%err, "cannot read the rooms waited on"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn a_wake_after_subscribing_is_never_lost() {
        let waiters = Waiters::new(10);
        let mut sub = waiters.subscribe("a:b").unwrap();
        // The commit lands between the subscription and the wait.
        waiters.committed("a:b");
        assert!(sub.wait(soon()).await.is_some());
    }

    #[tokio::test]
    async fn waits_are_capped_and_counted_until_dropped() {
        let waiters = Waiters::new(2);
        let first = waiters.subscribe("a:b").unwrap();
        let _second = waiters.subscribe("a:c").unwrap();
        assert!(matches!(waiters.subscribe("a:d"), Err(CannotWait::Full)));
        drop(first);
        let _third = waiters.subscribe("a:d").unwrap();
        let mut rooms = waiters.rooms_waited_on();
        rooms.sort();
        assert_eq!(rooms, ["a:c", "a:d"], "a:b is no longer waited on");
    }

    #[tokio::test]
    async fn stopping_ends_every_wait_at_once() {
        let waiters = Waiters::new(10);
        let mut sub = waiters.subscribe("a:b").unwrap();
        let stopper = waiters.clone();
        tokio::spawn(async move { stopper.stop() });
        assert!(sub.wait(soon()).await.is_none());
        let mut later = waiters.subscribe("a:b").unwrap();
        assert!(later.wait(soon()).await.is_none());
    }

    #[tokio::test]
    async fn the_cross_replica_watch_wakes_rooms_that_moved() {
        let waiters = Waiters::new(10);
        let mut sub = waiters.subscribe("a:b").unwrap();
        waiters.saw("a:b", 5);
        assert_eq!(sub.wait(soon()).await, Some(1), "first sight wakes");
        waiters.saw("a:b", 5);
        let now = tokio::time::Instant::now();
        assert_eq!(sub.wait(now).await, None, "no move, no wake");
        waiters.saw("a:b", 7);
        assert_eq!(sub.wait(soon()).await, Some(2));
    }
}
