//! Group commit of sends. Concurrent sends queue up; a collector takes whatever is waiting (up
//! to [`MAX_BATCH`]) as soon as a commit slot is free and commits it in one transaction. Each
//! caller is answered only after that transaction committed. Under light load a batch is a
//! single send; under heavy load one commit carries many, which is what lets the send path
//! keep up with the database.
//!
//! In the transaction each room of the batch takes its `rooms` row lock, in ascending key order
//! so that concurrent batches (of any replica) never deadlock, and reserves one send_time per
//! message; then one multi-row insert stores them all. The row locks are held until commit, so
//! send_time order is commit order within every room.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use im_domain::{NewMessage, StoredMessage};
use sqlx::mysql::MySqlPool;
use sqlx::{MySql, QueryBuilder};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{StoreError, record_latency};
use crate::clock::Clock;

/// Most sends in one transaction (4 bound parameters each, far below MySQL's 65535).
const MAX_BATCH: usize = 256;

/// Most sends waiting for a commit slot; beyond it a send is refused at once as overloaded,
/// which bounds memory and keeps latency from growing without limit.
const QUEUE_CAPACITY: usize = 8192;

/// How often a batch is retried when MariaDB reports a transient conflict.
const MAX_ATTEMPTS: usize = 5;

struct Pending {
    msg: NewMessage,
    reply: oneshot::Sender<Result<StoredMessage, StoreError>>,
}

#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Pending>,
}

impl Writer {
    /// Starts the collector; it ends when the last `Writer` clone is dropped.
    pub(super) fn start(pool: MySqlPool, clock: Arc<dyn Clock>, commit_slots: usize) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(collect(
            waiting,
            pool,
            clock,
            Arc::new(Semaphore::new(commit_slots)),
        ));
        Self { queue }
    }

    pub(super) async fn append(&self, msg: NewMessage) -> Result<StoredMessage, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Pending { msg, reply })
            .map_err(|_| StoreError::Overloaded)?;
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Internal("the writer stopped".to_owned())))
    }
}

async fn collect(
    mut waiting: mpsc::Receiver<Pending>,
    pool: MySqlPool,
    clock: Arc<dyn Clock>,
    slots: Arc<Semaphore>,
) {
    while let Some(first) = waiting.recv().await {
        // Waiting for a slot first lets the next batch grow while the database is busy.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let (pool, clock) = (pool.clone(), clock.clone());
        tokio::spawn(async move {
            commit_and_answer(&pool, clock.as_ref(), batch).await;
            drop(slot);
        });
    }
}

async fn commit_and_answer(pool: &MySqlPool, clock: &dyn Clock, batch: Vec<Pending>) {
    metrics::histogram!("im_store_batch_size").record(batch.len() as f64);
    let started = Instant::now();
    let msgs: Vec<&NewMessage> = batch.iter().map(|p| &p.msg).collect();
    let mut attempt = 1;
    let result = loop {
        match commit(pool, clock, &msgs).await {
            Err(err) if attempt < MAX_ATTEMPTS && is_transient(&err) => {
                tracing::debug!(attempt, %err, "retrying a batch of sends");
                attempt += 1;
            }
            result => break result.map_err(StoreError::from),
        }
    };
    record_latency("append", started);
    match result {
        Ok(times) => {
            for (pending, send_time) in batch.into_iter().zip(times) {
                let msg = pending.msg;
                let _ = pending.reply.send(Ok(StoredMessage {
                    chat: msg.room.key().to_owned(),
                    sender: msg.sender.to_string(),
                    text: msg.text.as_str().to_owned(),
                    send_time,
                }));
            }
        }
        Err(err) => {
            for pending in batch {
                let _ = pending.reply.send(Err(err.clone()));
            }
        }
    }
}

/// Commits `msgs` in one transaction; returns their send_times, in order.
async fn commit(
    pool: &MySqlPool,
    clock: &dyn Clock,
    msgs: &[&NewMessage],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut by_room: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, msg) in msgs.iter().enumerate() {
        by_room.entry(msg.room.key()).or_default().push(i);
    }
    let now = clock.now_micros();
    let mut times = vec![0; msgs.len()];
    let mut tx = pool.begin().await?;
    for (room, positions) in &by_room {
        let extra = i64::try_from(positions.len() - 1).unwrap_or(i64::MAX);
        // Reserves len() consecutive times after max(now, last + 1) and takes the row lock until
        // commit. LAST_INSERT_ID(x) hands the room's new last send_time back in the same round
        // trip, on insert and on update alike.
        let last = sqlx::query(
            "INSERT INTO rooms (room, last_send_time) VALUES (?, LAST_INSERT_ID(GREATEST(?, 1) + ?)) \
             ON DUPLICATE KEY UPDATE \
             last_send_time = LAST_INSERT_ID(GREATEST(last_send_time + 1, ?) + ?)",
        )
        .bind(room)
        .bind(now)
        .bind(extra)
        .bind(now)
        .bind(extra)
        .execute(&mut *tx)
        .await?
        .last_insert_id();
        let last = i64::try_from(last).map_err(|err| sqlx::Error::Decode(err.into()))?;
        for (offset, &i) in (0..).zip(positions) {
            times[i] = last - extra + offset;
        }
    }
    let mut insert: QueryBuilder<MySql> =
        QueryBuilder::new("INSERT INTO messages (room, send_time, sender, text) ");
    insert.push_values(msgs.iter().zip(&times), |mut row, (msg, send_time)| {
        row.push_bind(msg.room.key())
            .push_bind(*send_time)
            .push_bind(msg.sender.as_str())
            .push_bind(msg.text.as_str());
    });
    insert.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(times)
}

/// Lock conflicts that a fresh transaction resolves: deadlock (1213), lock wait timeout (1205)
/// and a duplicate key (1062), should a row ever collide.
fn is_transient(err: &sqlx::Error) -> bool {
    let Some(db) = err.as_database_error() else {
        return false;
    };
    let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() else {
        return false;
    };
    matches!(mysql.number(), 1062 | 1205 | 1213)
}
