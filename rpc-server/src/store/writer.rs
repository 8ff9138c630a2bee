//! Group commit of sends. Concurrent sends queue up in lanes; each lane takes whatever is waiting
//! (up to [`MAX_BATCH`]) and commits it in one transaction. Each caller is answered only after
//! that transaction committed. Under light load a batch is a
//! single send; under heavy load one commit carries many, which is what lets the send path
//! keep up with the database.
//!
//! In the transaction one statement takes the `rooms` row lock of every room of the batch, in
//! ascending key order so that concurrent batches (of any replica) never deadlock, and reserves
//! one send_time per message; one more reads them back (not needed for a single room:
//! LAST_INSERT_ID carries its time back), and one multi-row insert stores the messages. A
//! statement carries at most [`STATEMENT_ROWS`] rows, so a large batch takes a few more. The
//! lane's connection has autocommit off, so no BEGIN is sent. The row locks are held until
//! commit, so send_time order is commit order within every room.
//!
//! Client message ids ride on the same locks. Every writer of a room holds the room's row lock
//! from its first statement to its commit, so once a group holds it, no other group of any
//! replica can store a message in that room until this one commits. One more statement (only
//! when the group carries ids) then looks up every id of the group; an id already stored, or
//! earlier in the same group, is answered with the stored message and not inserted again, so
//! two identical sends racing on two replicas store one message. The unique index on
//! (room, sender, client_msg_id) backs this up. A send_time reserved for a duplicate stays
//! unused: send_times need to be unique and increasing, not dense.
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
//! itself.
//!
//! On a Galera cluster the row locks are each node's own, and a conflict between two nodes'
//! groups is found at COMMIT by certification: the later one fails with 1213, is not
//! committed, and is retried like any deadlock; its retry sees the other group's rows, so the
//! id lookup still finds every id stored. A node that is not prepared (1047) fails the attempt
//! before anything is committed, and the retry goes to the node the replica moved to (see
//! [`super::cluster`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use im_domain::{NewMessage, StoredMessage};
use sqlx::mysql::MySqlConnection;
use sqlx::{Executor, MySql, QueryBuilder};
use std::hash::{Hash, Hasher};

use tokio::sync::{mpsc, oneshot};

use super::cluster::Cluster;
use super::connection::{HeldConnection, is_connection_error};
use super::{Appended, CommitListener, StoreError, StoreOptions, record_latency};
use crate::clock::Clock;

/// Most sends in one transaction (5 bound parameters each, far below MySQL's 65535).
const MAX_BATCH: usize = 256;

/// Most rows one statement carries; larger groups take several statements. Each statement is
/// prepared once per row count, so this bounds the shapes a connection keeps prepared to a few
/// dozen each, well within its statement cache: a cache that overflowed would close a
/// statement and prepare another on every group.
pub(super) const STATEMENT_ROWS: usize = 32;

/// Most sends waiting to be committed, over all lanes; beyond it a send is refused at once as overloaded,
/// which bounds memory and keeps latency from growing without limit.
const QUEUE_CAPACITY: usize = 8192;

/// How often a batch is retried when MariaDB reports a transient conflict.
const MAX_ATTEMPTS: u32 = 5;

/// The first retry waits about this long; each further one twice as long, plus jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(10);

struct Pending {
    msg: NewMessage,
    deadline: Instant,
    /// An earlier attempt failed during COMMIT: finding the id stored now means that attempt
    /// stored it, not that the client sent it twice.
    maybe_committed: bool,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
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
                "the database did not commit the send in time".to_owned(),
            )));
            return None;
        }
        Some(self)
    }
}

/// Sends go to one of several lanes by room; each lane commits one group at a time. So two
/// groups of one replica never wait for each other's room locks, and a group only ever waits
/// for another replica's group, never for a chain of them.
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
    ) -> Self {
        let lanes = options.commit_lanes.clamp(1, QUEUE_CAPACITY);
        let lanes = (0..lanes)
            .map(|_| {
                let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY / lanes);
                let committer = Committer {
                    connection: HeldConnection::transactional(cluster.clone()),
                    clock: clock.clone(),
                    on_commit: on_commit.clone(),
                };
                tokio::spawn(commit_lane(waiting, committer));
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
        let lane = &self.lanes[lane_of(msg.room.key(), self.lanes.len())];
        let resendable = msg.client_msg_id.is_some();
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
                .unwrap_or_else(|_| Err(StoreError::Internal("the writer stopped".to_owned())))
        };
        let Some(caller_deadline) = caller_deadline.filter(|caller| *caller < deadline) else {
            return answer.await;
        };
        match tokio::time::timeout_at(caller_deadline.into(), answer).await {
            Ok(answer) => answer,
            // Left waiting, the send is dropped before its group's next attempt; in the attempt
            // under way it may still be committed. With an id, sending again is safe.
            Err(_) if resendable => Err(StoreError::Unavailable(
                "the database did not commit the send in time".to_owned(),
            )),
            Err(_) => Err(StoreError::OutcomeUnknown),
        }
    }
}

