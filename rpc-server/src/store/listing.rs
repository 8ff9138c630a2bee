//! A member's inbox listing: a room is in the inbox of its first member by (member_a,
//! version_a) and of its second by (member_b, version_b). A listing reads one range of each
//! index, merges them, and joins each room to its newest message by the messages' primary key.

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

/// The listing walking one way: `$from` compares a version with the cursor, `$order` is the
/// walk's order. Each half reads its index in that order and stops after the page; the merge
/// sorts at most twice the page.
macro_rules! listing_sql {
    ($from:literal, $order:literal) => {
        concat!(
            "SELECT STRAIGHT_JOIN e.room, e.version, ",
            "m.send_time, m.sender, m.text, m.client_msg_id FROM (",
            "(SELECT room, version_a AS version, newest_send_time ",
            "FROM rooms FORCE INDEX (rooms_by_version_a) ",
            "WHERE member_a = ? AND version_a ",
            $from,
            " ? ",
            "ORDER BY version_a ",
            $order,
            " LIMIT ?) ",
            "UNION ALL ",
            "(SELECT room, version_b, newest_send_time ",
            "FROM rooms FORCE INDEX (rooms_by_version_b) ",
            "WHERE member_b = ? AND version_b ",
            $from,
            " ? ",
            "ORDER BY version_b ",
            $order,
            " LIMIT ?)) AS e ",
            "JOIN messages AS m ON m.room = e.room AND m.send_time = e.newest_send_time ",
            "ORDER BY e.version ",
            $order,
            " LIMIT ?"
        )
    };
}

impl Query for InboxRequest {
    type Rows = Vec<EntryRow>;

    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>> {
        let window = self.window();
        let sql = match window.direction() {
            Direction::Forward => listing_sql!(">=", "ASC"),
            Direction::Backward => listing_sql!("<=", "DESC"),
        };
        let member = self.member().as_str().as_bytes();
        let rows = window.rows_to_fetch() as u64;
        sqlx::query_as::<_, EntryRow>(sql)
            .bind(member)
            .bind(window.bound())
            .bind(rows)
            .bind(member)
            .bind(window.bound())
            .bind(rows)
            .bind(rows)
            .fetch_all(conn)
            .boxed()
    }
}
