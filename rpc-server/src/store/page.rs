//! A page of a room: one range read of the (room, send_time) key, no OFFSET.

use futures::FutureExt;
use futures::future::BoxFuture;
use im_domain::{Direction, InvalidInput, PageRequest, Room, StoredMessage};
use sqlx::mysql::MySqlConnection;

use super::reader::Query;

/// A message as a read returns it; `chat` is known from the request.
#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub(super) send_time: i64,
    pub(super) sender: Vec<u8>,
    pub(super) text: String,
    pub(super) client_msg_id: Option<Vec<u8>>,
}

impl MessageRow {
    /// The row as a message of `room`, checked again (see [`StoredMessage::from_row`]).
    pub(super) fn into_message(self, room: &Room) -> Result<StoredMessage, InvalidInput> {
        StoredMessage::from_row(
            room,
            &self.sender,
            &self.text,
            self.send_time,
            self.client_msg_id.as_deref(),
        )
    }
}

impl Query for PageRequest {
    type Rows = Vec<MessageRow>;

    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>> {
        let window = self.window();
        let sql = match window.direction() {
            Direction::Forward => {
                "SELECT send_time, sender, text, client_msg_id FROM messages \
                 WHERE room = ? AND send_time >= ? ORDER BY send_time ASC LIMIT ?"
            }
            Direction::Backward => {
                "SELECT send_time, sender, text, client_msg_id FROM messages \
                 WHERE room = ? AND send_time <= ? ORDER BY send_time DESC LIMIT ?"
            }
        };
        sqlx::query_as::<_, MessageRow>(sql)
            .bind(self.room().key())
            .bind(window.bound())
            .bind(window.rows_to_fetch() as u64)
            .fetch_all(conn)
            .boxed()
    }
}
