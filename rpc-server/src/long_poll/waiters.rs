//! Who waits for which topic, and waking them (see [`super`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::Topic;
use crate::store::CommitListener;

/// The topics being waited on, each with a counter that moves on every wake-up.
pub struct Waiters {
    topics: Mutex<HashMap<Topic, Waited>>,
    waiting: AtomicUsize,
    max_waiting: usize,
    stopping: watch::Sender<bool>,
}

struct Waited {
    wake: watch::Sender<u64>,
    /// The topic's position (a room's last send_time, a member's last version) as the
    /// cross-replica watch last saw it; `None` until it looks.
    last_seen: Option<i64>,
}

/// Why a call cannot wait.
#[derive(Debug, PartialEq, Eq)]
pub enum CannotWait {
    /// `max_waiting` calls wait already.
    Full,
}

/// One waiting call's interest in its topic; leaving it (drop) ends the interest.
pub struct Subscription {
    waiters: Arc<Waiters>,
    topic: Topic,
    wake: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
}

impl Waiters {
    /// At most `max_waiting` calls wait at once, pulls and listings together.
    pub fn new(max_waiting: usize) -> Arc<Self> {
        Arc::new(Self {
            topics: Mutex::default(),
            waiting: AtomicUsize::new(0),
            max_waiting,
            stopping: watch::channel(false).0,
        })
    }

    /// Registers interest in `topic`; read after this, then [`Subscription::wait`].
    pub fn subscribe(self: &Arc<Self>, topic: Topic) -> Result<Subscription, CannotWait> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(CannotWait::Full);
        }
        metrics::gauge!(topic.metrics().waiting).increment(1.0);
        let wake = {
            let mut topics = self.topics.lock().expect("waiters lock");
            topics
                .entry(topic.clone())
                .or_insert_with(|| Waited {
                    wake: watch::channel(0).0,
                    last_seen: None,
                })
                .wake
                .subscribe()
        };
        Ok(Subscription {
            waiters: self.clone(),
            topic,
            wake,
            stopping: self.stopping.subscribe(),
        })
    }

    /// Ends every wait at once (for shutdown); calls that come later do not wait.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Returns once the server stops.
    pub async fn stopped(&self) {
        let _ = self
            .stopping
            .subscribe()
            .wait_for(|stopping| *stopping)
            .await;
    }

    /// The topics being waited on.
    pub(super) fn waited_on(&self) -> Vec<Topic> {
        let topics = self.topics.lock().expect("waiters lock");
        topics.keys().cloned().collect()
    }

    /// Wakes the waiters of `topic` when `position` is not the one seen last (or none was
    /// seen yet: its waiters subscribed since, and read again cheaply).
    pub(super) fn saw(&self, topic: &Topic, position: i64) {
        let mut topics = self.topics.lock().expect("waiters lock");
        if let Some(waited) = topics.get_mut(topic)
            && waited.last_seen != Some(position)
        {
            waited.last_seen = Some(position);
            waited.wake.send_modify(|n| *n += 1);
            metrics::counter!(topic.metrics().wakeups, "source" => "other_replica").increment(1);
        }
    }
}

/// This replica's commits wake, at once, their room's waiters and those of its members' inboxes;
/// a marker it moved wakes only the inboxes (the room has no new message).
impl CommitListener for Waiters {
    fn committed(&self, room: &str) {
        self.wake(room, true);
    }

    fn marker_moved(&self, room: &str) {
        self.wake(room, false);
    }
}

impl Waiters {
    fn wake(&self, room: &str, with_room: bool) {
        let topics = self.topics.lock().expect("waiters lock");
        if topics.is_empty() {
            return;
        }
        let (first, second) = room.split_once(':').unwrap_or((room, room));
        let mut woken = vec![Topic::Inbox(first.to_owned())];
        if second != first {
            woken.push(Topic::Inbox(second.to_owned()));
        }
        if with_room {
            woken.push(Topic::Room(room.to_owned()));
        }
        for topic in woken {
            if let Some(waited) = topics.get(&topic) {
                waited.wake.send_modify(|n| *n += 1);
                metrics::counter!(topic.metrics().wakeups, "source" => "this_replica").increment(1);
            }
        }
    }
}

