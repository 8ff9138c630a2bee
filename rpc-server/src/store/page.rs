//! A page of a room: one range read of the (room, send_time) key, no OFFSET.

use futures::FutureExt;
use futures::future::BoxFuture;
use im_domain::{Direction, PageRequest, StoredMessage};
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
    /// Only validated UTF-8 member ids and client ids are ever written, so nothing is lost.
    pub(super) fn into_message(self, chat: &str) -> StoredMessage {
        StoredMessage {
            chat: chat.to_owned(),
            sender: String::from_utf8_lossy(&self.sender).into_owned(),
            text: self.text,
            send_time: self.send_time,
            client_msg_id: self
                .client_msg_id
                .map(|id| String::from_utf8_lossy(&id).into_owned()),
        }
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
