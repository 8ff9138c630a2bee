//! All SQL of the service: the schema's migrations, appending a message, reading a page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_domain::{Direction, NewMessage, Page, PageRequest, StoredMessage};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::{MySql, migrate::MigrateDatabase};
use thiserror::Error;

use crate::clock::Clock;

/// How often a send is retried when MariaDB reports a transient conflict.
const MAX_ATTEMPTS: usize = 5;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Internal(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            _ => Self::Internal(err),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: MySqlPool,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// Connects, creating the database if it is missing, and applies pending migrations.
    /// Migrations only ever add: nothing is dropped.
    pub async fn open(
        database_url: &str,
        pool_size: u32,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        if !MySql::database_exists(database_url).await? {
            // Another replica may create it between the check and here; that is fine.
            if let Err(err) = MySql::create_database(database_url).await
                && !MySql::database_exists(database_url).await?
            {
                return Err(err.into());
            }
        }
        let pool = MySqlPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(5))
            .connect(database_url)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|err| StoreError::Internal(err.into()))?;
        Ok(Self { pool, clock })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Open and idle connections of the pool.
    pub fn pool_usage(&self) -> (usize, usize) {
        (self.pool.size() as usize, self.pool.num_idle())
    }

    /// Commits `msg` with a send_time above every earlier one of its room, and returns it.
    pub async fn append(&self, msg: &NewMessage) -> Result<StoredMessage, StoreError> {
        let started = Instant::now();
        let result = self.append_with_retries(msg).await;
        record_latency("append", started);
        result
    }

    async fn append_with_retries(&self, msg: &NewMessage) -> Result<StoredMessage, StoreError> {
        let mut attempt = 1;
        loop {
            match self.try_append(msg).await {
                Err(err) if attempt < MAX_ATTEMPTS && is_transient(&err) => {
                    tracing::debug!(attempt, %err, "retrying send");
                    attempt += 1;
                }
                result => return result.map_err(StoreError::from),
            }
        }
    }

    async fn try_append(&self, msg: &NewMessage) -> Result<StoredMessage, sqlx::Error> {
        let room = msg.room.key();
        let now = self.clock.now_micros();
        let mut tx = self.pool.begin().await?;
        // Takes the room's row lock until commit and picks max(now, last + 1). LAST_INSERT_ID(x)
        // hands the chosen value back in the same round trip, on insert and on update alike.
        let send_time = sqlx::query(
            "INSERT INTO rooms (room, last_send_time) VALUES (?, LAST_INSERT_ID(GREATEST(?, 1))) \
             ON DUPLICATE KEY UPDATE \
             last_send_time = LAST_INSERT_ID(GREATEST(last_send_time + 1, ?))",
        )
        .bind(room)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .last_insert_id();
        let send_time = i64::try_from(send_time).map_err(|err| sqlx::Error::Decode(err.into()))?;
        sqlx::query("INSERT INTO messages (room, send_time, sender, text) VALUES (?, ?, ?, ?)")
            .bind(room)
            .bind(send_time)
            .bind(msg.sender.as_str())
            .bind(msg.text.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(StoredMessage {
            chat: room.to_owned(),
            sender: msg.sender.to_string(),
            text: msg.text.as_str().to_owned(),
            send_time,
        })
    }

    /// One range read of the (room, send_time) key, no OFFSET.
    pub async fn read_page(&self, req: &PageRequest) -> Result<Page, StoreError> {
        let started = Instant::now();
        let sql = match req.direction {
            Direction::Forward => {
                "SELECT send_time, sender, text FROM messages \
                 WHERE room = ? AND send_time >= ? ORDER BY send_time ASC LIMIT ?"
            }
            Direction::Backward => {
                "SELECT send_time, sender, text FROM messages \
                 WHERE room = ? AND send_time <= ? ORDER BY send_time DESC LIMIT ?"
            }
        };
        let rows: Result<Vec<(i64, Vec<u8>, String)>, _> = sqlx::query_as(sql)
            .bind(req.room.key())
            .bind(req.bound())
            .bind(req.rows_to_fetch() as u64)
            .fetch_all(&self.pool)
            .await;
        record_latency("read_page", started);
        let rows = rows?;
        let chat = req.room.key();
        let messages = rows
            .into_iter()
            .map(|(send_time, sender, text)| StoredMessage {
                chat: chat.to_owned(),
                // Only validated UTF-8 member ids are ever written.
                sender: String::from_utf8_lossy(&sender).into_owned(),
                text,
                send_time,
            })
            .collect();
        Ok(req.page(messages))
    }
}

fn record_latency(op: &'static str, started: Instant) {
    metrics::histogram!("im_store_duration_seconds", "op" => op).record(started.elapsed());
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
