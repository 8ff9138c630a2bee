//! All SQL of the service: the schema's migrations, appending messages (in `writer`), reading a
//! page.

mod writer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_domain::{Direction, NewMessage, Page, PageRequest, StoredMessage};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::{MySql, migrate::MigrateDatabase};
use thiserror::Error;

use crate::clock::Clock;
use writer::Writer;

/// Cloneable, because one failed group commit answers every send in it.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Internal(String),
    /// More sends are waiting for the database than the queue holds.
    #[error("too many sends waiting for the database")]
    Overloaded,
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err.to_string()),
            _ => Self::Internal(err.to_string()),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: MySqlPool,
    writer: Writer,
}

impl Store {
    /// Connects, creating the database if it is missing, and applies pending migrations.
    /// Migrations only ever add: nothing is dropped. Sends are committed in `commit_lanes`
    /// lanes, one group at a time each.
    pub async fn open(
        database_url: &str,
        pool_size: u32,
        commit_lanes: usize,
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
            .map_err(|err| StoreError::Internal(err.to_string()))?;
        let writer = Writer::start(pool.clone(), clock, commit_lanes);
        Ok(Self { pool, writer })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Open and idle connections of the pool.
    pub fn pool_usage(&self) -> (usize, usize) {
        (self.pool.size() as usize, self.pool.num_idle())
    }

    /// Commits `msg` with a send_time above every earlier one of its room, and returns it once
    /// it is committed. Concurrent sends are committed together (see [`writer`]).
    pub async fn append(&self, msg: NewMessage) -> Result<StoredMessage, StoreError> {
        self.writer.append(msg).await
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

pub(crate) fn record_latency(op: &'static str, started: Instant) {
    metrics::histogram!("im_store_duration_seconds", "op" => op).record(started.elapsed());
}
