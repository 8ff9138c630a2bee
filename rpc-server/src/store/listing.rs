//! A member's inbox listing: a room is in the inbox of its first member by (member_a,
//! version_a) and of its second by (member_b, version_b). A listing reads one range of each
//! index, merges them, and joins each room to its newest message by the messages' primary key;
//! unread counts come from the rooms' rows, or where a row does not know them, from a second
//! statement (see [`super::unread`]).
//!
//! With settled versions (`mixed` or `clock`), a listing answers only versions below its line,
//! twice the database's clock less the settle time, and reads the rooms' rows with shared
//! locks, so it waits for the transactions that wrote versions below the line (see
//! [`super::versions`]). When the member's newest version belongs in its answer (a forward page
//! with room left, or a newest-first one) but is above the line, it waits once until the line
//! passes it and reads again: a member's own change shows in its next listing, a settle time
//! later at most. The same statement tells the member's newest version and the line; an empty
//! answer asks for them with one more. With counters alone, a listing reads plainly.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use im_domain::{ChatEntry, Direction, InboxRequest, InvalidInput, ReadState, Room};
use sqlx::mysql::MySqlConnection;

use super::page::MessageRow;
use super::reader::Query;
use super::scattered_listing;
use super::unread::count_unread;
use super::versions::now_us;
use super::{Store, StoreError};

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
    /// The member's newest version, and the listing's line.
    newest: i64,
    line: i64,
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

/// A row of one half of a listing read in steps (see [`super::scattered_listing`]).
#[derive(sqlx::FromRow)]
pub(super) struct HalfRow {
    pub(super) room: Vec<u8>,
    pub(super) version: i64,
    pub(super) newest_send_time: Option<i64>,
    read_up_to: Option<i64>,
    peer_read_up_to: Option<i64>,
    unread: Option<i32>,
}

impl HalfRow {
    /// The row with its room's newest message, and the member's newest version and the line.
    pub(super) fn into_entry(self, last_message: MessageRow, newest: i64, line: i64) -> EntryRow {
        EntryRow {
            room: self.room,
            version: self.version,
            read_up_to: self.read_up_to,
            peer_read_up_to: self.peer_read_up_to,
            last_message,
            unread: self.unread,
            newest,
            line,
        }
    }
}

/// The member's newest version in either index, and the line now (binds: the member twice,
/// the settle time in microseconds).
macro_rules! newest_and_line {
    () => {
        concat!(
            "GREATEST(",
            "COALESCE((SELECT MAX(version_a) FROM rooms WHERE member_a = ?), 0), ",
            "COALESCE((SELECT MAX(version_b) FROM rooms WHERE member_b = ?), 0)) AS newest, ",
            "2 * (",
            now_us!(),
            " - ?) AS line"
        )
    };
}

/// The listing walking one way: `$from` compares a version with the cursor, `$order` is the
/// walk's order. Each half reads its index in that order and stops after the page; the merge
/// sorts at most twice the page. `settled`: below the line, with shared locks, and telling the
/// member's newest version and the line; `plain`: none of it (binds: no settle times, no member
/// for the newest version).
macro_rules! listing_sql {
    (settled, $from:literal, $order:literal) => {
        listing_sql!(
            $from,
            $order,
            newest_and_line!(),
            concat!(" AND version_a < 2 * (", now_us!(), " - ?)"),
            concat!(" AND version_b < 2 * (", now_us!(), " - ?)"),
            " LOCK IN SHARE MODE"
        )
    };
    (plain, $from:literal, $order:literal) => {
        listing_sql!($from, $order, "0 AS newest, 0 AS line", "", "", "")
    };
    ($from:literal, $order:literal, $head:expr, $line_a:expr, $line_b:expr, $lock:expr) => {
        concat!(
            "SELECT STRAIGHT_JOIN e.room, e.version, e.read_up_to, e.peer_read_up_to, e.unread, ",
            "m.send_time, m.sender, m.text, m.client_msg_id, ",
            $head,
            " FROM (",
            "(SELECT room, version_a AS version, newest_send_time, ",
            "read_a AS read_up_to, read_b AS peer_read_up_to, ",
            "IF(unread_at <=> newest_send_time, unread_a, NULL) AS unread ",
            "FROM rooms FORCE INDEX (rooms_by_version_a) ",
            "WHERE member_a = ? AND version_a ",
            $from,
            " ?",
            $line_a,
            " ",
            "ORDER BY version_a ",
            $order,
            " LIMIT ?",
            $lock,
            ") ",
            "UNION ALL ",
            "(SELECT room, version_b, newest_send_time, read_b, read_a, ",
            "IF(unread_at <=> newest_send_time, unread_b, NULL) ",
            "FROM rooms FORCE INDEX (rooms_by_version_b) ",
            "WHERE member_b = ? AND version_b ",
            $from,
            " ?",
            $line_b,
            " ",
            "ORDER BY version_b ",
            $order,
            " LIMIT ?",
            $lock,
            ")) AS e ",
            "JOIN messages AS m ON m.room = e.room AND m.send_time = e.newest_send_time ",
            "ORDER BY e.version ",
            $order,
            " LIMIT ?",
            $lock
        )
    };
}

