//! A lane's loop: take whatever sends wait, commit them as one group, answer each. Retries,
//! deadlines and the split of a refused group live here; the SQL is in [`super::transaction`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use im_domain::{NewMessage, Room, StoredMessage};
use tokio::sync::mpsc;

use super::Pending;
use super::dedup::Outcome;
use super::held::{Held, MOST_HELD};
use super::transaction::{CommitSettings, commit};
use crate::clock::Clock;
use crate::store::connection::HeldConnection;
use crate::store::error::{ErrorKind, Unavailable, classify, spans_shards};
use crate::store::shards::Shards;
use crate::store::versions::InboxVersions;
use crate::store::{Appended, CommitListener, StoreError, record_latency};

/// How often a group is tried when the database reports a transient conflict, within its
/// deadline. Clock versions add one kind: two groups that give rooms of one member the same
/// version (statements in neighbouring microseconds), a 1062 that a later attempt resolves;
/// for a member changing many rooms at once on several lanes that can happen a few times in a
/// row.
const MAX_ATTEMPTS: u32 = 8;

/// The first retry waits about this long; each further one twice as long, plus jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(10);

/// How long the oldest commit under way in a lane must have taken for the sends waiting to
/// start a commit of their own beside it: well above a commit next to the database (a few ms),
/// well below one over a slow link or stuck behind a row lock held elsewhere.
const SLOW_COMMIT: Duration = Duration::from_millis(20);

/// What a lane commits with.
pub(super) struct Committer {
    pub(super) connection: HeldConnection,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) on_commit: Arc<dyn CommitListener>,
    pub(super) settings: CommitSettings,
    /// Through vtgate: a group commits the sends of one shard.
    pub(super) shards: Option<Shards>,
}

impl Committer {
    /// One more, alike, with a connection of its own (taken at its first commit).
    fn another(&self) -> Self {
        Self {
            connection: self.connection.another(),
            clock: self.clock.clone(),
            on_commit: self.on_commit.clone(),
            settings: self.settings,
            shards: self.shards.clone(),
        }
    }
}

