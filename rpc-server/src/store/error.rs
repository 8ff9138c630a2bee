//! What the store answers when it cannot do what was asked, and the one place that reads a
//! database error: whether it means "not now", "try the transaction again" or "wrong".

use std::sync::Arc;

use thiserror::Error;

/// Cloneable, because one failed group commit answers every send in it.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The database cannot serve now (unreachable, overloaded, shutting down, read-only during a
    /// failover, or a lock conflict that outlasted the retries): the caller may retry later.
    #[error("database unavailable: {0}")]
    Unavailable(Unavailable),
    /// A real fault, such as data the database refused; details go to the log.
    #[error("database error: {0}")]
    Internal(Internal),
    /// More sends (or reads) are waiting for the database than the queue holds.
    #[error("too many requests waiting for the database")]
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

/// Why the database cannot serve now.
#[derive(Debug, Clone, Error)]
pub enum Unavailable {
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
    #[error("the database did not answer in time")]
    TimedOut,
    #[error("the database did not commit the send in time")]
    NotCommittedInTime,
    /// None of the database nodes of `DATABASE_URL` is reachable and synced.
    #[error("no database node is usable ({0})")]
    NoUsableNode(String),
}

/// A fault of the service or of the data it sent.
#[derive(Debug, Clone, Error)]
pub enum Internal {
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
    #[error("applying the migrations failed: {0}")]
    Migration(Arc<sqlx::migrate::MigrateError>),
    #[error("the writer stopped")]
    WriterStopped,
    #[error("a stored row failed its check: {0}")]
    DamagedRow(im_domain::InvalidInput),
    #[error("DATABASE_URL: {0}")]
    DatabaseUrl(String),
    #[error(
        "IM_INBOX_VERSIONS=clock (and mixed) needs a single database server: the nodes of a \
         Galera cluster each have their own clock; use IM_INBOX_VERSIONS=counter"
    )]
    ClockVersionsOnGalera,
    #[error(
        "IM_DB_VITESS needs IM_INBOX_VERSIONS=clock: counter versions make a send write its \
         members' rows, on other shards than its room's"
    )]
    CounterVersionsOnVitess,
}

impl StoreError {
    pub(super) fn timed_out() -> Self {
        Self::Unavailable(Unavailable::TimedOut)
    }
}

/// What a database error means for the work that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorKind {
    /// The connection broke (a socket, a garbled exchange): the statement may well succeed on
    /// a fresh connection.
    Connection,
    /// A lock conflict (deadlock or Galera certification failure 1213, lock wait timeout 1205):
    /// a fresh transaction resolves it; one that persists means the database cannot serve now.
    LockConflict,
    /// A duplicate key (1062), should a row ever collide: a fresh transaction resolves it; one
    /// that persists is a fault.
    DuplicateKey,
    /// No connection could be had in time (the pool's wait ran out, or it is closed).
    NoConnection,
    /// The database answered "not now".
    Unavailable,
    /// A Galera node not prepared for use (1047: joining, or outside the primary component):
    /// nothing ran, and the replica moves to another node, where a fresh transaction may run.
    NodeNotReady,
    /// The database refused the statement for what it says: retrying cannot help.
    Refused,
}

/// MySQL / MariaDB server errors that mean "not now" rather than "wrong": out of disk (1021
/// disk full, 1030 an error of the storage engine such as "No space left on device", 1114 a
/// table that cannot grow), too many connections (1040), shutdown in progress (1053),
/// read-only (1290, 1792, 1836: a replica or a failover in progress), query interrupted (1317)
/// and connection killed (1927).
const UNAVAILABLE_SERVER_ERRORS: [u16; 10] =
    [1021, 1030, 1040, 1053, 1114, 1290, 1317, 1792, 1836, 1927];

/// Whether `err` says the database is out of disk: disk full (1021), or a table that cannot
/// grow (1114).
pub(super) fn out_of_space(err: &StoreError) -> bool {
    let StoreError::Unavailable(Unavailable::Database(err)) = err else {
        return false;
    };
    let sqlx::Error::Database(db) = &**err else {
        return false;
    };
    let number = db
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(|mysql| mysql.number());
    matches!(number, Some(1021 | 1114))
}

/// Whether vtgate refused a transaction because it would span shards: a group formed from
/// shard ranges that a reshard has since moved, or a statement to fix; never the database's
/// failure.
pub(super) fn spans_shards(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.message().contains("multi-db transaction"))
}

/// Whether vtgate says that a shard cannot serve now: it has no primary it can reach (its
/// database is down), or its tablet is not serving (starting, shutting down, or its tables
/// moved away by a reshard cutting over), or a reshard's cut-over is under way, or its buffer
/// gave up.
fn shard_not_serving(message: &str) -> bool {
    [
        "no healthy tablet",
        "operation not allowed in state",
        "denied tables",
        "being resharded",
        "buffer",
    ]
    .iter()
    .any(|sign| message.contains(sign))
}

/// The only reading of database errors; everything else asks this.
pub(super) fn classify(err: &sqlx::Error) -> ErrorKind {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => ErrorKind::Connection,
        sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorKind::NoConnection,
        sqlx::Error::Database(db) => {
            let number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|mysql| mysql.number());
            match number {
                Some(1205 | 1213) => ErrorKind::LockConflict,
                Some(1317) if spans_shards(err) => ErrorKind::Refused,
                // A proxy (vtgate) that lost its connection to a shard's database: as if ours
                // broke, the statement may have run or not.
                Some(2006 | 2013) => ErrorKind::Connection,
                Some(1105) if shard_not_serving(db.message()) => ErrorKind::Unavailable,
                Some(1062) => ErrorKind::DuplicateKey,
                Some(1047) => ErrorKind::NodeNotReady,
                Some(n) if UNAVAILABLE_SERVER_ERRORS.contains(&n) => ErrorKind::Unavailable,
                _ => ErrorKind::Refused,
            }
        }
        _ => ErrorKind::Refused,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match classify(&err) {
            ErrorKind::Refused | ErrorKind::DuplicateKey => {
                Self::Internal(Internal::Database(Arc::new(err)))
            }
            ErrorKind::Connection
            | ErrorKind::NoConnection
            | ErrorKind::LockConflict
            | ErrorKind::Unavailable
            | ErrorKind::NodeNotReady => Self::Unavailable(Unavailable::Database(Arc::new(err))),
        }
    }
}

impl ErrorKind {
    /// Whether a fresh transaction may succeed where this one failed (before COMMIT: nothing
    /// of it was stored).
    pub(super) fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Connection | Self::LockConflict | Self::DuplicateKey
        )
    }
}

impl ErrorKind {
    /// Whether the failure may be the database node's rather than the statement's, so that the
    /// node is checked at once (see `cluster`).
    pub(super) fn points_at_the_node(self) -> bool {
        matches!(
            self,
            Self::Connection | Self::NoConnection | Self::NodeNotReady
        )
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Internal(Internal::Migration(Arc::new(err)))
    }
}
