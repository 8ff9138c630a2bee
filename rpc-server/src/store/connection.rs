//! A connection that a worker (a commit lane, a read) keeps for as long as it works. sqlx's
//! pool pings the database every time a connection is taken and every time one is given back:
//! two round trips, and two wake-ups of the database, around each use. A worker that holds its
//! connection pays them once, and takes a fresh one only after its connection failed.

use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::pool::PoolConnection;
use sqlx::{Executor, MySql};

pub(super) struct HeldConnection {
    pool: MySqlPool,
    conn: Option<PoolConnection<MySql>>,
    transactional: bool,
}

impl HeldConnection {
    /// A connection in autocommit mode, as the pool gives it.
    pub(super) fn autocommit(pool: MySqlPool) -> Self {
        Self {
            pool,
            conn: None,
            transactional: false,
        }
    }

    /// A connection with autocommit off: its first statement opens a transaction, and the
    /// holder ends each with COMMIT, which saves the round trip of a BEGIN. Such a connection
    /// never goes back to the pool, where others expect autocommit.
    pub(super) fn transactional(pool: MySqlPool) -> Self {
        Self {
            pool,
            conn: None,
            transactional: true,
        }
    }

    /// The held connection, or a new one from the pool.
    pub(super) async fn get(&mut self) -> Result<&mut MySqlConnection, sqlx::Error> {
        if self.conn.is_none() {
            let mut conn = self.pool.acquire().await?;
            if self.transactional {
                conn.close_on_drop();
                conn.execute("SET SESSION autocommit = 0").await?;
            }
            self.conn = Some(conn);
        }
        Ok(self.conn.as_deref_mut().expect("just set"))
    }

    /// Keeps the connection after `err` only when the database itself answered it (an open
    /// transaction is then rolled back). After any other failure (a broken socket, an
    /// interrupted exchange) its state is unknown: it is closed, and the next use takes a
    /// fresh one.
    pub(super) async fn after_error(&mut self, err: Option<&sqlx::Error>) {
        if matches!(err, Some(sqlx::Error::Database(_))) {
            let Some(conn) = self.conn.as_deref_mut() else {
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
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}