fn lane_of(room: &str, lanes: usize) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    room.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

/// What a lane commits with.
struct Committer {
    connection: HeldConnection,
    clock: Arc<dyn Clock>,
    on_commit: Arc<dyn CommitListener>,
}

/// Takes whatever is waiting (up to [`MAX_BATCH`]) and commits it, over and over: the longer a
/// commit takes, the larger the next group.
async fn commit_lane(mut waiting: mpsc::Receiver<Pending>, mut committer: Committer) {
    while let Some(first) = waiting.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        commit_and_answer(&mut committer, batch).await;
    }
}

async fn commit_and_answer(committer: &mut Committer, mut batch: Vec<Pending>) {
    let started = Instant::now();
    let mut attempt = 1;
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
            // A database error is the server's answer: the transaction did not commit.
            Err(err)
                if commit_sent.load(Ordering::Relaxed)
                    && !matches!(err, Some(sqlx::Error::Database(_))) =>
            {
                // COMMIT was sent and no answer came back: the group may be stored.
                tracing::warn!(?err, "the connection failed during COMMIT");
                batch = batch
                    .into_iter()
                    .filter_map(|pending| pending.outcome_unknown())
                    .collect();
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(Some(err)) if attempt < MAX_ATTEMPTS && is_transient(&err) => {
                tracing::debug!(attempt, %err, "retrying a batch of sends");
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
        Ok(outcomes) => {
            let mut woken: Vec<&str> = outcomes
                .iter()
                .zip(&batch)
                .filter(|(outcome, _)| matches!(outcome, Outcome::Stored { .. }))
                .map(|(_, pending)| pending.msg.room.key())
                .collect();
            woken.sort_unstable();
            woken.dedup();
            for room in woken {
                committer.on_commit.committed(room);
            }
            for (pending, outcome) in batch.into_iter().zip(outcomes) {
                let _ = pending.reply.send(pending_answer(
                    &pending.msg,
                    pending.maybe_committed,
                    outcome,
                ));
            }
        }
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

impl Pending {
    /// After a failure during COMMIT: a send with an id stays in the group, to be tried again
    /// (safely: the lookup finds it if it was stored); one without is answered that nobody
    /// knows whether it was stored.
    fn outcome_unknown(mut self) -> Option<Self> {
        if self.msg.client_msg_id.is_some() {
            self.maybe_committed = true;
            return Some(self);
        }
        let _ = self.reply.send(Err(StoreError::OutcomeUnknown));
        None
    }
}

/// What one message of a committed group comes to.
enum Outcome {
    Stored {
        send_time: i64,
    },
    /// Its client_msg_id names a message stored before, with the same text.
    AlreadyStored {
        send_time: i64,
    },
    /// Its client_msg_id names a message stored before, with another text.
    IdConflict,
}

fn pending_answer(
    msg: &NewMessage,
    maybe_committed: bool,
    outcome: Outcome,
) -> Result<Appended, StoreError> {
    let (send_time, duplicate) = match outcome {
        Outcome::Stored { send_time } => (send_time, false),
        Outcome::AlreadyStored { send_time } => (send_time, !maybe_committed),
        Outcome::IdConflict => return Err(StoreError::ClientMsgIdConflict),
    };
    Ok(Appended {
        message: StoredMessage {
            chat: msg.room.key().to_owned(),
            sender: msg.sender.to_string(),
            text: msg.text.as_str().to_owned(),
            send_time,
            client_msg_id: msg.client_msg_id.as_ref().map(ToString::to_string),
        },
        duplicate,
    })
}

/// Exponential backoff with full jitter: a random wait up to `BACKOFF_BASE * 2^(attempt-1)`, so
/// that groups which conflicted do not meet again at the same instant.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE * 2u32.pow(attempt - 1);
    ceiling.mul_f64(fastrand::f64())
}

/// Commits `msgs` in one transaction; returns what became of each, in order. Sets
/// `commit_sent` just before COMMIT.
async fn commit(
    connection: &mut HeldConnection,
    clock: &dyn Clock,
    msgs: &[&NewMessage],
    commit_sent: &AtomicBool,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut by_room: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, msg) in msgs.iter().enumerate() {
        by_room.entry(msg.room.key()).or_default().push(i);
    }
    let rooms: Vec<(&str, &[usize])> = by_room.iter().map(|(r, p)| (*r, p.as_slice())).collect();
    // Every time reserved below is at least 1 and at least the clock.
    let now = clock.now_micros().max(1);
    // The connection has autocommit off: the first statement opens the transaction.
    let tx = connection.get().await?;

    let mut lasts = Vec::with_capacity(rooms.len());
    for chunk in rooms.chunks(STATEMENT_ROWS) {
        let reserved = reserve(&mut *tx, chunk, now).await?;
        lasts.push(reserved);
    }
    let mut times = vec![0; msgs.len()];
    let mut unread: Vec<&str> = Vec::new();
    for ((room, positions), last) in rooms.iter().zip(lasts.into_iter().flatten()) {
        match last {
            Some(last) => assign_times(&mut times, positions, last),
            None => unread.push(room),
        }
    }
    // The locks are ours until commit, so these are the values just written.
    for chunk in unread.chunks(STATEMENT_ROWS) {
        let mut read: QueryBuilder<MySql> =
            QueryBuilder::new("SELECT room, last_send_time FROM rooms WHERE room IN ");
        read.push_tuples(chunk, |mut row, room| {
            row.push_bind(*room);
        });
        let read: Vec<(Vec<u8>, i64)> = read.build_query_as().fetch_all(&mut *tx).await?;
        for (room, last) in read {
            if let Some(positions) = std::str::from_utf8(&room).ok().and_then(|r| by_room.get(r)) {
                assign_times(&mut times, positions, last);
            }
        }
    }
    if times.contains(&0) {
        // Cannot happen: every room of the batch was just written.
        return Err(sqlx::Error::RowNotFound);
    }

    let outcomes = deduplicate(tx, msgs, &times).await?;
    let new: Vec<(&NewMessage, i64)> = msgs
        .iter()
        .zip(&outcomes)
        .filter_map(|(msg, outcome)| match outcome {
            Outcome::Stored { send_time } => Some((*msg, *send_time)),
            _ => None,
        })
        .collect();
    for chunk in new.chunks(STATEMENT_ROWS) {
        let mut insert: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO messages (room, send_time, sender, text, client_msg_id) ",
        );
        insert.push_values(chunk, |mut row, (msg, send_time)| {
            row.push_bind(msg.room.key())
                .push_bind(*send_time)
                .push_bind(msg.sender.as_str())
                .push_bind(msg.text.as_str())
                .push_bind(msg.client_msg_id.as_ref().map(|id| id.as_str()));
        });
        insert.build().execute(&mut *tx).await?;
    }
    commit_sent.store(true, Ordering::Relaxed);
    tx.execute("COMMIT").await?;
    Ok(outcomes)
}

