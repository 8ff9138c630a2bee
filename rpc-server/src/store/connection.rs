//! A connection that a worker (a commit lane, a read) keeps for as long as it works. sqlx's
//! pool pings the database every time a connection is taken and every time one is given back:
//! two round trips, and two wake-ups of the database, around each use. A worker that holds its
//! connection pays them once, and takes a fresh one only after its connection failed or the
//! replica moved to another database node (see [`super::cluster`]).

use sqlx::mysql::MySqlConnection;
use sqlx::pool::PoolConnection;
use sqlx::{Executor, MySql};

use super::cluster::{Cluster, no_usable_node};

pub(super) struct HeldConnection {
    cluster: Cluster,
    /// The connection, and the generation of the cluster's active node it was taken in.
    conn: Option<(u64, PoolConnection<MySql>)>,
    transactional: bool,
}

impl HeldConnection {
    /// A connection in autocommit mode, as the pool gives it, for reads: on a Galera node its
    /// reads wait until the node applied every write committed before they began.
    pub(super) fn autocommit(cluster: Cluster) -> Self {
        Self {
            cluster,
            conn: None,
            transactional: false,
        }
    }

    /// A connection with autocommit off: its first statement opens a transaction, and the
    /// holder ends each with COMMIT, which saves the round trip of a BEGIN. Such a connection
    /// never goes back to the pool, where others expect autocommit.
    pub(super) fn transactional(cluster: Cluster) -> Self {
        Self {
            cluster,
            conn: None,
            transactional: true,
        }
    }

    /// One more of the same kind, on the same cluster, without a connection yet.
    pub(super) fn another(&self) -> Self {
        Self {
            cluster: self.cluster.clone(),
            conn: None,
            transactional: self.transactional,
        }
    }

    /// The held connection, or a new one from the active node's pool.
    pub(super) async fn get(&mut self) -> Result<&mut MySqlConnection, sqlx::Error> {
        let active = self.cluster.active();
        if self
            .conn
            .as_ref()
            .is_some_and(|(generation, _)| *generation != active.generation)
        {
            // The replica moved to another node: a worker never mixes two.
            self.discard();
        }
        if self.conn.is_none() {
            let (pool, galera) = self.cluster.node_of(active).ok_or_else(no_usable_node)?;
            let mut conn = pool.acquire().await?;
            if self.transactional {
                conn.close_on_drop();
                conn.execute("SET SESSION autocommit = 0").await?;
            } else {
                // A listing's shared locks are record locks only, never gaps that would hold
                // up sends; such a connection never goes back to the pool either.
                conn.close_on_drop();
                read_committed(&mut conn).await?;
                if galera {
                    // Causal reads.
                    conn.execute("SET SESSION wsrep_sync_wait = 1").await?;
                }
            }
            self.conn = Some((active.generation, conn));
        }
        Ok(self
            .conn
            .as_mut()
            .map(|(_, conn)| &mut **conn)
            .expect("just set"))
    }

    /// Keeps the connection after `err` only when the database itself answered it (an open
    /// transaction is then rolled back). After any other failure (a broken socket, an
    /// interrupted exchange, no answer in time: `None`) its state is unknown: it is closed,
    /// and the next use takes a fresh one. A failure that may be the node's has it checked.
    pub(super) async fn after_error(&mut self, err: Option<&sqlx::Error>) {
        self.cluster.failed(err);
        if matches!(err, Some(sqlx::Error::Database(_))) {
            let Some((_, conn)) = self.conn.as_mut() else {
                return;
            };
            if !self.transactional || conn.execute("ROLLBACK").await.is_ok() {
                return;
            }
        }
        self.discard();
    }

    /// Closes the connection, whose state is unknown; the next use takes a fresh one.
    pub(super) fn discard(&mut self) {
        if let Some((_, mut conn)) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

/// Sets the connection's isolation to READ COMMITTED. Through vtgate to MariaDB tablets the
/// standard statement fails (vtgate checks it with `@@transaction_isolation`, a name MariaDB
/// 10.11 does not know: 1193), and MariaDB's own name for the setting does it.
async fn read_committed(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    match conn
        .execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
    {
        Err(sqlx::Error::Database(err)) if err.message().contains("transaction_isolation") => conn
            .execute("SET SESSION tx_isolation = 'READ-COMMITTED'")
            .await
            .map(|_| ()),
        done => done.map(|_| ()),
    }
}
