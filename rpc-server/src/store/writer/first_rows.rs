//! A room's first row, created before its versions are written. The upsert that reserves a
//! group's send_times and writes its rooms' versions must never insert: a new row whose version
//! met another room's on a version index would make ON DUPLICATE KEY UPDATE update that other
//! room's row instead of failing (1062). So when a group has a room its lane has not seen, one
//! statement first creates the rows missing, with no versions (nothing to meet), in the same
//! transaction; its upserts then only ever update, where a clash of versions fails the attempt as
//! it should. It locks every room of the group, in ascending order as the upsert does, so the
//! lock order stays one. The lane remembers the rooms once the group commits.

use std::collections::HashSet;

use im_domain::NewMessage;
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use crate::store::STATEMENT_ROWS;

/// Most rooms a lane remembers; beyond it, it forgets them all and creates rows again (a
/// statement that changes nothing for a room that has one).
const MAX_KNOWN: usize = 100_000;

/// The rooms a lane knows to have a row. Rows are never deleted, so a room once known stays so.
#[derive(Default)]
pub(super) struct KnownRooms(HashSet<String>);

impl KnownRooms {
    /// When a room of `msgs` is not known yet, creates the rows missing among all of them (in
    /// the transaction under way) and returns the rooms to remember once it commits.
    pub(super) async fn create_unknown<'a>(
        &self,
        conn: &mut MySqlConnection,
        msgs: &[&'a NewMessage],
    ) -> Result<Vec<&'a str>, sqlx::Error> {
        if msgs.iter().all(|msg| self.0.contains(msg.room().key())) {
            return Ok(Vec::new());
        }
        // Ascending, the order every lock of a group is taken in.
        let mut rooms: Vec<&str> = msgs.iter().map(|msg| msg.room().key()).collect();
        rooms.sort_unstable();
        rooms.dedup();
        for chunk in rooms.chunks(STATEMENT_ROWS) {
            // A count of 0 with the newest send_time unknown is exact: the upsert adds to it.
            let mut create: QueryBuilder<MySql> =
                QueryBuilder::new("INSERT INTO rooms (room, last_send_time, unread_a, unread_b) ");
            create.push_values(chunk, |mut row, room| {
                row.push_bind(*room).push("0, 0, 0");
            });
            create.push(" ON DUPLICATE KEY UPDATE room = room");
            create.build().execute(&mut *conn).await?;
        }
        Ok(rooms)
    }

    /// Remembers `rooms`, whose rows are committed.
    pub(super) fn remember(&mut self, rooms: &[&str]) {
        if self.0.len() + rooms.len() > MAX_KNOWN {
            self.0.clear();
        }
        self.0.extend(rooms.iter().map(|room| (*room).to_owned()));
    }
}
