//! A lane's loop: take whatever sends wait, commit them as one group, answer each. Retries,
//! deadlines and the split of a refused group live here; the SQL is in [`super::transaction`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use im_domain::{NewMessage, StoredMessage};
use tokio::sync::mpsc;

use super::dedup::Outcome;
use super::transaction::{CommitSettings, commit};
use super::{MAX_BATCH, Pending};
use crate::clock::Clock;
use crate::store::connection::HeldConnection;
use crate::store::error::{ErrorKind, Unavailable, classify, spans_shards};
use crate::store::shards::Shards;
use crate::store::{Appended, CommitListener, StoreError, record_latency};

/// How often a group is tried when the database reports a transient conflict, within its
/// deadline. Clock versions add one kind: two groups that give rooms of one member the same
/// version (statements in neighbouring microseconds), a 1062 that a later attempt resolves;
/// for a member changing many rooms at once on several lanes that can happen a few times in a
/// row.
const MAX_ATTEMPTS: u32 = 8;

/// The first retry waits about this long; each further one twice as long, plus jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(10);

/// What a lane commits with.
pub(super) struct Committer {
    pub(super) connection: HeldConnection,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) on_commit: Arc<dyn CommitListener>,
    pub(super) settings: CommitSettings,
    /// Through vtgate: a group commits the sends of one shard.
    pub(super) shards: Option<Shards>,
}

/// Takes whatever is waiting (up to [`MAX_BATCH`]) and commits it, over and over: the longer a
/// commit takes, the larger the next group.
pub(super) async fn commit_lane(mut waiting: mpsc::Receiver<Pending>, mut committer: Committer) {
    while let Some(first) = waiting.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let Some(shards) = committer.shards.clone() else {
            commit_and_answer(&mut committer, batch).await;
            continue;
        };
        let mut by_shard: BTreeMap<usize, Vec<Pending>> = BTreeMap::new();
        for pending in batch {
            let shard = shards.of(pending.msg.room().key());
            by_shard.entry(shard).or_default().push(pending);
        }
        for group in by_shard.into_values() {
            commit_and_answer(&mut committer, group).await;
        }
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
