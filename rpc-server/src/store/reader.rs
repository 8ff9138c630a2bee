//! Reads (pages of a room, listings of an inbox). A fixed set of connections, each held for as long as it works (see
//! [`super::connection`]), is lent to one read at a time: a read runs in its caller's task and
//! costs one round trip to the database, and the number of reads running at once is bounded by
//! the number of connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sqlx::mysql::MySqlConnection;
use tokio::sync::Semaphore;

use super::StoreError;
use super::cluster::Cluster;
use super::connection::HeldConnection;
use super::error::{ErrorKind, classify};

/// Most reads waiting for a connection; beyond it a pull is refused at once as overloaded.
const QUEUE_CAPACITY: usize = 8192;

/// Reads again after a lock conflict, at most (each within the read's deadline).
const MAX_LOCK_RETRIES: u32 = 6;

/// One read statement the reader runs on a lent connection.
pub(super) trait Query: Sync {
    type Rows: Send;
    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>>;
}

#[derive(Clone)]
pub(super) struct Reader {
    shared: Arc<Shared>,
}

struct Shared {
    idle: Mutex<Vec<HeldConnection>>,
    /// One permit per connection in `idle`.
    lendable: Semaphore,
    /// Reads waiting for a connection or running.
    reads: AtomicUsize,
    max_reads: usize,
}

impl Reader {
    /// Holds `readers` connections of `cluster`'s active node for reads.
    pub(super) fn start(cluster: &Cluster, readers: usize) -> Self {
        let readers = readers.max(1);
        Self {
            shared: Arc::new(Shared {
                idle: Mutex::new(
                    (0..readers)
                        .map(|_| HeldConnection::autocommit(cluster.clone()))
                        .collect(),
                ),
                lendable: Semaphore::new(readers),
                reads: AtomicUsize::new(0),
                max_reads: readers + QUEUE_CAPACITY,
            }),
        }
    }

    /// The rows of `query`, read before `deadline`.
    pub(super) async fn read<Q: Query>(
        &self,
        query: &Q,
        deadline: Instant,
    ) -> Result<Q::Rows, StoreError> {
        let shared = &self.shared;
        let _counted = CountedRead::enter(shared)?;
        let _permit = tokio::time::timeout_at(deadline.into(), shared.lendable.acquire())
            .await
            .map_err(|_| StoreError::timed_out())?
            .expect("never closed");
        let mut lent = Lent::take(shared);
        let connection = lent.connection.as_mut().expect("lent until dropped");
        let mut result = read_once(connection, query, deadline).await;
        for retry in 0..MAX_LOCK_RETRIES {
            match &result {
                // A connection that broke while idle (the database restarted): once more.
                Err(Some(err)) if classify(err) == ErrorKind::Connection => {
                    result = read_once(connection, query, deadline).await;
                    break;
                }
                // A listing's shared lock that met a send's in a deadlock: again after a short
                // random wait, while the deadline allows, so as not to meet the same sends.
                Err(Some(err)) if classify(err) == ErrorKind::LockConflict => {
                    let wait = Duration::from_millis(5 << retry).mul_f64(fastrand::f64());
                    tokio::time::sleep(wait).await;
                    result = read_once(connection, query, deadline).await;
                }
                _ => break,
            }
        }
        lent.finished = true;
        result.map_err(|err| match err {
            Some(err) => StoreError::from(err),
            None => StoreError::timed_out(),
        })
    }
}

/// Counts a read in `Shared::reads` for as long as it lives.
struct CountedRead<'a>(&'a Shared);

impl<'a> CountedRead<'a> {
    fn enter(shared: &'a Shared) -> Result<Self, StoreError> {
        if shared.reads.fetch_add(1, Ordering::Relaxed) >= shared.max_reads {
            shared.reads.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Overloaded);
        }
        Ok(Self(shared))
    }
}

impl Drop for CountedRead<'_> {
    fn drop(&mut self) {
        self.0.reads.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection lent to one read, given back when the read ends. A read abandoned midway
/// (its caller went away) leaves the connection mid-exchange: it is closed, and the next read
/// takes a fresh one.
struct Lent<'a> {
    shared: &'a Shared,
    connection: Option<HeldConnection>,
    finished: bool,
}

impl<'a> Lent<'a> {
    fn take(shared: &'a Shared) -> Self {
        let connection = shared.idle.lock().expect("lock").pop();
        Self {
            shared,
            connection: Some(connection.expect("a permit is an idle connection")),
            finished: false,
        }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let mut connection = self.connection.take().expect("lent until dropped");
        if !self.finished {
            connection.discard();
        }
        self.shared.idle.lock().expect("lock").push(connection);
    }
}

/// One attempt; `Err(None)` when the deadline passed first.
async fn read_once<Q: Query>(
    connection: &mut HeldConnection,
    query: &Q,
    deadline: Instant,
) -> Result<Q::Rows, Option<sqlx::Error>> {
    let attempt = async {
        let conn = connection.get().await?;
        query.fetch(conn).await
    };
    let result = tokio::time::timeout_at(deadline.into(), attempt)
        .await
        .map_err(|_| None)
        .and_then(|rows| rows.map_err(Some));
    if let Err(err) = &result {
        connection.after_error(err.as_ref()).await;
    }
    result
}
