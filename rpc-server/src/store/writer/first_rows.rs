//! A room's first row, created apart. The upsert that reserves a group's send_times and writes
//! its rooms' versions must never insert: a new row whose version met another room's on a
//! version index would make ON DUPLICATE KEY UPDATE update that other room's row instead of
//! failing (1062). So a lane first creates the rows of the rooms it has not seen yet, with no
//! versions (nothing to meet), commits that on its own, and remembers the rooms: its upserts then
//! always update, where a clash of versions fails the attempt as it should.

use std::collections::HashSet;

use im_domain::NewMessage;
use sqlx::mysql::MySqlConnection;
use sqlx::{Executor, MySql, QueryBuilder};

use crate::store::STATEMENT_ROWS;

/// Most rooms a lane remembers; beyond it, it forgets them all and creates rows again (a
/// statement that changes nothing for a room that has one).
const MAX_KNOWN: usize = 100_000;

/// The rooms a lane knows to have a row. Rows are never deleted, so a room once known stays so.
#[derive(Default)]
pub(super) struct KnownRooms(HashSet<String>);

impl KnownRooms {
    /// Creates the rows of the rooms of `msgs` not known yet and commits them; then knows them.
    pub(super) async fn create_unknown(
        &mut self,
        conn: &mut MySqlConnection,
        msgs: &[&NewMessage],
    ) -> Result<(), sqlx::Error> {
        let mut unknown: Vec<&str> = msgs
            .iter()
            .map(|msg| msg.room().key())
            .filter(|room| !self.0.contains(*room))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        // Ascending, the order every lock of a group is taken in.
        unknown.sort_unstable();
        unknown.dedup();
        for chunk in unknown.chunks(STATEMENT_ROWS) {
            // A count of 0 with the newest send_time unknown is exact: the upsert adds to it.
            let mut create: QueryBuilder<MySql> =
                QueryBuilder::new("INSERT INTO rooms (room, last_send_time, unread_a, unread_b) ");
            create.push_values(chunk, |mut row, room| {
                row.push_bind(*room).push("0, 0, 0");
            });
            create.push(" ON DUPLICATE KEY UPDATE room = room");
            create.build().execute(&mut *conn).await?;
        }
        conn.execute("COMMIT").await?;
        if self.0.len() + unknown.len() > MAX_KNOWN {
            self.0.clear();
        }
        self.0.extend(unknown.into_iter().map(str::to_owned));
        Ok(())
    }
}
