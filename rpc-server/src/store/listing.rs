//! A member's inbox listing: a room is in the inbox of its first member by (member_a,
//! version_a) and of its second by (member_b, version_b). A listing reads one range of each
//! index, merges them, and joins each room to its newest message by the messages' primary key;
//! unread counts come from the rooms' rows, or where a row does not know them, from a second
//! statement (see [`super::unread`]).

use futures::future::BoxFuture;
use im_domain::{ChatEntry, Direction, InboxRequest, InvalidInput, ReadState, Room};
use sqlx::mysql::MySqlConnection;

use super::page::MessageRow;
use super::reader::Query;
use super::unread::count_unread;

/// A room of a listing with its newest message and both markers, as the member sees them.
#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    pub(super) room: Vec<u8>,
    version: i64,
    pub(super) read_up_to: Option<i64>,
    peer_read_up_to: Option<i64>,
    #[sqlx(flatten)]
    pub(super) last_message: MessageRow,
    /// As the room's row knows it; `None`: counted by the second statement.
    pub(super) unread: Option<i32>,
}

impl EntryRow {
    /// The row as an entry, checked again like a page's messages.
    pub(super) fn into_entry(self) -> Result<ChatEntry, InvalidInput> {
        let chat =
            std::str::from_utf8(&self.room).map_err(|_| InvalidInput::NotUtf8 { field: "chat" })?;
        let room = Room::parse(chat)?;
        let read_up_to = self.read_up_to.unwrap_or(0);
        let self_chat = room.members().count() == 1;
        Ok(ChatEntry {
            last_message: self.last_message.into_message(&room)?,
            chat: room.key().to_owned(),
            version: self.version,
            read: ReadState {
                unread: self.unread.unwrap_or(0),
                read_up_to,
                // In a self-chat the other member is the member.
                peer_read_up_to: match self_chat {
                    true => read_up_to,
                    false => self.peer_read_up_to.unwrap_or(0),
                },
            },
        })
    }
}

/// The listing walking one way: `$from` compares a version with the cursor, `$order` is the
/// walk's order. Each half reads its index in that order and stops after the page; the merge
/// sorts at most twice the page.
macro_rules! listing_sql {
    ($from:literal, $order:literal) => {
        concat!(
            "SELECT STRAIGHT_JOIN e.room, e.version, e.read_up_to, e.peer_read_up_to, e.unread, ",
            "m.send_time, m.sender, m.text, m.client_msg_id FROM (",
            "(SELECT room, version_a AS version, newest_send_time, ",
            "read_a AS read_up_to, read_b AS peer_read_up_to, ",
            "IF(unread_at <=> newest_send_time, unread_a, NULL) AS unread ",
            "FROM rooms FORCE INDEX (rooms_by_version_a) ",
            "WHERE member_a = ? AND version_a ",
            $from,
            " ? ",
            "ORDER BY version_a ",
            $order,
            " LIMIT ?) ",
            "UNION ALL ",
            "(SELECT room, version_b, newest_send_time, read_b, read_a, ",
            "IF(unread_at <=> newest_send_time, unread_b, NULL) ",
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
        Box::pin(async move {
            let mut entries = sqlx::query_as::<_, EntryRow>(sql)
                .bind(member)
                .bind(window.bound())
                .bind(rows)
                .bind(member)
                .bind(window.bound())
                .bind(rows)
                .bind(rows)
                .fetch_all(&mut *conn)
                .await?;
            count_unread(conn, self.member().as_str(), &mut entries).await?;
            Ok(entries)
        })
    }
}
