//! Unread counts: the other member's messages after the member's marker, up to the room's newest
//! message, at most [`MAX_UNREAD`]. Sends and marker writes keep them in the room's row; they
//! are counted from the messages only where that count is unknown (a send of the release before
//! read markers moved the room), for a listing's rooms and for a marker write. For a listing, one
//! statement for the page:
//! a `UNION ALL` of one count per room, each a range read of the room's (room, send_time) key
//! from the marker on that stops at the cap, so a count costs at most the cap's rows plus the
//! member's own messages among them. Its text depends only on the number of parts, rounded up to
//! a power of two (as in [`super::pages`]), so a connection prepares a handful of shapes.

use im_domain::MAX_UNREAD;
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::listing::EntryRow;

/// Fills in `unread` of each entry of `member`'s listing whose count its row does not know.
/// Rooms where nothing is after the marker, and self-chats, count 0 without a read.
pub(super) async fn count_unread(
    conn: &mut MySqlConnection,
    member: &str,
    entries: &mut [EntryRow],
) -> Result<(), sqlx::Error> {
    for entry in entries.iter_mut() {
        if !may_have_unread(entry) {
            entry.unread = Some(0);
        }
    }
    let counted: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].unread.is_none())
        .collect();
    if counted.is_empty() {
        return Ok(());
    }
    let mut query: QueryBuilder<MySql> = QueryBuilder::new("");
    for part in 0..counted.len().next_power_of_two() {
        if part > 0 {
            query.push(" UNION ALL ");
        }
        query.push(format_args!(
            "(SELECT CAST({part} AS SIGNED) AS entry, COUNT(*) AS unread FROM \
             (SELECT 1 FROM messages WHERE room = "
        ));
        // A part beyond the entries reads no room and no row.
        let (room, after, newest): (&[u8], i64, i64) = match counted.get(part) {
            Some(&i) => (
                &entries[i].room,
                entries[i].read_up_to.unwrap_or(0),
                entries[i].last_message.send_time,
            ),
            None => (b"", 0, 0),
        };
        query.push_bind(room);
        query.push(" AND send_time > ");
        query.push_bind(after);
        query.push(" AND send_time <= ");
        query.push_bind(newest);
        query.push(" AND sender <> ");
        query.push_bind(member.as_bytes());
        query.push(format_args!(
            " ORDER BY send_time LIMIT {MAX_UNREAD}) AS unread_{part})"
        ));
    }
    let counts: Vec<(i64, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
    for (part, unread) in counts {
        let entry = usize::try_from(part).ok().and_then(|p| counted.get(p));
        if let Some(&i) = entry {
            entries[i].unread = Some(i32::try_from(unread).unwrap_or(MAX_UNREAD));
        }
    }
    Ok(())
}

/// Whether anything of the other member may lie after the member's marker.
fn may_have_unread(entry: &EntryRow) -> bool {
    let self_chat = std::str::from_utf8(&entry.room)
        .ok()
        .and_then(|room| room.split_once(':'))
        .is_some_and(|(a, b)| a == b);
    let marker = entry.read_up_to.unwrap_or(0);
    !self_chat && entry.last_message.send_time > marker
}

/// `member`'s count in `room`: the other member's messages after `after`, up to `newest`.
pub(super) async fn count_one(
    conn: &mut MySqlConnection,
    room: &str,
    member: &str,
    after: i64,
    newest: i64,
) -> Result<i32, sqlx::Error> {
    if room.split_once(':').is_some_and(|(a, b)| a == b) || after >= newest {
        return Ok(0);
    }
    let mut query: QueryBuilder<MySql> =
        QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE room = ");
    query.push_bind(room);
    query.push(" AND send_time > ");
    query.push_bind(after);
    query.push(" AND send_time <= ");
    query.push_bind(newest);
    query.push(" AND sender <> ");
    query.push_bind(member.as_bytes());
    query.push(format_args!(
        " ORDER BY send_time LIMIT {MAX_UNREAD}) AS unread"
    ));
    let count: i64 = query.build_query_scalar().fetch_one(conn).await?;
    Ok(i32::try_from(count).unwrap_or(MAX_UNREAD))
}