/// Takes the row lock of each of `rooms` (in the given, ascending, key order) and reserves one
/// time per message in each, after max(now, last + 1). A new room's row starts at
/// now + extra; an existing one moves to max(last + 1, now) + extra, where
/// extra = VALUES(last_send_time) - now because all rows share `now`. Returns each room's new
/// last time where the answer tells it: for a single room, LAST_INSERT_ID carries it back, which
/// saves reading it; `None` means it must be read.
async fn reserve(
    tx: &mut MySqlConnection,
    rooms: &[(&str, &[usize])],
    now: i64,
) -> Result<Vec<Option<i64>>, sqlx::Error> {
    let single = rooms.len() == 1;
    let mut reserve: QueryBuilder<MySql> =
        QueryBuilder::new("INSERT INTO rooms (room, last_send_time) ");
    reserve.push_values(rooms, |mut row, (room, positions)| {
        row.push_bind(*room).push_bind(now + extra(positions));
    });
    reserve.push(if single {
        " ON DUPLICATE KEY UPDATE last_send_time = LAST_INSERT_ID(\
         GREATEST(last_send_time + 1 + VALUES(last_send_time) - "
    } else {
        " ON DUPLICATE KEY UPDATE last_send_time = \
         GREATEST(last_send_time + 1 + VALUES(last_send_time) - "
    });
    reserve.push_bind(now).push(", VALUES(last_send_time))");
    if single {
        reserve.push(")");
    }
    let done = reserve.build().execute(&mut *tx).await?;
    if !single {
        return Ok(vec![None; rooms.len()]);
    }
    // One row affected: inserted with the value given; two: updated to LAST_INSERT_ID.
    let last = match (done.rows_affected(), i64::try_from(done.last_insert_id())) {
        (1, _) => Some(now + extra(rooms[0].1)),
        (2, Ok(last)) if last > 0 => Some(last),
        _ => None,
    };
    Ok(vec![last])
}

