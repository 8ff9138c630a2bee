//! A member's inbox listing: one range read of the (member, version) index, each room joined
//! to its newest message by the messages' primary key.

use futures::FutureExt;
use futures::future::BoxFuture;
use im_domain::{ChatEntry, Direction, InboxRequest, InvalidInput, Room};
use sqlx::mysql::MySqlConnection;

use super::page::MessageRow;
use super::reader::Query;

/// A room of a listing with its newest message.
#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    room: Vec<u8>,
    version: i64,
    #[sqlx(flatten)]
    last_message: MessageRow,
}

impl EntryRow {
    /// The row as an entry, checked again like a page's messages.
    pub(super) fn into_entry(self) -> Result<ChatEntry, InvalidInput> {
        let chat =
            std::str::from_utf8(&self.room).map_err(|_| InvalidInput::NotUtf8 { field: "chat" })?;
        let room = Room::parse(chat)?;
        Ok(ChatEntry {
            last_message: self.last_message.into_message(&room)?,
            chat: room.key().to_owned(),
            version: self.version,
        })
    }
}

impl Query for InboxRequest {
    type Rows = Vec<EntryRow>;

    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>> {
        let window = self.window();
        // STRAIGHT_JOIN and the index hint keep the walk on (member, version) whatever the
        // optimizer guesses: the read stops after the page.
        let sql = match window.direction() {
            Direction::Forward => {
                "SELECT STRAIGHT_JOIN i.room, i.version, \
                 m.send_time, m.sender, m.text, m.client_msg_id \
                 FROM inbox AS i FORCE INDEX (inbox_by_version) \
                 JOIN messages AS m ON m.room = i.room AND m.send_time = i.last_send_time \
                 WHERE i.member = ? AND i.version >= ? ORDER BY i.version ASC LIMIT ?"
            }
            Direction::Backward => {
                "SELECT STRAIGHT_JOIN i.room, i.version, \
                 m.send_time, m.sender, m.text, m.client_msg_id \
                 FROM inbox AS i FORCE INDEX (inbox_by_version) \
                 JOIN messages AS m ON m.room = i.room AND m.send_time = i.last_send_time \
                 WHERE i.member = ? AND i.version <= ? ORDER BY i.version DESC LIMIT ?"
            }
        };
        sqlx::query_as::<_, EntryRow>(sql)
            .bind(self.member().as_str().as_bytes())
            .bind(window.bound())
            .bind(window.rows_to_fetch() as u64)
            .fetch_all(conn)
            .boxed()
    }
}
