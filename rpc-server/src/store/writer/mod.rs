//! Group commit of sends. Concurrent sends queue up in lanes; each lane takes whatever is waiting
//! (up to [`MAX_BATCH`]) and commits it in one transaction. Each caller is answered only after
//! that transaction committed. Under light load a group is a single send; under heavy load one
//! commit carries many, which is what lets the send path keep up with the database.
//!
//! # Locking: why groups never deadlock and why positions follow commit order
//!
//! A group takes row locks in one global order, the same in every replica:
//!
//! 1. with inbox versions from the counters ([`InboxVersions::Counter`]), the `members` row of
//!    every member of every room of the group, in ascending key order (one statement moves
//!    each member's inbox version counter; see [`inbox`]); with versions from the clock
//!    ([`InboxVersions::Clock`]) none: a group then locks and writes only its rooms' rows;
//! 2. the `rooms` row of every room that gets a new message, in ascending key order (one
//!    statement reserves one send_time per message and writes the room's new versions; see
//!    [`transaction`]).
//!
//! Every lock is held until COMMIT. A group that waits for a lock holds only locks earlier in
//! that order, so no two groups (of any replica, in either mode) can wait for each other in a
//! cycle. Because a room's row is held from its reservation to the commit, send_time order is
//! commit order within every room. Counter versions follow commit order within every inbox
//! because a member's row is held from the move of its counter to the commit; clock versions
//! need no such lock, and listings only answer those that can no longer be overtaken (see
//! `versions`). A room's versions are written in its own row in the same transaction as its
//! messages: an inbox never lists a message that is not committed, and nothing acknowledged is
//! missing from an inbox. Inserting a member's or a room's first row may take InnoDB gap locks
//! next to other rows' index records; such a cycle is not prevented by the order above but is
//! detected by InnoDB at once (1213) and the group is tried again, as any lock conflict is.
//!
//! Client message ids are exactly-once by the unique index on (room, sender, client_msg_id). A
//! group's first attempt does not look its ids up: an id used twice in the group is found
//! there, and an id stored before makes the insert fail (1062), nothing of the group is
//! committed, and the group is tried again. Every later attempt looks up every id of the group
//! before its rooms are locked; an id already stored is answered with the stored message and
//! not inserted again, so two identical sends racing on two replicas store one message. A room
//! whose messages were all duplicates is not locked and gets no new version (with counters, its
//! members' counters still moved, which leaves a gap: versions need to be unique and
//! increasing, not dense).
//!
//! With `IM_INBOX=false` (only to measure what the inbox costs) step 1 is left out, the rooms
//! are locked first and the ids looked up under the room locks; send_times reserved for
//! duplicates then stay unused.
//!
//! # Failures
//!
//! When the connection fails while COMMIT is under way, the group may or may not be committed.
//! Its sends with an id are simply tried again: the lookup finds those that were committed.
//! Those without one cannot be told apart from a new send, so they are answered
//! [`StoreError::OutcomeUnknown`], never "retry later".
//!
//! Every wait is bounded. A send carries a deadline from the moment it is queued; before each
//! attempt, sends whose deadline passed or whose caller went away are answered (or dropped) and
//! left out, so nothing is committed after its caller was told it failed. Lock waits end after
//! `innodb_lock_wait_timeout` (set per connection), and a lock conflict is retried with
//! exponential backoff and jitter while the deadline allows. A group that the database refuses
//! for its data is split in halves and committed apart, so that one bad message fails only
//! itself. See [`lane`].
//!
//! On a Galera cluster the row locks are each node's own, and a conflict between two nodes'
//! groups is found at COMMIT by certification: the later one fails with 1213, is not
//! committed, and is retried like any deadlock; its retry sees the other group's rows, so the
//! id lookup still finds every id stored, and the member counters it moves are read again. A
//! node that is not prepared (1047) fails the attempt before anything is committed, and the
//! retry goes to the node the replica moved to (see [`super::cluster`]).

mod dedup;
mod held;
mod inbox;
mod lane;
mod reserve;
mod transaction;

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use im_domain::NewMessage;
use tokio::sync::{mpsc, oneshot};

use super::cluster::Cluster;
use super::connection::HeldConnection;
use super::error::{Internal, Unavailable};
use super::shards::Shards;
use super::versions::ClockSpread;
#[cfg(doc)]
use super::versions::InboxVersions;
use super::{Appended, CommitListener, StoreError, StoreOptions};
use crate::clock::Clock;

