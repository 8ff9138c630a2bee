//! Unread counts: the other member's messages after the member's marker, up to the room's newest
//! message, at most [`MAX_UNREAD`]. Sends and marker writes keep them in the room's row; they
//! are counted from the messages only where that count is unknown (a send of the release before
//! read markers moved the room), for a listing's rooms and for a marker write. For a listing, one
//! statement for all the counts it needs:
//! a `UNION ALL` of one count per room, each a range read of the room's (room, send_time) key
//! from the marker on that stops at the cap, so a count costs at most the cap's rows plus the
//! member's own messages among them. Its text depends only on the number of parts, rounded up to
//! a power of two (as in [`super::pages`]), so a connection prepares a handful of shapes.

use im_domain::MAX_UNREAD;
use sqlx::Executor;
use sqlx::mysql::MySqlConnection;

use super::listing::EntryRow;

/// One count to make: the other member's messages of `room` after `after`, up to `newest`.
struct Range<'a> {
    room: &'a [u8],
    after: i64,
    newest: i64,
}

impl Range<'_> {
    /// Whether anything of the other member may lie in it: not in a self-chat, not past the
    /// newest message.
    fn may_hold_any(&self) -> bool {
        let self_chat = std::str::from_utf8(self.room)
            .ok()
            .and_then(|room| room.split_once(':'))
            .is_some_and(|(a, b)| a == b);
        !self_chat && self.after < self.newest
    }
}

/// Fills in `unread` of each entry of `member`'s listing whose count its row does not know.
pub(super) async fn count_unread(
    conn: &mut MySqlConnection,
    member: &str,
    entries: &mut [EntryRow],
) -> Result<(), sqlx::Error> {
    let unknown: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].unread.is_none())
        .collect();
    let ranges: Vec<Range> = unknown
        .iter()
        .map(|&i| Range {
            room: &entries[i].room,
            after: entries[i].read_up_to.unwrap_or(0),
            newest: entries[i].last_message.send_time,
        })
        .collect();
    let counted = counts(conn, member, &ranges).await?;
    for (i, count) in unknown.into_iter().zip(counted) {
        entries[i].unread = Some(count);
    }
    Ok(())
}

/// `member`'s count in `room`: the other member's messages after `after`, up to `newest`.
pub(super) async fn count_one(
    conn: &mut MySqlConnection,
    room: &str,
    member: &str,
    after: i64,
    newest: i64,
) -> Result<i32, sqlx::Error> {
    let range = Range {
        room: room.as_bytes(),
        after,
        newest,
    };
    Ok(counts(conn, member, &[range]).await?[0])
}

/// The count of each of `ranges`, in order, with one statement for those that may hold any.
async fn counts(
    conn: &mut MySqlConnection,
    member: &str,
    ranges: &[Range<'_>],
) -> Result<Vec<i32>, sqlx::Error> {
    let mut counted = vec![0; ranges.len()];
    let read: Vec<usize> = (0..ranges.len())
        .filter(|&i| ranges[i].may_hold_any())
        .collect();
    if read.is_empty() {
        return Ok(counted);
    }
    let parts = read.len().next_power_of_two();
    let sql = count_sql(parts);
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for part in 0..parts {
        // A part beyond the ranges reads no room and no row.
        let range = read.get(part).map(|&i| &ranges[i]);
        query = query
            .bind(range.map_or(&b""[..], |r| r.room))
            .bind(range.map_or(0, |r| r.after))
            .bind(range.map_or(0, |r| r.newest))
            .bind(member.as_bytes());
    }
    let rows: Vec<(i64, i64)> = query.fetch_all(&mut *conn).await?;
    for (part, unread) in rows {
        if let Some(&i) = usize::try_from(part).ok().and_then(|p| read.get(p)) {
            counted[i] = i32::try_from(unread).unwrap_or(MAX_UNREAD);
        }
    }
    Ok(counted)
}

/// The statement counting `parts` ranges (binds of each: room, after, newest, member).
fn count_sql(parts: usize) -> String {
    (0..parts)
        .map(|part| {
            format!(
                "(SELECT CAST({part} AS SIGNED) AS part, COUNT(*) AS unread FROM \
                 (SELECT 1 FROM messages WHERE room = ? AND send_time > ? AND send_time <= ? \
                 AND sender <> ? ORDER BY send_time LIMIT {MAX_UNREAD}) AS unread_{part})"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Prepares [`count_one`]'s statement on `conn` ahead of a transaction: through vtgate, a
/// SELECT prepared within a transaction reads its columns from any shard, which joins that
/// shard to the transaction.
pub(super) async fn prepare_count_one(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    let sql = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(count_sql(1)));
    conn.prepare(sql).await.map(|_| ())
}