/// The times of a room's messages (at `positions`), given the room's new last time.
fn assign_times(times: &mut [i64], positions: &[usize], last: i64) {
    for (offset, &i) in (0..).zip(positions) {
        times[i] = last - extra(positions) + offset;
    }
}

/// Which messages of the group are new, given the room locks the transaction holds: one look-up
/// of every client_msg_id of the group (none when it carries none).
async fn deduplicate(
    conn: &mut MySqlConnection,
    msgs: &[&NewMessage],
    times: &[i64],
) -> Result<Vec<Outcome>, sqlx::Error> {
    let with_ids: Vec<&NewMessage> = msgs
        .iter()
        .copied()
        .filter(|msg| msg.client_msg_id.is_some())
        .collect();
    // (room, sender, id) -> (send_time, text) of every id already stored.
    let mut known: HashMap<(String, String, String), (i64, String)> = HashMap::new();
    for chunk in with_ids.chunks(STATEMENT_ROWS) {
        let mut lookup: QueryBuilder<MySql> = QueryBuilder::new(
            "SELECT room, sender, client_msg_id, send_time, text FROM messages \
             WHERE (room, sender, client_msg_id) IN ",
        );
        lookup.push_tuples(chunk, |mut row, msg| {
            row.push_bind(msg.room.key())
                .push_bind(msg.sender.as_str())
                .push_bind(msg.client_msg_id.as_ref().map(|id| id.as_str()));
        });
        let rows: Vec<StoredIdRow> = lookup.build_query_as().fetch_all(&mut *conn).await?;
        for row in rows {
            let key = (lossy(row.room), lossy(row.sender), lossy(row.client_msg_id));
            known.insert(key, (row.send_time, row.text));
        }
    }
    Ok(msgs
        .iter()
        .zip(times)
        .map(|(msg, &send_time)| {
            let Some(id) = &msg.client_msg_id else {
                return Outcome::Stored { send_time };
            };
            let key = (
                msg.room.key().to_owned(),
                msg.sender.to_string(),
                id.to_string(),
            );
            match known.get(&key) {
                Some((stored_time, text)) if text == msg.text.as_str() => Outcome::AlreadyStored {
                    send_time: *stored_time,
                },
                Some(_) => Outcome::IdConflict,
                None => {
                    // A later send of the group with the same id is a duplicate of this one.
                    known.insert(key, (send_time, msg.text.as_str().to_owned()));
                    Outcome::Stored { send_time }
                }
            }
        })
        .collect())
}

/// A stored message that a client_msg_id of the group names.
#[derive(sqlx::FromRow)]
struct StoredIdRow {
    room: Vec<u8>,
    sender: Vec<u8>,
    client_msg_id: Vec<u8>,
    send_time: i64,
    text: String,
}

/// Ids are stored from validated UTF-8 only.
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// How many times beyond the first a room of the batch reserves.
fn extra(positions: &[usize]) -> i64 {
    i64::try_from(positions.len() - 1).unwrap_or(i64::MAX)
}

/// Failures that a fresh transaction resolves: lock conflicts, i.e. deadlock or a Galera
/// certification failure (1213), lock wait timeout (1205) and a duplicate key (1062), should a
/// row ever collide; a Galera node not prepared for use (1047: the retry may find another
/// node); and a connection that failed before COMMIT (nothing of the group was committed, and
/// the retry takes a fresh one).
fn is_transient(err: &sqlx::Error) -> bool {
    if is_connection_error(err) {
        return true;
    }
    let Some(db) = err.as_database_error() else {
        return false;
    };
    let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() else {
        return false;
    };
    matches!(mysql.number(), 1047 | 1062 | 1205 | 1213)
}