impl Subscription {
    /// Waits until the topic is woken, `until` passes or the server stops; returns the number
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

impl Drop for Subscription {
    fn drop(&mut self) {
        self.waiters.waiting.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!(self.topic.metrics().waiting).decrement(1.0);
        let mut topics = self.waiters.topics.lock().expect("waiters lock");
        // This subscription's receiver is the last one: nobody waits for the topic any more.
        if topics
            .get(&self.topic)
            .is_some_and(|waited| waited.wake.receiver_count() <= 1)
        {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn soon() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(5)
    }

    fn room(key: &str) -> Topic {
        Topic::Room(key.to_owned())
    }

    fn inbox(member: &str) -> Topic {
        Topic::Inbox(member.to_owned())
    }

    #[tokio::test]
    async fn a_wake_after_subscribing_is_never_lost() {
        let waiters = Waiters::new(10);
        let mut sub = waiters.subscribe(room("a:b")).unwrap();
        // The commit lands between the subscription and the wait.
        waiters.committed("a:b");
        assert!(sub.wait(soon()).await.is_some());
    }

    #[tokio::test]
    async fn a_commit_wakes_both_members_inboxes_and_no_other() {
        let waiters = Waiters::new(10);
        let mut first = waiters.subscribe(inbox("a")).unwrap();
        let mut second = waiters.subscribe(inbox("b")).unwrap();
        let mut other = waiters.subscribe(inbox("c")).unwrap();
        waiters.committed("a:b");
        assert!(first.wait(soon()).await.is_some());
        assert!(second.wait(soon()).await.is_some());
        assert_eq!(other.wait(tokio::time::Instant::now()).await, None);
        let mut own = waiters.subscribe(inbox("c")).unwrap();
        waiters.committed("c:c");
        assert_eq!(own.wait(soon()).await, Some(1), "a self-chat wakes once");
    }

    #[tokio::test]
    async fn waits_are_capped_and_counted_until_dropped() {
        let waiters = Waiters::new(2);
        let first = waiters.subscribe(room("a:b")).unwrap();
        let _second = waiters.subscribe(inbox("a")).unwrap();
        assert!(matches!(
            waiters.subscribe(room("a:d")),
            Err(CannotWait::Full)
        ));
        drop(first);
        let _third = waiters.subscribe(room("a:d")).unwrap();
        let mut topics = waiters.waited_on();
        topics.sort_by_key(|topic| format!("{topic:?}"));
        assert_eq!(
            topics,
            [inbox("a"), room("a:d")],
            "a:b is no longer waited on"
        );
    }

    #[tokio::test]
    async fn stopping_ends_every_wait_at_once() {
        let waiters = Waiters::new(10);
        let mut sub = waiters.subscribe(room("a:b")).unwrap();
        let stopper = waiters.clone();
        tokio::spawn(async move { stopper.stop() });
        assert!(sub.wait(soon()).await.is_none());
        let mut later = waiters.subscribe(inbox("a")).unwrap();
        assert!(later.wait(soon()).await.is_none());
    }

    #[tokio::test]
    async fn the_cross_replica_watch_wakes_topics_that_moved() {
        let waiters = Waiters::new(10);
        let mut sub = waiters.subscribe(inbox("a")).unwrap();
        waiters.saw(&inbox("a"), 5);
        assert_eq!(sub.wait(soon()).await, Some(1), "first sight wakes");
        waiters.saw(&inbox("a"), 5);
        let now = tokio::time::Instant::now();
        assert_eq!(sub.wait(now).await, None, "no move, no wake");
        waiters.saw(&room("a"), 9);
        assert_eq!(sub.wait(now).await, None, "another topic's move");
        waiters.saw(&inbox("a"), 7);
        assert_eq!(sub.wait(soon()).await, Some(2));
    }
}