/// Takes whatever is waiting (up to [`super::MAX_BATCH`]) and commits it, over and over: the
/// longer a commit takes, the larger the next group.
///
/// While the oldest commit under way has taken [`SLOW_COMMIT`], sends of other rooms (and,
/// with counter versions, of other members) are committed beside it by an extra committer made
/// like `model`, up to `slow_commits` of them: such a send waits for its own commit only, not
/// also for the one under way, where every commit is slow (a distant database) or one is stuck
/// on a room's lock. A send whose room or member a commit under way holds waits for that
/// commit, in order, so no two commits of a lane queue on one lock. An extra committer takes
/// its connection before it takes any send, and is let go with it once commits are quick again.
pub(super) async fn commit_lane(
    mut queue: mpsc::Receiver<Pending>,
    model: Committer,
    slow_commits: usize,
) {
    let members_too = matches!(
        model.settings.inbox,
        Some(InboxVersions::Counter | InboxVersions::Mixed)
    );
    let mut held = Held::new(slow_commits > 0);
    // The lane's own committer, when idle, and the extra ones idle.
    let mut own = Some(model.another());
    let mut extra_idle: Vec<Committer> = Vec::new();
    let mut extras = 0;
    let mut under_way = FuturesUnordered::new();
    let mut connecting = FuturesUnordered::new();
    // When each commit under way started, by its number: the first is the oldest.
    let mut started: BTreeMap<u64, tokio::time::Instant> = BTreeMap::new();
    let mut next_number = 0;
    // The oldest commit under way when an extra committer last failed to connect: none is
    // tried again while that one is still under way.
    let mut failed_beside = None;
    let mut closed = false;
    loop {
        let oldest = started.first_key_value().map(|(number, at)| (*number, *at));
        let slow_at = oldest.map(|(_, at)| at + SLOW_COMMIT);
        let slow = slow_commits > 0 && slow_at.is_some_and(|at| at <= tokio::time::Instant::now());
        // The lane's own committer goes first; extra ones only beside a slow commit.
        let picked = if under_way.is_empty() || slow {
            own.take()
                .map(|committer| (committer, false))
                .or_else(|| slow.then(|| extra_idle.pop()).flatten().map(|c| (c, true)))
        } else {
            None
        };
        if let Some((mut committer, extra)) = picked {
            held.take_from(&mut queue, &mut closed);
            let batch = held.free_batch(members_too);
            if batch.is_empty() {
                match extra {
                    false => own = Some(committer),
                    true => extra_idle.push(committer),
                }
            } else {
                if !under_way.is_empty() {
                    metrics::counter!("im_store_slow_commits_total").increment(1);
                }
                let number = next_number;
                next_number += 1;
                started.insert(number, tokio::time::Instant::now());
                let rooms: Vec<Room> = match held.tracks {
                    true => batch.iter().map(|p| p.msg.room().clone()).collect(),
                    false => Vec::new(),
                };
                under_way.push(async move {
                    commit_batch(&mut committer, batch).await;
                    (number, committer, extra, rooms)
                });
                continue;
            }
        }
        if under_way.is_empty() && closed && held.waiting.is_empty() {
            return;
        }
        if slow
            && own.is_none()
            && extra_idle.is_empty()
            && connecting.is_empty()
            && extras < slow_commits
            && failed_beside != oldest.map(|(number, _)| number)
            && held.any_free(members_too)
        {
            extras += 1;
            let mut committer = model.another();
            let beside = oldest.map(|(number, _)| number);
            connecting.push(async move {
                let connected = committer.connection.get().await.is_ok();
                (connected.then_some(committer), beside)
            });
        }
        let wake_at = slow_at.filter(|_| !slow && slow_commits > 0);
        // Sends stay queued while a quick commit is under way: none could go before it ends,
        // and taking each would wake the lane for nothing.
        let take_more = !closed && held.waiting.len() < MOST_HELD && (under_way.is_empty() || slow);
        tokio::select! {
            Some((number, committer, extra, rooms)) = under_way.next() => {
                started.remove(&number);
                held.release(&rooms, members_too);
                let still_slow = started
                    .first_key_value()
                    .is_some_and(|(_, at)| at.elapsed() >= SLOW_COMMIT);
                match (extra, still_slow) {
                    (false, _) => own = Some(committer),
                    (true, true) => extra_idle.push(committer),
                    (true, false) => extras -= 1,
                }
            }
            Some((connected, beside)) = connecting.next() => match connected {
                Some(committer) => extra_idle.push(committer),
                None => {
                    extras -= 1;
                    failed_beside = beside;
                }
            },
            pending = queue.recv(), if take_more => match pending {
                Some(pending) => held.waiting.push_back(pending),
                None => closed = true,
            },
            () = tokio::time::sleep_until(wake_at.unwrap_or_else(tokio::time::Instant::now)),
                if wake_at.is_some() => {}
        }
    }
}

/// Commits `batch`, through vtgate shard by shard.
async fn commit_batch(committer: &mut Committer, batch: Vec<Pending>) {
    let Some(shards) = committer.shards.clone() else {
        return commit_and_answer(committer, batch).await;
    };
    let mut by_shard: BTreeMap<usize, Vec<Pending>> = BTreeMap::new();
    for pending in batch {
        let shard = shards.of(pending.msg.room().key());
        by_shard.entry(shard).or_default().push(pending);
    }
    for group in by_shard.into_values() {
        commit_and_answer(committer, group).await;
    }
}

