//! Commits of other replicas. Every `interval`, while anyone waits, one query per batch of
//! topics reads their positions (`rooms.last_send_time` of the rooms waited on,
//! `members.last_version` of the inboxes waited on, [`KEYS_PER_QUERY`] at a time) and wakes
//! those that moved. Its cost grows with the topics waited on, not with the waiters, and a
//! waiter on another replica learns of a commit within `interval` plus that query.

use std::sync::Arc;
use std::time::Duration;

use super::{Topic, Waiters};
use crate::store::{Store, StoreError};

/// Keys looked up by one statement of the watch.
const KEYS_PER_QUERY: usize = 500;

/// Watches until the task is dropped.
pub async fn watch_other_replicas(waiters: Arc<Waiters>, store: Store, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (mut rooms, mut members) = (Vec::new(), Vec::new());
        for topic in waiters.waited_on() {
            match topic {
                Topic::Room(room) => rooms.push(room),
                Topic::Inbox(member) => members.push(member),
            }
        }
        for chunk in rooms.chunks(KEYS_PER_QUERY) {
            let seen = store.last_send_times(chunk).await;
            wake_moved(&waiters, seen, Topic::Room);
        }
        for chunk in members.chunks(KEYS_PER_QUERY) {
            let seen = store.last_versions(chunk).await;
            wake_moved(&waiters, seen, Topic::Inbox);
        }
    }
}

fn wake_moved(
    waiters: &Waiters,
    seen: Result<Vec<(String, i64)>, StoreError>,
    topic: fn(String) -> Topic,
) {
    match seen {
        Ok(seen) => {
            for (key, position) in seen {
                waiters.saw(&topic(key), position);
            }
        }
        Err(err) => tracing::debug!(%err, "cannot read the topics waited on"),
    }
}