pub(super) use inbox::{advance_counters, recount};
use transaction::CommitSettings;
pub(super) use transaction::ReadBack;

/// Most sends in one transaction (5 bound parameters each, far below MySQL's 65535).
const MAX_BATCH: usize = 256;

/// Most sends waiting to be committed, over all lanes; beyond it a send is refused at once as
/// overloaded, which bounds memory and keeps latency from growing without limit.
const QUEUE_CAPACITY: usize = 8192;

struct Pending {
    msg: NewMessage,
    deadline: Instant,
    /// An earlier attempt failed during COMMIT: finding the id stored now means that attempt
    /// stored it, not that the client sent it twice.
    maybe_committed: bool,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

/// Sends go to one of several lanes by room; each lane commits one group at a time, unless
/// that one is slow (see [`lane::commit_lane`]). So two groups of one replica seldom wait for
/// each other's room locks.
#[derive(Clone)]
pub(super) struct Writer {
    lanes: Arc<[mpsc::Sender<Pending>]>,
}

impl Writer {
    /// Starts the lanes' committers; they end when the last `Writer` clone is dropped.
    pub(super) fn start(
        cluster: Cluster,
        clock: Arc<dyn Clock>,
        on_commit: Arc<dyn CommitListener>,
        options: &StoreOptions,
        read_back: ReadBack,
        shards: Option<Shards>,
    ) -> Self {
        let lanes = options.commit_lanes.clamp(1, QUEUE_CAPACITY);
        // Slow commits take up to half the connections that lanes and readers leave in the pool;
        // the rest serve read markers, health checks and long-poll scans.
        let held = lanes + options.readers;
        let spare = usize::try_from(options.pool_size).map_or(0, |size| size.saturating_sub(held));
        let slow_commits = (spare / 2 / lanes).min(options.commits_beside);
        let lanes = (0..lanes)
            .map(|_| {
                let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY / lanes);
                let model = lane::Committer {
                    connection: HeldConnection::transactional(cluster.clone()),
                    clock: clock.clone(),
                    on_commit: on_commit.clone(),
                    shards: shards.clone(),
                    settings: CommitSettings {
                        inbox: options.inbox.then_some(options.inbox_versions),
                        settle: options.inbox_settle,
                        spread: ClockSpread::new(options.vitess),
                        read_back,
                    },
                };
                tokio::spawn(lane::commit_lane(waiting, model, slow_commits));
                queue
            })
            .collect();
        Self { lanes }
    }

    /// Queues `msg` to be committed before `deadline`, and answers its caller no later than
    /// `caller_deadline`. The group a send joins is bounded by the store's deadlines only, so a
    /// caller that gives itself little time never cuts short the commit of others' sends.
    pub(super) async fn append(
        &self,
        msg: NewMessage,
        deadline: Instant,
        caller_deadline: Option<Instant>,
    ) -> Result<Appended, StoreError> {
        // A caller out of time before its send is even queued is told so: it was not stored.
        if caller_deadline.is_some_and(|caller| caller <= Instant::now()) {
            return Err(StoreError::Unavailable(Unavailable::NotCommittedInTime));
        }
        let lane = &self.lanes[lane_of(msg.room().key(), self.lanes.len())];
        let resendable = msg.client_msg_id().is_some();
        let (reply, answer) = oneshot::channel();
        lane.try_send(Pending {
            msg,
            deadline,
            maybe_committed: false,
            reply,
        })
        .map_err(|_| StoreError::Overloaded)?;
        let answer = async {
            answer
                .await
                .unwrap_or(Err(StoreError::Internal(Internal::WriterStopped)))
        };
        let Some(caller_deadline) = caller_deadline.filter(|caller| *caller < deadline) else {
            return answer.await;
        };
        match tokio::time::timeout_at(caller_deadline.into(), answer).await {
            Ok(answer) => answer,
            // Left waiting, the send is dropped before its group's next attempt; in the attempt
            // under way it may still be committed. With an id, sending again is safe.
            Err(_) if resendable => Err(StoreError::Unavailable(Unavailable::NotCommittedInTime)),
            Err(_) => Err(StoreError::OutcomeUnknown),
        }
    }
}

fn lane_of(room: &str, lanes: usize) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    room.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}
