//! A connection that a worker (a commit lane, a reader) keeps for as long as it works. sqlx's
//! pool pings the database every time a connection is taken and every time one is given back:
//! two round trips, and two wake-ups of the database, around each use. A worker that holds its
//! connection pays them once, and takes a fresh one only after its connection failed.

use sqlx::MySql;
use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::pool::PoolConnection;

pub(super) struct HeldConnection {
    pool: MySqlPool,
    conn: Option<PoolConnection<MySql>>,
}

impl HeldConnection {
    pub(super) fn new(pool: MySqlPool) -> Self {
        Self { pool, conn: None }
    }

    /// The held connection, or a new one from the pool.
    pub(super) async fn get(&mut self) -> Result<&mut MySqlConnection, sqlx::Error> {
        if self.conn.is_none() {
            self.conn = Some(self.pool.acquire().await?);
        }
        Ok(self.conn.as_deref_mut().expect("just set"))
    }

    /// Keeps the connection after `err` only when the database itself answered it: after any
    /// other failure (a broken socket, an interrupted exchange) its state is unknown, so it is
    /// closed and the next use takes a fresh one.
    pub(super) fn after_error(&mut self, err: Option<&sqlx::Error>) {
        if !matches!(err, Some(sqlx::Error::Database(_)))
            && let Some(mut conn) = self.conn.take()
        {
            conn.close_on_drop();
        }
    }
}

/// An error of the connection rather than of the statement: the statement may well succeed
/// on a fresh connection.
pub(super) fn is_connection_error(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Io(_) | sqlx::Error::Protocol(_))
}