async fn commit_and_answer(committer: &mut Committer, mut batch: Vec<Pending>) {
    let started = Instant::now();
    let mut attempt = 1;
    let mut spanned = false;
    let result = loop {
        let now = Instant::now();
        batch = batch
            .into_iter()
            .filter_map(|p| p.still_wanted(now))
            .collect();
        let Some(deadline) = batch.iter().map(|p| p.deadline).min() else {
            return;
        };
        let msgs: Vec<&NewMessage> = batch.iter().map(|p| &p.msg).collect();
        let commit_sent = AtomicBool::new(false);
        let try_commit = commit(
            &mut committer.connection,
            committer.clock.as_ref(),
            &msgs,
            &committer.settings,
            // A first attempt leaves finding stored ids to the unique index; a retry (after
            // 1062, or a COMMIT that may have gone through) looks them up.
            attempt > 1,
            &commit_sent,
        );
        let attempt_result = tokio::time::timeout_at(deadline.into(), try_commit)
            .await
            .map_err(|_| None)
            .and_then(|result| result.map_err(Some));
        if let Err(err) = &attempt_result {
            committer.connection.after_error(err.as_ref()).await;
        }
        match attempt_result {
            Ok(outcomes) => break Ok(outcomes),
            // A database error is the server's answer: the transaction did not commit; unless
            // it is a proxy's word that its own connection broke.
            Err(err)
                if commit_sent.load(Ordering::Relaxed)
                    && err.as_ref().is_none_or(|err| {
                        !matches!(err, sqlx::Error::Database(_))
                            || classify(err) == ErrorKind::Connection
                    }) =>
            {
                // COMMIT was sent and no answer came back: the group may be stored.
                tracing::warn!(?err, "the connection failed during COMMIT");
                batch = batch
                    .into_iter()
                    .filter_map(Pending::outcome_unknown)
                    .collect();
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            // vtgate reads a SELECT's columns from any shard when it is first prepared, which
            // joins that shard to the transaction: tried again, the statement is prepared.
            Err(Some(err)) if spans_shards(&err) && !spanned => {
                spanned = true;
                attempt += 1;
            }
            Err(Some(err)) if spans_shards(&err) => {
                // Again: the shards moved under the group (a reshard). Learn them, split it.
                if let Some(shards) = &committer.shards {
                    shards.stale();
                }
                break Err(StoreError::from(err));
            }
            Err(Some(err)) if attempt < MAX_ATTEMPTS && classify(&err).is_transient() => {
                tracing::debug!(attempt, %err, "retrying a group of sends");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(Some(err)) => break Err(StoreError::from(err)),
            Err(None) => break Err(StoreError::timed_out()),
        }
    };
    metrics::histogram!("im_store_batch_size").record(batch.len() as f64);
    record_latency("append", started);
    match result {
        Ok(outcomes) => answer_committed(committer, batch, outcomes),
        Err(StoreError::Internal(err)) if batch.len() > 1 => {
            // The database refused the group, maybe for one message's data: commit the halves
            // apart, down to the offender alone.
            tracing::warn!(%err, sends = batch.len(), "a group commit failed; splitting it");
            let second = batch.split_off(batch.len() / 2);
            Box::pin(commit_and_answer(committer, batch)).await;
            Box::pin(commit_and_answer(committer, second)).await;
        }
        Err(err) => {
            for pending in batch {
                let _ = pending.reply.send(Err(err.clone()));
            }
        }
    }
}

/// Wakes the waiters of every room that got a message, then answers each send.
fn answer_committed(committer: &Committer, batch: Vec<Pending>, outcomes: Vec<Outcome>) {
    let mut woken: Vec<&str> = outcomes
        .iter()
        .zip(&batch)
        .filter(|(outcome, _)| matches!(outcome, Outcome::Stored { .. }))
        .map(|(_, pending)| pending.msg.room().key())
        .collect();
    woken.sort_unstable();
    woken.dedup();
    for room in woken {
        committer.on_commit.committed(room);
    }
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        let answer = pending.answer(outcome);
        let _ = pending.reply.send(answer);
    }
}

impl Pending {
    /// Whether the send may still be committed: its caller waits and its deadline has not
    /// passed. One that may not is answered (if anyone listens) and must be left out.
    fn still_wanted(self, now: Instant) -> Option<Self> {
        if self.reply.is_closed() {
            return None;
        }
        if now >= self.deadline {
            let _ = self.reply.send(Err(StoreError::Unavailable(
                Unavailable::NotCommittedInTime,
            )));
            return None;
        }
        Some(self)
    }

    /// After a failure during COMMIT: a send with an id stays in the group, to be tried again
    /// (safely: the lookup finds it if it was stored); one without is answered that nobody
    /// knows whether it was stored.
    fn outcome_unknown(mut self) -> Option<Self> {
        if self.msg.client_msg_id().is_some() {
            self.maybe_committed = true;
            return Some(self);
        }
        let _ = self.reply.send(Err(StoreError::OutcomeUnknown));
        None
    }

    fn answer(&self, outcome: Outcome) -> Result<Appended, StoreError> {
        let (send_time, duplicate) = match outcome {
            Outcome::Stored { send_time } => (send_time, false),
            Outcome::AlreadyStored { send_time } => (send_time, !self.maybe_committed),
            Outcome::IdConflict => return Err(StoreError::ClientMsgIdConflict),
        };
        Ok(Appended {
            message: StoredMessage::new(&self.msg, send_time),
            duplicate,
        })
    }
}

/// Exponential backoff with full jitter: a random wait up to `BACKOFF_BASE * 2^(attempt-1)`, so
/// that groups which conflicted do not meet again at the same instant.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE * 2u32.pow(attempt - 1);
    ceiling.mul_f64(fastrand::f64())
}