/// One read of a listing; with `settle_us`, settled: its line that far behind the database's
/// clock, with shared locks. `scattered`: in steps, through vtgate.
struct Listing<'a> {
    req: &'a InboxRequest,
    settle_us: Option<i64>,
    scattered: bool,
}

impl Query for Listing<'_> {
    type Rows = Vec<EntryRow>;

    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>> {
        let window = self.req.window();
        let sql = match (window.direction(), self.settle_us) {
            (Direction::Forward, Some(_)) => listing_sql!(settled, ">=", "ASC"),
            (Direction::Backward, Some(_)) => listing_sql!(settled, "<=", "DESC"),
            (Direction::Forward, None) => listing_sql!(plain, ">=", "ASC"),
            (Direction::Backward, None) => listing_sql!(plain, "<=", "DESC"),
        };
        let member = self.req.member().as_str().as_bytes();
        let rows = window.rows_to_fetch() as u64;
        Box::pin(async move {
            if let (true, Some(settle_us)) = (self.scattered, self.settle_us) {
                let mut entries = scattered_listing::fetch(conn, self.req, settle_us).await?;
                count_unread(conn, self.req.member().as_str(), &mut entries).await?;
                return Ok(entries);
            }
            let mut query = sqlx::query_as::<_, EntryRow>(sql);
            if let Some(settle_us) = self.settle_us {
                query = query.bind(member).bind(member).bind(settle_us);
            }
            for _half in 0..2 {
                query = query.bind(member).bind(window.bound());
                if let Some(settle_us) = self.settle_us {
                    query = query.bind(settle_us);
                }
                query = query.bind(rows);
            }
            let mut entries = query.bind(rows).fetch_all(&mut *conn).await?;
            count_unread(conn, self.req.member().as_str(), &mut entries).await?;
            Ok(entries)
        })
    }
}

/// A member's newest version in either index, and the line of a listing now.
pub(super) struct Newest<'a> {
    pub(super) member: &'a str,
    pub(super) settle_us: i64,
}

impl Query for Newest<'_> {
    type Rows = (i64, i64);

    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>> {
        let sql = concat!("SELECT ", newest_and_line!());
        Box::pin(
            sqlx::query_as(sql)
                .bind(self.member.as_bytes())
                .bind(self.member.as_bytes())
                .bind(self.settle_us)
                .fetch_one(conn),
        )
    }
}

impl Store {
    /// The rows of `req`'s listing. With settled versions, below the line, waiting once for
    /// the member's newest change that belongs in the answer to pass it.
    pub(super) async fn listing_rows(
        &self,
        req: &InboxRequest,
        deadline: Instant,
    ) -> Result<Vec<EntryRow>, StoreError> {
        let settle_us = i64::try_from(self.inbox_settle.as_micros()).unwrap_or(i64::MAX);
        let listing = Listing {
            req,
            // Through vtgate each shard cuts at its own clock: one settle time more for the
            // difference of their clocks (see `scattered_listing`).
            settle_us: (self.inbox_versions.settled()).then_some(if self.vitess {
                2 * settle_us
            } else {
                settle_us
            }),
            scattered: self.vitess,
        };
        let rows = self.reader.read(&listing, deadline).await?;
        let Some(behind_us) = listing.settle_us else {
            return Ok(rows);
        };
        let (newest, line) = match rows.first() {
            Some(row) => (row.newest, row.line),
            None => {
                let member = req.member().as_str();
                let newest = Newest {
                    member,
                    settle_us: behind_us,
                };
                self.reader.read(&newest, deadline).await?
            }
        };
        // The member's newest version that belongs in the answer: forward, from the cursor on
        // when the page has room left; newest-first, up to the cursor.
        let window = req.window();
        let target = match window.direction() {
            Direction::Forward => {
                (rows.len() < window.rows_to_fetch() && newest >= window.bound()).then_some(newest)
            }
            Direction::Backward => Some(newest.min(window.bound())),
        };
        let Some(target) = target.filter(|target| *target > 0) else {
            return Ok(rows);
        };
        if target < line {
            if !rows.is_empty() {
                // Below the line, and read with these rows.
                return Ok(rows);
            }
        } else {
            let until_below =
                Duration::from_micros(u64::try_from((target - line) / 2).unwrap_or(0))
                    + Duration::from_millis(1);
            let behind = Duration::from_micros(u64::try_from(behind_us).unwrap_or(0));
            let until = Instant::now() + until_below.min(behind + Duration::from_millis(10));
            if until >= deadline {
                // No time to wait it out: the rows in hand are a right answer.
                return Ok(rows);
            }
            tokio::time::sleep_until(until.into()).await;
        }
        // Once more; the rows in hand are still a right answer should it fail.
        Ok(self.reader.read(&listing, deadline).await.unwrap_or(rows))
    }
}
