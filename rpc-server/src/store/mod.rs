//! All SQL of the service: the schema's migrations, appending messages (in `writer`), reading a
//! page; which database node it goes to (in `cluster`).

mod cluster;
mod connection;
mod reader;
mod writer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_domain::{NewMessage, Page, PageRequest, StoredMessage};
use sqlx::{MySql, QueryBuilder};
use thiserror::Error;

use crate::clock::Clock;
use cluster::Cluster;
pub use cluster::parse_urls as parse_database_urls;
use reader::{MessageRow, Reader};
use writer::Writer;

/// Cloneable, because one failed group commit answers every send in it.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The database cannot serve now (unreachable, overloaded, shutting down, read-only during a
    /// failover, or a lock conflict that outlasted the retries): the caller may retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A real fault, such as data the database refused; details go to the log.
    #[error("database error: {0}")]
    Internal(String),
    /// More sends are waiting for the database than the queue holds.
    #[error("too many sends waiting for the database")]
    Overloaded,
    /// The connection failed during COMMIT of a send without a client_msg_id: it may or may not
    /// be stored.
    #[error(
        "the database connection failed while committing; the message may or may not be stored"
    )]
    OutcomeUnknown,
    /// The send's client_msg_id names a message of the same sender stored with another text.
    #[error("client_msg_id already names another message of this sender in this room")]
    ClientMsgIdConflict,
}

/// A send's answer: the stored message, and whether its client_msg_id named a message stored
/// before (then nothing new was stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: StoredMessage,
    pub duplicate: bool,
}

/// MySQL / MariaDB server errors that mean "not now" rather than "wrong": a Galera node not
/// prepared for use (1047: joining, or outside the primary component), too many connections
/// (1040), shutdown in progress (1053), lock wait timeout (1205), deadlock (1213), read-only
/// (1290, 1792, 1836: a replica or a failover in progress), connection killed (1927),
/// and query interrupted (1317).
const UNAVAILABLE_SERVER_ERRORS: [u16; 10] =
    [1040, 1047, 1053, 1205, 1213, 1290, 1317, 1792, 1836, 1927];

impl StoreError {
    fn timed_out() -> Self {
        Self::Unavailable("the database did not answer in time".to_owned())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let unavailable = match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|e| UNAVAILABLE_SERVER_ERRORS.contains(&e.number())),
            _ => false,
        };
        if unavailable {
            Self::Unavailable(err.to_string())
        } else {
            Self::Internal(err.to_string())
        }
    }
}

/// How the store uses the database; every wait is bounded.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub pool_size: u32,
    /// Group-commit lanes (see [`writer`]).
    pub commit_lanes: usize,
    /// Connections held for page reads (see [`reader`]). Lanes and readers each hold a
    /// connection of the pool; the rest serve the occasional query (health checks, long-poll
    /// scans).
    pub readers: usize,
    /// The longest a send waits for its commit, queue included, and a pull for its read; a
    /// send still queued then is dropped, never committed after its caller was answered.
    pub deadline: Duration,
    /// `innodb_lock_wait_timeout` of every connection, in seconds (at least 1).
    pub lock_wait_secs: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 32,
            commit_lanes: 2,
            readers: 8,
            deadline: Duration::from_millis(2500),
            lock_wait_secs: 2,
        }
    }
}

/// Told of every room where this replica committed a message, right after the commit.
pub trait CommitListener: Send + Sync {
    fn committed(&self, room: &str);
}

/// Nobody listens.
impl CommitListener for () {
    fn committed(&self, _room: &str) {}
}

#[derive(Clone)]
pub struct Store {
    cluster: Cluster,
    writer: Writer,
    reader: Reader,
    deadline: Duration,
}

impl Store {
    /// Connects, creating the database if it is missing, and applies pending migrations.
    /// Migrations only ever add: nothing is dropped.
    pub async fn open(
        database_url: &str,
        options: &StoreOptions,
        clock: Arc<dyn Clock>,
        on_commit: Arc<dyn CommitListener>,
    ) -> Result<Self, StoreError> {
        let cluster = Cluster::open(database_url, options).await?;
        cluster.migrate(sqlx::migrate!("./migrations")).await?;
        let writer = Writer::start(cluster.clone(), clock, on_commit, options);
        let reader = Reader::start(&cluster, options.readers);
        Ok(Self {
            cluster,
            writer,
            reader,
            deadline: options.deadline,
        })
    }

    /// Whether the database can serve now (see [`cluster`]).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.cluster.ping().await
    }

    /// Open and idle connections of the active node's pool.
    pub fn pool_usage(&self) -> (usize, usize) {
        self.cluster
            .pool()
            .map_or((0, 0), |pool| (pool.size() as usize, pool.num_idle()))
    }

    /// Commits `msg` with a send_time above every earlier one of its room, and returns it once
    /// it is committed; or, when its client_msg_id names a stored message, returns that one.
    /// Concurrent sends are committed together (see [`writer`]). It waits at most the store's
    /// deadline, and its caller no longer than `caller_deadline`.
    pub async fn append(
        &self,
        msg: NewMessage,
        caller_deadline: Option<Instant>,
    ) -> Result<Appended, StoreError> {
        let deadline = Instant::now() + self.deadline;
        self.writer.append(msg, deadline, caller_deadline).await
    }

    /// One range read of the (room, send_time) key, no OFFSET, within the store's deadline and
    /// `caller_deadline`.
    pub async fn read_page(
        &self,
        req: &PageRequest,
        caller_deadline: Option<Instant>,
    ) -> Result<Page, StoreError> {
        let started = Instant::now();
        let own = started + self.deadline;
        let deadline = caller_deadline.map_or(own, |caller| caller.min(own));
        let rows: Vec<MessageRow> = self.reader.read(req, deadline).await?;
        record_latency("read_page", started);
        let chat = req.room.key();
        let messages = rows
            .into_iter()
            .map(|row| StoredMessage {
                chat: chat.to_owned(),
                // Only validated UTF-8 member ids and client ids are ever written.
                sender: String::from_utf8_lossy(&row.sender).into_owned(),
                text: row.text,
                send_time: row.send_time,
                client_msg_id: row
                    .client_msg_id
                    .map(|id| String::from_utf8_lossy(&id).into_owned()),
            })
            .collect();
        Ok(req.page(messages))
    }
}

impl Store {
    /// `rooms.last_send_time` of each of `rooms` that has one: it moves with every commit in the
    /// room, by any replica.
    pub async fn last_send_times(
        &self,
        rooms: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let mut query: QueryBuilder<MySql> =
            QueryBuilder::new("SELECT room, last_send_time FROM rooms WHERE room IN ");
        query.push_tuples(rooms, |mut row, room| {
            row.push_bind(room.as_str());
        });
        let pool = self.cluster.pool()?;
        let read = query.build_query_as::<(Vec<u8>, i64)>().fetch_all(&pool);
        let rows = tokio::time::timeout(self.deadline, read)
            .await
            .map_err(|_| StoreError::timed_out())??;
        Ok(rows
            .into_iter()
            .map(|(room, last)| (String::from_utf8_lossy(&room).into_owned(), last))
            .collect())
    }
}

pub(crate) fn record_latency(op: &'static str, started: Instant) {
    metrics::histogram!("im_store_duration_seconds", "op" => op).record(started.elapsed());
}
